import type { KeygateError } from '../errors.js'
import { activationInfo, type Grant, licenseInfo } from './grant.js'
import { type Integrity, integrityOf, isDowngraded } from './integrity.js'
import { type LeasePublicKey, leaseCode } from './lease.js'
import type { Policy } from './policy.js'
import { REASONS } from './reasons.js'
import type {
  ActiveState,
  GraceState,
  InactiveReason,
  InactiveState,
  LicenseState,
} from './state.js'

export interface EvaluateContext {
  /** The current time, epoch ms. */
  now: number
  policy: Readonly<Policy>
  /** This machine's fingerprint, compared with the one the grant was bound to. */
  fingerprint: string
  /**
   * What the grant rests on, reported on the state. Default: what it was read with (see
   * `offline/record`), or left for the licensing instance to fill in for a grant built afresh.
   */
  integrity?: Integrity | undefined
  /** Ask Polar at the next online check even while fresh (a record without its MAC). */
  revalidateNow?: boolean | undefined
  /**
   * The lease server's public key: then only the grant's verified lease decides (`lease/`,
   * loaded first: the public `evaluate` has it at hand, the record's reader loads it).
   */
  lease?: LeasePublicKey | undefined
}

/**
 * Decides what a cached grant allows right now. Pure: no I/O and no clock of its own,
 * so every state is reachable in a unit test. The order of the decisions matters and
 * is documented in the README:
 *
 * 1. a definitive verdict from Polar kept in the grant (asked again after `revalidateAfter`);
 * 2. a grant bound to another machine;
 * 3. a record whose MAC was removed where this machine's keychain signed one: `tampered`,
 *    asked about at once;
 * 4. a clock set back beyond the tolerance;
 * 5. a record whose local times lie after the local clock (or after its own high-water
 *    mark) beyond the tolerance: `tampered`, asked about at once;
 * 6. the key's own expiry, then a cached status other than `granted`;
 * 7. the age of the last validation: active, grace, or grace expired.
 *
 * Every comparison runs on the local clock (`now`, the high-water mark, the local time of
 * the last validation), and so do the times in the state. Polar's times (`validatedAt`,
 * the key's `expires_at`) enter only through the skew recorded at validation, so a clock
 * that runs behind Polar's is never taken for an edited record.
 */
export function evaluate(grant: Grant, context: EvaluateContext): GrantState {
  if (context.lease !== undefined) return leaseCode().evaluateLeased(grant, context.lease, context)
  const { now, policy, fingerprint } = context
  const tolerance = policy.clockTolerance
  const integrity = context.integrity ?? integrityOf(grant)
  const trust = integrity === undefined ? {} : { integrity }
  const license = licenseInfo(grant)
  const activation = activationInfo(grant)
  // Older records have no local time of the validation: Polar's time stands in, but never
  // later than the latest local time the record has seen (Polar's clock may run ahead).
  const validatedAt = grant.localValidatedAt ?? Math.min(grant.validatedAt, grant.clockHighWater)
  /**
   * `nextCheckAt`: when `check({ online: 'auto' })` asks Polar again; omitted for reasons
   * no online check can lift (the reasons table says which).
   */
  const inactive = (
    reason: InactiveReason,
    nextCheckAt: number | undefined,
    detail?: string,
  ): InactiveState => ({
    status: 'inactive',
    reason,
    ...(detail === undefined ? {} : { detail }),
    license,
    activation,
    validatedAt,
    ...(nextCheckAt === undefined || REASONS[reason].lift === 'never' ? {} : { nextCheckAt }),
    ...trust,
  })
  // Due since `since`, but never later than now: a clock set back must not postpone it.
  const dueSince = (since: number) => Math.min(since, now)
  const sameMachine = fingerprint === grant.fingerprint

  if (grant.verdict !== undefined) {
    // Asked again a day later, so a key the seller re-enables recovers without hammering
    // Polar; a copied record is never sent to Polar at all.
    const { reason, detail, at } = grant.verdict
    // A verdict stamped after the local clock would postpone that: asked about at once.
    const recheck = at > now + tolerance ? now : at + policy.revalidateAfter
    return inactive(reason, sameMachine ? recheck : undefined, detail)
  }

  if (!sameMachine) {
    return inactive('machine_mismatch', undefined)
  }

  // Everything in it, a verdict included, is whoever removed the MAC's word: asked at once.
  if (isDowngraded(grant)) {
    return inactive('tampered', now)
  }

  if (now < grant.clockHighWater - tolerance) {
    return inactive('clock_tampered', now)
  }

  // Every write sets the high-water mark to at least the validation's local time, and the
  // clock check above bounds the mark by now: a later validation was written by hand. Such
  // a record buys nothing, not even grace; a validation online replaces it.
  if (validatedAt > now + tolerance || validatedAt > grant.clockHighWater + tolerance) {
    return inactive('tampered', now)
  }

  // One clock for every comparison: this machine's. Polar's time is kept for display;
  // the key's expires_at is moved onto the local clock by the skew seen at validation.
  const skew = grant.validatedAt - validatedAt
  const polarExpiry = license.expiresAt
  const expiresAt = polarExpiry === null ? null : polarExpiry - skew
  // Within the tolerance the clock may have gone back a little; measure time from the
  // latest instant ever seen so setting the clock back cannot stretch grace or expiry.
  const effectiveNow = Math.max(now, grant.clockHighWater)
  if (polarExpiry !== null && expiresAt !== null && effectiveNow >= expiresAt) {
    // Only the cached expires_at says so: a subscription renewal extends it in Polar.
    return inactive('expired', dueSince(expiresAt))
  }
  if (license.status !== 'granted') {
    return inactive('revoked', dueSince(validatedAt))
  }

  const age = effectiveNow - validatedAt
  const licensed = { license, activation, validatedAt, expiresAt, ...trust }
  if (age <= policy.revalidateAfter) {
    const nextCheckAt = validatedAt + policy.revalidateAfter
    return {
      status: 'active',
      ...licensed,
      nextCheckAt: context.revalidateNow ? Math.min(nextCheckAt, now) : nextCheckAt,
    }
  }
  if (age <= policy.gracePeriod) {
    const graceEnd = validatedAt + policy.gracePeriod
    return {
      status: 'grace',
      ...licensed,
      graceEndsAt: expiresAt === null ? graceEnd : Math.min(graceEnd, expiresAt),
      why: 'revalidation_due',
    }
  }
  return inactive('grace_expired', dueSince(validatedAt + policy.revalidateAfter))
}

/** The states a grant can be in: a trial rests on no grant. */
export type GrantState = ActiveState | GraceState | InactiveState

/**
 * The state to report when going online failed transiently: the cached record still
 * decides (active while fresh, then grace, then grace expired) and the error is reported
 * beside it. A grace state then says Polar was unreachable rather than merely due.
 */
export function withTransientFailure(state: LicenseState, error: KeygateError): LicenseState {
  if (state.status === 'grace') return { ...state, why: 'unreachable' as const, error }
  return { ...state, error }
}

/** True when `check({ online: 'auto' })` should go online for this state. */
export function needsRevalidation(state: LicenseState, now: number): boolean {
  switch (state.status) {
    case 'active':
      return now >= state.nextCheckAt
    case 'grace':
      return true
    case 'trial':
      return false
    case 'inactive':
      // No nextCheckAt: no record, or a record Polar must not be asked about.
      return state.nextCheckAt !== undefined && now >= state.nextCheckAt
  }
}
