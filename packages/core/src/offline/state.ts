import type { KeygateError } from '../errors.js'
import type { Integrity } from './integrity.js'
import type { InactiveReason } from './reasons.js'

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

export type { Integrity } from './integrity.js'
export type { InactiveReason } from './reasons.js'

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
  /** Features the key's benefit unlocks (`entitlements`); set on every reported state. */
  features?: readonly string[] | undefined
  /** Whether the license unlocks `feature`; on every state `createLicensing` reports. */
  can?: ((feature: string) => boolean) | undefined
  /**
   * What the record behind the state rests on: `signed` (a lease from the seller's lease
   * server), `keychain` (a MAC keyed from the OS keychain verified), `none` (tamper-evident
   * only). Set on every state that rests on a record (`active`, `grace`, and `inactive`
   * with `license`) that `check()`, `refresh()`, `activate()` and `subscribe` deliver.
   */
  integrity?: Integrity | undefined
}

export interface ActiveState extends Licensed {
  status: 'active'
  /** When the next online revalidation is due, on the local clock, epoch ms. */
  nextCheckAt: number
  /**
   * Set when an expired key keeps running this build (`onExpiry: 'fallback'`): the key's
   * expiry, Polar's time. Builds released after it need a renewed key.
   */
  updatesUntil?: number | undefined
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
  /**
   * Polar's own words when a verdict from Polar caused the state (its `detail`), for logs
   * and support. Never contains the key. Words for a person come from `describe(state)`.
   */
  detail?: string | undefined
  /** What else is known about the record behind the state, for `describe()` and support. */
  note?: InactiveNote | undefined
  /** The last successful online validation, on the local clock, when there was a grant. */
  validatedAt?: number | undefined
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
  /** Always empty: an inactive license unlocks nothing. */
  features?: readonly string[] | undefined
  can?: ((feature: string) => boolean) | undefined
  /**
   * What the record behind the state rests on: `signed` (a lease from the seller's lease
   * server), `keychain` (a MAC keyed from the OS keychain verified), `none` (tamper-evident
   * only). Set on every state that rests on a record (`active`, `grace`, and `inactive`
   * with `license`) that `check()`, `refresh()`, `activate()` and `subscribe` deliver.
   */
  integrity?: Integrity | undefined
  /** The trial's times, when the state is about one (`trial_expired`, or a trial refused). */
  trial?: TrialInfo | undefined
}

/** A trial's times on the local clock, epoch ms (see `createLicensing({ trial })`). */
export interface TrialInfo {
  startedAt: number
  /** When the trial ends (or ended: activating a key ends it early). */
  endsAt: number
  /** Whole days left, rounded up: 1 on the last day, 0 once it ended. */
  daysLeft: number
}

/**
 * A trial runs: this machine has no license key yet and the app may run until
 * `trial.endsAt`. `integrity` says what the trial's start rests on (`signed`: a lease
 * server's token; `keychain`: a MAC keyed from the OS keychain; `none`: a courtesy trial
 * a user can restart by deleting the record).
 */
export interface TrialState {
  status: 'trial'
  trial: TrialInfo
  integrity?: Integrity | undefined
  /** A failure beside the state (e.g. the trial's record could not be updated). */
  error?: KeygateError | undefined
  /** Features the trial unlocks (`trial.features`); set on every reported state. */
  features?: readonly string[] | undefined
  can?: ((feature: string) => boolean) | undefined
  /** A trial rests on no license key. */
  license?: undefined
}

/** Facts about the stored record behind an inactive state. */
export type InactiveNote =
  /** The record could not be read; `movedTo` says where it was moved aside. */
  | { kind: 'unreadable'; problem: string; movedTo?: string | undefined }
  /** The record was activated with another organization or Polar server. */
  | { kind: 'other_origin'; server: string }
  /** The store holds an intact record it cannot read on this machine. */
  | { kind: 'foreign'; why: string }
  /**
   * An activation was sent at `at` (local clock, epoch ms) and its answer never stored:
   * it may hold a seat. Activating again is safe; the seller can free the duplicate.
   * `activationId`: Polar's answer had arrived and named this seat, so activating again
   * with the same key resumes it (no second seat is taken).
   */
  | {
      kind: 'interrupted_activation'
      at: number
      displayKey: string
      activationId?: string | undefined
    }
  /** The state is about this machine's trial (its record refused, its clock set back). */
  | { kind: 'trial' }

/** What `check()` returns: a discriminated union a UI can switch on. */
export type LicenseState = ActiveState | GraceState | TrialState | InactiveState
