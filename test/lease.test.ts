import {
  createLicensing,
  describe as describeState,
  isKeygateError,
  memoryStore,
  parseGrant,
  serializeGrant,
  staticMachine,
} from '@keygate/core'
import { verifyLease } from '@keygate/core/lease'
import { createPolarEmulator } from '@keygate/core/testing'
import { createKeyPair, createLeaseServer, type KeyPair } from '@keygate/server'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

// The client side of the lease server, in-process: the app's requests to the lease
// server reach createLeaseServer's handler, whose requests to Polar reach the emulator.

const LEASE = 'https://lease.example'
const DAY = 86_400_000
let pair: KeyPair

beforeAll(async () => {
  pair = await createKeyPair()
})

function setup(options: { leaseTtl?: number; limitActivations?: number } = {}) {
  let now = Date.parse('2026-12-01T12:00:00Z')
  const clock = () => now
  const emulator = createPolarEmulator({ now: clock, rateLimit: false })
  const server = createLeaseServer({
    organizationId: emulator.organizationId,
    polarToken: emulator.createAccessToken(),
    signingKey: pair.privateJwk,
    server: 'http://127.0.0.1:9',
    fetch: emulator.fetch,
    now: clock,
    ...(options.leaseTtl === undefined ? {} : { leaseTtl: options.leaseTtl }),
  })
  const leaseRequests: string[] = []
  const fetchBoth: typeof fetch = (input, init) => {
    const request = new Request(input, init)
    if (!request.url.startsWith(LEASE)) return emulator.fetch(request)
    leaseRequests.push(new URL(request.url).pathname)
    return server.fetch(request)
  }
  const key = emulator.createKey({ limitActivations: options.limitActivations ?? 3 })
  const app = (fingerprint = 'machine-a', store = memoryStore()) =>
    createLicensing({
      organizationId: emulator.organizationId,
      store,
      machine: staticMachine(fingerprint, `Computer ${fingerprint}`),
      server: 'http://127.0.0.1:9',
      fetch: fetchBoth,
      now: clock,
      leaseServer: { url: LEASE, publicKey: pair.publicJwk },
    })
  return {
    emulator,
    key,
    app,
    fetch: fetchBoth,
    leaseRequests,
    advance: (ms: number) => {
      now += ms
    },
    now: clock,
  }
}

async function storedGrant(store: ReturnType<typeof memoryStore>) {
  const text = await store.read()
  const parsed = parseGrant(typeof text === 'string' ? text : '')
  if (!parsed.ok) throw new Error(parsed.message)
  return parsed.grant
}

describe('createLicensing with a lease server', () => {
  it('activates through the server and keeps its signed lease in the grant', async () => {
    const t = setup()
    const store = memoryStore()
    const state = await t.app('machine-a', store).activate(t.key.key)
    expect(state).toMatchObject({ status: 'active', integrity: 'signed' })
    expect(t.leaseRequests).toEqual(['/v1/activate'])
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    const grant = await storedGrant(store)
    expect(grant.lease?.split('.')).toHaveLength(3)
    // The polar routes seen are the organization API's only: the app never called Polar.
    expect(t.emulator.requests.every((r) => r.path.startsWith('/v1/license-keys'))).toBe(true)
  })

  it('the +1 year edit on a revoked key: inactive online (revoked) and offline (lease ran out)', async () => {
    const t = setup()
    const store = memoryStore()
    const app = t.app('machine-a', store)
    await app.activate(t.key.key)
    t.emulator.revoke(t.key)
    const grant = await storedGrant(store)
    const year = 365 * DAY
    const edited = {
      ...grant,
      validatedAt: grant.validatedAt + year,
      localValidatedAt: (grant.localValidatedAt ?? grant.validatedAt) + year,
    }
    await store.write(serializeGrant(edited))

    for (const days of [30, 200]) {
      t.advance(days === 30 ? 30 * DAY : 170 * DAY)
      const offline = await app.check({ online: 'never' })
      expect(offline).toMatchObject({
        status: 'inactive',
        reason: 'grace_expired',
        integrity: 'signed',
      })
    }
    const online = await app.check()
    expect(online).toMatchObject({ status: 'inactive', reason: 'revoked' })

    // With the clock mark pushed out a year as well: still inactive, never active.
    t.emulator.grant(t.key)
    await app.refresh()
    t.emulator.revoke(t.key)
    const again = await storedGrant(store)
    await store.write(
      serializeGrant({
        ...again,
        validatedAt: again.validatedAt + year,
        localValidatedAt: (again.localValidatedAt ?? 0) + year,
        clockHighWater: again.clockHighWater + year,
      }),
    )
    t.advance(30 * DAY)
    expect(await app.check({ online: 'never' })).toMatchObject({ status: 'inactive' })
  })

  it('the edited record is never active: its times do not move the lease, and nextCheckAt stays put', async () => {
    const t = setup()
    const store = memoryStore()
    const app = t.app('machine-a', store)
    const first = await app.activate(t.key.key)
    if (first.status !== 'active') throw new Error('not active')
    const grant = await storedGrant(store)
    await store.write(
      serializeGrant({
        ...grant,
        validatedAt: grant.validatedAt + 365 * DAY,
        localValidatedAt: (grant.localValidatedAt ?? 0) + 365 * DAY,
      }),
    )
    const state = await app.check({ online: 'never' })
    expect(state).toMatchObject({ status: 'active', nextCheckAt: first.nextCheckAt })
    t.advance(8 * DAY) // past the 7-day lease and grace, whatever the record says
    expect(await app.check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'grace_expired',
    })
  })

  it('an edited lease is tampered; a renew through the server lifts it', async () => {
    const t = setup()
    const store = memoryStore()
    const app = t.app('machine-a', store)
    await app.activate(t.key.key)
    const grant = await storedGrant(store)
    const [header, payload, signature] = (grant.lease ?? '').split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    const longer = Buffer.from(
      JSON.stringify({ ...claims, exp: claims.exp + 365 * 86_400 }),
    ).toString('base64url')
    await store.write(serializeGrant({ ...grant, lease: `${header}.${longer}.${signature}` }))

    const state = await app.check({ online: 'never' })
    expect(state).toMatchObject({ status: 'inactive', reason: 'tampered', integrity: 'signed' })
    expect(describeState(state).title).not.toBe('')
    // Without a lease the record is refused too (no signature at all).
    const { lease: _dropped, ...unsigned } = grant
    await store.write(serializeGrant(unsigned))
    expect(await app.check({ online: 'never' })).toMatchObject({ reason: 'tampered' })
    // check() (auto) renews through the server: Polar decides again, a fresh lease is kept.
    expect(await app.check()).toMatchObject({ status: 'active', integrity: 'signed' })
    expect(t.leaseRequests.at(-1)).toBe('/v1/renew')
  })

  it('an old lease replayed in a fresh record cannot outlive its own expiry', async () => {
    const t = setup()
    const store = memoryStore()
    const app = t.app('machine-a', store)
    await app.activate(t.key.key)
    const old = await storedGrant(store)
    t.advance(6 * DAY)
    expect(await app.refresh()).toMatchObject({ status: 'active' })
    const fresh = await storedGrant(store)
    t.advance(2 * DAY) // 8 days after the old lease was signed
    await store.write(serializeGrant({ ...fresh, lease: old.lease }))
    expect(await app.check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'grace_expired',
    })
    await app.settled() // the clock mark's background write, before the record is replaced
    await store.write(serializeGrant(fresh))
    expect(await app.check({ online: 'never' })).toMatchObject({ status: 'grace' })
  })

  it('a lease for another fingerprint is machine_mismatch, even with the record edited to match', async () => {
    const t = setup()
    const store = memoryStore()
    await t.app('machine-a', store).activate(t.key.key)
    const grant = await storedGrant(store)
    const copy = memoryStore()
    await copy.write(
      serializeGrant({
        ...grant,
        fingerprint: 'machine-b',
        conditions: { keygate_machine: 'machine-b' },
      }),
    )
    const state = await t.app('machine-b', copy).check({ online: 'never' })
    expect(state).toMatchObject({ status: 'inactive', reason: 'machine_mismatch' })
  })

  it('a machine whose clock runs 5 hours behind the server is active, never tampered', async () => {
    const t = setup()
    const store = memoryStore()
    let local = t.now() - 5 * 3_600_000
    const app = createLicensing({
      organizationId: t.emulator.organizationId,
      store,
      machine: staticMachine('machine-a'),
      server: 'http://127.0.0.1:9',
      fetch: t.fetch,
      now: () => local,
      leaseServer: { url: LEASE, publicKey: pair.publicJwk },
    })
    expect(await app.activate(t.key.key)).toMatchObject({ status: 'active' })
    local += 3_600_000
    expect(await app.check({ online: 'never' })).toMatchObject({
      status: 'active',
      integrity: 'signed',
    })
    local += 7 * DAY
    expect(await app.check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'grace_expired',
    })
  })

  it('refresh renews through the server: one request to it, one validate to Polar', async () => {
    const t = setup()
    const app = t.app()
    await app.activate(t.key.key)
    const activatePolar = t.emulator.requests.length
    t.emulator.clearRequests()
    t.advance(DAY + 1)
    expect(await app.refresh()).toMatchObject({ status: 'active', integrity: 'signed' })
    expect(t.leaseRequests).toEqual(['/v1/activate', '/v1/renew'])
    console.info(
      `[lease] requests to Polar: activate (new seat) ${activatePolar}, renew ${t.emulator.requests.length}`,
    )
    expect(t.emulator.requests.map((r) => r.path)).toEqual(['/v1/license-keys/validate'])
  })

  it('activating again on the same machine reuses the seat (no second activation)', async () => {
    const t = setup()
    await t.app('machine-a').activate(t.key.key)
    t.emulator.clearRequests()
    // A new install (empty store) on the same machine: the server finds the seat by fingerprint.
    expect(await t.app('machine-a').activate(t.key.key)).toMatchObject({ status: 'active' })
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    console.info(`[lease] requests to Polar: activate (seat reused) ${t.emulator.requests.length}`)
  })
})

describe('the lease server unreachable', () => {
  it('check() (auto) on every focus asks it at most once a minute, as it would Polar', async () => {
    const t = setup()
    const store = memoryStore()
    let down = false
    let tried = 0
    const app = createLicensing({
      organizationId: t.emulator.organizationId,
      store,
      machine: staticMachine('machine-a'),
      server: 'http://127.0.0.1:9',
      fetch: (input, init) => {
        if (!down) return t.fetch(input, init)
        tried += 1
        return Promise.reject(new TypeError('fetch failed'))
      },
      now: t.now,
      leaseServer: { url: LEASE, publicKey: pair.publicJwk },
    })
    await app.activate(t.key.key)
    t.advance(2 * DAY) // in grace: every auto check would like to renew
    down = true
    for (let i = 0; i < 30; i++) {
      expect(await app.check()).toMatchObject({ status: 'grace', error: { code: 'network' } })
      t.advance(1000)
    }
    t.advance(60_000)
    expect(await app.check()).toMatchObject({ status: 'grace', error: { code: 'network' } })
    expect(tried).toBe(2)
  })
})

describe('devices() and freeDevice()', () => {
  it('lists the key’s devices, this one marked, and frees another so this machine can activate', async () => {
    const t = setup({ limitActivations: 1 })
    const a = t.app('machine-a')
    await a.activate(t.key.key)
    const b = t.app('machine-b')
    const refused = await b.activate(t.key.key).catch((error: unknown) => error)
    expect(isKeygateError(refused) && refused.code).toBe('activation_limit_reached')

    const listed = await b.devices({ key: t.key.key })
    expect(listed).toEqual([
      expect.objectContaining({ label: 'Computer machine-a', current: false }),
    ])
    expect(await a.devices()).toEqual([expect.objectContaining({ current: true })])
    await b.freeDevice(listed[0]?.id ?? '', { key: t.key.key })
    expect(await b.activate(t.key.key)).toMatchObject({ status: 'active' })
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    // Machine A's lease still runs offline until it is renewed; then Polar says it is gone.
    expect(await a.refresh()).toMatchObject({ status: 'inactive', reason: 'activation_not_found' })
  })

  it('marks only this machine’s own seat current, not one carrying its fingerprint under other conditions', async () => {
    const t = setup()
    const a = t.app('machine-a')
    const state = await a.activate(t.key.key)
    const own = state.status === 'active' ? state.activation?.id : undefined
    t.advance(1000)
    // The fingerprint in meta, another machine's conditions: not this machine's seat.
    const foreign = t.emulator.addActivation(t.key, {
      label: 'Other computer',
      meta: { keygate_machine: 'machine-a' },
      conditions: { keygate_machine: 'machine-b' },
    })
    const before = t.emulator.requests.length

    const listed = await a.devices()
    expect(listed.map((d) => [d.id, d.current])).toEqual([
      [own, true],
      [foreign.id, false],
    ])
    // The app names its own activation, so the server asks Polar no more than validate and get.
    expect(t.emulator.requests.length - before).toBe(2)
  })

  it('freeing this machine’s own device forgets the local grant', async () => {
    const t = setup()
    const store = memoryStore()
    const a = t.app('machine-a', store)
    await a.activate(t.key.key)
    const [mine] = await a.devices()
    await a.freeDevice(mine?.id ?? '')
    expect(await store.read()).toBeNull()
    expect(await a.check({ online: 'never' })).toMatchObject({ reason: 'not_activated' })
  })

  it('without a lease server: a KeygateError saying one is needed', async () => {
    const emulator = createPolarEmulator()
    const app = createLicensing({
      organizationId: emulator.organizationId,
      store: memoryStore(),
      machine: staticMachine('m'),
      fetch: emulator.fetch,
    })
    const error = await app.devices({ key: 'K' }).catch((e: unknown) => e)
    expect(isKeygateError(error) && error.code).toBe('invalid_input')
    expect(String((error as Error).message)).toMatch(/lease server/)
    await expect(app.freeDevice('x', { key: 'K' })).rejects.toThrow(/lease server/)
  })
})

describe('verifying the lease at start', () => {
  const secret = new Uint8Array(32).map((_, i) => (i * 29 + 3) & 0xff)
  const keychain = { kind: 'keychain' as const, key: async () => secret }

  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** A fresh copy of core, as a new process has it: nothing verified yet, nothing loaded. */
  async function freshCore(): Promise<typeof import('@keygate/core')> {
    vi.resetModules()
    return import('@keygate/core')
  }

  async function activated(options: { keychain?: boolean } = {}) {
    const t = setup()
    const store = memoryStore()
    const app = createLicensing({
      organizationId: t.emulator.organizationId,
      store,
      machine: staticMachine('machine-a', 'Computer A'),
      server: 'http://127.0.0.1:9',
      fetch: t.fetch,
      now: t.now,
      leaseServer: { url: LEASE, publicKey: pair.publicJwk },
      ...(options.keychain ? { keychain } : {}),
    })
    expect(await app.activate(t.key.key)).toMatchObject({ status: 'active' })
    return { t, store }
  }

  function startApp(
    core: typeof import('@keygate/core'),
    t: ReturnType<typeof setup>,
    store: ReturnType<typeof memoryStore>,
    options: { keychain?: boolean; publicKey?: KeyPair['publicJwk'] } = {},
  ) {
    return core.createLicensing({
      organizationId: t.emulator.organizationId,
      store,
      machine: core.staticMachine('machine-a', 'Computer A'),
      server: 'http://127.0.0.1:9',
      fetch: t.fetch,
      now: t.now,
      leaseServer: { url: LEASE, publicKey: options.publicKey ?? pair.publicJwk },
      ...(options.keychain ? { keychain } : {}),
    })
  }

  /** Node's crypto module as core reaches it (the builtin's own object, so a spy sees calls). */
  const nodeCrypto = () => process.getBuiltinModule('node:crypto')

  /** Core running where `node:crypto` is `replacement` (undefined: none, as in a browser). */
  function nodeCryptoAs(replacement: object | undefined) {
    const real = process.getBuiltinModule.bind(process)
    vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
      id === 'node:crypto' || id === 'crypto' ? replacement : real(id)) as typeof real)
  }

  /** Web Crypto without Ed25519 (older runtimes). */
  function noWebCryptoEd25519() {
    const importKey = globalThis.crypto.subtle.importKey.bind(globalThis.crypto.subtle)
    vi.spyOn(globalThis.crypto.subtle, 'importKey').mockImplementation(((...args: unknown[]) => {
      const algorithm = args[2] as { name?: string } | string
      const name = typeof algorithm === 'string' ? algorithm : algorithm.name
      if (name === 'Ed25519') {
        return Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'))
      }
      return (importKey as (...a: unknown[]) => Promise<CryptoKey>)(...args)
    }) as typeof globalThis.crypto.subtle.importKey)
  }

  it('with a keychain, an intact record’s lease is not verified again: its MAC vouches for it', async () => {
    const { t, store } = await activated({ keychain: true })
    const core = await freshCore()
    const native = vi.spyOn(nodeCrypto(), 'verify')
    const web = vi.spyOn(globalThis.crypto.subtle, 'verify')
    const state = await startApp(core, t, store, { keychain: true }).check({ online: 'never' })
    expect(state).toMatchObject({ status: 'active', integrity: 'signed' })
    expect(native).not.toHaveBeenCalled()
    expect(web).not.toHaveBeenCalled()
  })

  it('a lease the MAC vouches for under another public key is verified, and refused', async () => {
    const { t, store } = await activated({ keychain: true })
    const other = await createKeyPair()
    const core = await freshCore()
    const state = await startApp(core, t, store, {
      keychain: true,
      publicKey: other.publicJwk,
    }).check({ online: 'never' })
    expect(state).toMatchObject({ status: 'inactive', reason: 'tampered' })
  })

  const RUNTIMES: Array<{ runtime: string; verifier: 'node' | 'web' | 'js'; as: () => void }> = [
    { runtime: 'Node and Electron', verifier: 'node', as: () => {} },
    {
      // A partial node:crypto must not read a good lease as tampered.
      runtime: 'a node:crypto that cannot import an Ed25519 key',
      verifier: 'web',
      as: () =>
        nodeCryptoAs({
          ...nodeCrypto(),
          createPublicKey: () => {
            throw new Error('Unsupported JWK key type')
          },
        }),
    },
    { runtime: 'no Node crypto', verifier: 'web', as: () => nodeCryptoAs(undefined) },
    {
      runtime: 'neither Node crypto nor Web Crypto’s Ed25519',
      verifier: 'js',
      as: () => {
        nodeCryptoAs(undefined)
        noWebCryptoEd25519()
      },
    },
  ]

  it('verifyLease, called directly under Node, needs no preload and refuses a malformed key', async () => {
    const { store } = await activated()
    const lease = (await storedGrant(store)).lease ?? ''
    expect(verifyLease(lease, pair.publicJwk)).toMatchObject({ ver: 1 })
    expect(verifyLease(lease, { ...pair.publicJwk, x: pair.publicJwk.x.slice(0, 20) })).toBeNull()
  })

  it.each(RUNTIMES)(
    'without a keychain, on $runtime, the lease is verified ($verifier) and an edited one refused',
    async ({ verifier, as }) => {
      const { t, store } = await activated()
      const core = await freshCore()
      const native = vi.spyOn(nodeCrypto(), 'verify')
      const web = vi.spyOn(globalThis.crypto.subtle, 'verify')
      as()
      expect(await startApp(core, t, store).check({ online: 'never' })).toMatchObject({
        status: 'active',
        integrity: 'signed',
      })
      expect(native).toHaveBeenCalledTimes(verifier === 'node' ? 1 : 0)
      expect(web).toHaveBeenCalledTimes(verifier === 'web' ? 1 : 0)
      await editLease(store)
      expect(await startApp(core, t, store).check({ online: 'never' })).toMatchObject({
        status: 'inactive',
        reason: 'tampered',
      })
    },
  )
})

/** Moves the lease's expiry out by a year, keeping its signature (which then fails). */
async function editLease(store: ReturnType<typeof memoryStore>) {
  const grant = await storedGrant(store)
  const [header, payload, signature] = (grant.lease ?? '').split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  const longer = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 365 * 86_400 }))
  await store.write(
    serializeGrant({ ...grant, lease: `${header}.${longer.toString('base64url')}.${signature}` }),
  )
}
