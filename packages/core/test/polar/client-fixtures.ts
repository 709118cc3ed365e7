import { inspect } from 'node:util'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { KeygateError } from '../../src/errors.js'
import { createPolarClient } from '../../src/polar/client.js'
import type { PolarClientOptions } from '../../src/polar/types.js'

/** A host under the reserved .test TLD: even a missed interception cannot reach anyone. */
export const BASE = 'https://polar.keygate.test'
export const ORG = '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f'
export const ACTIVATION = '6c1e3a9d-7f20-4b1a-9d3c-2e4f5a6b7c8d'
export const KEY = 'ACME-2F0B6E1C-91D4-4F55-B1A8-6C1E3A9D7F20'
/** A fragment of KEY that only the full key contains (the last 6 characters are public). */
export const KEY_SECRET_PART = '2F0B6E1C-91D4'

export type Endpoint = 'activate' | 'validate' | 'deactivate'
export const url = (endpoint: Endpoint) => `${BASE}/v1/customer-portal/license-keys/${endpoint}`

/** One msw server per test file, failing on any request no handler expects. */
export function useServer() {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())
  return server
}

export interface Recorded {
  request: Request
  body: unknown
}

/** Answers every call to `endpoint` with the next of `responses` (the last one repeats). */
export function answer(
  endpoint: Endpoint,
  ...responses: Array<Response | ((request: Request) => Response | Promise<Response>)>
) {
  const calls: Recorded[] = []
  const handler = http.post(url(endpoint), async ({ request }) => {
    const text = await request.clone().text()
    calls.push({ request, body: text === '' ? undefined : JSON.parse(text) })
    const next = responses[Math.min(calls.length, responses.length) - 1]
    if (next === undefined) throw new Error('no response configured')
    return typeof next === 'function' ? next(request) : next.clone()
  })
  return { handler, calls }
}

/** A client with no waiting between retries; the waits it asked for are recorded. */
export function client(options: PolarClientOptions = {}) {
  const sleeps: number[] = []
  const polar = createPolarClient({
    server: BASE,
    sleep: async (ms) => {
      sleeps.push(ms)
    },
    ...options,
  })
  return { polar, sleeps }
}

export async function failure(promise: Promise<unknown>): Promise<KeygateError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(KeygateError)
  return error as KeygateError
}

/** The full key must not show anywhere a KeygateError can be seen: message, JSON, inspect. */
export function expectNoKey(error: KeygateError) {
  const seen = [
    error.message,
    error.detail ?? '',
    JSON.stringify(error),
    inspect(error, { depth: 10, showHidden: true }),
  ]
  for (const text of seen) {
    expect(text).not.toContain(KEY_SECRET_PART)
  }
}

export const polarError = (status: number, error: string, detail: string) =>
  HttpResponse.json({ error, detail }, { status })

/** The customer-portal license key as Polar's 2024 docs show it (seed 003), with `user`. */
export const LICENSE_KEY_2024 = {
  id: '00000000-0000-0000-0000-000000000000',
  organization_id: '00000000-0000-0000-0000-000000000000',
  user_id: '00000000-0000-0000-0000-000000000000',
  customer_id: '00000000-0000-0000-0000-000000000000',
  user: {
    id: '00000000-0000-0000-0000-000000000000',
    email: 'string',
    public_name: 'string',
    avatar_url: 'string',
  },
  customer: {
    created_at: '2025-01-07T00:00:00.000Z',
    modified_at: '2025-01-07T00:00:00.000Z',
    id: '00000000-0000-0000-0000-000000000000',
    metadata: {},
    email: 'string',
    email_verified: false,
    name: 'string',
    billing_address: {
      line1: 'string',
      line2: 'string',
      postal_code: 'string',
      city: 'string',
      state: 'string',
      country: 'string',
    },
    tax_id: ['string', 'ad_nrt'],
    organization_id: '00000000-0000-0000-0000-000000000000',
    avatar_url: 'string',
  },
  benefit_id: '00000000-0000-0000-0000-000000000000',
  key: 'string',
  display_key: 'string',
  status: 'granted',
  limit_activations: 0,
  usage: 0,
  limit_usage: 0,
  validations: 0,
  last_validated_at: '2025-01-07T00:00:00.000Z',
  expires_at: '2025-01-07T00:00:00.000Z',
}

export const ACTIVATION_2024 = {
  id: '00000000-0000-0000-0000-000000000000',
  license_key_id: '00000000-0000-0000-0000-000000000000',
  label: 'string',
  meta: {},
  created_at: '2025-01-07T00:00:00.000Z',
  modified_at: '2025-01-07T00:00:00.000Z',
  license_key: LICENSE_KEY_2024,
}

/** The 2026-10 OpenAPI shape: no `user`, a fuller `customer`, plus fields newer versions add. */
export const LICENSE_KEY_2026 = {
  id: '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d',
  created_at: '2026-09-01T10:00:00Z',
  modified_at: null,
  organization_id: ORG,
  customer_id: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
  customer: {
    id: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    created_at: '2026-09-01T10:00:00Z',
    modified_at: null,
    metadata: {},
    external_id: null,
    email: 'ada@example.com',
    email_verified: true,
    type: 'individual',
    name: 'Ada Lovelace',
    billing_address: { country: 'GB', line1: '12 Marylebone', city: 'London' },
    tax_id: null,
    locale: 'en',
    organization_id: ORG,
    deleted_at: null,
    avatar_url: 'https://example.com/a.png',
  },
  member: { id: '7c9e6679-7425-40de-944b-e07fc1f90ae7', email: 'ada@example.com' },
  benefit_id: 'a3bb189e-8bf9-4888-9912-ace4e6543002',
  key: KEY,
  display_key: '****-9D7F20',
  status: 'granted',
  limit_activations: 3,
  usage: 1,
  limit_usage: null,
  validations: 4,
  last_validated_at: '2026-09-02T10:00:00Z',
  expires_at: null,
}

export const ACTIVATION_BASE_2026 = {
  id: ACTIVATION,
  license_key_id: LICENSE_KEY_2026.id,
  label: 'ada-laptop',
  meta: { app: '1.2.0', beta: true, seats: 2 },
  created_at: '2026-09-02T10:00:00Z',
  modified_at: null,
}

export const ACTIVATION_2026 = { ...ACTIVATION_BASE_2026, license_key: LICENSE_KEY_2026 }
export const VALIDATED_2026 = { ...LICENSE_KEY_2026, activation: ACTIVATION_BASE_2026 }
