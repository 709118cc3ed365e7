import { describe, expect, it } from 'vitest'
import { createLicensing } from '../../src/licensing.js'
import { staticMachine } from '../../src/machine.js'
import { createPolarClient } from '../../src/polar/client.js'
import { memoryStore } from '../../src/store.js'
import { createPolarEmulator } from '../../src/testing/index.js'
import { DAY, SERVER, setup, T0 } from './licensing-fixture.js'

/** Licensing against the emulator with Polar's real limit, on a clock the client's waits move. */
function limited(retry = 0) {
  const clock = { now: T0 }
  const emulator = createPolarEmulator({ now: () => clock.now })
  const client = createPolarClient({
    server: SERVER,
    fetch: emulator.fetch,
    retry,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms
    },
  })
  const store = memoryStore()
  const licensing = createLicensing({
    organizationId: emulator.organizationId,
    store,
    machine: staticMachine('fp-machine-a', 'Laptop'),
    client,
    now: () => clock.now,
  })
  return { clock, emulator, client, store, licensing }
}

describe('one activate() within Polar 3 requests per second', () => {
  it('probe validate, validate, activate (403), validate: no 429', async () => {
    const t = limited()
    const key = t.emulator.createKey({ limitActivations: 2 })
    await t.licensing.activate(key.key)
    // The seat was removed in the portal and the benefit no longer counts seats.
    const [seat] = t.emulator.listActivations(key)
    if (seat === undefined) throw new Error('no seat')
    t.emulator.removeActivation(seat.id)
    t.emulator.updateKey(key, { limitActivations: null })
    t.clock.now += 2 * DAY
    t.emulator.clearRequests()
    expect((await t.licensing.activate(key.key)).status).toBe('active')
    const seen = t.emulator.requests.map((r) => `${r.endpoint}:${r.status}`)
    expect(seen).toEqual(['validate:404', 'validate:200', 'activate:403', 'validate:200'])
  })

  it('four mistyped keys in a row do not block the office network', async () => {
    const t = limited()
    for (const typo of ['TYPO-AAAA1', 'TYPO-AAAA2', 'TYPO-AAAA3', 'TYPO-AAAA4']) {
      await expect(t.licensing.activate(typo)).rejects.toMatchObject({ code: 'key_not_found' })
    }
    const key = t.emulator.createKey()
    expect((await t.licensing.activate(key.key)).status).toBe('active')
    expect(t.emulator.requests.map((r) => r.status)).not.toContain(429)
  })
})

describe('a locked app (grace expired) while Polar keeps failing', () => {
  it('is paced like grace: 5 checks do not send 3 requests each', async () => {
    const t = limited(2)
    const key = t.emulator.createKey()
    await t.licensing.activate(key.key)
    t.clock.now += 8 * DAY
    t.emulator.failNext(100, 503)
    const before = t.emulator.requests.length
    for (let i = 0; i < 5; i++) {
      expect(await t.licensing.check()).toMatchObject({
        status: 'inactive',
        reason: 'grace_expired',
        error: { code: 'server' },
      })
      t.clock.now += 2000
    }
    // The first check's attempts only; the next ones answer from the cache.
    expect(t.emulator.requests.length - before).toBe(3)
    // refresh() (a user pressing "try again") still asks at once.
    t.emulator.failNext(0, 503)
    await t.licensing.refresh()
    expect(t.emulator.requests.length - before).toBeGreaterThan(3)
  })
})

describe('a successful validation whose write fails (a full disk)', () => {
  it('reports what is on disk, with the store error beside it', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.advance(2 * DAY)
    const full = {
      ...t.store,
      write: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
      },
    }
    const licensing = t.make({ store: full })
    const state = await licensing.refresh()
    expect(state).toMatchObject({ status: 'grace', validatedAt: T0, error: { code: 'store' } })
    // The next start agrees with what refresh() said.
    expect((await t.make().check({ online: 'never' })).status).toBe('grace')
  })
})

describe('activate() validates the key before it asks for a seat', () => {
  it('a mistyped key is refused by its validation: no activate sent, nothing written', async () => {
    const t = setup()
    const writes = t.counted.writes
    await expect(t.licensing.activate('ACME-TYPO-0000')).rejects.toMatchObject({
      code: 'key_not_found',
    })
    expect(t.endpoints()).toEqual(['validate'])
    expect(t.counted.writes).toBe(writes)
    expect(await t.store.read()).toBeNull()
  })

  it('a revoked key is refused the same way, and no seat is taken', async () => {
    const t = setup()
    t.emulator.revoke(t.key)
    await expect(t.licensing.activate(t.key.key)).rejects.toMatchObject({ code: 'revoked' })
    expect(t.endpoints()).toEqual(['validate'])
    expect(t.emulator.listActivations(t.key)).toEqual([])
  })
})

describe('the store is ready to write before an activation is sent', () => {
  it("calls the store's prepare() before the activate request, not after the answer", async () => {
    const t = setup()
    const events: string[] = []
    const store = {
      ...t.store,
      prepare: async () => {
        events.push(`prepare:${t.emulator.requests.length}`)
      },
      write: async (text: string) => {
        events.push(`write:${t.emulator.requests.length}`)
        await t.store.write(text)
      },
    }
    await t.make({ store }).activate(t.key.key)
    // Then the key's validation, the pending note (before the activate request) and the
    // grant (after its answer).
    expect(events).toEqual(['prepare:0', 'write:1', 'write:2'])
    expect(t.emulator.requests.map((r) => r.endpoint)).toEqual(['validate', 'activate'])
  })

  it('a prepare() that fails does not stop the activation (the write decides)', async () => {
    const t = setup()
    const store = { ...t.store, prepare: () => Promise.reject(new Error('no module')) }
    expect((await t.make({ store }).activate(t.key.key)).status).toBe('active')
  })
})
