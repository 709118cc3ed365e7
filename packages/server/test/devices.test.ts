import { createPolarEmulator } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { createKeyPair, createLeaseServer } from '../src/index.js'
import { type Json, setup } from './helpers.js'

describe('POST /v1/devices and /v1/devices/free', () => {
  it("lists this key's live activations, oldest first, this machine marked", async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    const a = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp-a', label: 'Laptop' })
    s.emulator.advance(1000)
    await s.post('/v1/activate', { key: key.key, fingerprint: 'fp-b', label: 'Desktop' })
    const res = await s.post('/v1/devices', { key: key.key, fingerprint: 'fp-b' })

    expect(res.status).toBe(200)
    expect(res.json.limit_activations).toBe(3)
    expect(res.json.devices.map((d: Json) => [d.label, d.current])).toEqual([
      ['Laptop', false],
      ['Desktop', true],
    ])
    expect(res.json.devices[0].id).toBe(a.json.activation.id)
  })

  it('lists oldest first whatever order Polar lists them in', async () => {
    // Polar's query for a key's activations has no ORDER BY: the order is the database's.
    const polar = createPolarEmulator({ rateLimit: false })
    const shuffled: typeof fetch = async (input, init) => {
      const response = await polar.fetch(input, init)
      const request = new Request(input, init)
      if (request.method !== 'GET' || !response.ok) return response
      const body = (await response.json()) as Json
      body.activations?.reverse()
      return new Response(JSON.stringify(body), { status: 200, headers: response.headers })
    }
    const keys = await createKeyPair()
    const key = polar.createKey()
    const token = polar.createAccessToken()
    const server = createLeaseServer({
      organizationId: polar.organizationId,
      polarToken: token,
      signingKey: keys.privateJwk,
      server: 'http://127.0.0.1:9',
      fetch: shuffled,
    })
    const post = async (path: string, body: unknown) => {
      const res = await server.fetch(
        new Request(`https://lease.example${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      )
      return (await res.json()) as Json
    }
    for (const label of ['First', 'Second', 'Third']) {
      await post('/v1/activate', { key: key.key, fingerprint: label, label })
      polar.advance(1000)
    }
    const res = await post('/v1/devices', { key: key.key })
    expect(res.devices.map((d: Json) => d.label)).toEqual(['First', 'Second', 'Third'])
  })

  it('frees one of its own devices, then that seat can be taken', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 1 })
    const a = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp-a' })
    expect((await s.post('/v1/activate', { key: key.key, fingerprint: 'fp-b' })).status).toBe(409)

    const freed = await s.post('/v1/devices/free', {
      key: key.key,
      activation_id: a.json.activation.id,
    })
    expect(freed).toMatchObject({ status: 200, json: { freed: a.json.activation.id } })
    expect(s.emulator.listActivations(key)).toEqual([])
    expect((await s.post('/v1/activate', { key: key.key, fingerprint: 'fp-b' })).status).toBe(200)
  })

  it("cannot free another key's device", async () => {
    const s = await setup()
    const mine = s.emulator.createKey()
    const theirs = s.emulator.createKey()
    const seat = await s.post('/v1/activate', { key: theirs.key, fingerprint: 'fp' })
    const res = await s.post('/v1/devices/free', {
      key: mine.key,
      activation_id: seat.json.activation.id,
    })

    expect(res.status).toBe(404)
    expect(res.json.error.code).toBe('activation_not_found')
    expect(s.emulator.listActivations(theirs)).toHaveLength(1)
  })

  it('an unknown key lists nothing (404 key_not_found)', async () => {
    const s = await setup()
    const res = await s.post('/v1/devices', { key: 'NOT-A-REAL-KEY-123456' })
    expect(res.status).toBe(404)
    expect(res.json.error.code).toBe('key_not_found')
    expect(JSON.stringify(res.json)).not.toContain('NOT-A-REAL-KEY-123456')
  })
})
