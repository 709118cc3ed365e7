import { isKeygateError, KeygateError } from './errors.js'
import { evaluate, withTransientFailure } from './evaluate.js'
import { type Grant, serializeGrant } from './grant.js'
import {
  grantWithVerdict,
  revalidatedGrant,
  verdictDetail,
  verdictReason,
} from './grant-from-polar.js'
import type { Machine } from './machine.js'
import type { PolarClient } from './polar-types.js'
import type { InactiveReason, LicenseState, Policy } from './state.js'
import type { LicenseStore } from './store.js'
import { asStoreError } from './stored-record.js'

export interface RevalidatorDeps {
  store: LicenseStore
  machine: Machine
  policy: Readonly<Policy>
  now: () => number
  getClient: () => Promise<PolarClient>
}

export interface Revalidation {
  state: LicenseState
  /** The client's error, when the validation failed (transiently or definitively). */
  failure?: KeygateError | undefined
}

/**
 * Online revalidation of a grant: success refreshes it, a definitive answer from Polar
 * records a verdict, and a transient failure leaves the stored bytes exactly as they were.
 * The returned function must run inside the store lock.
 */
export function createRevalidator(deps: RevalidatorDeps): (grant: Grant) => Promise<Revalidation> {
  const { store, machine, policy, now, getClient } = deps

  /**
   * Validates the grant online and stores the outcome; runs inside the store lock.
   * `failure` is the client's error, when there was one.
   */
  async function revalidate(
    grant: Grant,
  ): Promise<{ state: LicenseState; failure?: KeygateError }> {
    const fingerprint = await machine.fingerprint()
    const context = { policy, fingerprint }
    // A copied record stays refused; validating it would only refresh another machine's seat.
    if (fingerprint !== grant.fingerprint)
      return { state: evaluate(grant, { ...context, now: now() }) }
    let outcome: Grant
    let failure: KeygateError | undefined
    try {
      const polar = await getClient()
      const result = await polar.validate({
        key: grant.key,
        organizationId: grant.organizationId,
        ...(grant.activation === null
          ? {}
          : { activationId: grant.activation.id, conditions: grant.conditions }),
      })
      outcome = revalidatedGrant(grant, result, now())
    } catch (error) {
      failure = asKeygateError(error)
      const reason = verdictReason(failure)
      if (reason === null) {
        // Transient (or our own request refused): the record stays byte-for-byte as it was.
        const cached = evaluate(grant, { ...context, now: now() })
        return { state: withTransientFailure(cached, failure), failure }
      }
      const settled = grant.activation === null ? reason : await probeNotFound(grant, reason)
      outcome = grantWithVerdict(grant, settled, verdictDetail(settled, failure), now())
    }
    const state = evaluate(outcome, { ...context, now: now() })
    try {
      await store.write(serializeGrant(outcome))
      return failure ? { state, failure } : { state }
    } catch (error) {
      const storeError = asStoreError(error, 'The license record could not be saved')
      return { state: { ...state, error: storeError }, failure: failure ?? storeError }
    }
  }

  /**
   * Polar answers "Not found" both for a removed activation and for a key that no longer
   * exists (deleted or rotated). Asking about the key alone tells them apart.
   */
  async function probeNotFound(grant: Grant, reason: InactiveReason): Promise<InactiveReason> {
    if (reason !== 'activation_not_found' && reason !== 'key_not_found') return reason
    try {
      await (await getClient()).validate({ key: grant.key, organizationId: grant.organizationId })
      return 'activation_not_found'
    } catch (error) {
      const probe = isKeygateError(error) ? verdictReason(error) : null
      if (probe === 'key_not_found' || probe === 'activation_not_found') return 'key_not_found'
      // Revoked or expired meanwhile says more; a failed probe leaves the first answer.
      return probe ?? 'activation_not_found'
    }
  }

  return revalidate
}

function asKeygateError(error: unknown): KeygateError {
  if (isKeygateError(error)) return error
  return new KeygateError('network', `Polar could not be reached: ${String(error)}`, {
    cause: error,
  })
}
