import { isKeygateError, maskKey } from '../errors.js'
import { stateOf } from '../offline/check.js'
import { evaluate } from '../offline/evaluate.js'
import type { Grant } from '../offline/grant.js'
import { type GrantOrigin, sameMachine, sameSeat } from '../offline/origin.js'
import type { PendingActivation } from '../offline/pending.js'
import { asStoreError, type LockedRecord, type StoredRecord } from '../offline/record.js'
import type { LicenseState } from '../offline/state.js'
import { checkMetadata, normalizeKey, normalizeLabel, truncateLabel } from '../polar/rules.js'
import type { Conditions, PolarClient } from '../polar/types.js'
import type { ActivateOptions } from '../types.js'
import {
  grantFromActivation,
  grantFromValidation,
  machineConditions,
  revalidatedGrant,
  verdictReason,
} from './grant-from-polar.js'
import { grantFromLease } from './lease-client.js'
import { revalidate } from './revalidate.js'
import type { OnlineSession } from './session.js'

/**
 * `activate()`: this machine gets a seat, reused when it has one, else taken once.
 * Serialized across processes by the store lock, and the record is re-read inside it.
 */

const DEFAULT_LABEL = 'Desktop'

interface NewSeat {
  origin: GrantOrigin
  label: string
  meta: Conditions | undefined
  /** Validate the key before activating (Polar was not asked yet in this call). */
  probe?: boolean
}

export async function activate(
  session: OnlineSession,
  key: string,
  options: ActivateOptions = {},
): Promise<LicenseState> {
  const licenseKey = normalizeKey(key)
  const meta = options.meta === undefined ? undefined : checkMetadata('meta', options.meta)
  const label =
    options.label === undefined ? await machineLabel(session) : normalizeLabel(options.label)
  const fingerprint = await session.machine.fingerprint()
  const { organizationId, server } = session
  const origin: GrantOrigin = { key: licenseKey, organizationId, server, fingerprint }

  let locked = false
  const activated = session.records.locked(async (record) => {
    locked = true
    // Re-read inside the lock: another process (or call) may have activated meanwhile.
    const stored = await record.read()
    const noted = stored.kind === 'empty' ? stored.pending?.activationId : undefined
    // Whether Polar was asked already in this call (then the key needs no probe: see take).
    let asked = false
    if (noted !== undefined && session.leaseServer === undefined) {
      // A seat Polar gave this machine before the app stopped: never take a second one.
      const resumed = await resume(session, record, { origin, label, meta }, noted)
      if (resumed) return resumed
      asked = true
    }
    if (stored.kind === 'grant' && sameSeat(stored.grant, origin)) {
      const reused = await reuse(session, record, stored.grant)
      if (reused) return reused
      asked = true
    } else if (stored.kind === 'grant' && sameMachine(stored.grant, origin)) {
      // Another key on this machine: the same seat if the customer rotated the key.
      const rekeyed = await rekey(session, record, stored.grant, origin)
      if (rekeyed) return rekeyed
      asked = stored.grant.activation !== null
    }
    return take(session, record, { origin, label, meta, probe: !asked }, stored)
  })
  try {
    return session.emitter.emit(await activated)
  } catch (error) {
    // The lock itself failed (say another instance held it too long): a seat this
    // machine already holds still stands, with the error beside it.
    if (locked) throw error
    const state = await held(session, origin)
    if (state === undefined) throw error
    return session.emitter.emit({
      ...state,
      error: asStoreError(error, 'The license store failed'),
    })
  }
}

/**
 * An online `check()` on a record that holds only the note of a seat Polar gave just
 * before the app stopped, with the key in it: resumes that seat as `activate()` would
 * (validated first, never a second seat), so the user need not type the key again. Never
 * throws: when Polar cannot be asked, or refuses, the interrupted state is reported with
 * the error beside it, and the note stays for the next try (or for `activate()`).
 */
export async function resumeInterrupted(session: OnlineSession): Promise<LicenseState> {
  const ticket = session.emitter.ticket()
  // As for revalidation: after a transient failure the pacer's quiet minute answers from
  // the record, so an app checking on every focus does not send a request each time.
  const quiet = session.pacer.quiet()
  const outcome = quiet === undefined ? await resumeNow(session) : { failure: quiet }
  if ('state' in outcome) return session.emitter.emit(outcome.state, ticket)
  const state = await stateOf(session, await session.records.read())
  if (outcome.failure === undefined) return session.emitter.emit(state, ticket)
  const error = asStoreError(outcome.failure, 'The license store failed')
  return session.emitter.emit({ ...state, error }, ticket)
}

/** Resumes the noted seat inside the lock: its state, or what failed (nothing: no seat). */
async function resumeNow(
  session: OnlineSession,
): Promise<{ state: LicenseState } | { failure: unknown }> {
  try {
    const fingerprint = await session.machine.fingerprint()
    const { organizationId, server } = session
    const resumed = await session.records.locked(async (record) => {
      // Re-read inside the lock: another instance may have finished it meanwhile.
      const stored = await record.read()
      const noted = stored.kind === 'empty' ? stored.pending?.activationId : undefined
      if (stored.kind !== 'empty' || noted === undefined || stored.pendingKey === undefined) {
        return undefined
      }
      const origin: GrantOrigin = { key: stored.pendingKey, organizationId, server, fingerprint }
      const seat = { origin, label: await machineLabel(session), meta: undefined }
      const state = await resume(session, record, seat, noted)
      // Polar knows no such seat for this key and machine: the note holds nothing.
      if (state === undefined) await record.clear()
      return state
    })
    return resumed === undefined ? { failure: undefined } : { state: resumed }
  } catch (failure) {
    return { failure }
  }
}

/**
 * This machine already holds a seat for the key: confirm it instead of taking another.
 * Resolves undefined when Polar no longer knows the seat (so a new one is taken); throws
 * what Polar said when the key may not run.
 */
async function reuse(
  session: OnlineSession,
  record: LockedRecord,
  grant: Grant,
): Promise<LicenseState | undefined> {
  // Fresh (another instance just activated or validated it): asking Polar again would
  // only spend the rate limit that every instance behind one IP shares.
  const cached = evaluated(session, grant, grant.fingerprint)
  if (cached.status === 'active') return cached
  const { state, failure } = await revalidate(session, record, grant)
  if (failure === undefined) return state
  const reason = verdictReason(failure)
  // Transient: the seat is still ours and nothing was lost; the cached grant decides.
  if (reason === null && state.status !== 'inactive') return state
  const gone = reason === 'activation_not_found' || reason === 'key_not_found'
  if (gone && state.status === 'inactive') return undefined
  throw failure
}

/**
 * This machine holds a seat taken with another key of the same organization: after the
 * customer rotated the key, Polar keeps that activation valid under the new string.
 * Validates `origin.key` with the stored activation and conditions; on success the grant
 * moves to the new key (no new seat). Resolves undefined when the activation is not valid
 * under that key (take a new seat); throws what Polar said when the key may not run, and
 * transient failures (a new seat taken on a lost answer could be a second one).
 */
async function rekey(
  session: OnlineSession,
  record: LockedRecord,
  grant: Grant,
  origin: GrantOrigin,
): Promise<LicenseState | undefined> {
  // The lease server finds this machine's seat by its fingerprint, whatever the key string.
  if (grant.activation === null || session.leaseServer !== undefined) return undefined
  let result: Awaited<ReturnType<PolarClient['validate']>>
  try {
    result = await (await session.client()).validate({
      key: origin.key,
      organizationId: origin.organizationId,
      activationId: grant.activation.id,
      // This machine's conditions, not the record's (see revalidate).
      conditions: machineConditions(origin.fingerprint),
    })
  } catch (error) {
    const reason = isKeygateError(error) ? verdictReason(error) : null
    const notOurs =
      reason === 'activation_not_found' ||
      reason === 'key_not_found' ||
      reason === 'conditions_mismatch'
    if (notOurs) return undefined
    throw error
  }
  const moved = revalidatedGrant(
    { ...grant, key: origin.key, conditions: machineConditions(origin.fingerprint) },
    result,
    session.now(),
  )
  return keep(session, record, moved)
}

/**
 * The record holds the note of a seat Polar gave this machine just before the app stopped
 * (pending.ts): validates that activation with `origin.key` and this machine's conditions,
 * and on success stores it as the grant, so no second seat is taken. Resolves undefined
 * when the seat is not this key's or no longer exists (then a new one may be taken);
 * throws what Polar said when the key may not run, and transient failures (a seat taken
 * while the noted one cannot be checked could be a second one).
 */
async function resume(
  session: OnlineSession,
  record: LockedRecord,
  seat: NewSeat,
  activationId: string,
): Promise<LicenseState | undefined> {
  const { origin } = seat
  const conditions = machineConditions(origin.fingerprint)
  let result: Awaited<ReturnType<PolarClient['validate']>>
  try {
    result = await (await session.client()).validate({
      key: origin.key,
      organizationId: origin.organizationId,
      activationId,
      conditions,
    })
  } catch (error) {
    const reason = isKeygateError(error) ? verdictReason(error) : null
    // Deleted at Polar, another key's, or another machine's: not a seat this key holds here.
    if (reason === 'activation_not_found' || reason === 'conditions_mismatch') return undefined
    throw error
  }
  const now = session.now()
  const seen = result.data.activation
  const grant: Grant = {
    ...grantFromValidation(origin, conditions, result, now),
    activation: {
      id: activationId,
      label: seen?.label ?? seat.label,
      meta: seen?.meta ?? seat.meta ?? {},
      createdAt: seen?.created_at ?? new Date(now).toISOString(),
    },
  }
  // A failed write leaves the note, which still names the seat: the next try resumes it.
  return keep(session, record, grant)
}

/** What `grant` allows on the machine of `fingerprint` now. */
function evaluated(session: OnlineSession, grant: Grant, fingerprint: string): LicenseState {
  return evaluate(grant, {
    now: session.now(),
    policy: session.policy,
    fingerprint,
    lease: session.lease,
  })
}

/** Stores `grant` (a failure is a `store` error) and says what it allows now. */
async function keep(
  session: OnlineSession,
  record: LockedRecord,
  grant: Grant,
): Promise<LicenseState> {
  try {
    await record.write(grant)
  } catch (error) {
    throw asStoreError(error, 'The license could not be saved')
  }
  return evaluated(session, grant, grant.fingerprint)
}

/** How far `take` got with the record before the durable write of the grant. */
interface Progress {
  /** The damaged or foreign record read inside the lock has been moved aside. */
  setAside: boolean
  /** The activation id the store's note names (`activateWithPolar`), once it is there. */
  noted: string | undefined
}

/**
 * Takes a new seat and stores its grant over `stored` (as read inside the lock). Throws,
 * leaving the record as it was, when either step fails.
 */
async function take(
  session: OnlineSession,
  record: LockedRecord,
  seat: NewSeat,
  stored: StoredRecord,
): Promise<LicenseState> {
  const { origin, label, meta } = seat
  const { key, organizationId, fingerprint } = origin
  const conditions = machineConditions(fingerprint)
  const lease = session.leaseServer
  // The store's writer is loaded before any seat is requested: the answer is on disk sooner.
  await session.prepareWrite()
  const progress: Progress = { setAside: false, noted: undefined }
  let grant: Grant
  if (lease !== undefined) {
    const answer = await lease.activate({ key, fingerprint, label, meta })
    grant = grantFromLease(origin, conditions, answer, session.now())
  } else {
    grant = await activateWithPolar(session, record, seat, stored, conditions, progress)
  }
  try {
    await setAside(record, stored, progress)
    await record.write(grant)
  } catch (error) {
    // Nothing on disk points at the new seat: give it back, so that retrying on a full
    // or read-only disk does not take another one each time.
    // Through a lease server the seat is found again by this machine's fingerprint.
    let freed = false
    if (grant.activation !== null && lease === undefined) {
      const activationId = grant.activation.id
      const polar = await session.client()
      freed = await polar.deactivate({ key, organizationId, activationId }).then(
        () => true,
        () => false,
      )
    }
    // The note names a seat that is free again: put back what was there. A seat that could
    // not be freed stays noted, so that the next activation resumes it.
    if (progress.noted !== undefined && freed) {
      if (progress.setAside) await record.clear().catch(() => undefined)
      else await restore(record, stored)
    }
    const what = lease === undefined ? 'so the activation was undone' : 'activate again to retry'
    throw asStoreError(error, `The license could not be saved (${what})`)
  }
  return evaluated(session, grant, fingerprint)
}

/** Never silently overwrite a record we could not read: it is moved aside first. */
async function setAside(record: LockedRecord, stored: StoredRecord, progress: Progress) {
  if (progress.setAside) return
  if (stored.kind === 'damaged') await record.moveAside(stored.reason)
  if (stored.kind === 'foreign') {
    await record.moveAside(`replaced by a new activation: ${stored.why}`)
  }
  progress.setAside = true
}

/**
 * Activates with Polar directly. A note goes into the record before the request leaves
 * (pending.ts): a crash before the grant is stored then leaves a trace of a seat that may
 * be held. The moment the answer arrives, before it is turned into a grant, the note is
 * written again with the activation id, quickly (`writeQuick`: it only has to survive the
 * process being killed), so that the next activation resumes that seat. A definitive
 * refusal took no seat, so the record is put back as it was.
 */
async function activateWithPolar(
  session: OnlineSession,
  record: LockedRecord,
  seat: NewSeat,
  stored: StoredRecord,
  conditions: Conditions,
  progress: Progress,
): Promise<Grant> {
  const { origin, label } = seat
  const { key, organizationId } = origin
  // The fingerprint goes into `meta` too: Polar echoes `meta`, never `conditions`, so it is
  // what finds this machine's seats again (`keygate activations prune`, the lease server).
  const meta = checkMetadata('meta', { ...seat.meta, ...conditions })
  const polar = await session.client()
  if (seat.probe) {
    // The key is validated first, on its own, unless this call has asked Polar already.
    // Its answer is read by the same HTTP code that reads activate's, over the connection
    // activate then reuses: that code's first run (Node's fetch compiles its response path
    // lazily) and the connection's set-up happen before a seat exists, so the answer
    // naming the seat is noted moments after it arrives. A key Polar refuses (mistyped,
    // revoked, expired) is refused here, with no seat asked for and no note written; a key
    // without an activation limit needs no activate at all.
    const probed = await polar.validate({ key, organizationId })
    if (!probed.data.limit_activations) {
      return grantFromValidation(origin, conditions, probed, session.now())
    }
  }
  let pending: PendingActivation = { at: session.now(), displayKey: maskKey(key) }
  try {
    // On an empty record the note carries the key too: an online check() can then finish
    // resuming the seat by itself (`resumeInterrupted`).
    if (stored.kind === 'empty') pending = await record.writePending(pending, key)
    if (stored.kind === 'grant') await record.write({ ...stored.grant, pending })
  } catch (error) {
    throw asStoreError(error, 'The license could not be saved, so no activation was sent')
  }
  // The note is written from the answer's body as it arrives, before it is parsed. A record
  // that must first be moved aside (damaged, foreign) is noted once the answer is parsed.
  let early: Promise<void> | undefined
  const onAnswer =
    stored.kind === 'empty' || stored.kind === 'grant'
      ? (body: string) => {
          const activationId = activationIdOf(body)
          if (activationId !== undefined) {
            early = noteSeat(record, stored, { ...pending, activationId }, progress)
          }
        }
      : undefined
  let result: Awaited<ReturnType<PolarClient['activate']>>
  try {
    result = await polar.activate({ key, organizationId, label, conditions, meta }, { onAnswer })
  } catch (error) {
    await early
    if (isKeygateError(error) && error.code === 'activation_not_supported') {
      // The benefit has no activation limit: the key alone is validated from now on.
      const validated = await polar.validate({ key, organizationId })
      return grantFromValidation(origin, conditions, validated, session.now())
    }
    // A 200 whose body does not parse still took a seat: its note stays.
    if (isKeygateError(error) && !error.transient && progress.noted === undefined) {
      await restore(record, stored)
    }
    throw error
  }
  await early
  const activationId = result.data.id
  if (onAnswer === undefined || (progress.noted !== undefined && progress.noted !== activationId)) {
    await noteSeat(record, stored, { ...pending, activationId }, progress)
  }
  return grantFromActivation(origin, conditions, result, session.now())
}

/** The `id` of Polar's activation answer, read with nothing but `JSON.parse`. */
function activationIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown } | null)?.id
    return typeof id === 'string' && id !== '' && id.length <= 100 ? id : undefined
  } catch {
    return undefined
  }
}

/**
 * Notes the seat Polar just gave. Best effort: when it fails, the durable write that
 * follows reports the store's error (and gives the seat back).
 */
async function noteSeat(
  record: LockedRecord,
  stored: StoredRecord,
  note: PendingActivation,
  progress: Progress,
): Promise<void> {
  try {
    // No await before the write unless something must be moved aside first.
    if (stored.kind === 'damaged' || stored.kind === 'foreign') {
      await setAside(record, stored, progress)
    }
    if (await record.writeQuickNote(note)) progress.noted = note.activationId
  } catch {
    // The grant's write comes next and says what is wrong with the store.
  }
}

/** Puts back the record as it was before the pending note. Best effort. */
async function restore(record: LockedRecord, stored: StoredRecord): Promise<void> {
  try {
    if (stored.kind === 'grant') await record.write(stored.grant)
    else if (stored.kind === 'empty' && stored.pending !== undefined) {
      await record.writePending(stored.pending)
    } else if (stored.kind === 'empty') await record.clear()
  } catch {
    // The note stays: it only says a seat may be held, which is the safe side.
  }
}

/** The stored state of this machine's seat for `origin`, if it lets the app run. Unlocked. */
async function held(
  session: OnlineSession,
  origin: GrantOrigin,
): Promise<LicenseState | undefined> {
  const stored = await session.records.read()
  if (stored.kind !== 'grant' || !sameSeat(stored.grant, origin)) return undefined
  const state = evaluated(session, stored.grant, origin.fingerprint)
  return state.status === 'inactive' ? undefined : state
}

async function machineLabel(session: OnlineSession): Promise<string> {
  const label = (await session.machine.label()).trim()
  return label === '' ? DEFAULT_LABEL : normalizeLabel(truncateLabel(label))
}
