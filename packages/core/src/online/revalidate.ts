import { isKeygateError, KeygateError } from '../errors.js'
import { cachedWith, lockedStateOf, otherOrigin, ours, report, stateOf } from '../offline/check.js'
import { evaluate, needsRevalidation, withTransientFailure } from '../offline/evaluate.js'
import type { Grant } from '../offline/grant.js'
import type { InactiveReason } from '../offline/reasons.js'
import { asStoreError, type LockedRecord } from '../offline/record.js'
import type { LicenseState } from '../offline/state.js'
import {
  grantWithVerdict,
  machineConditions,
  revalidatedGrant,
  verdictReason,
} from './grant-from-polar.js'
import { renewLease } from './lease-renew.js'
import type { OnlineSession } from './session.js'

export interface Revalidation {
  state: LicenseState
  /** The client's error, when the validation failed (transiently or definitively). */
  failure?: KeygateError | undefined
}

/**
 * Validates the stored grant online, under the lock. `onlyIfDue` (check's `auto`) asks
 * Polar only if the grant re-read inside the lock is still due. Never throws.
 * Instances started together send one request between them, not one each (Polar's limit
 * is per IP): the grant re-read inside the lock is often no longer due.
 */
export async function revalidateStored(
  session: OnlineSession,
  onlyIfDue: boolean,
): Promise<LicenseState> {
  const { now } = session
  // After a transient failure, `check()` (`auto`) answers from the cache for the pacer's
  // quiet minute: an app calling it on every focus or click must not send a request each
  // time while Polar's edge keeps failing, whether the cache lets the app run or keeps it
  // locked until a validation succeeds. `refresh()` always asks.
  const quiet = onlyIfDue ? session.pacer.quiet() : undefined
  if (quiet !== undefined) {
    const state = await quietState(session, quiet)
    if (state !== undefined) return state
  }
  let ticket: number | undefined
  try {
    const state = await session.records.locked(async (locked) => {
      ticket = session.emitter.ticket()
      const record = await locked.read()
      if (record.kind !== 'grant') return lockedStateOf(session, locked, record)
      if (!ours(session, record.grant)) return otherOrigin(record.grant)
      if (onlyIfDue) {
        const cached = await stateOf(session, record)
        if (!needsRevalidation(cached, now())) return cached
        // Checks that queued for the lock while a request was out (one that then timed
        // out, say) must not each send one after it: the quiet minute holds here too.
        const quietNow = session.pacer.quiet()
        if (quietNow !== undefined) return withTransientFailure(cached, quietNow)
      }
      return (await revalidate(session, locked, record.grant)).state
    })
    return report(session, state, ticket)
  } catch (error) {
    // The lock (or the machine) failed: report the cached state with the error beside it.
    return cachedWith(session, asStoreError(error, 'The license store failed'))
  }
}

/**
 * The cached state during the quiet minute, with the last failure beside it while still
 * due; undefined when there is no grant of ours to answer from (then Polar is asked).
 */
async function quietState(
  session: OnlineSession,
  error: KeygateError,
): Promise<LicenseState | undefined> {
  const ticket = session.emitter.ticket()
  try {
    const record = await session.records.read()
    if (record.kind !== 'grant' || !ours(session, record.grant)) return undefined
    const cached = await stateOf(session, record)
    if (!needsRevalidation(cached, session.now())) return report(session, cached, ticket)
    return report(session, withTransientFailure(cached, error), ticket)
  } catch {
    return undefined
  }
}

/**
 * Online revalidation of a grant, inside the lock: success refreshes it, a definitive
 * answer from Polar records a verdict, and a transient failure leaves the stored bytes
 * exactly as they were. `failure` is the client's error, when there was one.
 */
export async function revalidate(
  session: OnlineSession,
  locked: LockedRecord,
  grant: Grant,
): Promise<Revalidation> {
  const { policy, now } = session
  const fingerprint = await session.machine.fingerprint()
  const context = { policy, fingerprint, lease: session.lease }
  // A copied record stays refused; validating it would only refresh another machine's seat.
  if (fingerprint !== grant.fingerprint) {
    return { state: evaluate(grant, { ...context, now: now() }) }
  }
  let outcome: Grant
  let failure: KeygateError | undefined
  try {
    if (session.leaseServer !== undefined) {
      outcome = await renewLease(session, grant)
    } else {
      // The conditions come from this machine's fingerprint, never from the record: a
      // record copied here with its fingerprint edited would otherwise send the first
      // machine's conditions, and Polar would confirm that machine's seat for this one.
      const conditions = machineConditions(fingerprint)
      const polar = await session.client()
      const result = await polar.validate({
        key: grant.key,
        organizationId: grant.organizationId,
        ...(grant.activation === null ? {} : { activationId: grant.activation.id, conditions }),
      })
      // Polar tests the limit's truthiness: 0 means no activations, as null does.
      if (grant.activation === null && (result.data.limit_activations ?? 0) > 0) {
        throw seatless(result.data.display_key)
      }
      outcome = revalidatedGrant({ ...grant, conditions }, result, now())
    }
  } catch (error) {
    failure = asKeygateError(error)
    const reason = verdictReason(failure)
    if (reason === null) {
      // Transient (or our own request refused): the record stays byte-for-byte as it was.
      const cached = evaluate(grant, { ...context, now: now() })
      return { state: withTransientFailure(cached, failure), failure }
    }
    // A lease server tells a removed activation from a gone key itself.
    const settled =
      grant.activation === null || session.leaseServer !== undefined
        ? reason
        : await probeNotFound(session, grant, reason)
    outcome = grantWithVerdict(grant, settled, failure.detail, now())
  }
  const state = evaluate(outcome, { ...context, now: now() })
  try {
    await locked.write(outcome)
    return failure ? { state, failure } : { state }
  } catch (error) {
    const storeError = asStoreError(error, 'The license record could not be saved')
    // A verdict stands even unsaved (the key must not run on); a success that was not
    // saved reports what is on disk, so this answer and the next start agree.
    if (failure !== undefined) return { state: { ...state, error: storeError }, failure }
    const onDisk = await storedGrant(locked, grant)
    const cached = evaluate(onDisk, { ...context, now: now() })
    return { state: { ...cached, error: storeError }, failure: storeError }
  }
}

/** The grant on disk after a failed write (a write cut short leaves the old one). */
async function storedGrant(locked: LockedRecord, fallback: Grant): Promise<Grant> {
  try {
    const record = await locked.read()
    return record.kind === 'grant' ? record.grant : fallback
  } catch {
    return fallback
  }
}

/**
 * Polar answers "Not found" both for a removed activation and for a key that no longer
 * exists (deleted or rotated). Asking about the key alone tells them apart.
 */
async function probeNotFound(
  session: OnlineSession,
  grant: Grant,
  reason: InactiveReason,
): Promise<InactiveReason> {
  if (reason !== 'activation_not_found' && reason !== 'key_not_found') return reason
  try {
    const polar = await session.client()
    await polar.validate({ key: grant.key, organizationId: grant.organizationId })
    return 'activation_not_found'
  } catch (error) {
    const probe = isKeygateError(error) ? verdictReason(error) : null
    if (probe === 'key_not_found' || probe === 'activation_not_found') return 'key_not_found'
    // Revoked or expired meanwhile says more; a failed probe leaves the first answer.
    return probe ?? 'activation_not_found'
  }
}

/**
 * A grant without a seat is what activating a key whose benefit supports no activations
 * leaves; Polar answering with an activation limit means the key uses seats, so a seat-less
 * record of it (hand-written, or an edited copy) would run on any number of machines.
 */
function seatless(displayKey: string): KeygateError {
  return new KeygateError(
    'activation_not_found',
    `The license key ${displayKey} is activated per machine, and this machine holds no ` +
      'activation of it. Activate this machine again.',
  )
}

function asKeygateError(error: unknown): KeygateError {
  if (isKeygateError(error)) return error
  return new KeygateError('network', `Polar could not be reached: ${String(error)}`, {
    cause: error,
  })
}
