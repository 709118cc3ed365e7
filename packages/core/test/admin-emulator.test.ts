import { createPolarEmulator, type PolarEmulatorOptions } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { T0 } from './emulator-helpers.js'

/** The emulator's organization API (`/v1/license-keys/…`) at the HTTP level. */

const API = 'https://api.polar.sh/v1/license-keys'

function setup(options: PolarEmulatorOptions = {}) {
  const emulator = createPolarEmulator({ now: () => T0, rateLimit: false, ...options })
  const token = emulator.createAccessToken()
  async function call(
    path: string,
    init: { method?: string; body?: unknown; token?: string | null } = {},
  ) {
    const auth = init.token === undefined ? token : init.token
    const res = await emulator.fetch(`${API}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        'content-type': 'application/json',
        ...(auth === null ? {} : { authorization: `Bearer ${auth}` }),
      },
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    })
    const text = await res.text()
    // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON fields
    let json: any
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, text, json }
  }
  return { emulator, token, call, org: emulator.organizationId }
}

describe('organization API: tokens and scopes', () => {
  it('answers 401 Unauthorized, as Polar does, when no token is sent', async () => {
    const { call } = setup()
    const res = await call('/', { token: null })
    expect(res.status).toBe(401)
    expect(res.json).toEqual({ error: 'Unauthorized', detail: 'Unauthorized' })
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="polar"')
  })

  it('answers 401 invalid_token for an unknown or revoked token', async () => {
    const { emulator, token, call } = setup()
    expect((await call('/', { token: 'polar_oat_nope' })).json.error).toBe('invalid_token')
    expect(emulator.revokeAccessToken(token)).toBe(true)
    const res = await call('/')
    expect(res.status).toBe(401)
    expect(res.json.error).toBe('invalid_token')
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
  })

  it('lets a read-only token read and answers 403 insufficient_scope when it writes', async () => {
    const { emulator, call } = setup()
    const key = emulator.createKey()
    const readOnly = emulator.createAccessToken({ scopes: ['license_keys:read'] })
    expect((await call(`/${key.id}`, { token: readOnly })).status).toBe(200)
    const res = await call(`/${key.id}`, {
      method: 'PATCH',
      body: { status: 'revoked' },
      token: readOnly,
    })
    expect(res.status).toBe(403)
    expect(res.json).toEqual({
      error: 'insufficient_scope',
      error_description:
        'The request requires higher privileges than provided by the access token.',
    })
    expect(res.headers.get('www-authenticate')).toContain('scope="license_keys:write"')
    expect(emulator.getKey(key).status).toBe('granted')
  })

  it('refuses reads to a token with none of the license-key scopes', async () => {
    const { emulator, call } = setup()
    const other = emulator.createAccessToken({ scopes: ['products:read'] })
    const res = await call('/', { token: other })
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toContain(
      'scope="license_keys:read license_keys:write"',
    )
  })

  it('treats an organization token on the customer-portal routes as no token', async () => {
    const { emulator, token, org } = setup()
    const key = emulator.createKey()
    const validate = (auth: string) =>
      emulator.fetch('https://api.polar.sh/v1/customer-portal/license-keys/validate', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
        body: JSON.stringify({ key: key.key, organization_id: org }),
      })
    expect((await validate(token)).status).toBe(200)
    expect((await validate('polar_oat_unknown')).status).toBe(401)
  })

  it('checks the token before the parameters, as FastAPI resolves auth first', async () => {
    const { call } = setup()
    expect((await call('/not-a-uuid', { token: null })).status).toBe(401)
  })
})

describe('organization API: list', () => {
  it('pages oldest first with pagination.total_count and max_page', async () => {
    const { emulator, call } = setup()
    const ids = Array.from({ length: 23 }, () => {
      emulator.advance(1000)
      return emulator.createKey().id
    })
    const page3 = await call('/?page=3&limit=10')
    expect(page3.status).toBe(200)
    expect(page3.json.pagination).toEqual({ total_count: 23, max_page: 3 })
    expect(page3.json.items.map((k: { id: string }) => k.id)).toEqual(ids.slice(20))
    expect(page3.json.items[0].key).toBe(emulator.getKey(ids[20] ?? '').key)
    expect((await call('/?page=4&limit=10')).json.items).toEqual([])
    // Polar's defaults: page 1, 10 per page; a limit above 100 is lowered to 100.
    expect((await call('')).json.items).toHaveLength(10)
    expect((await call('/?limit=500')).json.pagination.max_page).toBe(1)
  })

  it('filters by status, benefit and organization, and shows only the token organization', async () => {
    const { emulator, call, org } = setup()
    const benefit = crypto.randomUUID()
    const a = emulator.createKey({ benefitId: benefit })
    emulator.createKey({ status: 'revoked' })
    emulator.createKey({ organizationId: crypto.randomUUID() })
    emulator.remove(emulator.createKey())
    emulator.createKey({ availableAfter: T0 + 60_000 })
    const ids = async (query: string) =>
      (await call(`/?${query}`)).json.items.map((k: { id: string }) => k.id)
    expect(await ids('')).toHaveLength(2)
    expect(await ids('status=revoked&status=disabled')).toHaveLength(1)
    expect(await ids(`benefit_id=${benefit}`)).toEqual([a.id])
    expect(await ids(`organization_id=${org}`)).toHaveLength(2)
    expect(await ids(`organization_id=${crypto.randomUUID()}`)).toEqual([])
  })

  it('answers 422 for bad query parameters', async () => {
    const { call } = setup()
    const res = await call('/?page=0&limit=x&status=lost&benefit_id=nope')
    expect(res.status).toBe(422)
    expect(res.json.error).toBe('RequestValidationError')
    const locs = res.json.detail.map((d: { loc: unknown[] }) => d.loc.slice(0, 2).join('.'))
    expect(locs).toEqual(['query.page', 'query.limit', 'query.benefit_id', 'query.status'])
  })
})

describe('organization API: one key', () => {
  it('gets a key with its live activations, and one activation with its key', async () => {
    const { emulator, call } = setup()
    const key = emulator.createKey()
    const kept = emulator.addActivation(key, { label: 'Desk' })
    const gone = emulator.addActivation(key, { label: 'Stolen laptop' })
    emulator.removeActivation(gone.id)
    const res = await call(`/${key.id}`)
    expect(res.json.activations.map((a: { id: string }) => a.id)).toEqual([kept.id])
    expect(res.json.customer.email).toMatch(/@example\.com$/)
    const activation = await call(`/${key.id}/activations/${kept.id}`)
    expect(activation.json).toMatchObject({ id: kept.id, label: 'Desk' })
    expect(activation.json.license_key.id).toBe(key.id)
    expect((await call(`/${key.id}/activations/${gone.id}`)).status).toBe(404)
  })

  it('answers 404 for a key of another organization and 422 for a malformed id', async () => {
    const { emulator, call } = setup()
    const foreign = emulator.createKey({ organizationId: crypto.randomUUID() })
    expect((await call(`/${foreign.id}`)).json).toEqual({
      error: 'ResourceNotFound',
      detail: 'Not found',
    })
    const bad = await call('/12345')
    expect(bad.status).toBe(422)
    expect(bad.json.detail[0].loc).toEqual(['path', 'id'])
  })

  it('updates only the fields sent, null clearing a limit or the expiry', async () => {
    const { emulator, call } = setup()
    const key = emulator.createKey({ expiresAt: T0 + 1000, limitActivations: 2 })
    const res = await call(`/${key.id}`, {
      method: 'PATCH',
      body: { status: 'disabled', expires_at: null, limit_usage: 5 },
    })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ status: 'disabled', expires_at: null, limit_usage: 5 })
    expect(emulator.getKey(key)).toMatchObject({ limitActivations: 2, expiresAt: null })
    const extended = await call(`/${key.id}`, {
      method: 'PATCH',
      body: { expires_at: '2027-02-01T00:00:00Z', limit_activations: null },
    })
    expect(extended.json.expires_at).toBe('2027-02-01T00:00:00Z')
    expect(emulator.getKey(key).limitActivations).toBeNull()
  })

  it('refuses a zero limit (422) and fails on an explicit null status (500), as Polar does', async () => {
    const { emulator, call } = setup()
    const key = emulator.createKey()
    const zero = await call(`/${key.id}`, { method: 'PATCH', body: { limit_activations: 0 } })
    expect(zero.status).toBe(422)
    expect(zero.json.detail[0]).toMatchObject({
      type: 'greater_than',
      loc: ['body', 'limit_activations'],
    })
    const broken = await call(`/${key.id}`, { method: 'PATCH', body: { status: null } })
    expect(broken.status).toBe(500)
    expect(broken.text).toBe('Internal Server Error')
  })

  it('answers 404 without error for an unknown path, 405 for a wrong method', async () => {
    const { emulator, call } = setup()
    const key = emulator.createKey()
    expect((await call(`/${key.id}/seats`)).json).toEqual({ detail: 'Not Found' })
    const res = await call(`/${key.id}`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, PATCH')
  })
})

describe('organization API: server-side activate, validate, deactivate', () => {
  it("applies the customer portal's rules to keys of the token's organization only", async () => {
    const { emulator, call, org } = setup()
    const key = emulator.createKey({ limitActivations: 1 })
    const body = { key: key.key, organization_id: org, label: 'Build server' }
    const activated = await call('/activate', { method: 'POST', body })
    expect(activated.status).toBe(200)
    const full = await call('/activate', { method: 'POST', body })
    expect(full.json.detail).toBe('License key activation limit already reached')
    const activationId = activated.json.id
    const valid = await call('/validate', {
      method: 'POST',
      body: { key: key.key, organization_id: org, activation_id: activationId },
    })
    expect(valid.json.activation.id).toBe(activationId)
    const otherOrg = crypto.randomUUID()
    const foreign = await call('/validate', {
      method: 'POST',
      body: { key: key.key, organization_id: otherOrg },
    })
    expect(foreign.status).toBe(404)
    const freed = await call('/deactivate', {
      method: 'POST',
      body: { key: key.key, organization_id: org, activation_id: activationId },
    })
    expect(freed.status).toBe(204)
    expect(emulator.listActivations(key)).toEqual([])
  })

  it('logs organization requests with the key masked', async () => {
    const { emulator, call, org } = setup()
    const key = emulator.createKey()
    await call('/validate', { method: 'POST', body: { key: key.key, organization_id: org } })
    const entry = emulator.requests.at(-1)
    expect(entry).toMatchObject({ method: 'POST', path: '/v1/license-keys/validate', status: 200 })
    expect(JSON.stringify(entry)).not.toContain(key.key)
  })
})

describe('organization API: limits and transport', () => {
  it('limits the sandbox organization to 100 requests a minute, all its tokens together, without a block', async () => {
    let now = T0
    const emulator = createPolarEmulator({ now: () => now, sandbox: true })
    const tokens = [emulator.createAccessToken(), emulator.createAccessToken()]
    const list = (token: string) =>
      emulator.fetch(`${API}/`, { headers: { authorization: `Bearer ${token}` } })
    // Each token's first request counts as pending_auth, before Polar caches its identity.
    for (const token of tokens) expect((await list(token)).status).toBe(200)
    for (let i = 0; i < 100; i++) expect((await list(tokens[i % 2] ?? '')).status).toBe(200)
    const limited = await list(tokens[0] ?? '')
    expect(limited.status).toBe(429)
    expect(await limited.text()).toBe('')
    // No block time on the api zone: Retry-After is the window's length.
    expect(limited.headers.get('retry-after')).toBe('60')
    now += 60_001
    expect((await list(tokens[1] ?? '')).status).toBe(200)
  })

  it('takes injected faults like the customer routes do', async () => {
    const { emulator, call } = setup()
    emulator.failNext(1, 503)
    expect((await call('/')).status).toBe(503)
    expect((await call('/')).status).toBe(200)
  })

  it('serves the organization API over real HTTP with listen()', async () => {
    const { emulator, token } = setup()
    emulator.createKey()
    const server = await emulator.listen()
    try {
      const res = await fetch(`${server.url}/v1/license-keys/?limit=5`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.status).toBe(200)
      expect((await res.json()).pagination).toEqual({ total_count: 1, max_page: 1 })
    } finally {
      await server.close()
    }
  })
})

describe('organization API: the read replica', () => {
  // Polar's GETs read a replica (get_db_read_session); activate/deactivate write the primary.
  it('does not list an activation taken within the lag, and still lists one freed within it', async () => {
    const { emulator, call, org } = setup({ replicaLagMs: 1000 })
    const key = emulator.createKey()
    const old = emulator.addActivation(key, { label: 'old' })
    emulator.advance(1000)

    const taken = await call('/activate', {
      method: 'POST',
      body: { key: key.key, organization_id: org, label: 'new' },
    })
    expect(taken.status).toBe(200)
    const freed = await call('/deactivate', {
      method: 'POST',
      body: { key: key.key, organization_id: org, activation_id: old.id },
    })
    expect(freed.status).toBe(204)

    const stale = await call(`/${key.id}`)
    expect(stale.json.activations.map((a: { id: string }) => a.id)).toEqual([old.id])
    expect((await call(`/${key.id}/activations/${old.id}`)).status).toBe(200)
    expect((await call(`/${key.id}/activations/${taken.json.id}`)).status).toBe(404)
    // The primary knows better: the freed seat is gone for validate.
    const validated = await call('/validate', {
      method: 'POST',
      body: { key: key.key, organization_id: org, activation_id: old.id },
    })
    expect(validated.status).toBe(404)

    emulator.advance(1000)
    const caughtUp = await call(`/${key.id}`)
    expect(caughtUp.json.activations.map((a: { id: string }) => a.id)).toEqual([taken.json.id])
  })

  it('reads the primary by default, and setReplicaLag changes the lag', async () => {
    const { emulator, call } = setup()
    const key = emulator.createKey()
    emulator.addActivation(key)
    expect((await call(`/${key.id}`)).json.activations).toHaveLength(1)
    emulator.setReplicaLag(60_000)
    emulator.advance(60_000)
    emulator.addActivation(key)
    expect((await call(`/${key.id}`)).json.activations).toHaveLength(1)
    expect(() => emulator.setReplicaLag(-1)).toThrow(RangeError)
  })
})
