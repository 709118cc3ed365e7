import { describe, expect, it } from 'vitest'
import { KeygateError } from '../../src/errors.js'
import type { LicenseStore } from '../../src/store.js'
import { DEFAULT_RATE_LIMIT } from '../../src/testing/index.js'
import { DAY, HOUR, setup, T0 } from './licensing-fixture.js'

const INSTANCES = 8

/** Polar's real limit: 3 requests per second per IP, then the IP is blocked for 60 s. */
const limited = () => setup({}, { rateLimit: DEFAULT_RATE_LIMIT })

describe('many app instances on one store, under Polar’s rate limit', () => {
  it('activate together: one validate and one activate, one seat, every instance active', async () => {
    const t = limited()
    const instances = Array.from({ length: INSTANCES }, () => t.make())
    const states = await Promise.all(instances.map((l) => l.activate(t.key.key)))
    const [seat] = t.emulator.listActivations(t.key)
    for (const state of states) {
      expect(state).toMatchObject({ status: 'active', activation: { id: seat?.id } })
      expect(state.error).toBeUndefined()
    }
    expect(t.endpoints()).toEqual(['validate', 'activate'])
  })

  it('revalidate together once due (check auto): one request, every instance active', async () => {
    const t = limited()
    await t.licensing.activate(t.key.key)
    t.advance(2 * DAY) // a new rate-limit window, and revalidation is due
    const before = t.emulator.requests.length
    const instances = Array.from({ length: INSTANCES }, () => t.make())
    const states = await Promise.all(instances.map((l) => l.check()))
    for (const state of states) {
      expect(state).toMatchObject({ status: 'active', validatedAt: T0 + 2 * DAY })
      expect(state.error).toBeUndefined()
    }
    expect(t.endpoints(before)).toEqual(['validate'])
  })

  it('an explicit refresh still asks Polar, even right after another instance did', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const before = t.emulator.requests.length
    await Promise.all([t.make().refresh(), t.make().check({ online: 'always' })])
    expect(t.endpoints(before)).toEqual(['validate', 'validate'])
  })
})

describe('activate on a seat this machine already holds', () => {
  it('answers from a fresh grant without asking Polar', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const before = t.emulator.requests.length
    const bytes = await t.store.read()
    t.advance(23 * HOUR)
    const again = await t.make().activate(t.key.key)
    expect(again).toMatchObject({ status: 'active', validatedAt: T0, nextCheckAt: T0 + DAY })
    expect(t.endpoints(before)).toEqual([])
    expect(await t.store.read()).toBe(bytes)
  })

  it('revalidates a stale grant instead of taking a second seat', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const before = t.emulator.requests.length
    t.advance(2 * DAY)
    const again = await t.licensing.activate(t.key.key)
    expect(again).toMatchObject({ status: 'active', validatedAt: T0 + 2 * DAY })
    expect(t.endpoints(before)).toEqual(['validate'])
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('keeps the cached state when Polar rate-limits the revalidation, instead of throwing', async () => {
    // Two requests a second: the activation's validate and activate.
    const t = setup({}, { rateLimit: { requests: 2, perMs: 1000, blockMs: 60_000 } })
    await t.licensing.activate(t.key.key)
    t.advance(2 * DAY)
    // Others behind the same IP used this second's requests.
    for (let n = 0; n < 2; n++) {
      await t.emulator.fetch('/v1/customer-portal/license-keys/validate', { method: 'POST' })
    }
    const bytes = await t.store.read()
    const state = await t.licensing.activate(t.key.key)
    expect(state).toMatchObject({
      status: 'grace',
      why: 'unreachable',
      validatedAt: T0,
      error: { code: 'rate_limited', retryAfter: 60 },
    })
    expect(await t.store.read()).toBe(bytes)
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('still throws a transient failure when the cached grant no longer lets the app run', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.advance(8 * DAY)
    t.emulator.setOffline(true)
    const bytes = await t.store.read()
    await expect(t.licensing.activate(t.key.key)).rejects.toMatchObject({ code: 'network' })
    expect(await t.store.read()).toBe(bytes)
  })

  it('throws on a definitive answer: the key was revoked', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.advance(2 * DAY)
    t.emulator.revoke(t.key)
    await expect(t.licensing.activate(t.key.key)).rejects.toMatchObject({ code: 'revoked' })
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({ reason: 'revoked' })
  })

  it('keeps a fresh seat when the store lock times out, with the error beside it', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const timedOut = new KeygateError('store', 'Another instance is holding the license lock.')
    const busy: LicenseStore = { ...t.store, lock: () => Promise.reject(timedOut) }
    const state = await t.make({ store: busy }).activate(t.key.key)
    expect(state).toMatchObject({ status: 'active', validatedAt: T0, error: timedOut })
  })

  it('throws the lock timeout when there is no seat to fall back on', async () => {
    const t = setup()
    const timedOut = new KeygateError('store', 'Another instance is holding the license lock.')
    const busy: LicenseStore = { ...t.store, lock: () => Promise.reject(timedOut) }
    await expect(t.make({ store: busy }).activate(t.key.key)).rejects.toBe(timedOut)
    expect(t.emulator.requests).toHaveLength(0)
  })
})
