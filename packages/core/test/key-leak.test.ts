import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createPolarAdminClient } from '../src/admin/index.js'
import { isKeygateError, KeygateError } from '../src/errors.js'
import { createLicensing } from '../src/licensing.js'
import { staticMachine } from '../src/machine.js'
import { createPolarClient } from '../src/polar/client.js'
import type { PolarClient } from '../src/polar/types.js'
import { memoryStore } from '../src/store.js'
import { createPolarEmulator, type FaultKind } from '../src/testing/index.js'

/**
 * "The full key never appears in an error, a log or a snapshot": every failure the
 * client can meet, checked everywhere an error can be looked at, getters included
 * (ofetch's FetchError hides the request body, key and all, behind `options`).
 */

const KEY = 'ACME-7D3F9A21-5B6C-4E8D-A1F2-93C4B5D6E7F8'
/** Only the full key holds this; the last 6 characters are public (`display_key`). */
const SECRET = '7D3F9A21-5B6C'
const ORG = '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f'
const ACTIVATION = '6c1e3a9d-7f20-4b1a-9d3c-2e4f5a6b7c8d'

/** Every string reachable from `value`: own properties of any kind, getters called. */
function reachableText(value: unknown, depth = 8, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value]
  if (typeof value !== 'object' && typeof value !== 'function') return [String(value)]
  if (value === null || seen.has(value) || depth === 0) return []
  seen.add(value)
  const out: string[] = []
  if (value instanceof Headers) {
    value.forEach((v, k) => {
      out.push(`${k}: ${v}`)
    })
  }
  if (typeof Request !== 'undefined' && value instanceof Request) out.push(value.url)
  if (value instanceof Error) out.push(String(value), value.stack ?? '')
  for (const name of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, name)
    let item: unknown
    try {
      item = descriptor?.get ? descriptor.get.call(value) : descriptor?.value
    } catch {
      continue
    }
    out.push(...reachableText(item, depth - 1, seen))
  }
  return out
}

/**
 * Case-insensitively: a proxy or a lower-casing echo must not smuggle the key past a scrub.
 * A KeygateError's message also names no HTTP route, errno or ISO timestamp (those are for
 * logs: `endpoint`, `cause`).
 */
function expectNoKey(subject: unknown): void {
  const views = [
    ...reachableText(subject),
    inspect(subject, { depth: 10, showHidden: true, getters: true }),
    JSON.stringify(subject) ?? '',
  ]
  for (const text of views) {
    const lower = text.toLowerCase()
    expect(lower).not.toContain(SECRET.toLowerCase())
    expect(lower).not.toContain(KEY.toLowerCase())
  }
  if (isKeygateError(subject)) expectPlainMessage(subject)
}

function expectPlainMessage(error: KeygateError): void {
  expect(error.message).not.toMatch(/\/v1\/|\[(GET|POST|PATCH|DELETE)\]/)
  expect(error.message).not.toMatch(/\bE[A-Z]{3,}\b|net::ERR_|UND_ERR/)
  expect(error.message).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/)
}

async function thrown(promise: Promise<unknown>): Promise<KeygateError> {
  try {
    await promise
  } catch (error) {
    expect(isKeygateError(error)).toBe(true)
    return error as KeygateError
  }
  throw new Error('expected a rejection')
}

/** A client whose every request meets `fetch`. */
function clientWith(fetch: typeof globalThis.fetch, timeoutMs = 1000): PolarClient {
  return createPolarClient({
    fetch,
    server: 'https://polar.keygate.test',
    retry: 1,
    timeoutMs,
    sleep: async () => {},
  })
}

const calls = (polar: PolarClient) => ({
  activate: () => polar.activate({ key: KEY, organizationId: ORG, label: 'Laptop' }),
  validate: () => polar.validate({ key: KEY, organizationId: ORG, activationId: ACTIVATION }),
  deactivate: () => polar.deactivate({ key: KEY, organizationId: ORG, activationId: ACTIVATION }),
})

describe('the full license key never leaks from a failure', () => {
  const answers: Array<[string, () => Response]> = [
    [
      '404 Not found',
      () => Response.json({ error: 'ResourceNotFound', detail: 'Not found' }, { status: 404 }),
    ],
    ['404 without error', () => Response.json({ detail: 'Not Found' }, { status: 404 })],
    [
      '403 revoked',
      () =>
        Response.json(
          { error: 'NotPermitted', detail: 'License key is no longer active.' },
          { status: 403 },
        ),
    ],
    [
      '400 usage',
      () =>
        Response.json(
          { error: 'BadRequest', detail: 'License key only has 0 more usages.' },
          { status: 400 },
        ),
    ],
    [
      'detail echoing the key',
      () => Response.json({ error: 'NotPermitted', detail: `Key ${KEY} is odd` }, { status: 403 }),
    ],
    [
      'detail echoing the key lower-cased',
      () =>
        Response.json(
          { error: 'NotPermitted', detail: `Key ${KEY.toLowerCase()} is odd` },
          { status: 403 },
        ),
    ],
    [
      '404 benefit mismatch echoing the key',
      () =>
        Response.json(
          { error: 'ResourceNotFound', detail: `License key does not match given benefit. ${KEY}` },
          { status: 404 },
        ),
    ],
    ['411', () => Response.json({ detail: `Length Required ${KEY}` }, { status: 411 })],
    ['413', () => new Response(`Payload too large ${KEY.toLowerCase()}`, { status: 413 })],
    [
      '422 echoing the body',
      () =>
        Response.json(
          {
            error: 'RequestValidationError',
            detail: [{ type: 'x', loc: ['body', 'key'], msg: `bad ${KEY}`, input: { key: KEY } }],
          },
          { status: 422 },
        ),
    ],
    [
      '422 with a string detail',
      () =>
        Response.json({ error: 'RequestValidationError', detail: `bad ${KEY}` }, { status: 422 }),
    ],
    ['429 empty', () => new Response('', { status: 429, headers: { 'retry-after': '60' } })],
    [
      '500 echoing the key',
      () => Response.json({ error: 'Internal', detail: KEY }, { status: 500 }),
    ],
    ['401', () => Response.json({ error: 'invalid_token', detail: KEY }, { status: 401 })],
    ['200 HTML', () => new Response(`<html>${KEY}</html>`, { status: 200 })],
    ['200 invalid JSON', () => new Response(`{"key":"${KEY}"`, { status: 200 })],
    ['200 wrong shape echoing the key', () => Response.json({ key: KEY, id: 5 }, { status: 200 })],
  ]
  for (const [what, respond] of answers) {
    it(`when Polar answers ${what}`, async () => {
      const { activate, validate, deactivate } = calls(clientWith(async () => respond()))
      // Deactivate takes any 2xx as done: it reads no body.
      const runs = what.startsWith('200') ? [activate, validate] : [activate, validate, deactivate]
      for (const run of runs) expectNoKey(await thrown(run()))
    })
  }

  const rejections: Array<[string, () => unknown]> = [
    [
      'a TypeError with a cause',
      () =>
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
        }),
    ],
    ['undefined', () => undefined],
    ['null', () => null],
    ['an empty string', () => ''],
    ['0', () => 0],
    ['an AbortError', () => new DOMException('aborted', 'AbortError')],
  ]
  for (const [what, reason] of rejections) {
    it(`when fetch rejects with ${what}`, async () => {
      for (const run of Object.values(calls(clientWith(() => Promise.reject(reason()))))) {
        expectNoKey(await thrown(run()))
      }
    })
  }

  it('when the request times out', async () => {
    const hang: typeof fetch = (_input, init) =>
      new Promise((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      )
    for (const run of Object.values(calls(clientWith(hang, 5)))) expectNoKey(await thrown(run()))
  })

  it('through licensing: thrown errors, states and their errors, and the emulator log', async () => {
    const emulator = createPolarEmulator({ rateLimit: false })
    const key = emulator.createKey({ key: KEY, limitActivations: 1 })
    let failing: unknown = null
    const fetch: typeof globalThis.fetch = (input, init) =>
      failing === null
        ? emulator.fetch(input, init)
        : Promise.reject(failing === 'undefined' ? undefined : failing)
    const licensing = createLicensing({
      organizationId: emulator.organizationId,
      store: memoryStore(),
      machine: staticMachine('fp'),
      server: 'https://polar.keygate.test',
      fetch,
      retry: 0,
    })
    const states: unknown[] = []
    licensing.subscribe((state) => states.push(state))
    await licensing.activate(key.key)

    for (const fault of ['reset', 500, 502, 'html', 'invalid_json'] satisfies FaultKind[]) {
      emulator.failNext(1, fault)
      expectNoKey(await licensing.refresh())
    }
    failing = 'undefined'
    expectNoKey(await licensing.refresh())
    expectNoKey(await thrown(licensing.deactivate()))
    failing = null

    emulator.removeActivation(emulator.listActivations(key)[0]?.id ?? '')
    emulator.addActivation(key)
    expectNoKey(await licensing.refresh())
    expectNoKey(await thrown(licensing.activate(key.key)))
    emulator.revoke(key)
    expectNoKey(await licensing.refresh())
    expectNoKey(await thrown(licensing.activate(`  ${key.key}\n`)))

    expectNoKey(states)
    expectNoKey(emulator.requests)
    expect(states.length).toBeGreaterThan(3)
  })

  it('when a validate with increment_usage loses its answer (outcome_unknown)', async () => {
    const emulator = createPolarEmulator({ rateLimit: false })
    emulator.createKey({ key: KEY, limitUsage: 10 })
    const polar = createPolarClient({
      server: 'https://polar.keygate.test',
      sleep: async () => {},
      fetch: async (input, init) => {
        await emulator.fetch(input, init)
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error(`reset ${KEY}`), { code: 'ECONNRESET' }),
        })
      },
    })
    const error = await thrown(
      polar.validate({ key: KEY, organizationId: emulator.organizationId, incrementUsage: 1 }),
    )
    expect(error.code).toBe('outcome_unknown')
    expect(error.message.toLowerCase()).not.toContain(KEY.toLowerCase())
    expect(JSON.stringify(error.toJSON()).toLowerCase()).not.toContain(KEY.toLowerCase())
    expectPlainMessage(error)
    expectNoKey(emulator.requests)
  })

  it('a short imported key: in states, the record on disk and the emulator log', async () => {
    const SHORT = 'AB12CD'
    const emulator = createPolarEmulator({ rateLimit: false })
    emulator.createKey({ key: SHORT })
    const store = memoryStore()
    const licensing = createLicensing({
      organizationId: emulator.organizationId,
      store,
      machine: staticMachine('fp'),
      server: 'https://polar.keygate.test',
      fetch: emulator.fetch,
      retry: 0,
    })
    const state = await licensing.activate(SHORT)
    expect(state.status).toBe('active')
    // The record must hold the key to validate it; what it shows of it is masked.
    const record = JSON.parse((await store.read()) ?? '{}') as { license?: { displayKey?: string } }
    expect(record.license?.displayKey?.toLowerCase()).not.toContain(SHORT.toLowerCase())
    const shown = JSON.stringify(state).toLowerCase()
    expect(shown).not.toContain(SHORT.toLowerCase())
    expect(JSON.stringify(emulator.requests).toLowerCase()).not.toContain(SHORT.toLowerCase())
  })

  it('from input checks, whichever argument the key was passed in by mistake', async () => {
    const polar = clientWith(async () => new Response(null, { status: 204 }))
    const errors = [
      await thrown(polar.validate({ key: KEY, organizationId: KEY })),
      await thrown(polar.deactivate({ key: KEY, organizationId: ORG, activationId: KEY })),
      await thrown(
        polar.activate({ key: KEY, organizationId: ORG, label: 'x', meta: { [KEY]: 1 } }),
      ),
      await thrown(polar.activate({ key: KEY, organizationId: ORG, label: KEY.repeat(10) })),
      await thrown(polar.activate({ key: `${KEY}\u0000`, organizationId: ORG, label: 'x' })),
      await thrown(
        polar.activate({ key: KEY, organizationId: ORG, label: 'x', meta: { k: KEY.repeat(20) } }),
      ),
    ]
    for (const error of errors) {
      expect(error).toBeInstanceOf(KeygateError)
      expectNoKey(error)
    }
  })

  it("nor the seller's access token, when fetch rejects with nothing", async () => {
    const token = 'polar_oat_7D3F9A21-5B6C-secret-token'
    const admin = createPolarAdminClient({
      token,
      server: 'https://polar.keygate.test',
      fetch: () => Promise.reject(undefined),
      retry: 0,
      rateLimit: false,
    })
    const error = await thrown(admin.get(ACTIVATION))
    expect(error.code).toBe('network')
    expectNoKey(error)
    expectNoKey(
      await thrown(admin.deactivate({ key: KEY, organizationId: ORG, activationId: ACTIVATION })),
    )
  })
})
