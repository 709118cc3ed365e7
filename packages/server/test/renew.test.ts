import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { setup } from './helpers.js'

describe('POST /v1/renew', () => {
  async function activated(options: Parameters<typeof setup>[0] = {}) {
    const s = await setup(options)
    const key = s.emulator.createKey()
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    return { s, key, activationId: res.json.activation.id as string }
  }

  it('validates the activation with Polar and signs a fresh lease', async () => {
    let now = Date.now()
    const { s, key, activationId } = await activated({ now: () => now })
    now += 60_000
    s.emulator.clearRequests()
    const res = await s.post('/v1/renew', {
      key: key.key,
      fingerprint: 'fp',
      activation_id: activationId,
    })

    expect(res.status).toBe(200)
    expect(res.json.activation.id).toBe(activationId)
    expect(decodeJwt(res.json.lease)).toMatchObject({
      activation_id: activationId,
      iat: Math.floor(now / 1000),
    })
    // One request to Polar, with this machine's conditions.
    expect(s.emulator.requests.map((r) => [r.path, r.body])).toEqual([
      [
        '/v1/license-keys/validate',
        expect.objectContaining({
          activation_id: activationId,
          conditions: { keygate_machine: 'fp' },
        }),
      ],
    ])
    expect(s.emulator.listActivations(key)).toHaveLength(1)
  })

  it('refuses another machine (403 conditions_mismatch)', async () => {
    const { s, key, activationId } = await activated()
    const res = await s.post('/v1/renew', {
      key: key.key,
      fingerprint: 'x',
      activation_id: activationId,
    })
    expect(res.status).toBe(403)
    expect(res.json.error.code).toBe('conditions_mismatch')
  })

  it('refuses an activation bound by meta only to another machine', async () => {
    const s = await setup()
    const key = s.emulator.createKey()
    const seat = s.emulator.addActivation(key, { meta: { keygate_machine: 'other' } })
    const res = await s.post('/v1/renew', {
      key: key.key,
      fingerprint: 'fp',
      activation_id: seat.id,
    })
    expect(res.json.error.code).toBe('conditions_mismatch')
  })

  it('a revoked key gets no lease (403 revoked, Polar detail kept)', async () => {
    const { s, key, activationId } = await activated()
    s.emulator.revoke(key)
    const res = await s.post('/v1/renew', {
      key: key.key,
      fingerprint: 'fp',
      activation_id: activationId,
    })
    expect(res.status).toBe(403)
    expect(res.json.error).toMatchObject({
      code: 'revoked',
      detail: 'License key is no longer active.',
    })
  })

  it('a freed activation answers 404 activation_not_found', async () => {
    const { s, key, activationId } = await activated()
    s.emulator.removeActivation(activationId)
    const res = await s.post('/v1/renew', {
      key: key.key,
      fingerprint: 'fp',
      activation_id: activationId,
    })
    expect(res.status).toBe(404)
    expect(res.json.error.code).toBe('activation_not_found')
  })

  it('renews a key without activation limit with activation_id null', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: null })
    const res = await s.post('/v1/renew', { key: key.key, fingerprint: 'fp', activation_id: null })
    expect(res.status).toBe(200)
    expect(decodeJwt(res.json.lease)).toMatchObject({ activation_id: null, fingerprint: 'fp' })
  })

  it('a key with activations needs its activation_id', async () => {
    const { s, key } = await activated()
    const res = await s.post('/v1/renew', { key: key.key, fingerprint: 'fp', activation_id: null })
    expect(res.status).toBe(400)
    expect(res.json.error.code).toBe('invalid_input')
  })
})
