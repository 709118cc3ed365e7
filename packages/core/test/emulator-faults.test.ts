import { createPolarEmulator } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { BASE, setup, T0 } from './emulator-helpers.js'

describe('emulator: rate limit', () => {
  it("defaults to Polar's limit: the 4th request in a second gets 429, empty body, retry-after 60", async () => {
    const emulator = createPolarEmulator({ now: () => T0 })
    const key = emulator.createKey()
    const validate = () =>
      emulator.fetch(`${BASE}/validate`, {
        method: 'POST',
        body: JSON.stringify({ key: key.key, organization_id: emulator.organizationId }),
      })
    for (let i = 0; i < 3; i++) expect((await validate()).status).toBe(200)
    const limited = await validate()
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(await limited.text()).toBe('')
  })

  it('blocks the client for blockMs on all three endpoints, then lets it through again', async () => {
    const { emulator, validate, activate, deactivate } = setup({
      rateLimit: { requests: 3, perMs: 1000, blockMs: 60_000 },
    })
    const key = emulator.createKey()
    for (let i = 0; i < 4; i++) await validate(key.key)
    emulator.advance(45_000)
    const activated = await activate(key.key)
    expect(activated.status).toBe(429)
    expect(activated.headers.get('retry-after')).toBe('15')
    expect((await deactivate(key.key, crypto.randomUUID())).status).toBe(429)
    emulator.advance(15_000)
    expect((await activate(key.key)).status).toBe(200)
    expect(emulator.listActivations(key)).toHaveLength(1)
  })

  it('counts per window: 3 requests in each window that has ended never trip it', async () => {
    const { emulator, validate } = setup({
      rateLimit: { requests: 3, perMs: 1000, blockMs: 60_000 },
    })
    const key = emulator.createKey()
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 3; i++) expect((await validate(key.key)).status).toBe(200)
      // Redis keeps the window's key alive up to its expiry instant, inclusive.
      emulator.advance(1001)
    }
  })

  it('counts per client IP: a blocked office does not block another one', async () => {
    const emulator = createPolarEmulator({ now: () => T0 })
    const key = emulator.createKey()
    const from = (clientIp: string) =>
      emulator.handler(
        new Request(`${BASE}/validate`, {
          method: 'POST',
          body: JSON.stringify({ key: key.key, organization_id: emulator.organizationId }),
        }),
        { clientIp },
      )
    for (let i = 0; i < 3; i++) await from('203.0.113.7')
    expect((await from('203.0.113.7')).status).toBe(429)
    expect((await from('198.51.100.1')).status).toBe(200)
  })

  it('does not count wrong paths, and rateLimit: false turns it off', async () => {
    const limited = createPolarEmulator({ now: () => T0 })
    for (let i = 0; i < 5; i++) {
      expect((await limited.fetch('https://api.polar.sh/v1/nope', { method: 'POST' })).status).toBe(
        404,
      )
    }
    const { emulator, validate } = setup({ rateLimit: false })
    const key = emulator.createKey()
    for (let i = 0; i < 10; i++) expect((await validate(key.key)).status).toBe(200)
  })
})

describe('emulator: fault injection', () => {
  it('failNext(n, 503) answers n HTML 503s without touching state, then Polar answers again', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey()
    emulator.failNext(2, 503)
    for (let i = 0; i < 2; i++) {
      const res = await activate(key.key)
      expect(res.status).toBe(503)
      expect(res.headers.get('content-type')).toBe('text/html')
    }
    expect(emulator.listActivations(key)).toHaveLength(0)
    expect((await activate(key.key)).status).toBe(200)
  })

  it('500 and 502 answer with those statuses', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey()
    emulator.failNext(1, 500)
    emulator.failNext(1, 502)
    expect((await validate(key.key)).status).toBe(500)
    expect((await validate(key.key)).status).toBe(502)
  })

  it("'reset' makes fetch reject like a dropped connection", async () => {
    const { emulator, validate } = setup()
    emulator.failNext(1, 'reset')
    const error = await validate('K').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as TypeError).message).toBe('fetch failed')
  })

  it("'html' answers 200 with a captive-portal page, 'invalid_json' 200 with a truncated body", async () => {
    const { emulator, validate } = setup()
    emulator.failNext(1, 'html')
    emulator.failNext(1, 'invalid_json')
    const html = await validate('K')
    expect(html.status).toBe(200)
    expect(html.headers.get('content-type')).toBe('text/html')
    expect(html.text).toContain('<html>')
    const truncated = await validate('K')
    expect(truncated.headers.get('content-type')).toBe('application/json')
    expect(truncated.json).toBeUndefined()
  })

  it("'timeout' hangs until the caller aborts, then rejects with the abort reason", async () => {
    const { emulator } = setup()
    emulator.failNext(1, 'timeout')
    const controller = new AbortController()
    const pending = emulator.fetch(`${BASE}/validate`, {
      method: 'POST',
      body: '{}',
      signal: controller.signal,
    })
    let settled = false
    void pending.then(
      () => {
        settled = true
      },
      () => {
        settled = true
      },
    )
    await Promise.resolve()
    await Promise.resolve()
    expect(settled).toBe(false)
    const reason = new Error('gave up')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
  })

  it('setOffline(true) fails every request until setOffline(false)', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey()
    emulator.setOffline(true)
    await expect(validate(key.key)).rejects.toThrow('fetch failed')
    await expect(validate(key.key)).rejects.toThrow('fetch failed')
    emulator.setOffline(false)
    expect((await validate(key.key)).status).toBe(200)
    expect(emulator.getKey(key).validations).toBe(1)
  })

  it('logs faults in requests, with keys masked', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey()
    emulator.failNext(1, 'reset')
    await validate(key.key).catch(() => undefined)
    await validate(key.key)
    expect(emulator.requests.map((r) => r.status)).toEqual(['reset', 200])
    expect(emulator.requests[1]).toMatchObject({
      endpoint: 'validate',
      path: '/v1/customer-portal/license-keys/validate',
      body: { key: key.displayKey },
      ip: '127.0.0.1',
      at: T0,
    })
    expect(JSON.stringify(emulator.requests)).not.toContain(key.key)
    emulator.clearRequests()
    expect(emulator.requests).toHaveLength(0)
  })
})
