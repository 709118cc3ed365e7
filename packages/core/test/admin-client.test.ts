import { inspect } from 'node:util'
import { isKeygateError, type KeygateError } from '@keygate/core'
import { createPolarAdminClient, type PolarAdminClientOptions } from '@keygate/core/admin'
import { createPolarEmulator, type PolarEmulatorOptions } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { T0 } from './emulator-helpers.js'

/** The admin client end to end against the emulator's organization API, in-process. */

function setup(emulatorOptions: PolarEmulatorOptions = {}, scopes?: string[]) {
  const emulator = createPolarEmulator({ now: () => T0, rateLimit: false, ...emulatorOptions })
  const token = emulator.createAccessToken(scopes === undefined ? {} : { scopes })
  const sleeps: number[] = []
  const make = (options: Partial<PolarAdminClientOptions> = {}) =>
    createPolarAdminClient({
      token,
      fetch: emulator.fetch,
      rateLimit: false,
      sleep: async (ms) => {
        sleeps.push(ms)
      },
      ...options,
    })
  return { emulator, token, admin: make(), make, sleeps, org: emulator.organizationId }
}

async function failure(promise: Promise<unknown>): Promise<KeygateError> {
  try {
    await promise
  } catch (error) {
    if (isKeygateError(error)) return error
    throw error
  }
  throw new Error('expected a KeygateError')
}

const requestsTo = (emulator: ReturnType<typeof createPolarEmulator>) =>
  emulator.requests.map((r) => `${r.method} ${r.path}`)

describe('admin client: reading keys', () => {
  it('lists one page with pagination and walks every page to the last with listAll', async () => {
    const { emulator, admin } = setup()
    const ids = Array.from({ length: 25 }, () => {
      emulator.advance(1000)
      return emulator.createKey().id
    })
    const page = await admin.list({ limit: 10, page: 3 })
    expect(page.data.pagination).toEqual({ total_count: 25, max_page: 3 })
    expect(page.data.items.map((k) => k.id)).toEqual(ids.slice(20))
    emulator.clearRequests()
    const all: string[] = []
    for await (const key of admin.listAll({ pageSize: 10 })) all.push(key.id)
    expect(all).toEqual(ids)
    expect(requestsTo(emulator)).toEqual([
      'GET /v1/license-keys/',
      'GET /v1/license-keys/',
      'GET /v1/license-keys/',
    ])
  })

  it('sends the filters Polar understands', async () => {
    const { emulator, admin } = setup()
    const benefit = crypto.randomUUID()
    const wanted = emulator.createKey({ benefitId: benefit, status: 'revoked' })
    emulator.createKey({ benefitId: benefit })
    emulator.createKey({ status: 'revoked' })
    const page = await admin.list({ benefitId: [benefit], status: 'revoked' })
    expect(page.data.items.map((k) => k.id)).toEqual([wanted.id])
    expect(page.data.items[0]?.key).toBe(wanted.key)
  })

  it('gets a key with its live activations and customer, and one activation', async () => {
    const { emulator, admin } = setup()
    const key = emulator.createKey({ limitActivations: 3 })
    const desk = emulator.addActivation(key, { label: 'Desk', meta: { os: 'linux' } })
    emulator.removeActivation(emulator.addActivation(key, { label: 'Old laptop' }).id)
    const { data } = await admin.get(key.id)
    expect(data).toMatchObject({ id: key.id, display_key: key.displayKey, limit_activations: 3 })
    expect(data.customer?.email).toMatch(/@example\.com$/)
    expect(data.activations.map((a) => [a.id, a.label, a.meta])).toEqual([
      [desk.id, 'Desk', { os: 'linux' }],
    ])
    const activation = await admin.getActivation(key.id, desk.id)
    expect(activation.data.license_key.id).toBe(key.id)
  })

  it('says which key or activation Polar does not have (404)', async () => {
    const { emulator, admin } = setup()
    const foreign = emulator.createKey({ organizationId: crypto.randomUUID() })
    const missing = await failure(admin.get(foreign.id))
    expect(missing).toMatchObject({ code: 'key_not_found', status: 404 })
    expect(missing.message).toContain(foreign.id)
    const key = emulator.createKey()
    const activationId = crypto.randomUUID()
    const noActivation = await failure(admin.getActivation(key.id, activationId))
    expect(noActivation.code).toBe('activation_not_found')
    expect(noActivation.message).toContain(activationId)
  })

  it('parses the 2024 response shape (with user) leniently', async () => {
    const legacy = {
      items: [
        {
          id: '6c1e3a9d-7f20-4b1a-9d3c-2e4f5a6b7c8d',
          organization_id: '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f',
          user_id: '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e50',
          customer_id: '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e51',
          user: { id: 'x', email: 'old@example.com', public_name: 'Old', avatar_url: null },
          customer: { id: 'c', email: 'c@example.com', name: 'C', billing_address: null },
          benefit_id: '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e52',
          key: 'LEGACY-KEY-000001',
          display_key: '****-000001',
          status: 'granted',
          limit_activations: 0,
          usage: 0,
          limit_usage: 0,
          validations: 0,
          last_validated_at: '2024-12-20T00:00:00.000Z',
          expires_at: '2024-12-20T00:00:00.000Z',
          created_at: '2024-12-01T00:00:00.000Z',
        },
      ],
      pagination: { total_count: 1, max_page: 1 },
    }
    const { make } = setup()
    const admin = make({ fetch: async () => Response.json(legacy) })
    const { data } = await admin.list()
    expect(data.items[0]).toMatchObject({ display_key: '****-000001', modified_at: null })
    expect(data.items[0]).not.toHaveProperty('user')
  })
})

describe('admin client: changing keys', () => {
  it('revokes, re-enables, extends and changes limits with PATCH', async () => {
    const { emulator, admin } = setup()
    const key = emulator.createKey({ expiresAt: T0 + 1000, limitActivations: 2 })
    expect((await admin.update(key.id, { status: 'revoked' })).data.status).toBe('revoked')
    expect(emulator.getKey(key).status).toBe('revoked')
    await admin.update(key.id, { status: 'granted' })
    await admin.update(key.id, { expiresAt: new Date('2027-06-30T00:00:00Z'), limitActivations: 5 })
    expect(emulator.getKey(key)).toMatchObject({
      status: 'granted',
      expiresAt: Date.parse('2027-06-30T00:00:00Z'),
      limitActivations: 5,
    })
    await admin.update(key.id, { expiresAt: null, limitUsage: null })
    expect(emulator.getKey(key).expiresAt).toBeNull()
  })

  it('activates, validates and deactivates server-side; seats count as in the app', async () => {
    const { emulator, admin, org } = setup()
    const key = emulator.createKey({ limitActivations: 1 })
    const activation = await admin.activate({ key: key.key, organizationId: org, label: 'CI' })
    const full = await failure(
      admin.activate({ key: key.key, organizationId: org, label: 'CI again' }),
    )
    expect(full.code).toBe('activation_limit_reached')
    const valid = await admin.validate({
      key: key.key,
      organizationId: org,
      activationId: activation.data.id,
    })
    expect(valid.data.activation?.id).toBe(activation.data.id)
    await admin.deactivate({ key: key.key, organizationId: org, activationId: activation.data.id })
    expect(emulator.listActivations(key)).toEqual([])
    const gone = await failure(
      admin.validate({ key: key.key, organizationId: org, activationId: activation.data.id }),
    )
    expect(gone.code).toBe('activation_not_found')
  })

  it('a captive portal answering deactivate is bad_response; the seat stays counted', async () => {
    const { emulator, admin, org } = setup()
    const key = emulator.createKey({ limitActivations: 1 })
    const activation = await admin.activate({ key: key.key, organizationId: org, label: 'CI' })
    emulator.failNext(1, 'html')
    const error = await failure(
      admin.deactivate({ key: key.key, organizationId: org, activationId: activation.data.id }),
    )
    expect(error.code).toBe('bad_response')
    expect(emulator.listActivations(key)).toHaveLength(1)
  })

  it('refuses bad input before sending anything', async () => {
    const { emulator, admin } = setup()
    const key = emulator.createKey()
    const checks = [
      admin.get('KEY-123'),
      admin.update(key.id, {}),
      admin.update(key.id, { limitActivations: 0 }),
      admin.update(key.id, { expiresAt: 'next tuesday' }),
      admin.list({ limit: 101 }),
      admin.list({ status: 'lost' as 'revoked' }),
    ]
    for (const check of checks) expect((await failure(check)).code).toBe('invalid_input')
    expect(emulator.requests).toEqual([])
  })
})

describe('admin client: tokens and scopes', () => {
  it('maps an unknown or revoked token to unauthorized, never echoing it', async () => {
    const { emulator, admin, token } = setup()
    emulator.revokeAccessToken(token)
    const error = await failure(admin.list())
    expect(error).toMatchObject({ code: 'unauthorized', status: 401 })
    expect(error.message).toMatch(/Organization Access Token/)
    expect(inspect(error, { depth: 10 })).not.toContain(token)
  })

  it('explains a 401 for a missing token (a proxy dropped the header)', async () => {
    const { emulator, make } = setup()
    const stripping: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers)
      headers.delete('authorization')
      return emulator.fetch(input, { ...init, headers })
    }
    const error = await failure(make({ fetch: stripping }).list())
    expect(error.code).toBe('unauthorized')
    expect(error.message).toMatch(/received no access token/)
  })

  it('names the missing scope: license_keys:write to change, license_keys:read to read', async () => {
    const readOnly = setup({}, ['license_keys:read'])
    const key = readOnly.emulator.createKey()
    expect((await readOnly.admin.get(key.id)).data.id).toBe(key.id)
    const write = await failure(readOnly.admin.update(key.id, { status: 'revoked' }))
    expect(write).toMatchObject({ code: 'forbidden', status: 403 })
    expect(write.message).toContain('license_keys:write')
    const none = setup({}, ['products:read'])
    const read = await failure(none.admin.list())
    expect(read.code).toBe('forbidden')
    expect(read.message).toContain('license_keys:read')
  })
})

describe('admin client: where it runs', () => {
  it('refuses to start without a token, or with one that is not a token', () => {
    for (const token of ['', '  ', 'two words', undefined]) {
      expect(() => createPolarAdminClient({ token } as PolarAdminClientOptions)).toThrow(
        expect.objectContaining({ code: 'invalid_input' }),
      )
    }
  })

  it('refuses to run in a web page or an Electron renderer', () => {
    const g = globalThis as { window?: unknown; document?: unknown }
    const proc = process as { type?: string }
    try {
      g.window = {}
      g.document = {}
      expect(() => createPolarAdminClient({ token: 'polar_oat_x' })).toThrow(/never ship in an app/)
      delete g.window
      delete g.document
      proc.type = 'renderer'
      expect(() => createPolarAdminClient({ token: 'polar_oat_x' })).toThrow(/Electron renderer/)
    } finally {
      delete g.window
      delete g.document
      delete proc.type
    }
    expect(() => createPolarAdminClient({ token: 'polar_oat_x' })).not.toThrow()
  })

  it('refuses plain http except to this machine', () => {
    const make = (server: string) => () => createPolarAdminClient({ token: 'polar_oat_x', server })
    expect(make('http://polar.example.com')).toThrow(/unencrypted/)
    expect(make('http://127.0.0.1:4010')).not.toThrow()
    expect(make('http://localhost:4010')).not.toThrow()
  })
})

describe('admin client: retries and limits', () => {
  it('retries a read after a 503 but never repeats an activate whose answer was lost', async () => {
    const { emulator, admin, org } = setup()
    const key = emulator.createKey()
    emulator.failNext(1, 503)
    expect((await admin.get(key.id)).data.id).toBe(key.id)
    emulator.clearRequests()
    emulator.failNext(1, 503)
    const lost = await failure(admin.activate({ key: key.key, organizationId: org, label: 'CI' }))
    expect(lost.code).toBe('server')
    expect(emulator.requests).toHaveLength(1)
  })

  it('keeps the token out of network errors', async () => {
    const { emulator, admin, token } = setup()
    emulator.setOffline(true)
    const error = await failure(admin.list())
    expect(error.code).toBe('network')
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(token)
  })

  it('maps Polar 429 to rate_limited with the wait', async () => {
    let now = T0
    const emulator = createPolarEmulator({ now: () => now, sandbox: true })
    const token = emulator.createAccessToken()
    const admin = createPolarAdminClient({
      token,
      fetch: emulator.fetch,
      rateLimit: false,
      retry: 0,
    })
    // Polar counts a token's first request as pending_auth (before its identity is
    // cached), so a fresh token gets 101 requests in its first minute.
    for (let i = 0; i < 101; i++) await admin.list()
    const error = await failure(admin.list())
    expect(error).toMatchObject({ code: 'rate_limited', status: 429 })
    expect(error.retryAfter).toBeGreaterThan(0)
    now += 61_000
    await expect(admin.list()).resolves.toBeDefined()
  })

  it('paces requests under the rate limit instead of running into 429', async () => {
    let now = T0
    const emulator = createPolarEmulator({ now: () => now, sandbox: true })
    emulator.createKey()
    const sleeps: number[] = []
    const admin = createPolarAdminClient({
      token: emulator.createAccessToken(),
      fetch: emulator.fetch,
      server: 'sandbox',
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms)
        now += ms
      },
    })
    for (let i = 0; i < 150; i++) await admin.list()
    expect(emulator.requests.every((r) => r.status === 200)).toBe(true)
    // Sandbox allows 100 a minute: the 101st request waited for the window to end, plus
    // the margin for Polar's window including its end instant.
    expect(sleeps).toEqual([61_000])
  })
})
