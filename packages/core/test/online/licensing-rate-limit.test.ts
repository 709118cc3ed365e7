import { describe, expect, it } from 'vitest'
import { KeygateError } from '../../src/errors.js'
import { createPolarClient } from '../../src/polar/client.js'
import { memoryStore } from '../../src/store.js'
import { DAY, setup, T0 } from './licensing-fixture.js'

/**
 * Polar shares 3 requests per second per client IP and, past it, blocks the IP for 60 s
 * (429, `Retry-After: 60`). Every seat behind one office NAT shares that block, so once
 * Polar said to wait, this licensing sends nothing before the time is up.
 */

const VALIDATE_URL = 'http://emulator.local/v1/customer-portal/license-keys/validate'

/** Activated two days ago (revalidation due), and Polar has just blocked this network. */
async function blocked() {
  const t = setup({}, { rateLimit: { requests: 3, perMs: 1000, blockMs: 60_000 } })
  await t.licensing.activate(t.key.key)
  t.advance(2 * DAY)
  // Other seats behind the office NAT spent the shared budget.
  t.emulator.resetRateLimit()
  for (let i = 0; i < 4; i++) await t.emulator.fetch(VALIDATE_URL, { method: 'POST', body: '{}' })
  return t
}

async function rejection(promise: Promise<unknown>): Promise<KeygateError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof KeygateError) return error
    throw error
  }
  throw new Error('expected a KeygateError')
}

describe("check({ online: 'auto' }) after Polar's 429", () => {
  it('honours Retry-After: no request until it has passed, the cached state meanwhile', async () => {
    const t = await blocked()
    expect(await t.licensing.check()).toMatchObject({
      status: 'grace',
      error: { code: 'rate_limited', retryAfter: 60 },
    })
    const before = t.emulator.requests.length
    for (let i = 0; i < 5; i++) {
      t.advance(10_000)
      expect(await t.licensing.check()).toMatchObject({
        status: 'grace',
        why: 'unreachable',
        error: { code: 'rate_limited', retryAfter: 60 - 10 * (i + 1) },
      })
    }
    expect(t.emulator.requests.length).toBe(before)
    t.advance(15_000) // 65 s after the 429: Polar may be asked again
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
    expect(t.emulator.requests.length).toBe(before + 1)
  })

  it('leaves the record on disk as it was while waiting', async () => {
    const t = await blocked()
    await t.licensing.check()
    const bytes = await t.store.read()
    t.advance(30_000)
    await t.licensing.check()
    expect(await t.store.read()).toBe(bytes)
  })
})

describe('refresh() and activate() while Polar asked to wait', () => {
  it("refresh() and online: 'always' answer from the cache, saying how long is left", async () => {
    const t = await blocked()
    await t.licensing.refresh()
    const before = t.emulator.requests.length
    t.advance(20_000)
    expect(await t.licensing.refresh()).toMatchObject({
      status: 'grace',
      error: { code: 'rate_limited', retryAfter: 40 },
    })
    t.advance(39_000)
    expect(await t.licensing.check({ online: 'always' })).toMatchObject({
      error: { code: 'rate_limited', retryAfter: 1 },
    })
    expect(t.emulator.requests.length).toBe(before)
    t.advance(1_000)
    expect(await t.licensing.refresh()).toMatchObject({ status: 'active' })
    expect(t.emulator.requests.length).toBe(before + 1)
  })

  it('activate() on a machine without a seat throws rate_limited without a request', async () => {
    const t = await blocked()
    const fresh = t.emulator.createKey()
    const newcomer = t.make({ store: memoryStore() })
    // Nobody told this licensing to wait yet: it asks once, and learns it.
    expect((await rejection(newcomer.activate(fresh.key))).code).toBe('rate_limited')
    const before = t.emulator.requests.length
    t.advance(5_000)
    const error = await rejection(newcomer.activate(fresh.key))
    expect(error).toMatchObject({ code: 'rate_limited', retryAfter: 55 })
    expect(error.message).not.toContain(fresh.key)
    expect(t.emulator.requests.length).toBe(before)
    expect(t.emulator.listActivations(fresh)).toHaveLength(0)
  })

  it('a clock set back during the wait does not stretch it past Retry-After', async () => {
    const t = await blocked()
    await t.licensing.refresh()
    t.clock.now = T0 // two days back
    t.emulator.setClock(T0 + 2 * DAY + 61_000)
    const before = t.emulator.requests.length
    expect((await t.licensing.refresh()).error).toBeUndefined()
    expect(t.emulator.requests.length).toBe(before + 1)
  })
})

describe('a Retry-After far beyond what Polar sends (a proxy, a captive portal)', () => {
  it('pauses this licensing for an hour at most, not for the rest of the session', async () => {
    const t = setup()
    let answer429 = false
    const client = createPolarClient({
      server: 'http://emulator.local',
      retry: 0,
      sleep: async () => {},
      now: () => t.clock.now,
      fetch: async (input, init) =>
        answer429
          ? new Response(null, { status: 429, headers: { 'retry-after': '31536000' } })
          : t.emulator.fetch(input, init),
    })
    const licensing = t.make({ client })
    await licensing.activate(t.key.key)
    t.advance(2 * DAY)
    answer429 = true
    expect(await licensing.check()).toMatchObject({ error: { code: 'rate_limited' } })
    answer429 = false
    t.advance(60 * 60 * 1000 + 1000)
    expect(await licensing.check()).toMatchObject({ status: 'active' })
  })
})
