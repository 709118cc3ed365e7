import type { KeygateError } from './errors.js'

/** How long a grant stays trusted. All durations in milliseconds. */
export interface Policy {
  /** Revalidate online once the last validation is older than this. Default 24 h. */
  revalidateAfter: number
  /** How long after the last successful validation the app keeps running without Polar. Default 7 days. */
  gracePeriod: number
  /** How far the clock may go back before the grant is treated as tampered with. Default 1 h. */
  clockTolerance: number
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  revalidateAfter: 24 * 60 * 60 * 1000,
  gracePeriod: 7 * 24 * 60 * 60 * 1000,
  clockTolerance: 60 * 60 * 1000,
})

/** What the app knows about the license key, safe to show in a UI (no full key, no PII). */
export interface LicenseInfo {
  id: string
  /** Polar's masked form, `****-` and the last 6 characters. */
  displayKey: string
  status: string
  /** Polar's `expires_at`, epoch ms (Polar's clock), or null for a key that never expires. */
  expiresAt: number | null
  limitActivations: number | null
  usage: number
  limitUsage: number | null
  benefitId: string
  customerId: string
}

export interface ActivationInfo {
  id: string
  label: string
  /** Epoch ms. */
  createdAt: number
}

export type InactiveReason =
  | 'not_activated'
  | 'grace_expired'
  | 'revoked'
  | 'expired'
  | 'key_not_found'
  | 'activation_not_found'
  | 'machine_mismatch'
  | 'clock_tampered'
  | 'conditions_mismatch'
  | 'usage_exhausted'

/** Why a grant is in grace: the revalidation is simply due, or Polar could not be reached. */
export type GraceWhy = 'revalidation_due' | 'unreachable'

/**
 * Times in a state (`validatedAt`, `nextCheckAt`, `graceEndsAt`, `expiresAt`) are on this
 * machine's clock, epoch ms: compare them with `Date.now()` (or the injected `now`). On a
 * machine whose clock is off, they differ from Polar's by that skew; `license.expiresAt`
 * is Polar's own value, for showing the date.
 */
interface Licensed {
  /** What Polar said about the key; `license.expiresAt` is Polar's time, as sent. */
  license: LicenseInfo
  /** null for keys whose benefit supports no activations (validate-only). */
  activation: ActivationInfo | null
  /** When the last successful online validation happened, on the local clock, epoch ms. */
  validatedAt: number
  /** The key's own expiry on the local clock (Polar's `expires_at` moved by the skew), or null. */
  expiresAt: number | null
  /** The last online attempt's failure, when it failed transiently. */
  error?: KeygateError | undefined
}

export interface ActiveState extends Licensed {
  status: 'active'
  /** When the next online revalidation is due, on the local clock, epoch ms. */
  nextCheckAt: number
}

export interface GraceState extends Licensed {
  status: 'grace'
  /** When the app stops running without a successful validation, on the local clock, epoch ms. */
  graceEndsAt: number
  why: GraceWhy
}

export interface InactiveState {
  status: 'inactive'
  reason: InactiveReason
  /** Polar's detail or our own explanation, for a person. Never contains the key. */
  detail?: string | undefined
  /**
   * When `check({ online: 'auto' })` asks Polar again, on the local clock, epoch ms:
   * `revalidateAfter` after a verdict from Polar (a re-enabled key recovers), or at once
   * (a time not after the evaluation) when a validation may lift the state: grace expired,
   * an expiry a renewal may have extended, a clock set back. Absent when asking Polar
   * cannot change it.
   */
  nextCheckAt?: number | undefined
  /** What was known about the license, when there was a record. */
  license?: LicenseInfo | undefined
  activation?: ActivationInfo | null | undefined
  error?: KeygateError | undefined
}

/** What `check()` returns: a discriminated union a UI can switch on. */
export type LicenseState = ActiveState | GraceState | InactiveState
