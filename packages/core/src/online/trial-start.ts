import { lockedStateOf, report, stateOf, trialDue } from '../offline/check.js'
import { loadLeaseCode } from '../offline/lease.js'
import { asStoreError, NOT_ACTIVATED } from '../offline/record.js'
import type { LicenseState } from '../offline/state.js'
import { DAY_MS } from '../offline/trial.js'
import type { OnlineSession } from './session.js'

/**
 * Starts this machine's trial through the lease server (`POST /v1/trial`), inside the lock
 * and once: the server signs the start bound to the machine fingerprint, and the record
 * (and the keychain's copy) keep that token, which alone decides offline. A copy the
 * keychain kept of an earlier token is restored instead of asking. Never throws: a failure
 * goes beside `not_activated`, and the next check asks again.
 */
export async function startLeasedTrial(session: OnlineSession): Promise<LicenseState> {
  const { leaseServer, lease, trial } = session
  // As for revalidation: after a transient failure the pacer's quiet minute answers without
  // asking, so an app checking on every focus does not send a request each time.
  const quiet = session.pacer.quiet()
  if (quiet !== undefined) {
    const ticket = session.emitter.ticket()
    const state = await stateOf(session, await session.records.read())
    return report(session, { ...state, error: quiet }, ticket)
  }
  let ticket: number | undefined
  try {
    const state = await session.records.locked(async (locked) => {
      ticket = session.emitter.ticket()
      const record = await locked.read()
      if (leaseServer === undefined || lease === undefined || trial === undefined) {
        return lockedStateOf(session, locked, record)
      }
      if (!trialDue(session, record)) return lockedStateOf(session, locked, record)
      const copy = await locked.recallTrial()
      if (copy !== null && (!copy.ok || copy.memory.token !== undefined)) {
        if (copy.ok) await locked.writeTrial(copy.memory)
        return stateOf(session, copy.ok ? await locked.read() : { kind: 'empty', trial: copy })
      }
      const fingerprint = await session.machine.fingerprint()
      const answer = await leaseServer.trial({ fingerprint, days: trial.days })
      const claims = (await loadLeaseCode()).verifyTrialToken(answer.token, lease)
      const now = session.now()
      // Kept on the local clock too, for a later version of the app without a lease server.
      const skew = claims === null ? 0 : claims.iat * 1000 - now
      const startedAt = claims === null ? now : claims.started_at * 1000 - skew
      const endsAt = claims === null ? now + trial.days * DAY_MS : claims.ends_at * 1000 - skew
      await locked.writeTrial({
        startedAt,
        endsAt,
        clockHighWater: now,
        token: answer.token,
        receivedAt: now,
      })
      return stateOf(session, await locked.read())
    })
    return report(session, state, ticket)
  } catch (error) {
    const failure = asStoreError(error, 'The trial could not be started')
    return report(session, { ...NOT_ACTIVATED, error: failure }, ticket)
  }
}
