import type { LicenseState } from './state.js'

/**
 * What a license allows, beyond running: feature names per Polar benefit (Polar tells
 * tiers apart only by `benefit_id`), and updates until the key's expiry for a perpetual
 * fallback. Applied to every state `createLicensing` reports; pure.
 */

/** Feature names per Polar benefit id: `{ [benefitId]: ['export', 'sync'] }`. */
export type Entitlements = Readonly<Record<string, readonly string[]>>

/** What happens when a key expires: stop the app, or keep running builds released before. */
export type ExpiryBehaviour = 'lock' | 'fallback'

export interface EntitlementRules {
  entitlements?: Entitlements | undefined
  onExpiry?: ExpiryBehaviour | undefined
  /** Features a running trial unlocks (`trial.features`). */
  trialFeatures?: readonly string[] | undefined
  /** When this build was released, epoch ms (for `onExpiry: 'fallback'`). */
  releasedAt?: number | undefined
}

/**
 * The state with `can(feature)`, `features` when `entitlements` are given (empty when the key's benefit is not in the map, or when the
 * app may not run) and, with `onExpiry: 'fallback'`, an expired key turned into an
 * `active` state with `updatesUntil` when this build was released before the expiry.
 * Only expiry falls back: a revoked key, another machine, a clock set back stay locked.
 */
export function applyEntitlements(state: LicenseState, rules: EntitlementRules): LicenseState {
  const fallen = fallback(state, rules)
  const runs = fallen.status !== 'inactive'
  const benefitId = fallen.license?.benefitId
  const features =
    fallen.status === 'trial'
      ? [...(rules.trialFeatures ?? [])]
      : runs && benefitId !== undefined
        ? [...(rules.entitlements?.[benefitId] ?? [])]
        : []
  // Only apps that map benefits to features see the field; `can()` is always there.
  const mapped = rules.entitlements !== undefined || (rules.trialFeatures?.length ?? 0) > 0
  const next: LicenseState = mapped ? { ...fallen, features } : { ...fallen }
  Object.defineProperty(next, 'can', {
    value: (feature: string) => features.includes(feature),
    enumerable: false,
  })
  return next
}

function fallback(state: LicenseState, rules: EntitlementRules): LicenseState {
  if (rules.onExpiry !== 'fallback' || rules.releasedAt === undefined) return state
  if (state.status !== 'inactive' || state.reason !== 'expired') return state
  const { license, activation, validatedAt } = state
  const expiresAt = license?.expiresAt
  if (license === undefined || activation === undefined || validatedAt === undefined) return state
  if (expiresAt === null || expiresAt === undefined || rules.releasedAt > expiresAt) return state
  return {
    status: 'active',
    license,
    activation,
    validatedAt,
    expiresAt: null,
    updatesUntil: expiresAt,
    // Polar is still asked now and then, so a revocation after the expiry still locks.
    nextCheckAt: state.nextCheckAt ?? validatedAt,
    ...(state.error === undefined ? {} : { error: state.error }),
    ...(state.integrity === undefined ? {} : { integrity: state.integrity }),
  }
}

/** Whether the state's license lets the app use `feature`. */
export function can(state: LicenseState, feature: string): boolean {
  return state.status !== 'inactive' && (state.features ?? []).includes(feature)
}

/**
 * Whether a build released at `releaseDate` (epoch ms) may be installed: the license runs
 * and its key had not expired by then. A key that never expires allows every update.
 */
export function allowsUpdate(state: LicenseState, releaseDate: number): boolean {
  if (state.status === 'inactive') return false
  // A trial runs whatever build the user tries.
  if (state.status === 'trial') return true
  const until = state.status === 'active' ? (state.updatesUntil ?? null) : null
  const expiry = until ?? state.license.expiresAt
  return expiry === null || releaseDate <= expiry
}
