import { createLicensing, createPolarClient, memoryStore, staticMachine } from '@keygate/core'
import { createPolarAdminClient } from '@keygate/core/admin'
import { describe, expect, it } from 'vitest'
import { setup } from './emulator-helpers.js'

/** Response and error shapes of server/polar/license_key/schemas.py and FastAPI/pydantic. */

describe('LicenseKeyRead: user_id and user are hidden from the OpenAPI only (SkipJsonSchema)', () => {
  it('sends user_id and user in 2026-04 and 2026-10 alike', async () => {
    const { emulator, call, org } = setup()
    const key = emulator.createKey()
    for (const version of ['2026-04', '2026-10']) {
      const res = await call(
        'validate',
        { key: key.key, organization_id: org },
        { headers: { 'polar-version': version } },
      )
      expect(res.json.user_id).toBe(key.customerId)
      expect(res.json.user).toEqual({
        id: key.customerId,
        email: res.json.customer.email,
        public_name: res.json.customer.name.slice(0, 1),
        avatar_url: null,
      })
    }
  })
})

describe('CustomerBase: team customers may have no email and no name; keys may carry member_id', () => {
  it('sends email and name null for a team customer, and the member the key was granted to', async () => {
    const { emulator, validate } = setup()
    const memberId = crypto.randomUUID()
    const key = emulator.createKey({ customerType: 'team', memberId })
    const res = await validate(key.key)
    expect(res.json.customer).toMatchObject({ type: 'team', email: null, name: null })
    expect(res.json.user).toMatchObject({ email: null, public_name: '?' })
    expect(res.json.member_id).toBe(memberId)
  })

  it("is parsed by keygate's clients and licensing", async () => {
    const { emulator } = setup()
    const key = emulator.createKey({ customerType: 'team', memberId: crypto.randomUUID() })
    const polar = createPolarClient({ fetch: emulator.fetch })
    const { data } = await polar.validate({ key: key.key, organizationId: emulator.organizationId })
    expect(data.status).toBe('granted')
    const admin = createPolarAdminClient({
      token: emulator.createAccessToken(),
      fetch: emulator.fetch,
      rateLimit: false,
    })
    expect((await admin.get(key.id)).data.customer).toMatchObject({ email: null, name: null })
    const licensing = createLicensing({
      organizationId: emulator.organizationId,
      store: memoryStore(),
      machine: staticMachine('fp-team', 'Laptop'),
      fetch: emulator.fetch,
    })
    expect((await licensing.activate(key.key)).status).toBe('active')
  })
})

describe('pydantic smart union: one issue per member when no member takes the value', () => {
  it('lists str, int, float and bool for a nested value in meta or conditions', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey()
    const res = await activate(key.key, { meta: { os: { name: 'mac' } } })
    expect(res.status).toBe(422)
    expect(res.json.detail.map((d: { type: string; loc: unknown[] }) => [d.type, d.loc])).toEqual([
      ['string_type', ['body', 'meta', 'os', 'constrained-str']],
      ['int_type', ['body', 'meta', 'os', 'int']],
      ['float_type', ['body', 'meta', 'os', 'float']],
      ['bool_type', ['body', 'meta', 'os', 'bool']],
    ])
  })

  it('lists the length issue and three parsing issues for a string of bad length', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey()
    const res = await activate(key.key, { conditions: { s: 'v'.repeat(501) } })
    expect(res.json.detail.map((d: { type: string }) => d.type)).toEqual([
      'string_too_long',
      'int_parsing',
      'float_parsing',
      'bool_parsing',
    ])
    // In lax mode a string of digits is taken by the int member, whatever its length.
    expect((await activate(key.key, { conditions: { s: '1'.repeat(501) } })).status).toBe(200)
  })
})

describe('request log: never the full key', () => {
  it('masks the key in JSON bodies, a bare JSON string, and drops unparsable text', async () => {
    const { emulator, call, activate } = setup()
    const key = emulator.createKey()
    await activate(key.key)
    await call('validate', JSON.stringify(key.key))
    await call('validate', `{"key":"${key.key}"`)
    expect(emulator.requests).toHaveLength(3)
    expect(JSON.stringify(emulator.requests)).not.toContain(key.key)
  })
})
