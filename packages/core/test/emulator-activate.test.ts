import { describe, expect, it } from 'vitest'
import { setup, T0 } from './emulator-helpers.js'

const notFound = { error: 'ResourceNotFound', detail: 'Not found' }
const NO_LONGER_ACTIVE = 'License key is no longer active. This license key can not be activated.'
const NO_ACTIVATIONS =
  'This license key does not support activations. Use the /validate endpoint instead to check license validity.'

describe('emulator: activate', () => {
  it('generates Polar-style keys: PREFIX- and an uppercase UUID, display_key = ****- + last 6', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ prefix: 'app' })
    expect(key.key).toMatch(/^APP-[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[0-9A-F]{4}-[0-9A-F]{12}$/)
    expect(key.displayKey).toBe(`****-${key.key.slice(-6)}`)
    // The prefix is the benefit's: the next key of that benefit gets it too.
    expect(emulator.createKey().key).toMatch(/^APP-[0-9A-F]{8}-/)
    const other = emulator.createKey({ benefitId: crypto.randomUUID() })
    expect(other.key).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F-]+$/)
    const res = await activate(key.key)
    expect(res.status).toBe(200)
    expect(res.json.license_key.display_key).toBe(key.displayKey)
  })

  it('answers 404 Not found for an unknown key', async () => {
    const { activate } = setup()
    const res = await activate('NOT-A-REAL-KEY')
    expect(res.status).toBe(404)
    expect(res.json).toEqual(notFound)
  })

  it('looks keys up exactly: another case or another organization is 404', async () => {
    const { emulator, activate, call } = setup()
    const imported = emulator.createKey({ key: 'Legacy-Key-abc123' })
    expect((await activate(imported.key)).status).toBe(200)
    expect((await activate('legacy-key-abc123')).json).toEqual(notFound)
    const other = await call('activate', {
      key: imported.key,
      organization_id: crypto.randomUUID(),
      label: 'x',
    })
    expect(other.json).toEqual(notFound)
  })

  it('refuses a revoked or disabled key with 403 "no longer active"', async () => {
    const { emulator, activate } = setup()
    const revoked = emulator.createKey({ status: 'revoked' })
    const disabled = emulator.createKey()
    emulator.disable(disabled)
    for (const key of [revoked, disabled]) {
      const res = await activate(key.key)
      expect(res.status).toBe(403)
      expect(res.json).toEqual({ error: 'NotPermitted', detail: NO_LONGER_ACTIVE })
    }
  })

  it('checks status before expiry: a revoked AND expired key answers "no longer active"', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ status: 'revoked', expiresAt: T0 - 1000 })
    expect((await activate(key.key)).json.detail).toBe(NO_LONGER_ACTIVE)
  })

  it('refuses an expired key with 403 "License key has expired." from expires_at on (now >= expires_at)', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ expiresAt: T0 + 1 })
    expect((await activate(key.key)).status).toBe(200)
    emulator.advance(1)
    const res = await activate(key.key)
    expect(res.status).toBe(403)
    expect(res.json).toEqual({ error: 'NotPermitted', detail: 'License key has expired.' })
  })

  it('refuses a key whose benefit has no activation limit (null or 0): use /validate', async () => {
    const { emulator, activate } = setup()
    for (const limitActivations of [null, 0]) {
      const key = emulator.createKey({ limitActivations })
      const res = await activate(key.key)
      expect(res.status).toBe(403)
      expect(res.json).toEqual({ error: 'NotPermitted', detail: NO_ACTIVATIONS })
    }
  })

  it('checks expiry before activation support: an expired unlimited key says "expired"', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ limitActivations: null, expiresAt: T0 })
    expect((await activate(key.key)).json.detail).toBe('License key has expired.')
  })

  it('refuses past the limit with 403 "activation limit already reached"; a freed seat can be taken', async () => {
    const { emulator, activate, deactivate } = setup()
    const key = emulator.createKey({ limitActivations: 2 })
    const first = await activate(key.key)
    expect((await activate(key.key)).status).toBe(200)
    const refused = await activate(key.key)
    expect(refused.status).toBe(403)
    expect(refused.json).toEqual({
      error: 'NotPermitted',
      detail: 'License key activation limit already reached',
    })
    expect((await deactivate(key.key, first.json.id)).status).toBe(204)
    expect((await activate(key.key)).status).toBe(200)
  })

  it('creates a new activation on every call: nothing deduplicates by label or conditions', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ limitActivations: 5 })
    const body = { label: 'Same machine', conditions: { fingerprint: 'abc' } }
    const a = await activate(key.key, body)
    const b = await activate(key.key, body)
    expect(a.json.id).not.toBe(b.json.id)
    expect(emulator.listActivations(key).map((x) => x.id)).toEqual([a.json.id, b.json.id])
  })

  it('answers LicenseKeyActivationRead: meta echoed, stored conditions never, customer PII included', async () => {
    const { emulator, activate, org } = setup()
    const key = emulator.createKey()
    const res = await activate(key.key, {
      label: 'Work laptop',
      conditions: { fingerprint: 'secret-fp' },
      meta: { os: 'linux', cores: 8 },
    })
    expect(res.json).toMatchObject({
      license_key_id: key.id,
      label: 'Work laptop',
      meta: { os: 'linux', cores: 8 },
      created_at: '2026-01-15T12:00:00Z',
      modified_at: null,
      license_key: {
        id: key.id,
        organization_id: org,
        key: key.key,
        status: 'granted',
        limit_activations: 3,
        usage: 0,
        limit_usage: null,
        validations: 0,
        last_validated_at: null,
        expires_at: null,
        benefit_id: emulator.benefitId,
        customer_id: key.customerId,
      },
    })
    expect(res.text).not.toContain('secret-fp')
    expect(res.json.license_key.customer.email).toMatch(/@example\.com$/)
    expect(res.json.license_key.customer.billing_address.country).toBe('SE')
    // LicenseKeyRead still carries the deprecated user_id and user (hidden from the OpenAPI).
    expect(res.json.license_key.user_id).toBe(key.customerId)
    expect(res.json.license_key.user).toMatchObject({ id: key.customerId, avatar_url: null })
    expect(emulator.listActivations(key)[0]?.conditions).toEqual({ fingerprint: 'secret-fp' })
  })

  it('answers 404 for a freshly bought key until it is available', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ availableAfter: T0 + 90_000 })
    expect((await activate(key.key)).json).toEqual(notFound)
    emulator.advance(90_000)
    expect((await activate(key.key)).status).toBe(200)
  })

  it('answers 404 for a deleted key', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey()
    emulator.remove(key)
    expect((await activate(key.key)).json).toEqual(notFound)
    expect(emulator.getKey(key).deleted).toBe(true)
  })
})
