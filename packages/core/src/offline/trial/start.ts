import { type Session, trialDue } from '../check.js'
import { loadLeaseCode } from '../lease.js'
import { NOT_ACTIVATED, type StoredRecord } from '../record.js'
import type { InactiveState, TrialState } from '../state.js'
import { DAY_MS, type StoredTrial } from '../trial.js'
import { evaluateTrial } from './evaluate-trial.js'

/** What a trial memory allows now (evaluate-trial.ts). */
export async function trialStateOf(
  session: Session,
  stored: StoredTrial,
): Promise<TrialState | InactiveState> {
  // With a lease server only its token counts: a memory without one asks for it first.
  if (session.lease !== undefined && stored.ok && stored.memory.token === undefined) {
    return NOT_ACTIVATED
  }
  if (session.lease !== undefined && stored.ok && stored.memory.token !== undefined) {
    const lease = await loadLeaseCode()
    await lease.verifyTrialAhead(stored.memory.token, session.lease)
  }
  return evaluateTrial(stored, {
    now: session.now(),
    policy: session.policy,
    fingerprint: await session.machine.fingerprint(),
    organizationId: session.organizationId,
    lease: session.lease,
  })
}

/**
 * Starts this machine's trial (no lease server), inside the lock, once: the record is
 * re-read there, so processes racing to start converge on the first one's start. Where
 * the keychain keeps a copy of an earlier trial (the record was deleted), that one is
 * restored, never a new one started; an edited copy is refused.
 */
export async function startTrial(session: Session, days: number): Promise<StoredRecord> {
  return session.records.locked(async (locked) => {
    const record = await locked.read()
    if (!trialDue(session, record)) return record
    const copy = await locked.recallTrial()
    if (copy !== null && !copy.ok) return { kind: 'empty', trial: copy }
    const now = session.now()
    await locked.writeTrial(
      copy?.memory ?? { startedAt: now, endsAt: now + days * DAY_MS, clockHighWater: now },
    )
    return locked.read()
  })
}
