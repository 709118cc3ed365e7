import { isKeygateError } from './errors.js'
import { evaluate } from './evaluate.js'
import { type Grant, serializeGrant } from './grant.js'
import {
  type GrantOrigin,
  grantFromActivation,
  grantFromValidation,
  machineConditions,
  revalidatedGrant,
  sameSeat,
  verdictReason,
} from './grant-from-polar.js'
import type { Conditions, PolarClient } from './polar-types.js'
import type { Revalidation } from './revalidate.js'
import type { LicenseState, Policy } from './state.js'
import type { LicenseStore } from './store.js'
import { asStoreError, readRecord, type StoredRecord } from './stored-record.js'

export interface SeatsDeps {
  store: LicenseStore
  policy: Readonly<Policy>
  now: () => number
  getClient: () => Promise<PolarClient>
  /** The revalidator from revalidate.ts (runs inside the store lock). */
  revalidate: (grant: Grant) => Promise<Revalidation>
}

export interface NewSeat {
  origin: GrantOrigin
  label: string
  meta: Conditions | undefined
}

export interface Seats {
  /**
   * This machine already holds a seat for the key: confirm it instead of taking another.
   * Runs inside the store lock. Resolves undefined when Polar no longer knows the seat
   * (so a new one is taken); throws what Polar said when the key may not run.
   */
  reuse(grant: Grant): Promise<LicenseState | undefined>
  /**
   * This machine holds a seat taken with another key of the same organization: after the
   * customer rotated the key, Polar keeps that activation valid under the new string.
   * Validates `origin.key` with the stored activation and conditions; on success the
   * grant moves to the new key (no new seat). Runs inside the store lock. Resolves
   * undefined when the activation is not valid under that key (take a new seat); throws
   * what Polar said when the key may not run, and transient failures (a new seat taken
   * on a lost answer could be a second one).
   */
  rekey(grant: Grant, origin: GrantOrigin): Promise<LicenseState | undefined>
  /**
   * Takes a new seat and stores its grant over `record` (re-read inside the lock, which
   * this runs in). Throws, leaving the record as it was, when either step fails.
   */
  take(seat: NewSeat, record: StoredRecord): Promise<LicenseState>
  /** The stored state of this machine's seat for `origin`, if it lets the app run. Unlocked. */
  held(origin: GrantOrigin): Promise<LicenseState | undefined>
}

/** How `activate()` gets this machine a seat: reused when it has one, else taken once. */
export function createSeats(deps: SeatsDeps): Seats {
  const { store, policy, now, getClient, revalidate } = deps

  async function reuse(grant: Grant): Promise<LicenseState | undefined> {
    // Fresh (another instance just activated or validated it): asking Polar again would
    // only spend the rate limit that every instance behind one IP shares.
    const cached = evaluate(grant, { now: now(), policy, fingerprint: grant.fingerprint })
    if (cached.status === 'active') return cached
    const { state, failure } = await revalidate(grant)
    if (failure === undefined) return state
    const reason = verdictReason(failure)
    // Transient: the seat is still ours and nothing was lost; the cached grant decides.
    if (reason === null && state.status !== 'inactive') return state
    const gone = reason === 'activation_not_found' || reason === 'key_not_found'
    if (gone && state.status === 'inactive') return undefined
    throw failure
  }

  async function rekey(grant: Grant, origin: GrantOrigin): Promise<LicenseState | undefined> {
    if (grant.activation === null) return undefined
    let result: Awaited<ReturnType<PolarClient['validate']>>
    try {
      result = await (await getClient()).validate({
        key: origin.key,
        organizationId: origin.organizationId,
        activationId: grant.activation.id,
        conditions: grant.conditions,
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
    const moved = revalidatedGrant({ ...grant, key: origin.key }, result, now())
    try {
      await store.write(serializeGrant(moved))
    } catch (error) {
      throw asStoreError(error, 'The license could not be saved')
    }
    return evaluate(moved, { now: now(), policy, fingerprint: origin.fingerprint })
  }

  async function take(seat: NewSeat, record: StoredRecord): Promise<LicenseState> {
    const { origin, label, meta } = seat
    const { key, organizationId, fingerprint } = origin
    const conditions = machineConditions(fingerprint)
    const polar = await getClient()
    let grant: Grant
    try {
      const result = await polar.activate({ key, organizationId, label, conditions, meta })
      grant = grantFromActivation(origin, conditions, result, now())
    } catch (error) {
      if (!isKeygateError(error) || error.code !== 'activation_not_supported') throw error
      // The benefit has no activation limit: the key alone is validated from now on.
      const result = await polar.validate({ key, organizationId })
      grant = grantFromValidation(origin, conditions, result, now())
    }
    try {
      // Never silently overwrite a record we could not read: move it aside first.
      if (record.kind === 'damaged') await store.quarantine(record.reason)
      if (record.kind === 'foreign') {
        await store.quarantine(`replaced by a new activation: ${record.error.message}`)
      }
      await store.write(serializeGrant(grant))
    } catch (error) {
      // Nothing on disk points at the new seat: give it back, so that retrying on a full
      // or read-only disk does not take another one each time.
      if (grant.activation !== null) {
        const activationId = grant.activation.id
        await polar.deactivate({ key, organizationId, activationId }).catch(() => undefined)
      }
      throw asStoreError(error, 'The license could not be saved, so the activation was undone')
    }
    return evaluate(grant, { now: now(), policy, fingerprint })
  }

  async function held(origin: GrantOrigin): Promise<LicenseState | undefined> {
    const record = await readRecord(store)
    if (record.kind !== 'grant' || !sameSeat(record.grant, origin)) return undefined
    const state = evaluate(record.grant, { now: now(), policy, fingerprint: origin.fingerprint })
    return state.status === 'inactive' ? undefined : state
  }

  return { reuse, rekey, take, held }
}
