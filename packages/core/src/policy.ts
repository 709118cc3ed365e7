import { KeygateError } from './errors.js'
import { DEFAULT_POLICY, type Policy } from './state.js'

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
  if (policy.gracePeriod < policy.revalidateAfter) {
    throw new KeygateError(
      'invalid_input',
      'policy.gracePeriod must be at least policy.revalidateAfter: both count from the last successful validation.',
    )
  }
  return Object.freeze(policy)
}
