import {
  createLicensing,
  type Keychain,
  type LicenseState,
  memoryStore,
  staticMachine,
} from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createKeyPair, createLeaseServer, type KeyPair } from '@keygate/server'
import { beforeAll, describe, expect, it } from 'vitest'

// Trials through the lease server, in-process: the server signs the trial's start bound
// to the machine fingerprint, the app keeps the token, and offline only its signed times
// decide.

const LEASE = 'https://lease.example'
const DAY = 86_400_000
const T0 = Date.parse('2026-12-01T12:00:00Z')
let pair: KeyPair

beforeAll(async () => {
  pair = await createKeyPair()
})

function keychain(): Keychain & { kept: Map<string, Uint8Array> } {
  const secret = new Uint8Array(32).fill(9)
  const kept = new Map<string, Uint8Array>()
  return {
    kind: 'keychain',
    kept,
    key: async () => secret,
    remember: async (name, bytes) => {
      kept.set(name, bytes)
    },
    recall: async (name) => kept.get(name) ?? null,
  }
}

function setup() {
  let now = T0
  const clock = () => now
  const emulator = createPolarEmulator({ now: clock, rateLimit: false })
  const server = createLeaseServer({
    organizationId: emulator.organizationId,
    polarToken: emulator.createAccessToken(),
    signingKey: pair.privateJwk,
    server: 'http://127.0.0.1:9',
    fetch: emulator.fetch,
    now: clock,
  })
  const leaseRequests: string[] = []
  const fetchBoth: typeof fetch = (input, init) => {
    const request = new Request(input, init)
    if (!request.url.startsWith(LEASE)) return emulator.fetch(request)
    leaseRequests.push(new URL(request.url).pathname)
    return server.fetch(request)
  }
  const key = emulator.createKey({ limitActivations: 3 })
  const app = (fingerprint = 'machine-a', store = memoryStore(), chain?: Keychain) =>
    createLicensing({
      organizationId: emulator.organizationId,
      store,
      machine: staticMachine(fingerprint),
      server: 'http://127.0.0.1:9',
      fetch: fetchBoth,
      now: clock,
      leaseServer: { url: LEASE, publicKey: pair.publicJwk },
      trial: { days: 14 },
      ...(chain === undefined ? {} : { keychain: chain }),
    })
  return { emulator, key, app, leaseRequests, advance: (ms: number) => (now += ms) }
}

const summary = (state: LicenseState) =>
  state.status === 'inactive'
    ? `inactive:${state.reason}`
    : state.status === 'trial'
      ? `trial:${state.trial.daysLeft}`
      : state.status

describe('a trial with a lease server', () => {
  it('starts with a signed token; offline, its signed times count down to trial_expired', async () => {
    const t = setup()
    const store = memoryStore()
    const app = t.app('machine-a', store)
    // The start-up check goes nowhere: the trial starts at the first check that may.
    expect(summary(await app.check({ online: 'never' }))).toBe('inactive:not_activated')
    expect(t.leaseRequests).toEqual([])
    expect(await app.check()).toMatchObject({
      status: 'trial',
      trial: { startedAt: T0, endsAt: T0 + 14 * DAY, daysLeft: 14 },
      integrity: 'signed',
    })
    expect(t.leaseRequests).toEqual(['/v1/trial'])
    t.advance(5 * DAY)
    expect(summary(await t.app('machine-a', store).check())).toBe('trial:9')
    t.advance(9 * DAY)
    expect(summary(await t.app('machine-a', store).check())).toBe('inactive:trial_expired')
    expect(t.leaseRequests).toEqual(['/v1/trial'])
  })

  it('an edited token is refused (tampered), not a longer trial', async () => {
    const t = setup()
    const store = memoryStore()
    await t.app('machine-a', store).check()
    const record = JSON.parse((await store.read()) ?? '') as { trial: Record<string, unknown> }
    const [header, payload, signature] = String(record.trial.token).split('.')
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<
      string,
      number
    >
    claims.ends_at = (claims.ends_at ?? 0) + 365 * 86_400
    const forged = Buffer.from(JSON.stringify(claims)).toString('base64url')
    record.trial.token = `${header}.${forged}.${signature}`
    record.trial.endsAt = T0 + 400 * DAY
    await store.write(JSON.stringify(record))
    expect(await t.app('machine-a', store).check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'tampered',
      integrity: 'signed',
    })
  })

  it("another machine's token is machine_mismatch", async () => {
    const t = setup()
    const store = memoryStore()
    await t.app('machine-a', store).check()
    const copied = memoryStore(await store.read())
    expect(summary(await t.app('machine-b', copied).check({ online: 'never' }))).toBe(
      'inactive:machine_mismatch',
    )
  })

  it('with a keychain, a deleted record gets its token back without asking the server', async () => {
    const t = setup()
    const store = memoryStore()
    const chain = keychain()
    await t.app('machine-a', store, chain).check()
    t.advance(3 * DAY)
    await store.clear()
    expect(await t.app('machine-a', store, chain).check()).toMatchObject({
      status: 'trial',
      trial: { startedAt: T0, daysLeft: 11 },
      integrity: 'signed',
    })
    expect(t.leaseRequests).toEqual(['/v1/trial'])
  })

  it('activating during the trial is active', async () => {
    const t = setup()
    const app = t.app()
    await app.check()
    t.advance(DAY)
    expect(await app.activate(t.key.key)).toMatchObject({ status: 'active', integrity: 'signed' })
  })

  it('the server unreachable: not_activated with the error beside it, asked again next time', async () => {
    const t = setup()
    const store = memoryStore()
    const app = createLicensing({
      organizationId: t.emulator.organizationId,
      store,
      machine: staticMachine('machine-a'),
      fetch: () => Promise.reject(new TypeError('fetch failed')),
      leaseServer: { url: LEASE, publicKey: pair.publicJwk },
      trial: { days: 14 },
      now: () => T0,
    })
    expect(await app.check()).toMatchObject({
      status: 'inactive',
      reason: 'not_activated',
      error: { code: 'network' },
    })
    expect(await store.read()).toBeNull()
  })

  it('the server unreachable: a check on every focus asks it at most once a minute', async () => {
    const t = setup()
    let now = T0
    let tried = 0
    const app = createLicensing({
      organizationId: t.emulator.organizationId,
      store: memoryStore(),
      machine: staticMachine('machine-a'),
      fetch: () => {
        tried += 1
        return Promise.reject(new TypeError('fetch failed'))
      },
      leaseServer: { url: LEASE, publicKey: pair.publicJwk },
      trial: { days: 14 },
      now: () => now,
    })
    for (let i = 0; i < 30; i++) {
      expect(summary(await app.check())).toBe('inactive:not_activated')
      now += 1000
    }
    now += 60_000
    expect(await app.check()).toMatchObject({ error: { code: 'network' } })
    expect(tried).toBe(2)
  })
})
