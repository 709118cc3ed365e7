import type { KeygateError } from '../errors.js'
import { MACHINE_CONDITION } from '../machine.js'
import { GRANT_VERSION, type Grant } from '../offline/grant.js'
import type { GrantOrigin } from '../offline/origin.js'
import { type InactiveReason, reasonOfCode } from '../offline/reasons.js'
import type {
  Conditions,
  PolarActivation,
  PolarLicenseKey,
  PolarResult,
  PolarValidatedKey,
} from '../polar/types.js'

/** The conditions an activation is bound with: this machine's fingerprint. */
export function machineConditions(fingerprint: string): Conditions {
  return { [MACHINE_CONDITION]: fingerprint }
}

/** Only what the library uses; customer data in Polar's answer is dropped here. */
function licenseSnapshot(key: PolarLicenseKey): Grant['license'] {
  return {
    id: key.id,
    displayKey: key.display_key,
    status: key.status,
    expiresAt: key.expires_at,
    limitActivations: key.limit_activations,
    usage: key.usage,
    limitUsage: key.limit_usage,
    benefitId: key.benefit_id,
    customerId: key.customer_id,
  }
}

/**
 * Times after a successful answer. `validatedAt` keeps Polar's time (its `Date` header)
 * for display and diagnostics; `localValidatedAt` is the same moment on this machine's
 * clock, which every offline comparison uses, so a clock that is steadily wrong neither
 * locks a paying user out nor buys offline time. The high-water mark restarts from the
 * local now: an online answer forgives a clock that was once ahead or set back.
 */
function confirmedTimes(
  serverTime: number | undefined,
  now: number,
): Pick<Grant, 'validatedAt' | 'localValidatedAt' | 'clockHighWater'> {
  return { validatedAt: serverTime ?? now, localValidatedAt: now, clockHighWater: now }
}

/** Polar's stamps and its `Date` header come from different machines: allow some drift. */
const STAMP_TOLERANCE = 5 * 60 * 1000

/**
 * Polar's time of the answer: its `Date` header, unless the answer itself contradicts it.
 * A proxy with a broken clock may rewrite the header, and its skew moves the key's expiry.
 * Polar just accepted the key, so by its clock the key had not expired; and it wrote the
 * answer's timestamps no later than now. A contradicted header is dropped (the local clock
 * stands in), so it can neither expire a key Polar just confirmed nor push its expiry back.
 * Without a header (a browser hides it from a cross-origin answer), `written` — the stamp
 * Polar writes while answering this very request — stands in for it.
 */
function believableServerTime(
  header: number | undefined,
  key: PolarLicenseKey,
  written: string | null | undefined,
  stamps: ReadonlyArray<string | null | undefined>,
): number | undefined {
  const serverTime = header ?? (written ? Date.parse(written) : Number.NaN)
  if (!Number.isFinite(serverTime)) return undefined
  const expiresAt = key.expires_at === null ? Number.NaN : Date.parse(key.expires_at)
  if (serverTime >= expiresAt) return undefined
  for (const stamp of [key.last_validated_at, written, ...stamps]) {
    const at = stamp ? Date.parse(stamp) : Number.NaN
    if (serverTime < at - STAMP_TOLERANCE) return undefined
  }
  return serverTime
}

export type { GrantOrigin }

export function grantFromActivation(
  origin: GrantOrigin,
  conditions: Conditions,
  result: PolarResult<PolarActivation>,
  now: number,
): Grant {
  const a = result.data
  return {
    v: GRANT_VERSION,
    ...origin,
    conditions,
    activation: { id: a.id, label: a.label, meta: a.meta, createdAt: a.created_at },
    license: licenseSnapshot(a.license_key),
    ...confirmedTimes(
      believableServerTime(result.serverTime, a.license_key, a.created_at, [a.modified_at]),
      now,
    ),
  }
}

/** For keys whose benefit supports no activations: the key alone is validated. */
export function grantFromValidation(
  origin: GrantOrigin,
  conditions: Conditions,
  result: PolarResult<PolarValidatedKey>,
  now: number,
): Grant {
  return {
    v: GRANT_VERSION,
    ...origin,
    conditions,
    activation: null,
    license: licenseSnapshot(result.data),
    ...confirmedTimes(validatedServerTime(result), now),
  }
}

/** A successful revalidation: fresh snapshot and times, and any earlier verdict lifted. */
export function revalidatedGrant(
  grant: Grant,
  result: PolarResult<PolarValidatedKey>,
  now: number,
): Grant {
  const { verdict: _lifted, ...rest } = grant
  const seen = result.data.activation
  return {
    ...rest,
    activation:
      grant.activation === null || seen === null
        ? grant.activation
        : { ...grant.activation, label: seen.label, meta: seen.meta },
    license: licenseSnapshot(result.data),
    ...confirmedTimes(validatedServerTime(result), now),
  }
}

function validatedServerTime(result: PolarResult<PolarValidatedKey>): number | undefined {
  const seen = result.data.activation
  // Polar sets last_validated_at to its now on each successful validation.
  const { serverTime, data } = result
  return believableServerTime(serverTime, data, data.last_validated_at, [
    seen?.created_at,
    seen?.modified_at,
  ])
}

/** `detail`: Polar's own words, kept for support; a person reads `describe()`'s. */
export function grantWithVerdict(
  grant: Grant,
  reason: InactiveReason,
  detail: string | undefined,
  now: number,
): Grant {
  return { ...grant, verdict: { reason, ...(detail === undefined ? {} : { detail }), at: now } }
}

/**
 * The license state a definitive answer from Polar implies, or null when the error must
 * not change the grant (transient failures, and refusals of our own request such as a
 * 422, which a paying user must not be locked out for). The reasons table decides.
 */
export function verdictReason(error: KeygateError): InactiveReason | null {
  return reasonOfCode(error.code)
}
