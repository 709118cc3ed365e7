import { HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { createPolarClient } from '../../src/polar/client.js'
import {
  ACTIVATION,
  ACTIVATION_2024,
  ACTIVATION_2026,
  answer,
  BASE,
  client,
  failure,
  KEY,
  LICENSE_KEY_2024,
  ORG,
  useServer,
  VALIDATED_2026,
} from './client-fixtures.js'

const server = useServer()

describe('createPolarClient requests', () => {
  it('activates with a snake_case body, the key trimmed, and no Authorization or Polar-Version', async () => {
    const { handler, calls } = answer('activate', HttpResponse.json(ACTIVATION_2026))
    server.use(handler)
    const { polar } = client()

    await polar.activate({
      key: `  ${KEY}\n`,
      organizationId: ORG,
      label: ' ada-laptop ',
      conditions: { fingerprint: 'abc123' },
      meta: { app: '1.2.0' },
    })

    expect(calls).toHaveLength(1)
    const [call] = calls
    expect(call?.body).toEqual({
      key: KEY,
      organization_id: ORG,
      label: 'ada-laptop',
      conditions: { fingerprint: 'abc123' },
      meta: { app: '1.2.0' },
    })
    expect(call?.request.method).toBe('POST')
    expect(call?.request.headers.get('content-type')).toMatch(/^application\/json/)
    expect(call?.request.headers.has('authorization')).toBe(false)
    expect(call?.request.headers.has('polar-version')).toBe(false)
  })

  it('validates with only the fields that are set', async () => {
    const { handler, calls } = answer('validate', HttpResponse.json(VALIDATED_2026))
    server.use(handler)
    const { polar } = client()

    await polar.validate({ key: KEY, organizationId: ORG })
    await polar.validate({
      key: KEY,
      organizationId: ORG,
      activationId: ACTIVATION,
      benefitId: VALIDATED_2026.benefit_id,
      customerId: VALIDATED_2026.customer_id,
      incrementUsage: 0,
      conditions: { fingerprint: 'abc123', cores: 8, pro: false },
    })

    expect(calls.map((call) => call.body)).toEqual([
      { key: KEY, organization_id: ORG },
      {
        key: KEY,
        organization_id: ORG,
        activation_id: ACTIVATION,
        benefit_id: VALIDATED_2026.benefit_id,
        customer_id: VALIDATED_2026.customer_id,
        increment_usage: 0,
        conditions: { fingerprint: 'abc123', cores: 8, pro: false },
      },
    ])
  })

  it('deactivates and returns null data for a 204', async () => {
    const { handler, calls } = answer(
      'deactivate',
      new HttpResponse(null, { status: 204, headers: { date: 'Tue, 01 Sep 2026 10:00:00 GMT' } }),
    )
    server.use(handler)
    const { polar } = client()

    const result = await polar.deactivate({
      key: KEY,
      organizationId: ORG,
      activationId: ACTIVATION,
    })

    expect(result).toEqual({
      data: null,
      serverTime: Date.UTC(2026, 8, 1, 10),
      sandbox: false,
    })
    expect(calls[0]?.body).toEqual({ key: KEY, organization_id: ORG, activation_id: ACTIVATION })
  })

  it('sends Polar-Version only when asked to', async () => {
    const { handler, calls } = answer('validate', HttpResponse.json(VALIDATED_2026))
    server.use(handler)
    const { polar } = client({ polarVersion: '2026-10' })

    await polar.validate({ key: KEY, organizationId: ORG })

    expect(calls[0]?.request.headers.get('polar-version')).toBe('2026-10')
  })

  it('uses an injected fetch instead of the global one', async () => {
    const seen: string[] = []
    const polar = createPolarClient({
      server: 'http://127.0.0.1:1/',
      fetch: async (input) => {
        seen.push(input instanceof Request ? input.url : String(input))
        return Response.json(VALIDATED_2026)
      },
    })

    await polar.validate({ key: KEY, organizationId: ORG })

    expect(polar.baseURL).toBe('http://127.0.0.1:1')
    expect(seen).toEqual(['http://127.0.0.1:1/v1/customer-portal/license-keys/validate'])
  })

  it('resolves the named servers', () => {
    expect(createPolarClient().baseURL).toBe('https://api.polar.sh')
    expect(createPolarClient({ server: 'sandbox' }).baseURL).toBe('https://sandbox-api.polar.sh')
  })

  it.each([
    ['server', { server: 'ftp://example.com' }],
    ['server', { server: 'not a url' }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['retry', { retry: -1 }],
    ['retry', { retry: 1.5 }],
    ['polarVersion', { polarVersion: '2026 10' }],
  ])('refuses a bad %s option', (name, options) => {
    expect(() => createPolarClient(options)).toThrow(
      expect.objectContaining({ code: 'invalid_input', message: expect.stringContaining(name) }),
    )
  })
})

describe('createPolarClient responses', () => {
  it('parses the 2026-10 activation and keeps no customer PII or full key', async () => {
    server.use(answer('activate', HttpResponse.json(ACTIVATION_2026)).handler)
    const { polar } = client()

    const { data } = await polar.activate({ key: KEY, organizationId: ORG, label: 'ada-laptop' })

    expect(data).toEqual({
      id: ACTIVATION,
      license_key_id: ACTIVATION_2026.license_key_id,
      label: 'ada-laptop',
      meta: { app: '1.2.0', beta: true, seats: 2 },
      created_at: '2026-09-02T10:00:00Z',
      modified_at: null,
      license_key: {
        id: ACTIVATION_2026.license_key.id,
        organization_id: ORG,
        customer_id: ACTIVATION_2026.license_key.customer_id,
        benefit_id: ACTIVATION_2026.license_key.benefit_id,
        display_key: '****-9D7F20',
        status: 'granted',
        limit_activations: 3,
        usage: 1,
        limit_usage: null,
        validations: 4,
        last_validated_at: '2026-09-02T10:00:00Z',
        expires_at: null,
      },
    })
    const text = JSON.stringify(data)
    for (const leak of ['ada@example.com', 'Ada Lovelace', 'Marylebone', KEY]) {
      expect(text).not.toContain(leak)
    }
  })

  it('parses the 2024 activation shape (with `user`) and drops `user` and `customer`', async () => {
    server.use(answer('activate', HttpResponse.json(ACTIVATION_2024)).handler)
    const { polar } = client()

    const { data } = await polar.activate({ key: KEY, organizationId: ORG, label: 'x' })

    expect(data.license_key.display_key).toBe('string')
    expect(data.license_key.limit_activations).toBe(0)
    expect(Object.keys(data.license_key)).not.toContain('user')
    expect(Object.keys(data.license_key)).not.toContain('customer')
    expect(Object.keys(data.license_key)).not.toContain('key')
  })

  it('parses validate answers with and without an activation, in both shapes', async () => {
    const { handler } = answer(
      'validate',
      HttpResponse.json(VALIDATED_2026),
      HttpResponse.json(LICENSE_KEY_2024),
    )
    server.use(handler)
    const { polar } = client()

    const withActivation = await polar.validate({
      key: KEY,
      organizationId: ORG,
      activationId: ACTIVATION,
    })
    const keyOnly = await polar.validate({ key: KEY, organizationId: ORG })

    expect(withActivation.data.activation?.id).toBe(ACTIVATION)
    expect(withActivation.data.status).toBe('granted')
    expect(keyOnly.data.activation).toBeNull()
    expect(keyOnly.data.last_validated_at).toBe('2025-01-07T00:00:00.000Z')
    for (const data of [withActivation.data, keyOnly.data]) {
      expect(Object.keys(data)).not.toEqual(expect.arrayContaining(['customer']))
      expect(JSON.stringify(data)).not.toContain(KEY)
      expect(data).not.toHaveProperty('user')
      expect(data).not.toHaveProperty('member')
    }
  })

  it('reports server time from the Date header and the sandbox flag', async () => {
    server.use(
      answer(
        'validate',
        HttpResponse.json(VALIDATED_2026, {
          headers: { date: 'Wed, 02 Sep 2026 10:00:05 GMT', 'x-polar-sandbox': '1' },
        }),
      ).handler,
    )
    const { polar } = client()

    const result = await polar.validate({ key: KEY, organizationId: ORG })

    expect(result.serverTime).toBe(Date.UTC(2026, 8, 2, 10, 0, 5))
    expect(result.sandbox).toBe(true)
  })

  it('leaves serverTime undefined without a usable Date header', async () => {
    server.use(answer('validate', HttpResponse.json(VALIDATED_2026)).handler)
    const { polar } = client()

    const result = await polar.validate({ key: KEY, organizationId: ORG })

    // msw adds no Date header of its own; a real server always does.
    expect(result.serverTime).toBeUndefined()
    expect(result.sandbox).toBe(false)
  })

  it('refuses an invalid request before anything is sent', async () => {
    // No handler: a request would fail the test through onUnhandledRequest.
    const { polar } = client()
    const error = await failure(polar.activate({ key: KEY, organizationId: 'org', label: 'x' }))
    expect(error.code).toBe('invalid_input')
    expect(error.message).toContain('organizationId')
  })

  it.each([
    ['HTML', '<!doctype html><title>Login</title>', 'an HTML page'],
    ['empty', '', 'an empty body'],
    ['invalid JSON', '{"id": ', 'invalid JSON'],
    ['wrong shape', JSON.stringify({ id: 1, label: 'x' }), 'unexpected shape'],
  ])('maps a 200 with a %s body to bad_response', async (_, body, what) => {
    server.use(answer('activate', new HttpResponse(body, { status: 200 })).handler)
    const { polar } = client()

    const error = await failure(polar.activate({ key: KEY, organizationId: ORG, label: 'x' }))

    expect(error.code).toBe('bad_response')
    expect(error.status).toBe(200)
    expect(error.message).not.toContain('/v1/')
    expect(error.endpoint).toBe('POST /v1/customer-portal/license-keys/activate')
    expect(error.message).toContain(what)
    expect(error.message).not.toContain('Login')
  })

  it('names the missing fields of a schema mismatch without echoing values', async () => {
    const body = { ...VALIDATED_2026, display_key: 42, status: undefined }
    server.use(answer('validate', HttpResponse.json(body)).handler)
    const { polar } = client()

    const error = await failure(polar.validate({ key: KEY, organizationId: ORG }))

    expect(error.code).toBe('bad_response')
    expect(error.message).toContain('display_key')
    expect(error.message).toContain('status')
    expect(error.message).not.toContain('ada@example.com')
    expect(error.message).not.toContain(KEY)
  })

  it('maps a validate 204 (no body) to bad_response', async () => {
    server.use(answer('validate', new HttpResponse(null, { status: 204 })).handler)
    const { polar } = client()

    const error = await failure(polar.validate({ key: KEY, organizationId: ORG }))

    expect(error.code).toBe('bad_response')
    expect(error.message).toContain('empty body')
  })
})

describe('createPolarClient base URL', () => {
  it('joins a base URL with a path prefix', async () => {
    const seen: string[] = []
    const polar = createPolarClient({
      server: `${BASE}/proxy/`,
      fetch: async (input) => {
        seen.push(input instanceof Request ? input.url : String(input))
        return new Response(null, { status: 204 })
      },
    })

    await polar.deactivate({ key: KEY, organizationId: ORG, activationId: ACTIVATION })

    expect(seen).toEqual([`${BASE}/proxy/v1/customer-portal/license-keys/deactivate`])
  })
})
