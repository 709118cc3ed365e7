import { KeygateError } from '@keygate/core'
import { createPolarAdminClient } from '@keygate/core/admin'
import { describe, expect, it } from 'vitest'
import { BASE, setup } from './emulator-helpers.js'

/** Polar's `license_key.rotate` (server/polar/license_key/service.py) and its two routes. */

const ORG_API = 'https://api.polar.sh/v1/license-keys'

function rotation() {
  const t = setup()
  const token = t.emulator.createAccessToken()
  const rotate = (id: string, bearer: string | null = token) =>
    t.emulator.fetch(`${ORG_API}/${id}/rotate`, {
      method: 'POST',
      headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` },
    })
  const portalRotate = (id: string, bearer: string | null) =>
    t.emulator.fetch(`${BASE}/${id}/rotate`, {
      method: 'POST',
      headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` },
    })
  return { ...t, token, rotate, portalRotate }
}

describe('license_key.rotate: POST /v1/license-keys/{id}/rotate', () => {
  it("gives a new string with the benefit's current prefix; activations stay valid, the old string is 404", async () => {
    const t = rotation()
    const key = t.emulator.createKey({ prefix: 'old' })
    const activated = await t.activate(key.key)
    t.emulator.updateBenefit(key.benefitId, { prefix: 'new' })
    const res = await t.rotate(key.id)
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.key).toMatch(/^NEW-[0-9A-F]{8}-/)
    expect(body).toMatchObject({
      id: key.id,
      status: 'granted',
      display_key: `****-${body.key.slice(-6)}`,
    })
    expect((await t.validate(key.key)).json).toEqual({
      error: 'ResourceNotFound',
      detail: 'Not found',
    })
    const renewed = await t.validate(body.key, { activation_id: activated.json.id })
    expect(renewed.status).toBe(200)
    expect(renewed.json.activation.id).toBe(activated.json.id)
    expect(JSON.stringify(t.emulator.requests)).not.toContain(body.key)
  })

  it('rotates a disabled key, refuses a revoked one (400 RotateNotPermitted) and a deleted one (404)', async () => {
    const t = rotation()
    const disabled = t.emulator.createKey({ status: 'disabled' })
    expect((await t.rotate(disabled.id)).status).toBe(200)
    expect(t.emulator.getKey(disabled).status).toBe('disabled')
    const revoked = t.emulator.createKey({ status: 'revoked' })
    const refused = await t.rotate(revoked.id)
    expect(refused.status).toBe(400)
    expect(await refused.json()).toEqual({
      error: 'RotateNotPermitted',
      detail:
        'License key cannot be rotated in its current status. Current status: revoked. ' +
        'Allowed statuses: disabled, granted.',
    })
    expect(t.emulator.getKey(revoked).key).toBe(revoked.key)
    const deleted = t.emulator.createKey()
    t.emulator.remove(deleted)
    expect((await t.rotate(deleted.id)).status).toBe(404)
  })

  it('needs license_keys:write and a key of the token organization', async () => {
    const t = rotation()
    const key = t.emulator.createKey()
    const reader = t.emulator.createAccessToken({ scopes: ['license_keys:read'] })
    expect((await t.rotate(key.id, reader)).status).toBe(403)
    const stranger = t.emulator.createAccessToken({ organizationId: crypto.randomUUID() })
    expect((await t.rotate(key.id, stranger)).status).toBe(404)
    expect((await t.rotate('not-a-uuid')).status).toBe(422)
    expect(t.emulator.getKey(key).key).toBe(key.key)
  })
})

describe('customer portal: POST /v1/customer-portal/license-keys/{id}/rotate', () => {
  it("rotates the session customer's own key only; no session is 401, another customer's key 404", async () => {
    const t = rotation()
    const key = t.emulator.createKey({ prefix: 'app' })
    const other = t.emulator.createKey()
    const session = t.emulator.createCustomerSession(key)
    expect((await t.portalRotate(key.id, null)).status).toBe(401)
    expect((await t.portalRotate(other.id, session)).status).toBe(404)
    const res = await t.portalRotate(key.id, session)
    expect(res.status).toBe(200)
    expect((await res.json()).key).toMatch(/^APP-/)
    t.emulator.revoke(key)
    expect((await t.portalRotate(key.id, session)).status).toBe(400)
  })
})

describe('emulator rotate helper: the same rules as Polar', () => {
  it('throws for a revoked or deleted key and keeps its string', () => {
    const t = rotation()
    const revoked = t.emulator.createKey({ status: 'revoked' })
    expect(() => t.emulator.rotate(revoked)).toThrow(/RotateNotPermitted/)
    const deleted = t.emulator.createKey()
    t.emulator.remove(deleted)
    expect(() => t.emulator.rotate(deleted)).toThrow(KeygateError)
    expect(t.emulator.getKey(revoked).key).toBe(revoked.key)
  })

  it("gives an imported key the benefit's prefix when rotated", () => {
    const t = rotation()
    t.emulator.updateBenefit(t.emulator.benefitId, { prefix: 'shop' })
    const imported = t.emulator.createKey({ key: 'legacy-key-1' })
    expect(t.emulator.rotate(imported)).toMatch(/^SHOP-/)
  })
})

describe('admin client rotate(id)', () => {
  it('returns the new key and maps RotateNotPermitted to revoked, without leaking either key', async () => {
    const t = rotation()
    const admin = createPolarAdminClient({
      token: t.token,
      fetch: t.emulator.fetch,
      rateLimit: false,
    })
    const key = t.emulator.createKey()
    const { data } = await admin.rotate(key.id)
    expect(data.key).toBe(t.emulator.getKey(key).key)
    expect(data.key).not.toBe(key.key)
    t.emulator.revoke(key)
    const error = await admin.rotate(key.id).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeygateError)
    expect(error).toMatchObject({ code: 'revoked', status: 400 })
    expect(String((error as Error).message)).not.toContain(data.key ?? 'never')
    const missing = await admin.rotate(crypto.randomUUID()).catch((e: unknown) => e)
    expect(missing).toMatchObject({ code: 'key_not_found', status: 404 })
  })
})
