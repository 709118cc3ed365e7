import { KeygateError } from '../errors.js'

/** How long a grant stays trusted. All durations in milliseconds. */
export interface Policy {
  /** Revalidate online once the last validation is older than this. Default 24 h. */
  revalidateAfter: number
  /** How long after the last successful validation the app keeps running without Polar. Default 7 days. */
  gracePeriod: number
  /** How far the clock may go back before the grant is treated as tampered with. Default 1 h. */
  clockTolerance: number
  /**
   * When the key expires: `'lock'` (default) stops the app; `'fallback'` keeps running
   * builds released before the expiry (give `releasedAt`), "updates until expiry".
   */
  onExpiry?: 'lock' | 'fallback' | undefined
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  revalidateAfter: 24 * 60 * 60 * 1000,
  gracePeriod: 7 * 24 * 60 * 60 * 1000,
  clockTolerance: 60 * 60 * 1000,
})

/** Merges a partial policy with the defaults and refuses durations that make no sense. */
export function resolvePolicy(partial: Partial<Policy> | undefined): Readonly<Policy> {
  const policy: Policy = { ...DEFAULT_POLICY }
  for (const name of ['revalidateAfter', 'gracePeriod', 'clockTolerance'] as const) {
    const value: unknown = partial?.[name]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new KeygateError(
        'invalid_input',
        `policy.${name} must be a duration in milliseconds (a finite number, 0 or more).`,
      )
    }
    policy[name] = value
  }
  const onExpiry: unknown = partial?.onExpiry
  if (onExpiry !== undefined) {
    if (onExpiry !== 'lock' && onExpiry !== 'fallback') {
      throw new KeygateError('invalid_input', "policy.onExpiry must be 'lock' or 'fallback'.")
    }
    policy.onExpiry = onExpiry
  }
  if (policy.gracePeriod < policy.revalidateAfter) {
    throw new KeygateError(
      'invalid_input',
      'policy.gracePeriod must be at least policy.revalidateAfter: both count from the last successful validation.',
    )
  }
  return Object.freeze(policy)
}
