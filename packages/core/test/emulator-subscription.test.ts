import { createLicensing, memoryStore, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { setup, T0 } from './emulator-helpers.js'

/**
 * Subscription-backed keys and the benefit grant behind every key (server/polar/benefit/
 * strategies/license_keys/service.py, license_key/service.py and tasks.py).
 */

const ORG_API = 'https://api.polar.sh/v1/license-keys'
const DAY = 24 * 60 * 60 * 1000

describe('benefit strategy: subscription-backed keys never expire, they follow the subscription', () => {
  it('creates them with expires_at null and refuses an expiry', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey({ subscription: true })
    expect(key).toMatchObject({ subscription: true, expiresAt: null })
    expect((await validate(key.key)).json.expires_at).toBeNull()
    expect(() => emulator.createKey({ subscription: true, expiresAt: T0 + DAY })).toThrow(
      /never expires/,
    )
  })

  it('revokes the key when the subscription ends and re-grants the same string and activations', async () => {
    const { emulator, activate, validate } = setup()
    const key = emulator.createKey({ subscription: true, limitActivations: 2 })
    const activation = (await activate(key.key)).json.id
    emulator.endSubscription(key)
    expect((await validate(key.key)).json).toEqual({
      error: 'ResourceNotFound',
      detail: 'License key is no longer active.',
    })
    const again = emulator.resubscribe(key)
    expect(again).toMatchObject({ key: key.key, status: 'granted', expiresAt: null })
    const res = await validate(key.key, { activation_id: activation })
    expect(res.status).toBe(200)
    expect(emulator.listActivations(key)).toHaveLength(1)
  })
})

describe('license_key.update + sync_benefit_grant: PATCH status revokes or re-grants the grant', () => {
  it('re-grants a revoked key on PATCH granted, restoring the limits the benefit grants', async () => {
    const { emulator } = setup()
    const key = emulator.createKey({ limitActivations: 3 })
    const token = emulator.createAccessToken()
    const patch = (body: unknown) =>
      emulator.fetch(`${ORG_API}/${key.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    expect((await patch({ status: 'revoked', limit_activations: 1 })).status).toBe(200)
    expect(emulator.getKey(key)).toMatchObject({ status: 'revoked', limitActivations: 1 })
    // Polar answers the PATCH first; its job then re-grants, resetting the benefit's limits.
    const res = await patch({ status: 'granted' })
    expect((await res.json()).limit_activations).toBe(1)
    expect(emulator.getKey(key)).toMatchObject({ status: 'granted', limitActivations: 3 })
  })

  it('leaves the grant alone when a granted key is disabled or re-enabled', async () => {
    const { emulator } = setup()
    const key = emulator.createKey({ limitActivations: 3 })
    emulator.updateKey(key, { limitActivations: 5 })
    emulator.disable(key)
    emulator.grant(key)
    expect(emulator.getKey(key)).toMatchObject({ status: 'granted', limitActivations: 5 })
  })
})

describe('keygate on a subscription key', () => {
  it('goes inactive when the subscription ends and recovers on resubscribe without a new activation', async () => {
    let now = T0
    const polar = createPolarEmulator({ now: () => now })
    const key = polar.createKey({ subscription: true })
    const licensing = createLicensing({
      organizationId: polar.organizationId,
      store: memoryStore(),
      machine: staticMachine('fp-subscription', 'Laptop'),
      fetch: polar.fetch,
      now: () => now,
    })
    expect((await licensing.activate(key.key)).status).toBe('active')
    polar.endSubscription(key)
    now += DAY + 1000
    expect(await licensing.check()).toMatchObject({ status: 'inactive', reason: 'revoked' })
    polar.resubscribe(key)
    now += DAY + 1000
    expect((await licensing.check()).status).toBe('active')
    expect(polar.listActivations(key)).toHaveLength(1)
    expect(polar.requests.filter((r) => r.endpoint === 'activate')).toHaveLength(1)
  })
})
