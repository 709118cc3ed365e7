import { describe, expect, it } from 'vitest'
import { evaluate, needsRevalidation } from '../../src/offline/evaluate.js'
import type { Grant } from '../../src/offline/grant.js'
import { DEFAULT_POLICY } from '../../src/offline/policy.js'
import type { LicenseState } from '../../src/offline/state.js'
import { FP, makeGrant, T0 } from './grant-fixture.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR
const YEAR = 365 * DAY
const TOL = DEFAULT_POLICY.clockTolerance

/** A grant validated at local time T0; Polar's clock ran `skew` ms ahead of this one. */
function grant(overrides: Partial<Grant> = {}, skew = 0): Grant {
  return makeGrant({
    validatedAt: T0 + skew,
    localValidatedAt: T0,
    clockHighWater: T0,
    ...overrides,
  })
}

const at = (now: number, g: Grant): LicenseState =>
  evaluate(g, { now, policy: DEFAULT_POLICY, fingerprint: FP })

const reasonOf = (state: LicenseState) =>
  state.status === 'inactive' ? state.reason : state.status

describe('evaluate: a record whose times lie after the local clock', () => {
  it('refuses a validation moved into the future (the +1 year edit), and asks Polar at once', () => {
    const edited = grant({ validatedAt: T0 + YEAR, localValidatedAt: T0 + YEAR })
    for (const now of [T0, T0 + 30 * DAY, T0 + 200 * DAY, T0 + YEAR, T0 + YEAR + DAY]) {
      const state = at(now, edited)
      expect(reasonOf(state)).toBe('tampered')
      expect(state).toMatchObject({ nextCheckAt: now })
      expect(needsRevalidation(state, now)).toBe(true)
    }
  })

  it('refuses a local validation time later than the record’s own clock mark', () => {
    // Even once the clock has caught up with it: every write sets the mark at least that far.
    const edited = grant({ localValidatedAt: T0 + 2 * DAY })
    expect(reasonOf(at(T0 + 3 * DAY, edited))).toBe('tampered')
  })

  it('allows the clock tolerance, and no more', () => {
    const ahead = (ms: number) => grant({ localValidatedAt: T0 + ms, clockHighWater: T0 + ms })
    expect(reasonOf(at(T0, ahead(TOL)))).toBe('active')
    // The mark that far ahead reads as a clock set back, checked first.
    expect(reasonOf(at(T0, ahead(TOL + 1)))).toBe('clock_tampered')
    expect(reasonOf(at(T0, grant({ localValidatedAt: T0 + TOL + 1 })))).toBe('tampered')
  })

  it('never takes a clock hours behind Polar’s for an edit', () => {
    // Polar's time is 5 h ahead of this machine's: only the skew relates the two.
    const behind = grant({}, 5 * HOUR)
    expect(at(T0, behind)).toMatchObject({ status: 'active', validatedAt: T0 })
    expect(reasonOf(at(T0 + DAY + 1, behind))).toBe('grace')
    // An older record without the local time of its validation: Polar's time stands in,
    // bounded by the local mark, so it is not in the future either.
    const { localValidatedAt: _, ...older } = grant({}, 5 * HOUR)
    expect(at(T0, older)).toMatchObject({ status: 'active', validatedAt: T0 })
  })

  it('cannot be stretched by removing the local time of the validation', () => {
    const { localValidatedAt: _, ...stripped } = grant({ validatedAt: T0 + YEAR })
    expect(at(T0 + 8 * DAY, stripped)).toMatchObject({ reason: 'grace_expired' })
  })

  it('asks again at once about a verdict stamped in the future, instead of a day after it', () => {
    const verdict = { reason: 'revoked' as const, at: T0 + YEAR }
    const state = at(T0, grant({ verdict }))
    expect(state).toMatchObject({ status: 'inactive', reason: 'revoked', nextCheckAt: T0 })
    expect(at(T0, grant({ verdict: { reason: 'revoked', at: T0 } }))).toMatchObject({
      nextCheckAt: T0 + DAY,
    })
  })

  it('what no edit of the local times can buy: active past revalidateAfter, or grace past the gracePeriod', () => {
    // The most an edit within the tolerance gains is the tolerance itself.
    const best = grant({ localValidatedAt: T0 + TOL, clockHighWater: T0 + TOL })
    const active = at(T0, best)
    expect(active).toMatchObject({ status: 'active', nextCheckAt: T0 + TOL + DAY })
    expect(reasonOf(at(T0 + TOL + 7 * DAY + 1, best))).toBe('grace_expired')
  })

  it('asks Polar at once about a record that lost its MAC, while it is still fresh', () => {
    const state = evaluate(grant(), {
      now: T0 + HOUR,
      policy: DEFAULT_POLICY,
      fingerprint: FP,
      integrity: 'none',
      revalidateNow: true,
    })
    expect(state).toMatchObject({ status: 'active', integrity: 'none', nextCheckAt: T0 + HOUR })
    expect(needsRevalidation(state, T0 + HOUR)).toBe(true)
  })
})
