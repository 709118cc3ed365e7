import { describe, expect, it } from 'vitest'
import { createPolarClient } from '../../src/polar/client.js'
import { DAY, HOUR, SERVER, setup, T0 } from './licensing-fixture.js'

const PERIOD = 30 * DAY

/**
 * A proxy (or a TLS-inspecting middlebox) with a broken clock rewrites the `Date` header.
 * Polar itself judged the key by its own clock, so a bogus header must neither lock out a
 * key Polar just confirmed nor stretch the key's expiry.
 */
function behindProxy(date: (real: number) => number) {
  const t = setup({ expiresAt: T0 + PERIOD })
  const client = createPolarClient({
    server: SERVER,
    retry: 0,
    sleep: async () => {},
    fetch: async (input, init) => {
      const response = await t.emulator.fetch(input, init)
      const headers = new Headers(response.headers)
      headers.set('date', new Date(date(t.clock.now)).toUTCString())
      return new Response(response.body, { status: response.status, headers })
    },
  })
  return { ...t, licensing: t.make({ client }) }
}

describe('a bogus Date header on a subscription key', () => {
  it('far in the future: the key Polar just confirmed stays active', async () => {
    const t = behindProxy((real) => real + 5 * 365 * DAY)
    expect(await t.licensing.activate(t.key.key)).toMatchObject({ status: 'active' })
    const before = t.emulator.requests.length
    t.advance(DAY)
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
    expect(t.endpoints(before)).toEqual(['validate'])
  })

  it('far in the past: offline, the key still ends at its own expiry', async () => {
    const t = behindProxy((real) => real - 5 * 365 * DAY)
    await t.licensing.activate(t.key.key)
    t.advance(PERIOD - DAY / 2)
    expect((await t.licensing.check()).status).toBe('active')
    t.emulator.setOffline(true)
    t.advance(DAY / 2)
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({ reason: 'expired' })
  })
})

/** No `Date` header reaches the app (a browser hides it from a cross-origin answer). */
function withoutDateHeader(polarMinusLocal: number, expiresAt = T0 + PERIOD) {
  const t = setup({ expiresAt })
  t.emulator.advance(polarMinusLocal)
  const client = createPolarClient({
    server: SERVER,
    retry: 0,
    sleep: async () => {},
    fetch: async (input, init) => {
      const response = await t.emulator.fetch(input, init)
      const headers = new Headers(response.headers)
      headers.delete('date')
      return new Response(response.body, { status: response.status, headers })
    },
  })
  return { ...t, licensing: t.make({ client }) }
}

describe('no Date header: the time Polar wrote into its answer stands in', () => {
  it('a clock 3 h ahead is not locked out in the last 3 h of a paid period', async () => {
    const t = withoutDateHeader(-3 * HOUR)
    await t.licensing.activate(t.key.key)
    t.advance(PERIOD + HOUR) // Polar's clock: 2 h before the key expires
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
    const before = t.emulator.requests.length
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
    expect(t.endpoints(before)).toEqual([])
  })

  it("a clock 3 h behind still ends at the key's expiry, offline", async () => {
    const t = withoutDateHeader(3 * HOUR, T0 + 3 * HOUR + 2 * DAY)
    await t.licensing.activate(t.key.key)
    t.emulator.setOffline(true)
    t.clock.now = T0 + 2 * DAY - 1 // Polar's clock: just before the key's expiry
    expect((await t.licensing.check({ online: 'never' })).status).toBe('grace')
    t.clock.now = T0 + 2 * DAY
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({ reason: 'expired' })
  })
})
