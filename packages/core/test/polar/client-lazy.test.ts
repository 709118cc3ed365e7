import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPolarEmulator } from '../../src/testing/index.js'

// The modules that make up the HTTP client: none of them may load before a request.
const HTTP_MODULES = [
  'polar/http-client',
  'polar/transport',
  'polar/error-mapping',
  'polar/schemas',
  'polar/retry',
] as const

const SERVER = 'http://emulator.local'

afterEach(() => {
  for (const name of HTTP_MODULES) vi.doUnmock(`../../src/${name}.js`)
  vi.resetModules()
})

/** A fresh copy of `@keygate/core` whose HTTP modules record when they are loaded. */
async function freshCore() {
  const loads: string[] = []
  vi.resetModules()
  for (const name of HTTP_MODULES) {
    vi.doMock(`../../src/${name}.js`, async (importOriginal) => {
      loads.push(name)
      return importOriginal()
    })
  }
  const core = await import('../../src/index.js')
  return { core, loads }
}

/** The error `fn` throws; `isError` is the fresh core's own check (its class is a new one). */
function thrown<E>(fn: () => unknown, isError: (value: unknown) => value is E): E {
  try {
    fn()
  } catch (error) {
    if (isError(error)) return error
    throw error
  }
  throw new Error('expected a throw')
}

describe('createPolarClient as @keygate/core exports it', () => {
  it('importing core and going through the offline check loads none of the HTTP client', async () => {
    const { core, loads } = await freshCore()
    const emulator = createPolarEmulator()
    const licensing = core.createLicensing({
      organizationId: emulator.organizationId,
      store: core.memoryStore(),
      machine: core.staticMachine('fp-machine-a'),
      server: SERVER,
      fetch: emulator.fetch,
    })
    core.createPolarClient({ server: SERVER, fetch: emulator.fetch })
    expect((await licensing.check({ online: 'never' })).status).toBe('inactive')
    expect(loads).toEqual([])
  })

  it('refuses bad options at once, before anything is loaded or sent', async () => {
    const { core, loads } = await freshCore()
    const fetch = vi.fn<typeof globalThis.fetch>()
    const bad = [
      { server: 'ftp://polar.example' },
      { server: 'not a url' },
      { timeoutMs: 0 },
      { timeoutMs: 1.5 },
      { retry: 11 },
      { retry: -1 },
      { polarVersion: '2026 10' },
    ]
    for (const options of bad) {
      const error = thrown(() => core.createPolarClient({ fetch, ...options }), core.isKeygateError)
      expect(error.code, JSON.stringify(options)).toBe('invalid_input')
    }
    expect(loads).toEqual([])
    expect(fetch).not.toHaveBeenCalled()
  })

  it('knows its base URL before loading, then loads the client once, on the first request', async () => {
    const { core, loads } = await freshCore()
    const emulator = createPolarEmulator()
    const key = emulator.createKey({ limitActivations: 2 })
    const polar = core.createPolarClient({ server: `${SERVER}/`, fetch: emulator.fetch })
    expect(polar.baseURL).toBe(SERVER)
    expect(core.createPolarClient({ server: 'sandbox' }).baseURL).toBe(
      'https://sandbox-api.polar.sh',
    )
    expect(loads).toEqual([])

    const organizationId = emulator.organizationId
    const activated = await polar.activate({ key: key.key, organizationId, label: 'Laptop' })
    expect(activated.data.license_key.display_key).toBe(key.displayKey)
    expect(loads).toContain('polar/http-client')
    const loaded = loads.length

    const validated = await polar.validate({
      key: key.key,
      organizationId,
      activationId: activated.data.id,
    })
    expect(validated.data.activation?.id).toBe(activated.data.id)
    await polar.deactivate({ key: key.key, organizationId, activationId: activated.data.id })
    expect(emulator.listActivations(key.key)).toEqual([])
    expect(loads).toHaveLength(loaded)
  })

  it("checks a request against Polar's rules before sending it", async () => {
    const { core } = await freshCore()
    const fetch = vi.fn<typeof globalThis.fetch>()
    const polar = core.createPolarClient({ server: SERVER, fetch })
    await expect(
      polar.activate({ key: 'ACME-1', organizationId: 'not-a-uuid', label: 'Laptop' }),
    ).rejects.toMatchObject({ code: 'invalid_input' })
    expect(fetch).not.toHaveBeenCalled()
  })

  it('reports a client that cannot load as a network error, and loads it on the next request', async () => {
    vi.resetModules()
    let attempts = 0
    vi.doMock('../../src/polar/http-client.js', async (importOriginal) => {
      attempts += 1
      if (attempts === 1) throw new Error('chunk missing on disk')
      return importOriginal()
    })
    const core = await import('../../src/index.js')
    const emulator = createPolarEmulator()
    const key = emulator.createKey({ limitActivations: 2 })
    const polar = core.createPolarClient({ server: SERVER, fetch: emulator.fetch })
    const request = { key: key.key, organizationId: emulator.organizationId }

    const failure = await polar.validate(request).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(core.KeygateError)
    expect(failure).toMatchObject({ code: 'network' })
    expect(String(failure)).not.toContain(key.key)

    expect((await polar.validate(request)).data.display_key).toBe(key.displayKey)
    expect(attempts).toBe(2)
  })
})
