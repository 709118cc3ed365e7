import { describe, expect, it } from 'vitest'
import { describe as describeWords } from '../../src/describe.js'
import { KeygateError } from '../../src/errors.js'
import { createPolarClient } from '../../src/polar/client.js'
import { createPolarEmulator } from '../../src/testing/index.js'

/**
 * Faults of the client itself, each against the emulator (Polar's rules, its real rate
 * limit where it matters) on one injected clock that the client's waits advance.
 */

const T0 = Date.parse('2026-03-01T12:00:00.000Z')
const SERVER = 'http://emulator.local'

function world(options: { rateLimit?: false; polarVersions?: string[] } = {}) {
  const clock = { now: T0 }
  const emulator = createPolarEmulator({
    now: () => clock.now,
    ...(options.rateLimit === false ? { rateLimit: false } : {}),
    ...(options.polarVersions ? { polarVersions: options.polarVersions } : {}),
  })
  const make = (extra: Parameters<typeof createPolarClient>[0] = {}) =>
    createPolarClient({
      server: SERVER,
      fetch: emulator.fetch,
      now: () => clock.now,
      // Waiting moves the shared clock: Polar's 1 s window passes as the client waits.
      sleep: async (ms) => {
        clock.now += ms
      },
      ...extra,
    })
  return { clock, emulator, make, org: emulator.organizationId }
}

async function rejection(promise: Promise<unknown>): Promise<KeygateError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof KeygateError) return error
    throw error
  }
  throw new Error('expected a KeygateError')
}

/** A fetch whose answer is lost after Polar handled the request (a reset on the way back). */
function losingAnswers(inner: typeof fetch, lose: () => boolean): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init)
    if (!lose()) return response
    throw new TypeError('fetch failed', {
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    })
  }
}

describe("Polar's 3 requests per second (the emulator's real limit)", () => {
  it('four mistyped keys in a row earn no block: the 4th waits for the window', async () => {
    const w = world()
    const polar = w.make({ retry: 0 })
    for (const typo of ['TYPO-1111', 'TYPO-2222', 'TYPO-3333', 'TYPO-4444']) {
      const error = await rejection(
        polar.activate({ key: typo, organizationId: w.org, label: 'x' }),
      )
      expect(error.code).toBe('key_not_found')
    }
    expect(w.emulator.requests.map((r) => r.status)).toEqual([404, 404, 404, 404])
    // Another seat behind the same IP is not blocked either.
    const key = w.emulator.createKey()
    const other = w.make()
    expect((await other.validate({ key: key.key, organizationId: w.org })).data.id).toBe(key.id)
  })

  it('retries take turns too: 503s retried never reach a 4th request within a second', async () => {
    const w = world()
    const key = w.emulator.createKey()
    const polar = w.make({ retry: 2 })
    await polar.validate({ key: key.key, organizationId: w.org })
    w.emulator.failNext(2, 503)
    await polar.validate({ key: key.key, organizationId: w.org })
    const statuses = w.emulator.requests.map((r) => r.status)
    expect(statuses).toEqual([200, 503, 503, 200])
    expect(statuses).not.toContain(429)
  })
})

describe('a validate with increment_usage', () => {
  it('is never sent twice once it may have reached Polar; the error says the outcome is unknown', async () => {
    const w = world({ rateLimit: false })
    const key = w.emulator.createKey({ limitUsage: 100 })
    const polar = w.make({ fetch: losingAnswers(w.emulator.fetch, () => true), retry: 2 })
    const error = await rejection(
      polar.validate({ key: key.key, organizationId: w.org, incrementUsage: 5 }),
    )
    expect(error.code).toBe('outcome_unknown')
    expect(error.message).toMatch(/unknown/)
    expect(describeWords(error).title).toBe('Result unknown')
    expect(w.emulator.getKey(key).usage).toBe(5)
    expect(w.emulator.requests).toHaveLength(1)
  })

  it('is still retried when it provably never left (connection refused)', async () => {
    const w = world({ rateLimit: false })
    const key = w.emulator.createKey({ limitUsage: 100 })
    let refuse = true
    const polar = w.make({
      retry: 2,
      fetch: async (input, init) => {
        if (refuse) {
          refuse = false
          throw new TypeError('fetch failed', {
            cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
          })
        }
        return w.emulator.fetch(input, init)
      },
    })
    await polar.validate({ key: key.key, organizationId: w.org, incrementUsage: 5 })
    expect(w.emulator.getKey(key).usage).toBe(5)
  })
})

describe('a deactivate whose 204 was lost', () => {
  it('resolves: the retry finds the activation gone, so the seat is already free', async () => {
    const w = world({ rateLimit: false })
    const key = w.emulator.createKey()
    const activation = await w.make().activate({ key: key.key, organizationId: w.org, label: 'x' })
    let lost = 0
    const polar = w.make({ fetch: losingAnswers(w.emulator.fetch, () => lost++ === 0), retry: 2 })
    await expect(
      polar.deactivate({ key: key.key, organizationId: w.org, activationId: activation.data.id }),
    ).resolves.toMatchObject({ data: null })
    expect(w.emulator.listActivations(key)).toHaveLength(0)
  })

  it('still throws activation_not_found when no earlier attempt may have arrived', async () => {
    const w = world({ rateLimit: false })
    const key = w.emulator.createKey()
    const error = await rejection(
      w.make().deactivate({
        key: key.key,
        organizationId: w.org,
        activationId: '6c1e3a9d-7f20-4b1a-9d3c-2e4f5a6b7c8d',
      }),
    )
    expect(error.code).toBe('activation_not_found')
  })
})

describe("validate's benefit and customer mismatch", () => {
  it.each([
    ['benefitId', 'product'],
    ['customerId', 'customer'],
  ])('a wrong %s is key_mismatch, with its own words', async (field, what) => {
    const w = world({ rateLimit: false })
    const key = w.emulator.createKey()
    const error = await rejection(
      w.make().validate({
        key: key.key,
        organizationId: w.org,
        [field]: '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b',
      }),
    )
    expect(error.code).toBe('key_mismatch')
    expect(error.transient).toBe(false)
    expect(error.detail).toMatch(/does not match given (benefit|user)/)
    expect(error.message).toContain(what)
    expect(describeWords(error).title).toBe('License key is for something else')
  })
})

describe("Polar's middleware answers 411 and 413", () => {
  it.each([411, 413])(
    '%i is a refused request (invalid_input), not a server fault',
    async (status) => {
      const polar = createPolarClient({
        server: SERVER,
        sleep: async () => {},
        fetch: async () => new Response('{"detail":"refused"}', { status }),
      })
      const error = await rejection(
        polar.validate({
          key: 'ACME-0000-1111',
          organizationId: '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f',
        }),
      )
      expect(error.code).toBe('invalid_input')
      expect(error.status).toBe(status)
      expect(error.message).toMatch(status === 411 ? /Content-Length/ : /too large/)
    },
  )
})

describe('a short imported key', () => {
  it.each(['ABC123', 'SHORTKEY'])(
    '%s is masked even though display_key shows it whole',
    async (k) => {
      const w = world({ rateLimit: false })
      const key = w.emulator.createKey({ key: k })
      const polar = w.make()
      const activated = await polar.activate({ key: k, organizationId: w.org, label: 'x' })
      const validated = await polar.validate({ key: k, organizationId: w.org })
      for (const display of [activated.data.license_key.display_key, validated.data.display_key]) {
        expect(display.toLowerCase()).not.toContain(k.toLowerCase())
        // At most a third of a short key shows, as keygate masks it.
        expect(display).toBe(`****-${k.slice(-Math.floor(k.length / 3))}`)
      }
      expect(key.key).toBe(k)
    },
  )
})

describe('a pinned Polar-Version', () => {
  it('that Polar does not serve is named as such', async () => {
    const w = world({ rateLimit: false })
    const key = w.emulator.createKey()
    const error = await rejection(
      w.make({ polarVersion: '2026-07' }).validate({ key: key.key, organizationId: w.org }),
    )
    expect(error.code).toBe('server')
    expect(error.message).toContain("does not serve the Polar-Version '2026-07'")
    expect(error.message).toContain('2026-04 and 2026-10')
  })

  it('must come back in the answer: another version is a bad_response', async () => {
    const w = world({ rateLimit: false })
    const key = w.emulator.createKey()
    const polar = w.make({
      polarVersion: '2026-10',
      fetch: async (input, init) => {
        const response = await w.emulator.fetch(input, init)
        const headers = new Headers(response.headers)
        headers.set('polar-version', '2026-04')
        return new Response(await response.text(), { status: response.status, headers })
      },
    })
    const error = await rejection(polar.validate({ key: key.key, organizationId: w.org }))
    expect(error.code).toBe('bad_response')
    expect(error.message).toMatch(/2026-04.*2026-10/)
  })

  it('served and echoed: the answer is taken', async () => {
    const w = world({ rateLimit: false })
    const key = w.emulator.createKey()
    const polar = w.make({ polarVersion: '2026-10' })
    expect((await polar.validate({ key: key.key, organizationId: w.org })).data.id).toBe(key.id)
  })
})

describe("the key in Polar's detail", () => {
  it('is scrubbed whatever its case', async () => {
    const key = 'ACME-2F0B6E1C-91D4-4F55-B1A8-6C1E3A9D7F20'
    const polar = createPolarClient({
      server: SERVER,
      sleep: async () => {},
      fetch: async () =>
        Response.json(
          { error: 'NotPermitted', detail: `Key ${key.toLowerCase()} is odd` },
          { status: 403 },
        ),
    })
    const error = await rejection(
      polar.activate({ key, organizationId: '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f', label: 'x' }),
    )
    const text = JSON.stringify([error.message, error.detail, error.toJSON()]).toLowerCase()
    expect(text).not.toContain(key.toLowerCase())
    expect(error.detail).toContain('****-')
  })
})
