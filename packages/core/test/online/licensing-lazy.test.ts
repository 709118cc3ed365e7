import { generateKeyPairSync } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { staticMachine } from '../../src/machine.js'
import { memoryStore } from '../../src/store.js'
import { DAY, setup } from './licensing-fixture.js'

// What only activate, refresh, deactivate and check's online modes run: none of it may
// load for the offline start-up check.
const ONLINE_MODULES = [
  'online/index',
  'online/activate',
  'online/revalidate',
  'online/grant-from-polar',
  'polar/rules',
  'polar/http-client',
] as const

afterEach(() => {
  for (const name of ONLINE_MODULES) vi.doUnmock(`../../src/${name}.js`)
  vi.resetModules()
})

/** A fresh licensing module whose online modules record when they load. */
async function freshLicensing(options: { failOnline?: { times: number } } = {}) {
  const loads: string[] = []
  let failures = options.failOnline?.times ?? 0
  vi.resetModules()
  for (const name of ONLINE_MODULES) {
    vi.doMock(`../../src/${name}.js`, async (importOriginal) => {
      if (name === 'online/index' && failures > 0) {
        failures -= 1
        // As when an app ships without the chunk, or an update replaces it meanwhile.
        throw new Error('Cannot find module online-x1y2.js')
      }
      loads.push(name)
      return importOriginal()
    })
  }
  const { createLicensing } = await import('../../src/licensing.js')
  return { createLicensing, loads }
}

describe('the start-up path', () => {
  it("check({ online: 'never' }) loads none of the online code; going online does", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const record = await t.store.read()

    const { createLicensing, loads } = await freshLicensing()
    const licensing = createLicensing({
      organizationId: t.emulator.organizationId,
      store: memoryStore(record),
      machine: staticMachine('fp-machine-a'),
      server: 'http://emulator.local',
      fetch: t.emulator.fetch,
      now: () => t.clock.now,
    })
    t.advance(3 * DAY)
    expect((await licensing.check({ online: 'never' })).status).toBe('grace')
    expect(loads).toEqual([])
    expect((await licensing.check()).status).toBe('active')
    expect([...loads].sort()).toEqual([...ONLINE_MODULES].sort())
  })

  it('a fresh start-up check (no record) loads none of it either', async () => {
    const { createLicensing, loads } = await freshLicensing()
    const licensing = createLicensing({
      organizationId: '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f',
      store: memoryStore(),
      machine: staticMachine('fp-machine-a'),
    })
    expect(await licensing.check()).toMatchObject({ status: 'inactive', reason: 'not_activated' })
    expect(loads).toEqual([])
  })
})

describe('when the online code cannot be loaded', () => {
  async function scenario() {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const record = await t.store.read()
    const store = memoryStore(record)
    const { createLicensing, loads } = await freshLicensing({ failOnline: { times: 1 } })
    const licensing = createLicensing({
      organizationId: t.emulator.organizationId,
      store,
      machine: staticMachine('fp-machine-a'),
      client: t.client,
      now: () => t.clock.now,
    })
    return { t, store, record, licensing, loads }
  }

  it('refresh() reports the cached state with the error beside it, then loads on the next call', async () => {
    const { t, store, record, licensing, loads } = await scenario()
    t.advance(3 * DAY)
    const since = t.emulator.requests.length

    const failed = await licensing.refresh()
    expect(failed).toMatchObject({ status: 'grace', why: 'unreachable' })
    expect(failed.error).toMatchObject({ name: 'KeygateError', code: 'network' })
    expect(failed.error?.message).toMatch(
      /online licensing code .* ships all of the package's files/,
    )
    expect(failed.error?.message).not.toContain(t.key.key)
    expect(await store.read()).toBe(record)
    expect(t.endpoints(since)).toEqual([])
    expect(loads).toEqual([])

    // Not cached: the next call tries the import again.
    expect(await licensing.refresh()).toMatchObject({ status: 'active' })
    expect(loads).toContain('online/index')
    expect(t.endpoints(since)).toEqual(['validate'])
  })

  it("check({ online: 'auto' }) falls back the same way when revalidation is due", async () => {
    const { t, licensing } = await scenario()
    t.advance(2 * DAY)
    const since = t.emulator.requests.length
    const state = await licensing.check()
    expect(state).toMatchObject({ status: 'grace', why: 'unreachable', error: { code: 'network' } })
    expect(t.endpoints(since)).toEqual([])
    expect(await licensing.check()).toMatchObject({ status: 'active' })
    expect(t.endpoints(since)).toEqual(['validate'])
  })

  it('activate() and deactivate() reject with a KeygateError, and work once it loads', async () => {
    const { t, store, licensing } = await scenario()
    const failed = await licensing.deactivate().then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failed).toMatchObject({ name: 'KeygateError', code: 'network' })
    expect(await store.read()).not.toBeNull()

    await licensing.deactivate()
    expect(await store.read()).toBeNull()
    expect(await licensing.activate(t.key.key)).toMatchObject({ status: 'active' })
  })

  it('activate() failing to load rejects without the key in the error', async () => {
    const { t, licensing } = await scenario()
    const failed = await licensing.activate(t.key.key).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failed).toMatchObject({ name: 'KeygateError', code: 'network' })
    expect(JSON.stringify(failed)).not.toContain(t.key.key)
    expect(String(failed)).not.toContain(t.key.key)
  })
})

// What only a lease server's records (offline/lease/) or a trial (offline/trial/) need: a
// plain grant's start-up check loads neither.
const ON_DEMAND = ['offline/lease/index', 'offline/trial/index'] as const

describe('the lease and trial code', () => {
  afterEach(() => {
    for (const name of ON_DEMAND) vi.doUnmock(`../../src/${name}.js`)
    vi.resetModules()
  })

  async function fresh() {
    const loads: string[] = []
    vi.resetModules()
    for (const name of ON_DEMAND) {
      vi.doMock(`../../src/${name}.js`, async (importOriginal) => {
        loads.push(name)
        return importOriginal()
      })
    }
    const { createLicensing } = await import('../../src/licensing.js')
    return { createLicensing, loads }
  }

  async function grantRecord() {
    const t = setup()
    await t.licensing.activate(t.key.key)
    return { t, record: await t.store.read() }
  }

  it('a plain grant loads neither, checked offline or online', async () => {
    const { t, record } = await grantRecord()
    const { createLicensing, loads } = await fresh()
    const licensing = createLicensing({
      organizationId: t.emulator.organizationId,
      store: memoryStore(record),
      machine: staticMachine('fp-machine-a'),
      client: t.client,
      now: () => t.clock.now,
    })
    expect(await licensing.check({ online: 'never' })).toMatchObject({ status: 'active' })
    t.advance(2 * DAY)
    expect(await licensing.check()).toMatchObject({ status: 'active' })
    expect(loads).toEqual([])
  })

  it('an app with trials loads the trial code only, and starts the trial', async () => {
    const { createLicensing, loads } = await fresh()
    const licensing = createLicensing({
      organizationId: '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f',
      store: memoryStore(),
      machine: staticMachine('fp-machine-a'),
      trial: { days: 14 },
    })
    expect(await licensing.check({ online: 'never' })).toMatchObject({
      status: 'trial',
      trial: { daysLeft: 14 },
    })
    expect(loads).toEqual(['offline/trial/index'])
  })

  it('a lease server loads the lease code: a grant without a lease is then refused', async () => {
    const { t, record } = await grantRecord()
    const { publicKey } = generateKeyPairSync('ed25519')
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string }
    const { createLicensing, loads } = await fresh()
    const licensing = createLicensing({
      organizationId: t.emulator.organizationId,
      store: memoryStore(record),
      machine: staticMachine('fp-machine-a'),
      client: t.client,
      now: () => t.clock.now,
      leaseServer: {
        url: 'https://lease.example.com',
        publicKey: { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
      },
    })
    expect(await licensing.check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'tampered',
      integrity: 'signed',
    })
    expect(loads).toEqual(['offline/lease/index'])
  })
})
