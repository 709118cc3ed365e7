import type { KeygateErrorCode } from '../errors.js'

/**
 * Every reason a license state can be `inactive`, in one table: the error code a
 * definitive answer from Polar carries for it (null when no answer from Polar means it),
 * and whether a later online check can lift it. `InactiveReason` is this table's keys, so
 * a new reason is added here and the compiler finds every other place (evaluate, the
 * Polar error mapping, `describe()`'s words) that must say something about it.
 *
 * `lift`:
 * - `verdict`: Polar said so; asked again after `revalidateAfter` (a key re-enabled or
 *   renewed by the seller recovers without a new activation);
 * - `now`: a validation can lift it at once (grace ran out, a clock set back, a record
 *   whose times cannot be trusted);
 * - `never`: no online check can (no record, a record from another machine).
 */
export const REASONS = {
  not_activated: { code: null, lift: 'never' },
  grace_expired: { code: null, lift: 'now' },
  revoked: { code: 'revoked', lift: 'verdict' },
  expired: { code: 'expired', lift: 'verdict' },
  key_not_found: { code: 'key_not_found', lift: 'verdict' },
  activation_not_found: { code: 'activation_not_found', lift: 'verdict' },
  machine_mismatch: { code: null, lift: 'never' },
  clock_tampered: { code: null, lift: 'now' },
  tampered: { code: null, lift: 'now' },
  conditions_mismatch: { code: 'conditions_mismatch', lift: 'verdict' },
  usage_exhausted: { code: 'usage_limit', lift: 'verdict' },
  /** The trial (`createLicensing({ trial })`) is over: only a license key lets the app run. */
  trial_expired: { code: null, lift: 'never' },
} as const satisfies Record<
  string,
  { code: KeygateErrorCode | null; lift: 'verdict' | 'now' | 'never' }
>

export type InactiveReason = keyof typeof REASONS

const REASON_NAMES = Object.keys(REASONS) as InactiveReason[]

export function isInactiveReason(value: unknown): value is InactiveReason {
  return typeof value === 'string' && Object.hasOwn(REASONS, value)
}

/**
 * The state a definitive answer from Polar implies for an error code, or null when the
 * error must not change the grant: transient failures, and refusals of our own request
 * (a 422, an unknown 403) which must not lock a paying user out.
 */
export function reasonOfCode(code: KeygateErrorCode): InactiveReason | null {
  return REASON_NAMES.find((reason) => REASONS[reason].code === code) ?? null
}
