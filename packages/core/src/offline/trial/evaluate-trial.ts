import { type LeasePublicKey, leaseCode } from '../lease.js'
import type { Policy } from '../policy.js'
import type { InactiveReason, InactiveState, TrialInfo, TrialState } from '../state.js'
import { DAY_MS, type StoredTrial } from '../trial.js'

/** What the trial evaluation needs. */
export interface TrialContext {
  now: number
  policy: Readonly<Policy>
  fingerprint: string
  organizationId: string
  lease?: LeasePublicKey | undefined
}

/**
 * What a trial allows now. Pure. With a lease server the token was verified ahead
 * (`verifyTrialAhead`) and the lease code is loaded. In order: a memory refused as edited; with a lease
 * server, the signed token (edited: `tampered`; another machine's: `machine_mismatch`);
 * a clock set back beyond the tolerance; a start after the local clock; then the days.
 * Time is measured from the latest instant seen, so setting the clock back within the
 * tolerance cannot stretch the trial.
 */
export function evaluateTrial(
  stored: StoredTrial,
  context: TrialContext,
): TrialState | InactiveState {
  const { now, policy } = context
  if (!stored.ok) return refused('tampered', 'keychain')
  const { memory } = stored
  let startedAt = memory.startedAt
  let endsAt = memory.endsAt
  let integrity: 'signed' | 'keychain' | 'none' = stored.integrity
  if (context.lease !== undefined) {
    if (memory.token === undefined) return refused('tampered', 'signed')
    const claims = leaseCode().verifyTrialToken(memory.token, context.lease)
    if (claims === null || claims.organization_id !== context.organizationId) {
      return refused('tampered', 'signed')
    }
    if (claims.fingerprint !== context.fingerprint) return refused('machine_mismatch', 'signed')
    // As for leases: the local time of receipt is believed only up to the signed `iat`, so
    // an edit can only move the trial earlier.
    const issuedAt = claims.iat * 1000
    const skew = issuedAt - Math.min(memory.receivedAt ?? issuedAt, issuedAt)
    startedAt = claims.started_at * 1000 - skew
    endsAt = claims.ends_at * 1000 - skew
    integrity = 'signed'
  }
  if (memory.endedAt !== undefined) endsAt = Math.min(endsAt, memory.endedAt)
  const info = (at: number): TrialInfo => ({
    startedAt,
    endsAt,
    daysLeft: Math.max(0, Math.ceil((endsAt - at) / DAY_MS)),
  })
  const tolerance = policy.clockTolerance
  if (now < memory.clockHighWater - tolerance) {
    return { ...refused('clock_tampered', integrity), trial: info(memory.clockHighWater) }
  }
  if (startedAt > now + tolerance) return refused('tampered', integrity)
  const effectiveNow = Math.max(now, memory.clockHighWater)
  if (effectiveNow >= endsAt) {
    return { ...refused('trial_expired', integrity), trial: info(effectiveNow) }
  }
  return { status: 'trial', trial: info(effectiveNow), integrity }
}

function refused(reason: InactiveReason, integrity: 'signed' | 'keychain' | 'none'): InactiveState {
  return { status: 'inactive', reason, note: { kind: 'trial' }, integrity }
}
