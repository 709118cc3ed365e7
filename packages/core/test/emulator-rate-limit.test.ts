import { createLicensing, memoryStore, staticMachine } from '@keygate/core'
import { createPolarEmulator, type PolarEmulatorOptions } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { BASE, T0 } from './emulator-helpers.js'

/**
 * Polar's rate limiter (server/polar/rate_limit.py on asgi-ratelimit 0.10, Redis backend),
 * with Polar's default limits on: a clock that moves only when a test says.
 */

const ORG_API = 'https://api.polar.sh/v1/license-keys'

function limited(options: PolarEmulatorOptions = {}) {
  let now = T0
  const emulator = createPolarEmulator({ now: () => now, ...options })
  const key = emulator.createKey()
  const validate = (init: { token?: string; ip?: string } = {}) =>
    emulator.handler(
      new Request(`${BASE}/validate`, {
        method: 'POST',
        headers: init.token === undefined ? {} : { authorization: `Bearer ${init.token}` },
        body: JSON.stringify({ key: key.key, organization_id: emulator.organizationId }),
      }),
      { clientIp: init.ip },
    )
  const at = (ms: number) => {
    now = T0 + ms
  }
  return { emulator, key, validate, at, advance: (ms: number) => (now += ms) }
}

describe('asgi-ratelimit: the window opens at the first request (SET key limit EX 1 NX)', () => {
  it('refuses the 4th of +0.5, +1.2, +1.3, +1.4 s (one window) and starts the 60 s block', async () => {
    const t = limited()
    const statuses: number[] = []
    for (const ms of [500, 1200, 1300, 1400]) {
      t.at(ms)
      statuses.push((await t.validate()).status)
    }
    expect(statuses).toEqual([200, 200, 200, 429])
    t.at(1400 + 59_000)
    const blocked = await t.validate()
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).toBe('1')
    t.at(1400 + 60_000)
    expect((await t.validate()).status).toBe(200)
  })

  it('lets +0.5, +1.1, +1.2, +1.6, +1.7 s all through: a new window opens at +1.6', async () => {
    const t = limited()
    const statuses: number[] = []
    for (const ms of [500, 1100, 1200, 1600, 1700]) {
      t.at(ms)
      statuses.push((await t.validate()).status)
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200])
  })
})

describe("asgi-ratelimit's 429: an empty body and only retry-after", () => {
  it('answers 429 with no body, no content-type and no sandbox header (the limiter is outside it)', async () => {
    const t = limited({ sandbox: true })
    for (let i = 0; i < 3; i++) await t.validate()
    const res = await t.validate()
    expect(res.status).toBe(429)
    expect(await res.text()).toBe('')
    expect(res.headers.get('retry-after')).toBe('60')
    expect(res.headers.get('content-type')).toBeNull()
    expect(res.headers.get('x-polar-sandbox')).toBeNull()
    expect(res.headers.get('polar-version')).toBe('2026-04')
  })
})

describe('rate_limit.py: one block per client, shared by every zone', () => {
  it("answers the license routes with a login-code block's Retry-After (900 s) until it ends", async () => {
    const t = limited()
    t.emulator.blockClient('login-code')
    const res = await t.validate()
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('900')
    t.advance(900_000)
    expect((await t.validate()).status).toBe(200)
  })

  it("answers with a checkout-confirm block's 1800 s, counting down, for that client only", async () => {
    const t = limited()
    t.emulator.blockClient('checkout-confirm', '203.0.113.7')
    t.advance(600_000)
    const res = await t.validate({ ip: '203.0.113.7' })
    expect(res.headers.get('retry-after')).toBe('1200')
    expect((await t.validate({ ip: '198.51.100.1' })).status).toBe(200)
  })

  it('keeps a block earned on the license routes on the rest of the API too', async () => {
    const t = limited()
    for (let i = 0; i < 4; i++) await t.validate()
    const other = await t.emulator.fetch(`${ORG_API}/`)
    expect(other.status).toBe(429)
    expect(other.headers.get('retry-after')).toBe('60')
  })
})

describe('rate_limit.py: the limiter runs before authentication', () => {
  it('counts an unknown bearer token (as token:<hash>, pending_auth), then answers 401', async () => {
    const t = limited()
    const statuses: number[] = []
    for (let i = 0; i < 4; i++)
      statuses.push((await t.validate({ token: 'polar_oat_unknown' })).status)
    expect(statuses).toEqual([401, 401, 401, 429])
    // The count and the block are the token's, not the IP's.
    expect((await t.validate()).status).toBe(200)
  })
})

describe('rate_limit.py: the organization API is limited per organization, without a block', () => {
  const list = (emulator: ReturnType<typeof createPolarEmulator>, token: string) =>
    emulator.fetch(`${ORG_API}/`, { headers: { authorization: `Bearer ${token}` } })

  it('shares 500 requests a minute between all tokens of the organization', async () => {
    const t = limited()
    const a = t.emulator.createAccessToken()
    const b = t.emulator.createAccessToken()
    // A token's first request counts as pending_auth, before Polar caches its identity.
    await list(t.emulator, a)
    await list(t.emulator, b)
    for (let i = 0; i < 500; i++) await list(t.emulator, i % 2 ? a : b)
    const res = await list(t.emulator, a)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('60')
    // Another organization has its own count.
    const other = t.emulator.createAccessToken({ organizationId: crypto.randomUUID() })
    expect((await list(t.emulator, other)).status).toBe(200)
    t.advance(60_001)
    expect((await list(t.emulator, b)).status).toBe(200)
  })

  it('limits a restricted organization to 60 a minute and lets an elevated one send 100 a second', async () => {
    for (const [group, allowed, window] of [
      ['restricted', 60, '60'],
      ['elevated', 100, '1'],
    ] as const) {
      const t = limited({ organizationRateLimit: group })
      const token = t.emulator.createAccessToken()
      await list(t.emulator, token)
      for (let i = 0; i < allowed; i++) expect((await list(t.emulator, token)).status).toBe(200)
      const res = await list(t.emulator, token)
      expect(res.status).toBe(429)
      expect(res.headers.get('retry-after')).toBe(window)
    }
  })

  it('limits the sandbox organization to 100 a minute', async () => {
    const t = limited({ sandbox: true })
    const token = t.emulator.createAccessToken()
    await list(t.emulator, token)
    for (let i = 0; i < 100; i++) expect((await list(t.emulator, token)).status).toBe(200)
    expect((await list(t.emulator, token)).status).toBe(429)
  })
})

describe("keygate under another zone's block", () => {
  it('reports rate_limited with the 900 s of a login-code block and sends nothing until it ends', async () => {
    let now = T0
    const emulator = createPolarEmulator({ now: () => now })
    const key = emulator.createKey()
    const licensing = createLicensing({
      organizationId: emulator.organizationId,
      store: memoryStore(),
      machine: staticMachine('fp-blocked', 'Laptop'),
      fetch: emulator.fetch,
      now: () => now,
    })
    emulator.blockClient('login-code')
    const error = await licensing.activate(key.key).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'rate_limited', retryAfter: 900 })
    const sent = emulator.requests.length
    now += 899_000
    await licensing.activate(key.key).catch(() => undefined)
    expect(emulator.requests).toHaveLength(sent)
    now += 1000
    expect((await licensing.activate(key.key)).status).toBe('active')
  })
})
