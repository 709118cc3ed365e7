import { describe, expect, it } from 'vitest'
import { createKeyPair, createLeaseServer } from '../src/index.js'
import { type Json, setup } from './helpers.js'

describe('errors', () => {
  it('refuses bad input with 400 invalid_input before asking Polar', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    const bad = [
      { fingerprint: 'fp' },
      { key: key.key },
      { key: key.key, fingerprint: '' },
      { key: key.key, fingerprint: 'fp', meta: { nested: { no: 1 } } },
      { key: key.key, fingerprint: 'fp', label: 'x'.repeat(300) },
    ]
    for (const body of bad) {
      const res = await s.post('/v1/activate', body)
      expect(res.status).toBe(400)
      expect(res.json.error.code).toBe('invalid_input')
    }
    const notJson = await s.server.fetch(
      new Request('https://lease.example/v1/activate', { method: 'POST', body: '{' }),
    )
    expect(notJson.status).toBe(400)
    expect(s.emulator.requests).toEqual([])
  })

  it('answers 404 for an unknown route and 405 for another method', async () => {
    const s = await setup()
    const missing = await s.post('/v2/activate', {})
    expect(missing.status).toBe(404)
    expect(missing.json.error.code).toBe('server')
    const mounted = await s.post('/api/lease/v1/devices', { key: 'UNKNOWN-KEY-000000' })
    expect(mounted.json.error.code).toBe('key_not_found')
    const get = await s.server.fetch(new Request('https://lease.example/v1/activate'))
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })

  it('maps Polar verdicts to their codes and statuses', async () => {
    const s = await setup()
    const revoked = s.emulator.createKey({ status: 'revoked' })
    const expired = s.emulator.createKey({ expiresAt: Date.now() - 1000 })
    const cases = [
      [{ key: 'UNKNOWN-KEY-000000', fingerprint: 'f' }, 404, 'key_not_found'],
      [{ key: revoked.key, fingerprint: 'f' }, 403, 'revoked'],
      [{ key: expired.key, fingerprint: 'f' }, 403, 'expired'],
    ] as const
    for (const [body, status, code] of cases) {
      const res = await s.post('/v1/activate', body)
      expect([res.status, res.json.error.code]).toEqual([status, code])
      expect(res.json.error.message).not.toContain(body.key)
    }
  })

  it("refuses a key of another organization (the token's organization decides)", async () => {
    const s = await setup()
    const foreign = s.emulator.createKey({ organizationId: crypto.randomUUID() })
    const res = await s.post('/v1/activate', { key: foreign.key, fingerprint: 'f' })
    expect(res.json.error.code).toBe('key_not_found')
    expect(s.emulator.listActivations(foreign)).toEqual([])
  })

  it('answers 503 with Retry-After when Polar throttles, and sends nothing more', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    let calls = 0
    const throttled = createLeaseServer({
      organizationId: s.emulator.organizationId,
      polarToken: s.token,
      signingKey: s.keys.privateJwk,
      server: 'http://127.0.0.1:9',
      fetch: async () => {
        calls++
        return new Response('', { status: 429, headers: { 'retry-after': '60' } })
      },
    })
    const res = await throttled.fetch(
      new Request('https://l.example/v1/activate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: key.key, fingerprint: 'f' }),
      }),
    )
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('60')
    expect(await res.json()).toMatchObject({ error: { code: 'rate_limited', retry_after: 60 } })
    expect(calls).toBe(1)
  })

  it('a Polar outage is a transient 5xx, never a verdict', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    s.emulator.setOffline(true)
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'f' })
    expect(res.status).toBe(502)
    expect(res.json.error.code).toBe('network')
    s.emulator.setOffline(false)
    s.emulator.failNext(5, 503)
    const busy = await s.post('/v1/devices', { key: key.key })
    expect(busy.status).toBe(502)
    expect(busy.json.error.code).toBe('server')
  })

  it('a refused organization token is the server’s fault: 500 server, told to the seller only', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    s.emulator.revokeAccessToken(s.token)
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'f' })
    expect(res.status).toBe(500)
    expect(res.json.error.code).toBe('server')
    expect(JSON.stringify(res.json)).not.toContain(s.token)
    expect(s.logs.join('\n')).toMatch(/access token/)
    expect(s.logs.join('\n')).not.toContain(key.key)
  })

  it('checks its options at start', async () => {
    const { privateJwk, publicJwk } = await createKeyPair()
    const base = {
      organizationId: crypto.randomUUID(),
      polarToken: 'polar_oat_x',
      signingKey: privateJwk,
    }
    expect(() => createLeaseServer({ ...base, organizationId: 'nope' })).toThrow(/organizationId/)
    expect(() => createLeaseServer({ ...base, polarToken: '' })).toThrow(/token/)
    expect(() => createLeaseServer({ ...base, signingKey: publicJwk as never })).toThrow(
      /public key/,
    )
    expect(() => createLeaseServer({ ...base, leaseTtl: 5 })).toThrow(/leaseTtl/)
    expect(() => createLeaseServer({ ...base, server: 'http://polar.example' })).toThrow(/https/)
    // A secret from env arrives as JSON text.
    expect(() =>
      createLeaseServer({ ...base, signingKey: JSON.stringify(privateJwk) }),
    ).not.toThrow()
  })

  it('a signing key whose x is not the public key of d issues no lease', async () => {
    const s = await setup()
    const other = await createKeyPair()
    const key = s.emulator.createKey({ limitActivations: null })
    const logs: string[] = []
    const mismatched = createLeaseServer({
      organizationId: s.emulator.organizationId,
      polarToken: s.token,
      signingKey: { ...s.keys.privateJwk, x: other.publicJwk.x },
      server: 'http://127.0.0.1:9',
      fetch: s.emulator.fetch,
      log: (line) => logs.push(line),
    })
    const res = await mismatched.fetch(
      new Request('https://l.example/v1/renew', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: key.key, fingerprint: 'f', activation_id: null }),
      }),
    )
    expect(res.status).toBe(500)
    expect(((await res.json()) as Json).error.code).toBe('server')
    expect(logs.join('\n')).toMatch(/x is not the public key of d/)
  })

  // Every customer who tried to activate would otherwise hold a seat the app never learnt of.
  it('with a broken signing key, an activation asks Polar nothing and takes no seat', async () => {
    const s = await setup()
    const other = await createKeyPair()
    const key = s.emulator.createKey({ limitActivations: 1 })
    const mismatched = createLeaseServer({
      organizationId: s.emulator.organizationId,
      polarToken: s.token,
      signingKey: { ...s.keys.privateJwk, x: other.publicJwk.x },
      server: 'http://127.0.0.1:9',
      fetch: s.emulator.fetch,
      log: () => {},
    })
    const res = await mismatched.fetch(
      new Request('https://l.example/v1/activate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: key.key, fingerprint: 'f' }),
      }),
    )
    expect(res.status).toBe(500)
    expect(s.emulator.listActivations(key)).toEqual([])
    expect(s.emulator.requests).toEqual([])
  })
})
