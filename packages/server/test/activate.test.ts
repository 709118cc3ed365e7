import { importJWK, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { createKeyPair, createLeaseServer, type LeaseClaims } from '../src/index.js'
import { type Json, setup } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

async function claimsOf(lease: string, publicJwk: object) {
  const key = await importJWK(publicJwk, 'EdDSA')
  const { payload, protectedHeader } = await jwtVerify(lease, key, {
    issuer: 'keygate',
    typ: 'keygate-lease+jwt',
  })
  return { claims: payload as unknown as LeaseClaims, header: protectedHeader }
}

describe('POST /v1/activate', () => {
  it('takes one seat bound to the fingerprint in conditions and meta, and signs a lease', async () => {
    const now = Date.now()
    const s = await setup({ now: () => now })
    const key = s.emulator.createKey()
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp-a', label: 'Box' })

    expect(res.status).toBe(200)
    const [seat, ...others] = s.emulator.listActivations(key)
    expect(others).toEqual([])
    expect(seat?.conditions).toEqual({ keygate_machine: 'fp-a' })
    expect(seat?.meta).toEqual({ keygate_machine: 'fp-a' })
    expect(res.json.activation).toMatchObject({ id: seat?.id, label: 'Box' })
    expect(res.json.reused).toBe(false)
    expect(res.json.license_key).toMatchObject({ id: key.id, display_key: key.displayKey })

    const { claims, header } = await claimsOf(res.json.lease, s.keys.publicJwk)
    expect(header).toMatchObject({ alg: 'EdDSA', kid: s.keys.publicJwk.kid })
    expect(claims).toEqual({
      iss: 'keygate',
      sub: key.id,
      ver: 1,
      organization_id: s.emulator.organizationId,
      activation_id: seat?.id,
      fingerprint: 'fp-a',
      status: 'granted',
      key_expires_at: null,
      benefit_id: key.benefitId,
      iat: Math.floor(now / 1000),
      exp: Math.floor((now + 7 * DAY) / 1000),
    })
    expect(res.json.lease_expires_at).toBe(new Date(claims.exp * 1000).toISOString())
  })

  it('a lease signed by another key does not verify with this public key', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    const stranger = await createKeyPair()
    await expect(claimsOf(res.json.lease, stranger.publicJwk)).rejects.toThrow()
  })

  it('caps the lease at the key expiry, and honours leaseTtl', async () => {
    const now = Date.now()
    const s = await setup({ now: () => now, leaseTtl: 3 * DAY })
    const soon = s.emulator.createKey({ expiresAt: now + DAY + 1234 })
    const late = s.emulator.createKey({ expiresAt: now + 30 * DAY })

    const a = await s.post('/v1/activate', { key: soon.key, fingerprint: 'fp' })
    const b = await s.post('/v1/activate', { key: late.key, fingerprint: 'fp' })
    const capped = (await claimsOf(a.json.lease, s.keys.publicJwk)).claims
    const full = (await claimsOf(b.json.lease, s.keys.publicJwk)).claims

    expect(capped.exp).toBe(Math.floor((now + DAY + 1234) / 1000))
    expect(capped.key_expires_at).toBe(capped.exp)
    expect(full.exp).toBe(Math.floor((now + 3 * DAY) / 1000))
    expect(full.key_expires_at).toBe(Math.floor((now + 30 * DAY) / 1000))
  })

  it('is idempotent: the same machine again reuses its seat', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 2 })
    const first = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    const again = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    const third = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })

    expect(again.json.activation.id).toBe(first.json.activation.id)
    expect(third.json.activation.id).toBe(first.json.activation.id)
    expect(again.json.reused).toBe(true)
    expect(s.emulator.listActivations(key)).toHaveLength(1)
  })

  it('another machine takes another seat', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    const a = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp-a' })
    const b = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp-b' })
    expect(a.json.activation.id).not.toBe(b.json.activation.id)
    expect(s.emulator.listActivations(key)).toHaveLength(2)
  })

  it('12 concurrent requests for one machine on 12 server instances leave 1 seat', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 5 })
    const instances = Array.from({ length: 12 }, () =>
      createLeaseServer({
        organizationId: s.emulator.organizationId,
        polarToken: s.token,
        signingKey: s.keys.privateJwk,
        server: 'http://127.0.0.1:9',
        fetch: s.emulator.fetch,
      }),
    )
    // Each instance proves its signing key first (a trial asks Polar nothing), so that the
    // 12 activations below start together instead of one import apart.
    for (const instance of instances) {
      const warm = await instance.fetch(
        new Request('https://lease.example/v1/trial', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ fingerprint: 'warm-up', days: 1 }),
        }),
      )
      expect(warm.status).toBe(200)
    }
    const answers = await Promise.all(
      instances.map(async (instance) => {
        const response = await instance.fetch(
          new Request('https://lease.example/v1/activate', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ key: key.key, fingerprint: 'racer' }),
          }),
        )
        return { status: response.status, json: (await response.json()) as Json }
      }),
    )

    const live = s.emulator.listActivations(key)
    expect(live).toHaveLength(1)
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200))
    expect(new Set(answers.map((a) => a.json.activation.id))).toEqual(new Set([live[0]?.id]))
    // More than one instance really activated: convergence, not luck, left one seat.
    const activations = s.emulator.requests.filter(
      (r) => r.path === '/v1/license-keys/activate' && r.status === 200,
    )
    expect(activations.length).toBeGreaterThan(1)
  })

  it('a lost activate answer costs no second seat: the server finds the seat it took', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    let dropped = 0
    const lossy = createLeaseServer({
      organizationId: s.emulator.organizationId,
      polarToken: s.token,
      signingKey: s.keys.privateJwk,
      server: 'http://127.0.0.1:9',
      fetch: async (input, init) => {
        const response = await s.emulator.fetch(input, init)
        // Polar took the seat, then the connection dropped before its answer arrived.
        if (String(input instanceof Request ? input.url : input).endsWith('/activate')) {
          dropped++
          throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })
        }
        return response
      },
    })
    const response = await lossy.fetch(
      new Request('https://lease.example/v1/activate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: key.key, fingerprint: 'fp' }),
      }),
    )
    const body = (await response.json()) as Json
    const live = s.emulator.listActivations(key)
    expect(dropped).toBe(1)
    expect(response.status).toBe(200)
    expect(live).toHaveLength(1)
    expect(body.activation.id).toBe(live[0]?.id)
  })

  // Polar answers GET /v1/license-keys/{id} from a read replica that trails its writes.
  it('answers the seat Polar just gave even when the replica does not list it yet', async () => {
    const s = await setup()
    s.emulator.setReplicaLag(60_000)
    const key = s.emulator.createKey()
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })

    const live = s.emulator.listActivations(key)
    expect(res.status).toBe(200)
    expect(live).toHaveLength(1)
    expect(res.json.activation.id).toBe(live[0]?.id)
    expect(res.json.reused).toBe(false)
  })

  it('never hands out a seat freed a moment ago that the replica still lists', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    const first = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    s.emulator.advance(120_000)
    s.emulator.setReplicaLag(60_000)
    const freed = await s.post('/v1/devices/free', {
      key: key.key,
      activation_id: first.json.activation.id,
    })
    expect(freed.status).toBe(200)

    const again = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    const live = s.emulator.listActivations(key)
    expect(again.status).toBe(200)
    expect(live).toHaveLength(1)
    expect(again.json.activation.id).toBe(live[0]?.id)
    expect(again.json.activation.id).not.toBe(first.json.activation.id)
    const renewed = await s.post('/v1/renew', {
      key: key.key,
      fingerprint: 'fp',
      activation_id: again.json.activation.id,
    })
    expect(renewed.status).toBe(200)
  })

  it('frees duplicates a crash left behind, keeping the oldest', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 3 })
    const oldest = s.emulator.addActivation(key, { meta: { keygate_machine: 'fp' } })
    s.emulator.advance(1000)
    s.emulator.addActivation(key, { meta: { keygate_machine: 'fp' } })
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(res.json.activation.id).toBe(oldest.id)
    expect(s.emulator.listActivations(key).map((a) => a.id)).toEqual([oldest.id])
  })

  it('reuses its own seat even when every seat is taken', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 1 })
    const first = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    const again = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(again.status).toBe(200)
    expect(again.json.activation.id).toBe(first.json.activation.id)
  })

  it('answers 409 activation_limit_reached when other machines hold every seat', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 1 })
    s.emulator.addActivation(key, { meta: { keygate_machine: 'other' } })
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(409)
    expect(res.json.error.code).toBe('activation_limit_reached')
    expect(s.emulator.listActivations(key)).toHaveLength(1)
  })

  it('a key without activation limit gets a lease without activation', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: null })
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(200)
    expect(res.json.activation).toBeNull()
    const { claims } = await claimsOf(res.json.lease, s.keys.publicJwk)
    expect(claims.activation_id).toBeNull()
    expect(claims.fingerprint).toBe('fp')
  })

  it('keeps caller meta but never lets it override the fingerprint', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    await s.post('/v1/activate', {
      key: key.key,
      fingerprint: 'fp',
      meta: { app_version: '1.2.3', keygate_machine: 'forged' },
    })
    expect(s.emulator.listActivations(key)[0]?.meta).toEqual({
      app_version: '1.2.3',
      keygate_machine: 'fp',
    })
  })

  it('answers no PII and never the full key', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    const text = JSON.stringify(res.json)
    expect(text).not.toContain(key.key)
    expect(text).not.toContain('email')
    expect(Object.keys(res.json.license_key)).not.toContain('key')
  })
})
