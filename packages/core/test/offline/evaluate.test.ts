import { describe, expect, it } from 'vitest'
import { describe as words } from '../../src/describe.js'
import { KeygateError } from '../../src/errors.js'
import { evaluate, needsRevalidation, withTransientFailure } from '../../src/offline/evaluate.js'
import type { Grant } from '../../src/offline/grant.js'
import { DEFAULT_POLICY, type Policy } from '../../src/offline/policy.js'
import type { LicenseState } from '../../src/offline/state.js'
import { FP, makeGrant, T0 } from './grant-fixture.js'

const longDate = (ms: number) => new Intl.DateTimeFormat('en-US', { dateStyle: 'long' }).format(ms)

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

function grant(overrides: Partial<Grant> = {}, license: Partial<Grant['license']> = {}): Grant {
  return makeGrant(
    {
      activation: {
        id: 'act-1',
        label: 'Laptop',
        meta: {},
        createdAt: new Date(T0 - DAY).toISOString(),
      },
      ...overrides,
    },
    license,
  )
}

const at = (now: number, g: Grant = grant(), policy: Policy = DEFAULT_POLICY): LicenseState =>
  evaluate(g, { now, policy, fingerprint: FP })

const summary = (state: LicenseState): string =>
  state.status === 'inactive'
    ? `inactive:${state.reason}`
    : state.status === 'grace'
      ? `grace:${state.why}`
      : 'active'

describe('evaluate: the age of the last validation', () => {
  const cases: Array<[string, number, string]> = [
    ['just validated', T0, 'active'],
    ['an hour later', T0 + HOUR, 'active'],
    ['exactly at revalidateAfter', T0 + DAY, 'active'],
    ['1 ms past revalidateAfter', T0 + DAY + 1, 'grace:revalidation_due'],
    ['six days later', T0 + 6 * DAY, 'grace:revalidation_due'],
    ['exactly at the end of the grace period', T0 + 7 * DAY, 'grace:revalidation_due'],
    ['1 ms past the grace period', T0 + 7 * DAY + 1, 'inactive:grace_expired'],
    ['a year later', T0 + 365 * DAY, 'inactive:grace_expired'],
  ]
  it.each(cases)('%s → %s', (_name, now, expected) => {
    expect(summary(at(now))).toBe(expected)
  })

  it('reports when the next check is due and when grace ends', () => {
    const active = at(T0 + HOUR)
    expect(active).toMatchObject({ status: 'active', validatedAt: T0, nextCheckAt: T0 + DAY })
    const grace = at(T0 + 2 * DAY)
    expect(grace).toMatchObject({ status: 'grace', graceEndsAt: T0 + 7 * DAY, validatedAt: T0 })
  })

  it('carries the UI-safe license and activation, never the key', () => {
    const state = at(T0)
    expect(state).toMatchObject({
      license: { displayKey: '****-9D7F20', status: 'granted', limitActivations: 2 },
      activation: { id: 'act-1', label: 'Laptop', createdAt: T0 - DAY },
    })
    expect(JSON.stringify(state)).not.toContain('2F0B6E1C')
  })

  it('treats a validation time ahead of the local clock as fresh', () => {
    expect(summary(at(T0 - 10_000))).toBe('active')
  })

  it('reports a validate-only grant (no activation) like any other', () => {
    expect(at(T0, grant({ activation: null }))).toMatchObject({
      status: 'active',
      activation: null,
    })
  })
})

describe('evaluate: custom policies', () => {
  const policy: Policy = { revalidateAfter: HOUR, gracePeriod: 3 * HOUR, clockTolerance: 0 }
  const cases: Array<[number, string]> = [
    [HOUR, 'active'],
    [HOUR + 1, 'grace:revalidation_due'],
    [3 * HOUR, 'grace:revalidation_due'],
    [3 * HOUR + 1, 'inactive:grace_expired'],
    [-1, 'inactive:clock_tampered'],
  ]
  it.each(cases)('%d ms after the validation → %s', (offset, expected) => {
    expect(summary(at(T0 + offset, grant(), policy))).toBe(expected)
  })

  it('with no grace at all, goes straight from active to grace expired', () => {
    const strict: Policy = { revalidateAfter: DAY, gracePeriod: DAY, clockTolerance: HOUR }
    expect(summary(at(T0 + DAY, grant(), strict))).toBe('active')
    expect(summary(at(T0 + DAY + 1, grant(), strict))).toBe('inactive:grace_expired')
  })
})

describe('evaluate: the key expiry', () => {
  const expiresAt = T0 + 3 * DAY
  const expiring = grant({}, { expiresAt: new Date(expiresAt).toISOString() })

  it('is active up to 1 ms before expires_at and expired exactly at it, offline too', () => {
    expect(summary(at(T0 + DAY, expiring))).toBe('active')
    expect(summary(at(expiresAt - 1, expiring))).toBe('grace:revalidation_due')
    const state = at(expiresAt, expiring)
    expect(summary(state)).toBe('inactive:expired')
    expect(words(state, { locale: 'en-US' }).detail).toContain(longDate(expiresAt))
  })

  it('ends grace at the expiry when that comes first', () => {
    expect(at(T0 + 2 * DAY, expiring)).toMatchObject({ status: 'grace', graceEndsAt: expiresAt })
  })

  it('wins over grace expiry too', () => {
    expect(summary(at(T0 + 30 * DAY, expiring))).toBe('inactive:expired')
  })

  it('reports expiresAt on active states', () => {
    expect(at(T0, expiring)).toMatchObject({ status: 'active', expiresAt })
  })
})

describe('evaluate: cached status', () => {
  it.each(['revoked', 'disabled'])('a cached %s status is revoked', (status) => {
    const state = at(T0, grant({}, { status }))
    expect(summary(state)).toBe('inactive:revoked')
    expect(state).toMatchObject({ license: { status } })
    expect(words(state).detail).toMatch(/revoked or disabled/)
  })

  it('expiry is reported before a non-granted status', () => {
    const g = grant({}, { status: 'revoked', expiresAt: new Date(T0 - 1).toISOString() })
    expect(summary(at(T0, g))).toBe('inactive:expired')
  })
})

describe('evaluate: the clock', () => {
  const seen = T0 + 5 * DAY
  const g = grant({ clockHighWater: seen })

  it('accepts a clock set back exactly by the tolerance', () => {
    expect(summary(at(seen - HOUR, g))).not.toBe('inactive:clock_tampered')
  })

  it('refuses a clock set back 1 ms beyond the tolerance', () => {
    const state = at(seen - HOUR - 1, g)
    expect(summary(state)).toBe('inactive:clock_tampered')
    expect(words(state).detail).toMatch(/clock/)
  })

  it('measures age from the latest time seen, so setting the clock back cannot stretch grace', () => {
    const end = grant({ clockHighWater: T0 + 7 * DAY + 30 * 60 * 1000 })
    // The clock now reads inside grace, but a later instant was already observed.
    expect(summary(at(T0 + 7 * DAY, end))).toBe('inactive:grace_expired')
  })

  it('measures expiry from the latest time seen too', () => {
    const expiring = grant(
      { clockHighWater: T0 + 2 * DAY },
      { expiresAt: new Date(T0 + 2 * DAY).toISOString() },
    )
    expect(summary(at(T0 + 2 * DAY - 30 * 60 * 1000, expiring))).toBe('inactive:expired')
  })

  it('is checked before the expiry and the age', () => {
    const g2 = grant({ clockHighWater: T0 + 100 * DAY })
    expect(summary(at(T0, g2))).toBe('inactive:clock_tampered')
  })
})

describe('evaluate: the order of decisions', () => {
  const everythingWrong = grant(
    {
      fingerprint: 'fp-other-machine',
      clockHighWater: T0 + 100 * DAY,
      verdict: { reason: 'revoked', detail: 'License key is no longer active.', at: T0 },
    },
    { status: 'revoked', expiresAt: new Date(T0 - DAY).toISOString() },
  )

  it('a verdict from Polar comes first, with its detail', () => {
    const state = at(T0, everythingWrong)
    expect(state).toMatchObject({
      status: 'inactive',
      reason: 'revoked',
      detail: 'License key is no longer active.',
      license: { displayKey: '****-9D7F20' },
    })
  })

  it('then a record bound to another machine', () => {
    const { verdict: _v, ...rest } = everythingWrong
    expect(summary(at(T0, rest))).toBe('inactive:machine_mismatch')
  })

  it('then the clock', () => {
    const { verdict: _v, ...rest } = everythingWrong
    expect(summary(at(T0, { ...rest, fingerprint: FP }))).toBe('inactive:clock_tampered')
  })

  it.each([
    'key_not_found',
    'activation_not_found',
    'conditions_mismatch',
    'usage_exhausted',
    'expired',
  ] as const)('a %s verdict is reported even when the record is fresh', (reason) => {
    const state = at(T0, grant({ verdict: { reason, at: T0 } }))
    expect(state).toMatchObject({ status: 'inactive', reason })
    expect(state.status === 'inactive' && 'detail' in state).toBe(false)
  })
})

describe('withTransientFailure', () => {
  const error = new KeygateError('network', 'Polar could not be reached.')

  it('keeps an active state active and reports the error beside it', () => {
    expect(withTransientFailure(at(T0 + HOUR), error)).toMatchObject({ status: 'active', error })
  })

  it('marks grace as caused by an unreachable Polar', () => {
    expect(withTransientFailure(at(T0 + 2 * DAY), error)).toMatchObject({
      status: 'grace',
      why: 'unreachable',
      error,
    })
  })

  it('does not lift grace expiry', () => {
    expect(withTransientFailure(at(T0 + 8 * DAY), error)).toMatchObject({
      status: 'inactive',
      reason: 'grace_expired',
      error,
    })
  })
})

describe('needsRevalidation', () => {
  it.each([
    ['fresh active', T0 + HOUR, grant(), false],
    ['active at nextCheckAt', T0 + DAY, grant(), true],
    ['grace', T0 + 2 * DAY, grant(), true],
    ['grace expired', T0 + 8 * DAY, grant(), true],
    ['clock tampered', T0 - 2 * HOUR, grant(), true],
    ['a revoked verdict', T0, grant({ verdict: { reason: 'revoked', at: T0 } }), false],
    [
      'a revoked verdict, revalidateAfter later',
      T0 + DAY,
      grant({ verdict: { reason: 'revoked', at: T0 } }),
      true,
    ],
    [
      'expired by the cached expires_at (a renewal may have extended it)',
      T0 + 3 * DAY,
      grant({}, { expiresAt: new Date(T0 + 3 * DAY).toISOString() }),
      true,
    ],
    [
      'an expired verdict from Polar, within revalidateAfter',
      T0 + DAY - 1,
      grant({ verdict: { reason: 'expired', at: T0 } }),
      false,
    ],
    ['another machine', T0, grant({ fingerprint: 'other' }), false],
    [
      'a verdict on a record from another machine',
      T0 + 2 * DAY,
      grant({ fingerprint: 'other', verdict: { reason: 'revoked', at: T0 } }),
      false,
    ],
  ] as const)('%s → %s', (_name, now, g, expected) => {
    expect(needsRevalidation(at(now, g), now)).toBe(expected)
  })
})

describe('evaluate: when an inactive state may be asked again (nextCheckAt)', () => {
  const verdictAt = T0 + 2 * HOUR
  const withVerdict = grant({ verdict: { reason: 'revoked', at: verdictAt } })

  it('a verdict: revalidateAfter after Polar gave it', () => {
    expect(at(T0 + 3 * HOUR, withVerdict)).toMatchObject({
      status: 'inactive',
      reason: 'revoked',
      nextCheckAt: verdictAt + DAY,
    })
  })

  it('an expiry from the cached expires_at: due since it passed', () => {
    const expiresAt = T0 + 3 * DAY
    const expiring = grant({}, { expiresAt: new Date(expiresAt).toISOString() })
    expect(at(expiresAt + HOUR, expiring)).toMatchObject({
      reason: 'expired',
      nextCheckAt: expiresAt,
    })
  })

  it('grace expired: due since revalidateAfter', () => {
    expect(at(T0 + 8 * DAY)).toMatchObject({ reason: 'grace_expired', nextCheckAt: T0 + DAY })
  })

  it('a clock set back: due now', () => {
    const now = T0 - 2 * HOUR
    expect(at(now)).toMatchObject({ reason: 'clock_tampered', nextCheckAt: now })
  })

  it('never due before now, whatever the clock did', () => {
    const expiring = grant(
      { clockHighWater: T0 + 2 * DAY },
      { expiresAt: new Date(T0 + 2 * DAY).toISOString() },
    )
    const now = T0 + 2 * DAY - 30 * 60 * 1000
    expect(at(now, expiring)).toMatchObject({ reason: 'expired', nextCheckAt: now })
  })

  it('none for a record from another machine: Polar is never asked about it', () => {
    const state = at(T0 + 2 * DAY, { ...withVerdict, fingerprint: 'other' })
    expect(state).toMatchObject({ status: 'inactive', reason: 'revoked' })
    expect(state.status === 'inactive' && 'nextCheckAt' in state).toBe(false)
    const mismatch = at(T0, grant({ fingerprint: 'other' }))
    expect(mismatch.status === 'inactive' && 'nextCheckAt' in mismatch).toBe(false)
  })
})

describe('evaluate: one clock, the local one (a skewed or set-back clock)', () => {
  /** Validated at T0 real time (Polar's Date header) while the local clock read `local`. */
  const skewed = (local: number, license: Partial<Grant['license']> = {}) =>
    grant({ validatedAt: T0, localValidatedAt: local, clockHighWater: local }, license)
  const behind = skewed(T0 - 3 * HOUR)
  const ahead = skewed(T0 + 3 * HOUR)
  const yearBack = skewed(T0 - 365 * DAY)

  const cases: Array<[string, string, Grant, number]> = [
    ['3 h behind, just validated', 'active', behind, T0 - 3 * HOUR],
    ['3 h behind, a day later (local)', 'active', behind, T0 - 3 * HOUR + DAY],
    ['3 h behind, past revalidateAfter', 'grace:revalidation_due', behind, T0 - 3 * HOUR + DAY + 1],
    ['3 h behind, at the end of grace', 'grace:revalidation_due', behind, T0 - 3 * HOUR + 7 * DAY],
    ['3 h behind, past grace', 'inactive:grace_expired', behind, T0 - 3 * HOUR + 7 * DAY + 1],
    ['3 h ahead, just validated', 'active', ahead, T0 + 3 * HOUR],
    ['3 h ahead, a day later (local)', 'active', ahead, T0 + 3 * HOUR + DAY],
    ['3 h ahead, past revalidateAfter', 'grace:revalidation_due', ahead, T0 + 3 * HOUR + DAY + 1],
    ['3 h ahead, past grace', 'inactive:grace_expired', ahead, T0 + 3 * HOUR + 7 * DAY + 1],
    ['set back a year before validating, a day later', 'active', yearBack, T0 - 364 * DAY],
    [
      'set back a year before validating, 2 days later',
      'grace:revalidation_due',
      yearBack,
      T0 - 363 * DAY,
    ],
    [
      'set back a year before validating, 7 days later',
      'inactive:grace_expired',
      yearBack,
      T0 - 358 * DAY + 1,
    ],
    ['set back a year before validating, then corrected', 'inactive:grace_expired', yearBack, T0],
    [
      'set back 2 h after validating',
      'inactive:clock_tampered',
      grant({ localValidatedAt: T0 }),
      T0 - 2 * HOUR,
    ],
    [
      'set back 2 h after validating with a skewed clock',
      'inactive:clock_tampered',
      grant({ validatedAt: T0, localValidatedAt: T0 - 3 * HOUR, clockHighWater: T0 }),
      T0 - 2 * HOUR,
    ],
  ]
  it.each(cases)('%s → %s', (_name, expected, g, now) => {
    expect(summary(at(now, g))).toBe(expected)
  })

  it('reports times on the local clock, what a UI compares with Date.now()', () => {
    const local = T0 - 3 * HOUR
    expect(at(local + HOUR, behind)).toMatchObject({
      status: 'active',
      validatedAt: local,
      nextCheckAt: local + DAY,
    })
    expect(at(local + 2 * DAY, behind)).toMatchObject({
      status: 'grace',
      validatedAt: local,
      graceEndsAt: local + 7 * DAY,
    })
  })

  it("translates the key's expires_at to the local clock; license.expiresAt stays Polar's", () => {
    const expiresAt = T0 + 3 * DAY
    const expiring = skewed(T0 - 3 * HOUR, { expiresAt: new Date(expiresAt).toISOString() })
    const localExpiry = expiresAt - 3 * HOUR
    expect(at(T0, expiring)).toMatchObject({
      expiresAt: localExpiry,
      license: { expiresAt },
    })
    expect(at(localExpiry - DAY, expiring)).toMatchObject({
      status: 'grace',
      graceEndsAt: localExpiry,
    })
    expect(summary(at(localExpiry - 1, expiring))).toBe('grace:revalidation_due')
    const expired = at(localExpiry, expiring)
    expect(expired).toMatchObject({ reason: 'expired', nextCheckAt: localExpiry })
    // The words name the real date, as Polar and the customer know it.
    expect(words(expired, { locale: 'en-US' }).detail).toContain(longDate(expiresAt))
  })

  it('a clock set back before validating cannot stretch the expiry either', () => {
    const expiresAt = T0 + 3 * DAY
    const expiring = skewed(T0 - 365 * DAY, { expiresAt: new Date(expiresAt).toISOString() })
    expect(summary(at(T0 - 362 * DAY - 1, expiring))).toBe('grace:revalidation_due')
    expect(summary(at(T0 - 362 * DAY, expiring))).toBe('inactive:expired')
  })

  it('a record without localValidatedAt (older keygate) counts from validatedAt', () => {
    const legacy = grant({ validatedAt: T0, clockHighWater: T0 })
    expect(at(T0 + HOUR, legacy)).toMatchObject({ validatedAt: T0, nextCheckAt: T0 + DAY })
    expect(summary(at(T0 + 7 * DAY + 1, legacy))).toBe('inactive:grace_expired')
  })
})
