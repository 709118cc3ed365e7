import { describe, expect, it } from 'vitest'
import { DEFAULT_POLICY } from '../../src/offline/policy.js'
import type { LicenseState } from '../../src/offline/state.js'
import {
  DEFAULT_TIMING,
  isDue,
  MAX_TIMER_MS,
  nextDelay,
  type PlanContext,
} from '../../src/online/schedule.js'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const START = Date.parse('2026-03-01T12:00:00Z')

const license = {
  id: 'lk',
  displayKey: '****-CCA427',
  status: 'granted',
  expiresAt: null,
  limitActivations: 2,
  usage: 0,
  limitUsage: null,
  benefitId: 'b',
  customerId: 'c',
}
const licensed = { license, activation: null, validatedAt: START, expiresAt: null }
const active: LicenseState = { status: 'active', ...licensed, nextCheckAt: START + DAY }
const grace: LicenseState = {
  status: 'grace',
  ...licensed,
  graceEndsAt: START + 7 * DAY,
  why: 'unreachable',
}
const ctx = (patch: Partial<PlanContext> = {}): PlanContext => ({
  now: START,
  policy: DEFAULT_POLICY,
  timing: DEFAULT_TIMING,
  random: () => 0.5,
  failures: 0,
  notBefore: 0,
  ...patch,
})

describe('when the next online check runs', () => {
  it('never, for states only the user can change', () => {
    for (const reason of [
      'not_activated',
      'revoked',
      'expired',
      'key_not_found',
      'machine_mismatch',
    ] as const) {
      const state: LicenseState = { status: 'inactive', reason }
      expect(nextDelay(state, ctx())).toBeNull()
      expect(isDue(state, START)).toBe(false)
    }
  })

  it('backs off exponentially after failures, up to an hour', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 12].map((failures) =>
      nextDelay(grace, ctx({ failures, random: () => 1 })),
    )
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60].map((m) => m * MINUTE))
    // Never less than half the step, so a fleet's retries do not bunch up at zero.
    expect(nextDelay(grace, ctx({ failures: 1, random: () => 0 }))).toBe(30 * SECOND)
  })

  it('never before Retry-After allows', () => {
    expect(nextDelay(active, ctx({ notBefore: START + 2 * DAY }))).toBe(2 * DAY)
    expect(nextDelay(grace, ctx({ failures: 1, notBefore: START + 10 * MINUTE }))).toBe(10 * MINUTE)
  })

  it('looks again when grace runs out, even mid-backoff', () => {
    const ending: LicenseState = { ...grace, graceEndsAt: START + 5 * MINUTE }
    expect(nextDelay(ending, ctx({ failures: 9 }))).toBe(5 * MINUTE)
  })

  it('stays within what setTimeout can wait', () => {
    const far: LicenseState = { ...active, nextCheckAt: START + 400 * DAY }
    expect(nextDelay(far, ctx())).toBe(MAX_TIMER_MS)
    expect(nextDelay({ ...active, nextCheckAt: START - HOUR }, ctx())).toBe(
      DEFAULT_TIMING.minDelayMs,
    )
  })
})

describe('inactive states an online check may still lift (nextCheckAt)', () => {
  const verdict: LicenseState = { status: 'inactive', reason: 'revoked', nextCheckAt: START + DAY }
  const expired: LicenseState = { status: 'inactive', reason: 'expired', nextCheckAt: START - HOUR }

  it('a verdict from Polar: asked again at nextCheckAt (± the jitter), however many failures', () => {
    expect(isDue(verdict, START + DAY - 1)).toBe(false)
    expect(isDue(verdict, START + DAY)).toBe(true)
    expect(nextDelay(verdict, ctx())).toBe(DAY)
    expect(nextDelay(verdict, ctx({ failures: 6 }))).toBe(DAY)
    expect(nextDelay(verdict, ctx({ random: () => 0 }))).toBe(DAY - 2.4 * HOUR)
  })

  it('an expiry a renewal may have extended: due now, then backing off like grace', () => {
    expect(isDue(expired, START)).toBe(true)
    expect(nextDelay(expired, ctx())).toBe(30 * SECOND)
    expect(nextDelay(expired, ctx({ failures: 3, random: () => 1 }))).toBe(4 * MINUTE)
    expect(nextDelay(expired, ctx({ failures: 12, random: () => 1 }))).toBe(HOUR)
  })
})
