import { describe, expect, it } from 'vitest'
import { type Json, setup } from './helpers.js'

/**
 * A listed seat whose `meta` carries this machine's fingerprint but whose stored conditions
 * are another's: Polar's validate with this machine's conditions refuses it, so it is
 * neither this machine's seat nor a duplicate to free (freeing it would kick its holder).
 */

const mine = { meta: { keygate_machine: 'fp' }, conditions: { keygate_machine: 'fp' } }
const mismatched = { meta: { keygate_machine: 'fp' }, conditions: { keygate_machine: 'fp-b' } }

describe('POST /v1/activate with a seat stored under other conditions', () => {
  it('takes a seat of its own and leaves the mismatched one alone', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 3 })
    const foreign = s.emulator.addActivation(key, { label: 'other box', ...mismatched })

    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(200)
    expect(res.json.reused).toBe(false)
    // validate, get, validate (mismatched), activate, get: the mismatched seat is asked once.
    expect(s.emulator.requests.map((r) => r.path)).toEqual([
      '/v1/license-keys/validate',
      `/v1/license-keys/${key.id}`,
      '/v1/license-keys/validate',
      '/v1/license-keys/activate',
      `/v1/license-keys/${key.id}`,
    ])
    const taken = res.json.activation.id
    expect(taken).not.toBe(foreign.id)
    const live = s.emulator.listActivations(key)
    expect(live.map((a) => a.id).sort()).toEqual([foreign.id, taken].sort())
    expect(live.find((a) => a.id === taken)?.conditions).toEqual({ keygate_machine: 'fp' })

    // The seat handed out passes this machine's conditions: renew with it succeeds.
    const renewed = await s.post('/v1/renew', {
      key: key.key,
      fingerprint: 'fp',
      activation_id: taken,
    })
    expect(renewed.status).toBe(200)

    // Again: the machine's seat is reused, the mismatched one still left alone.
    const again = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(again.status).toBe(200)
    expect(again.json.activation.id).toBe(taken)
    expect(again.json.reused).toBe(true)
    expect(s.emulator.listActivations(key)).toHaveLength(2)
  })

  it('reuses its real seat and never frees a mismatched one listed after it', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 3 })
    const real = s.emulator.addActivation(key, mine)
    s.emulator.advance(1000)
    const foreign = s.emulator.addActivation(key, mismatched)

    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(200)
    expect(res.json.activation.id).toBe(real.id)
    expect(res.json.reused).toBe(true)
    expect(
      s.emulator
        .listActivations(key)
        .map((a) => a.id)
        .sort(),
    ).toEqual([real.id, foreign.id].sort())
  })

  it('older than two real duplicates: the oldest real one survives, the younger is freed', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 5 })
    const foreign = s.emulator.addActivation(key, mismatched)
    s.emulator.advance(1000)
    const oldest = s.emulator.addActivation(key, mine)
    s.emulator.advance(1000)
    s.emulator.addActivation(key, mine)

    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(200)
    expect(res.json.activation.id).toBe(oldest.id)
    expect(res.json.reused).toBe(true)
    // 3 on reuse, plus one validate for the mismatched seat and two for the freed duplicate.
    expect(s.emulator.requests.map((r) => r.path.replace(key.id, 'ID'))).toEqual([
      '/v1/license-keys/validate',
      '/v1/license-keys/ID',
      '/v1/license-keys/validate',
      '/v1/license-keys/validate',
      '/v1/license-keys/validate',
      '/v1/license-keys/deactivate',
    ])
    expect(
      s.emulator
        .listActivations(key)
        .map((a) => a.id)
        .sort(),
    ).toEqual([foreign.id, oldest.id].sort())
  })

  it('answers 409 activation_limit_reached when the mismatched seat holds the only one', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 1 })
    const foreign = s.emulator.addActivation(key, mismatched)
    const res = await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(409)
    expect(res.json.error.code).toBe('activation_limit_reached')
    expect(JSON.stringify(res.json)).not.toContain(key.key)
    expect(s.emulator.listActivations(key).map((a) => a.id)).toEqual([foreign.id])
  })
})

describe('POST /v1/devices with a seat stored under other conditions', () => {
  const paths = (s: Awaited<ReturnType<typeof setup>>, id: string) =>
    s.emulator.requests.map((r) => r.path.replace(id, 'ID'))

  it("marks only the seat that passes this machine's conditions current", async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 3 })
    const real = s.emulator.addActivation(key, { label: 'this box', ...mine })
    s.emulator.advance(1000)
    const foreign = s.emulator.addActivation(key, { label: 'other box', ...mismatched })

    const res = await s.post('/v1/devices', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(200)
    expect(res.json.devices.map((d: Json) => [d.id, d.current])).toEqual([
      [real.id, true],
      [foreign.id, false],
    ])
    // The list carries no conditions: each seat with this fingerprint in meta is asked once.
    expect(paths(s, key.id)).toEqual([
      '/v1/license-keys/validate',
      '/v1/license-keys/ID',
      '/v1/license-keys/validate',
      '/v1/license-keys/validate',
    ])
  })

  it('shows a lone mismatched seat holding the only seat as another device, one it can free', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 1 })
    const foreign = s.emulator.addActivation(key, { label: 'other box', ...mismatched })
    expect((await s.post('/v1/activate', { key: key.key, fingerprint: 'fp' })).status).toBe(409)

    const res = await s.post('/v1/devices', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(200)
    expect(res.json.devices).toEqual([expect.objectContaining({ id: foreign.id, current: false })])
  })

  it('leaves out a seat of this machine freed a moment ago that the lagging list still shows', async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 3 })
    const freed = s.emulator.addActivation(key, { label: 'this box', ...mine })
    s.emulator.advance(120_000)
    s.emulator.removeActivation(freed.id)
    s.emulator.setReplicaLag(60_000)

    const res = await s.post('/v1/devices', { key: key.key, fingerprint: 'fp' })
    expect(res.status).toBe(200)
    expect(res.json.devices).toEqual([])
  })

  it("with the caller's activation_id: that seat alone is current, and Polar is asked twice", async () => {
    const s = await setup()
    const key = s.emulator.createKey({ limitActivations: 3 })
    const foreign = s.emulator.addActivation(key, { label: 'other box', ...mismatched })
    s.emulator.advance(1000)
    const real = s.emulator.addActivation(key, { label: 'this box', ...mine })

    const res = await s.post('/v1/devices', {
      key: key.key,
      fingerprint: 'fp',
      activation_id: real.id,
    })
    expect(res.status).toBe(200)
    expect(res.json.devices.map((d: Json) => [d.id, d.current])).toEqual([
      [foreign.id, false],
      [real.id, true],
    ])
    expect(paths(s, key.id)).toEqual(['/v1/license-keys/validate', '/v1/license-keys/ID'])
  })
})
