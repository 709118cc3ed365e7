import { type EvaluateContext, evaluate, type GrantState } from '../evaluate.js'
import { activationInfo, type Grant, licenseInfo } from '../grant.js'
import type { LeasePublicKey } from '../lease.js'
import { REASONS } from '../reasons.js'
import { verifyLease } from './verify.js'

/**
 * What a leased grant allows: the record's times and key facts replaced by the lease's
 * signed claims, then `evaluate`'s usual decisions, and nothing outliving the lease.
 */

export type LeaseOutcome =
  /** The grant with every time and verdict-relevant field taken from the signed lease. */
  | { ok: true; grant: Grant; leaseEndsAt: number }
  | { ok: false; reason: 'tampered' | 'machine_mismatch' }

/**
 * What a leased grant allows offline: the signed claims replace the record's times, key
 * status, expiry and binding, so editing the record changes nothing (or breaks the
 * signature). `leaseEndsAt`, on the local clock, is the lease's own end.
 *
 * Times: the lease is signed on the server's clock. The record's local time of receipt
 * (`localValidatedAt`) is believed only when it is not later than the signed `iat`, so an
 * edit can move it earlier (which only shortens the lease) and never later; a machine
 * whose clock runs behind the server's keeps its own clock's view of the same instants.
 */
export function leasedGrant(
  grant: Grant,
  publicKey: LeasePublicKey,
  fingerprint: string,
): LeaseOutcome {
  if (grant.lease === undefined) return { ok: false, reason: 'tampered' }
  const claims = verifyLease(grant.lease, publicKey)
  if (claims === null) return { ok: false, reason: 'tampered' }
  if (claims.fingerprint !== fingerprint) return { ok: false, reason: 'machine_mismatch' }
  const activationId = grant.activation === null ? null : grant.activation.id
  const bound =
    claims.organization_id === grant.organizationId &&
    claims.sub === grant.license.id &&
    claims.activation_id === activationId &&
    claims.fingerprint === grant.fingerprint
  if (!bound) return { ok: false, reason: 'tampered' }
  const issuedAt = claims.iat * 1000
  const local = Math.min(grant.localValidatedAt ?? issuedAt, issuedAt)
  const skew = issuedAt - local
  return {
    ok: true,
    grant: {
      ...grant,
      license: {
        ...grant.license,
        status: claims.status,
        expiresAt: claims.key_expires_at,
        benefitId: claims.benefit_id,
      },
      validatedAt: issuedAt,
      localValidatedAt: local,
      // A high-water mark edited forward would lock the user out, never let them in.
      clockHighWater: Math.max(grant.clockHighWater, local),
    },
    leaseEndsAt: claims.exp * 1000 - skew,
  }
}

/**
 * A grant from a lease server: the verified lease replaces the record's times and key
 * facts (`leasedGrant`), then the usual decisions run, and nothing outlives the lease.
 */
export function evaluateLeased(
  grant: Grant,
  publicKey: LeasePublicKey,
  context: EvaluateContext,
): GrantState {
  const leased = leasedGrant(grant, publicKey, context.fingerprint)
  if (!leased.ok) {
    // Renewing through the lease server can lift `tampered` at once (Polar decides again).
    const lift = REASONS[leased.reason].lift !== 'never'
    return {
      status: 'inactive',
      reason: leased.reason,
      license: licenseInfo(grant),
      activation: activationInfo(grant),
      ...(lift ? { nextCheckAt: context.now } : {}),
      integrity: 'signed',
    }
  }
  const state = evaluate(leased.grant, { ...context, lease: undefined })
  const ends = leased.leaseEndsAt
  const effectiveNow = Math.max(context.now, leased.grant.clockHighWater)
  if (state.status === 'inactive') return { ...state, integrity: 'signed' }
  if (effectiveNow >= ends) {
    return {
      status: 'inactive',
      reason: 'grace_expired',
      license: state.license,
      activation: state.activation,
      validatedAt: state.validatedAt,
      nextCheckAt: Math.min(ends, context.now),
      integrity: 'signed',
    }
  }
  if (state.status === 'active') {
    return { ...state, nextCheckAt: Math.min(state.nextCheckAt, ends), integrity: 'signed' }
  }
  return { ...state, graceEndsAt: Math.min(state.graceEndsAt, ends), integrity: 'signed' }
}
