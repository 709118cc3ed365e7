import { describe, expect, it } from 'vitest'
import { setup } from './emulator-helpers.js'

function pairs(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']))
}

describe('emulator: 422 RequestValidationError', () => {
  it('reports missing required fields with loc and the whole body as input', async () => {
    const { call } = setup()
    const res = await call('activate', { key: 'K' })
    expect(res.status).toBe(422)
    expect(res.json.error).toBe('RequestValidationError')
    expect(res.json.detail).toEqual([
      {
        type: 'missing',
        loc: ['body', 'organization_id'],
        msg: 'Field required',
        input: { key: 'K' },
      },
      { type: 'missing', loc: ['body', 'label'], msg: 'Field required', input: { key: 'K' } },
    ])
    const deactivate = await call('deactivate', { key: 'K', organization_id: crypto.randomUUID() })
    expect(deactivate.json.detail[0].loc).toEqual(['body', 'activation_id'])
  })

  it('requires version-4 UUIDs and echoes the submitted value as input', async () => {
    const { emulator, call, validate, org } = setup()
    const key = emulator.createKey()
    const notUuid = await call('validate', { key: key.key, organization_id: 'my-org' })
    expect(notUuid.json.detail[0]).toMatchObject({
      type: 'uuid_parsing',
      loc: ['body', 'organization_id'],
      input: 'my-org',
    })
    const v1 = 'c232ab00-9414-11ec-b3c8-9f6bdeced846'
    const version = await validate(key.key, { activation_id: v1 })
    expect(version.json.detail[0]).toMatchObject({ type: 'uuid_version', input: v1 })
    expect((await validate(key.key, { customer_id: 42 })).status).toBe(422)
    const upper = await call('validate', { key: key.key, organization_id: org.toUpperCase() })
    expect(upper.status).toBe(200)
  })

  it('echoes the whole body, key included, for a missing field (so a client must never log a 422)', async () => {
    const { call, org } = setup()
    const res = await call('activate', { key: 'FULL-SECRET-KEY', organization_id: org })
    expect(res.text).toContain('FULL-SECRET-KEY')
  })

  it('allows at most 50 conditions or meta pairs', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ limitActivations: 5 })
    expect((await activate(key.key, { conditions: pairs(50), meta: pairs(50) })).status).toBe(200)
    for (const field of ['conditions', 'meta']) {
      const res = await activate(key.key, { [field]: pairs(51) })
      expect(res.status).toBe(422)
      expect(res.json.detail[0]).toMatchObject({ type: 'too_long', loc: ['body', field] })
    }
  })

  it('allows condition keys of 1 to 40 characters', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey()
    expect((await activate(key.key, { conditions: { ['k'.repeat(40)]: 1 } })).status).toBe(200)
    const long = await activate(key.key, { meta: { ['k'.repeat(41)]: 1 } })
    expect(long.json.detail[0]).toMatchObject({ type: 'string_too_long', ctx: { max_length: 40 } })
    const empty = await activate(key.key, { conditions: { '': 1 } })
    expect(empty.json.detail[0]).toMatchObject({
      type: 'string_too_short',
      loc: ['body', 'conditions', '', '[key]'],
    })
  })

  it('allows string values of 1 to 500 characters, numbers and booleans', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ limitActivations: 5 })
    const ok = { s: 'v'.repeat(500), i: 3, f: 1.5, b: false }
    expect((await activate(key.key, { conditions: ok })).status).toBe(200)
    expect((await activate(key.key, { conditions: { s: 'v'.repeat(501) } })).status).toBe(422)
    expect((await activate(key.key, { meta: { s: '' } })).status).toBe(422)
  })

  it('refuses nested values, arrays and null in conditions and meta', async () => {
    const { emulator, activate, validate } = setup()
    const key = emulator.createKey()
    for (const value of [{ a: 1 }, [1, 2], null]) {
      expect((await activate(key.key, { conditions: { x: value } })).status).toBe(422)
      expect((await activate(key.key, { meta: { x: value } })).status).toBe(422)
      expect((await validate(key.key, { conditions: { x: value } })).status).toBe(422)
    }
    expect((await activate(key.key, { conditions: ['a'] })).json.detail[0].type).toBe('dict_type')
  })

  it('refuses \\x00 in any string: key, label, condition key or value', async () => {
    const { emulator, activate, call, org } = setup()
    const key = emulator.createKey()
    const nul = 'a\u0000b'
    expect((await activate(key.key, { label: nul })).status).toBe(422)
    expect((await activate(key.key, { conditions: { [nul]: 1 } })).status).toBe(422)
    expect((await activate(key.key, { meta: { os: nul } })).status).toBe(422)
    const res = await call('validate', { key: `${key.key}\u0000`, organization_id: org })
    expect(res.json.detail[0]).toMatchObject({ loc: ['body', 'key'] })
  })

  it('refuses increment_usage that is negative or not an integer, taking lax forms', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey({ usage: 5 })
    expect((await validate(key.key, { increment_usage: -1 })).json.detail[0].type).toBe(
      'greater_than_equal',
    )
    expect((await validate(key.key, { increment_usage: 1.5 })).json.detail[0].type).toBe(
      'int_from_float',
    )
    expect((await validate(key.key, { increment_usage: 'two' })).json.detail[0].type).toBe(
      'int_parsing',
    )
    // pydantic's lax mode: a numeric string and a boolean are integers.
    expect((await validate(key.key, { increment_usage: '2' })).json.usage).toBe(7)
    expect((await validate(key.key, { increment_usage: true })).json.usage).toBe(8)
    expect((await validate(key.key, { increment_usage: null })).json.usage).toBe(8)
  })

  it('refuses a body that is not JSON, not an object, or empty', async () => {
    const { call } = setup()
    const broken = await call('activate', '{"key": ')
    expect(broken.status).toBe(422)
    expect(broken.json.detail[0]).toMatchObject({ type: 'json_invalid', msg: 'JSON decode error' })
    expect((await call('activate', '[1]')).json.detail[0].type).toBe('model_attributes_type')
    expect((await call('validate', '')).json.detail[0]).toMatchObject({
      type: 'missing',
      loc: ['body'],
    })
  })

  it('refuses a non-string key or label with string_type', async () => {
    const { call, org } = setup()
    const res = await call('activate', { key: 123, organization_id: org, label: false })
    expect(res.json.detail.map((d: { type: string }) => d.type)).toEqual([
      'string_type',
      'string_type',
    ])
  })
})

describe('emulator: answers outside the rules', () => {
  it('answers a wrong path with 404 {"detail":"Not Found"} and no error field', async () => {
    const { emulator } = setup()
    // (`/v1/license-keys/…` is the organization API now: without a token it answers 401.)
    const res = await emulator.fetch(
      'https://api.polar.sh/v1/customer-portal/license-key/activate',
      {
        method: 'POST',
        body: '{}',
      },
    )
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ detail: 'Not Found' })
  })

  it('answers another method on an endpoint with 405', async () => {
    const { call } = setup()
    const res = await call('validate', null, { method: 'GET' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
  })

  it('refuses an unknown bearer token with 401, even on these public routes', async () => {
    const { emulator, validate, call, org } = setup()
    const key = emulator.createKey()
    expect((await validate(key.key)).status).toBe(200)
    const refused = await call(
      'validate',
      { key: key.key, organization_id: org },
      { headers: { authorization: 'Bearer polar_oat_unknown' } },
    )
    expect(refused.status).toBe(401)
    expect(refused.json).toEqual({
      error: 'invalid_token',
      error_description:
        'The access token provided is expired, revoked, malformed, or invalid for other reasons.',
    })
    expect(refused.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="polar", error="invalid_token"/,
    )
  })

  it('ignores an Authorization header that is not a bearer token, as Polar does', async () => {
    const { emulator, call, org } = setup()
    const key = emulator.createKey()
    const basic = await call(
      'validate',
      { key: key.key, organization_id: org },
      { headers: { authorization: 'Basic dXNlcjpwYXNz' } },
    )
    expect(basic.status).toBe(200)
  })

  it('answers an unsupported Polar-Version with 404 and no error field, when versions are pinned', async () => {
    const { emulator, call, org } = setup({ polarVersions: ['2026-10'] })
    const key = emulator.createKey()
    const body = { key: key.key, organization_id: org }
    const old = await call('validate', body, { headers: { 'polar-version': '1999-01' } })
    expect(old.status).toBe(404)
    expect(old.json).toEqual({ detail: 'Not Found' })
    expect((await call('validate', body, { headers: { 'polar-version': '2026-10' } })).status).toBe(
      200,
    )
    expect((await call('validate', body)).status).toBe(200)
  })
})
