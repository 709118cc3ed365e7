import { afterEach, describe, expect, it, vi } from 'vitest'
import { staticMachine } from '../../src/machine.js'
import type { Keychain } from '../../src/offline/integrity.js'
import type { LicenseState } from '../../src/offline/state.js'
import { type MemoryStore, memoryStore } from '../../src/store.js'
import { DAY, HOUR, setup, T0 } from './licensing-fixture.js'

/**
 * The reproduction and its neighbours: a user edits the record by hand to buy
 * offline time. Without a keychain the record is tamper-evident (times after the local
 * clock are refused); with one, any edit breaks its MAC.
 */

const YEAR = 365 * DAY

function keychain(seed = 7): Keychain & { calls: number } {
  const secret = new Uint8Array(32).map((_, i) => (i * 31 + seed) & 0xff)
  const chain = {
    kind: 'keychain' as const,
    calls: 0,
    async key() {
      chain.calls += 1
      return secret
    },
  }
  return chain
}

async function edit(store: MemoryStore, change: (record: Record<string, unknown>) => void) {
  const record = JSON.parse((await store.read()) ?? 'null') as Record<string, unknown>
  change(record)
  await store.write(JSON.stringify(record, null, 2))
}

const plusOneYear = (record: Record<string, unknown>) => {
  record.validatedAt = (record.validatedAt as number) + YEAR
  record.localValidatedAt = (record.localValidatedAt as number) + YEAR
}

const summary = (state: LicenseState) =>
  state.status === 'inactive' ? `inactive:${state.reason}` : state.status

describe('a record edited to buy time, without a keychain', () => {
  it('revoked key, +1 year edit, Polar reachable: check() asks Polar at once and locks', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    await edit(t.store, plusOneYear)
    t.advance(HOUR)
    const before = t.emulator.requests.length
    expect(await t.licensing.check()).toMatchObject({
      status: 'inactive',
      reason: 'revoked',
      integrity: 'none',
    })
    expect(t.endpoints(before)).toEqual(['validate'])
  })

  it('revoked key, +1 year edit, Polar unreachable: never active, at any time after', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    await edit(t.store, plusOneYear)
    t.emulator.setOffline(true)
    for (const later of [HOUR, 30 * DAY, 200 * DAY, YEAR, YEAR + 2 * DAY]) {
      t.clock.now = T0 + later
      const state = await t.licensing.check()
      expect(summary(state)).toBe('inactive:tampered')
      await t.licensing.settled()
    }
    // The refused record's clock mark was never moved up to meet the edited times.
    expect(JSON.parse((await t.store.read()) ?? '{}')).toMatchObject({ clockHighWater: T0 })
  })

  it('an unedited record offline still ends at the real last validation + grace', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.emulator.setOffline(true)
    t.clock.now = T0 + 7 * DAY
    expect((await t.licensing.check()).status).toBe('grace')
    t.clock.now = T0 + 7 * DAY + 1
    expect(summary(await t.licensing.check())).toBe('inactive:grace_expired')
  })

  it('never stores the full key verbatim, in any letter case', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const text = ((await t.store.read()) ?? '').toLowerCase()
    expect(text).not.toContain(t.key.key.toLowerCase())
    // Obscurity only: the key is encoded, and the record still revalidates with it.
    expect(await t.licensing.refresh()).toMatchObject({ status: 'active', integrity: 'none' })
  })
})

describe('a record signed with the keychain key', () => {
  it('reports integrity keychain and seals the key', async () => {
    const t = setup()
    const licensing = t.make({ keychain: keychain() })
    expect(await licensing.activate(t.key.key)).toMatchObject({
      status: 'active',
      integrity: 'keychain',
    })
    const text = (await t.store.read()) ?? ''
    expect(text.toLowerCase()).not.toContain(t.key.key.toLowerCase())
    expect(JSON.parse(text)).toHaveProperty('mac')
    expect(await licensing.check({ online: 'never' })).toMatchObject({
      status: 'active',
      integrity: 'keychain',
    })
    // A new instance (the next start) opens the sealed key and validates with it.
    expect(await t.make({ keychain: keychain() }).refresh()).toMatchObject({ status: 'active' })
  })

  it('moves an edited record aside like a damaged one: +1 year, revoked key', async () => {
    const t = setup()
    const licensing = t.make({ keychain: keychain() })
    await licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    await edit(t.store, plusOneYear)
    const before = t.emulator.requests.length
    const state = await licensing.check()
    expect(state).toMatchObject({
      status: 'inactive',
      reason: 'not_activated',
      note: { kind: 'unreadable', movedTo: 'memory:quarantined/0' },
    })
    expect(
      state.status === 'inactive' && state.note?.kind === 'unreadable' && state.note.problem,
    ).toMatch(/integrity check failed/)
    expect(t.store.quarantined).toHaveLength(1)
    expect(await t.store.read()).toBeNull()
    // Nothing was sent for a record nobody can vouch for; activating again asks Polar.
    expect(t.endpoints(before)).toEqual([])
    await expect(licensing.activate(t.key.key)).rejects.toMatchObject({ code: 'revoked' })
  })

  it.each([
    [
      'status',
      (r: Record<string, unknown>) => {
        ;(r.license as Record<string, unknown>).status = 'disabled'
      },
    ],
    [
      'limitActivations',
      (r: Record<string, unknown>) => {
        ;(r.license as Record<string, unknown>).limitActivations = 99
      },
    ],
    [
      'expiresAt',
      (r: Record<string, unknown>) => {
        ;(r.license as Record<string, unknown>).expiresAt = '2099-01-01T00:00:00Z'
      },
    ],
    [
      'clockHighWater',
      (r: Record<string, unknown>) => {
        r.clockHighWater = (r.clockHighWater as number) - DAY
      },
    ],
    [
      'validatedAt',
      (r: Record<string, unknown>) => {
        r.validatedAt = (r.validatedAt as number) + HOUR / 2
      },
    ],
    [
      'localValidatedAt within the tolerance',
      (r: Record<string, unknown>) => {
        r.localValidatedAt = (r.localValidatedAt as number) + HOUR / 2
      },
    ],
    [
      'verdict removed',
      (r: Record<string, unknown>) => {
        delete r.verdict
      },
    ],
  ])('catches an edit of %s', async (_field, change) => {
    const t = setup()
    const licensing = t.make({ keychain: keychain() })
    await licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    t.advance(2 * DAY)
    expect(await licensing.check()).toMatchObject({ reason: 'revoked' })
    await edit(t.store, change)
    expect(await licensing.check({ online: 'never' })).toMatchObject({
      reason: 'not_activated',
      note: { kind: 'unreadable' },
    })
    expect(t.store.quarantined).toHaveLength(1)
  })

  it('a record copied to another machine fails its MAC there (another keychain key)', async () => {
    const t = setup()
    await t.make({ keychain: keychain(1) }).activate(t.key.key)
    const elsewhere = t.make({ keychain: keychain(2) })
    expect(await elsewhere.check({ online: 'never' })).toMatchObject({
      reason: 'not_activated',
      note: { kind: 'unreadable' },
    })
  })

  it('a record whose MAC was removed is integrity none, and asked about at once', async () => {
    const t = setup()
    const licensing = t.make({ keychain: keychain() })
    await licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    // Rewritten in the older format, the key in plain text and no MAC.
    await edit(t.store, (r) => {
      delete r.mac
      delete r.sealedKey
      r.v = 1
      r.key = t.key.key
    })
    t.advance(HOUR)
    expect(await licensing.check({ online: 'never' })).toMatchObject({
      status: 'active',
      integrity: 'none',
    })
    const before = t.emulator.requests.length
    expect(await licensing.check()).toMatchObject({ reason: 'revoked' })
    expect(t.endpoints(before)).toEqual(['validate'])
  })

  it('a record whose MAC was removed is not signed by a failed activation of another key', async () => {
    const t = setup()
    const licensing = t.make({ keychain: keychain() })
    await licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    t.advance(2 * DAY)
    expect(await licensing.check()).toMatchObject({ reason: 'revoked' })
    await edit(t.store, (r) => {
      delete r.mac
      delete r.sealedKey
      delete r.verdict
      r.v = 1
      r.key = t.key.key
      r.localValidatedAt = t.clock.now
      r.clockHighWater = t.clock.now
    })
    const app = t.make({ keychain: keychain() })
    // Refused by Polar: the record is put back as it was, and so stays unsigned.
    await expect(app.activate('NOT-A-REAL-KEY')).rejects.toMatchObject({ code: 'key_not_found' })
    expect(JSON.parse((await t.store.read()) ?? '{}')).not.toHaveProperty('mac')
    expect(await t.make({ keychain: keychain() }).check({ online: 'never' })).toMatchObject({
      integrity: 'none',
    })
    expect(await t.make({ keychain: keychain() }).check()).toMatchObject({ reason: 'revoked' })
  })

  it('reads an older record (plain key, no MAC) and signs it at the next validation only', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    // The older format: version 1, the key verbatim.
    await edit(t.store, (r) => {
      r.v = 1
      r.key = t.key.key
      delete r.encodedKey
    })
    const licensing = t.make({ keychain: keychain() })
    t.advance(2 * HOUR)
    expect(await licensing.check({ online: 'never' })).toMatchObject({
      status: 'active',
      integrity: 'none',
    })
    // The hourly clock mark is written, but not signed: nobody verified the record.
    await licensing.settled()
    const marked = JSON.parse((await t.store.read()) ?? '{}')
    expect(marked).toMatchObject({ clockHighWater: T0 + 2 * HOUR })
    expect(marked).not.toHaveProperty('mac')
    expect(await licensing.refresh()).toMatchObject({ status: 'active', integrity: 'keychain' })
    const signed = (await t.store.read()) ?? ''
    expect(JSON.parse(signed)).toHaveProperty('mac')
    expect(signed.toLowerCase()).not.toContain(t.key.key.toLowerCase())
    expect(await licensing.check({ online: 'never' })).toMatchObject({ integrity: 'keychain' })
  })

  it('a sealed record while the keychain cannot be reached is kept and reported, not moved', async () => {
    const t = setup()
    await t.make({ keychain: keychain() }).activate(t.key.key)
    const locked: Keychain = {
      kind: 'keychain',
      key: () => Promise.reject(new Error('the keyring is locked')),
    }
    expect(await t.make({ keychain: locked }).check({ online: 'never' })).toMatchObject({
      reason: 'machine_mismatch',
      note: { kind: 'foreign' },
    })
    expect(t.store.quarantined).toHaveLength(0)
    expect(await t.make({ keychain: keychain() }).check({ online: 'never' })).toMatchObject({
      status: 'active',
    })
  })

  it('a machine whose clock runs hours behind Polar’s is never tampered', async () => {
    const t = setup()
    t.emulator.advance(5 * HOUR) // Polar's clock is 5 h ahead of this machine's
    const licensing = t.make({ keychain: keychain() })
    expect(await licensing.activate(t.key.key)).toMatchObject({ status: 'active', validatedAt: T0 })
    t.emulator.setOffline(true)
    for (const later of [0, HOUR, DAY - 1, DAY + 1, 7 * DAY]) {
      t.clock.now = T0 + later
      const state = await licensing.check()
      expect(state.status === 'inactive' ? state.reason : state.status).not.toBe('tampered')
      expect(state.status).not.toBe('inactive')
    }
  })

  it('a replayed old record (a backup restored) runs no longer than its own validation + grace', async () => {
    const t = setup()
    const licensing = t.make({ keychain: keychain() })
    await licensing.activate(t.key.key)
    const backup = (await t.store.read()) ?? ''
    t.emulator.revoke(t.key)
    t.advance(2 * DAY)
    expect(await licensing.check()).toMatchObject({ reason: 'revoked' })
    // Its MAC is genuine: the restored record reads, as of its own (old) validation.
    await t.store.write(backup)
    t.emulator.setOffline(true)
    expect(await licensing.check()).toMatchObject({ status: 'grace', integrity: 'keychain' })
    t.clock.now = T0 + 7 * DAY + 1
    expect(await licensing.check()).toMatchObject({ reason: 'grace_expired' })
    t.emulator.setOffline(false)
    // After the failed attempt a locked app waits out the quiet minute before asking again.
    t.advance(61_000)
    expect(await licensing.check()).toMatchObject({ reason: 'revoked' })
  })

  describe('where the runtime has no Node crypto (the pure-JS HMAC)', () => {
    afterEach(() => {
      vi.restoreAllMocks()
    })
    const withoutNodeCrypto = () => {
      const real = process.getBuiltinModule.bind(process)
      vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
        id === 'node:crypto' || id === 'crypto' ? undefined : real(id)) as typeof real)
    }

    it('reads a record Node’s HMAC signed, opens its key, and the other way round', async () => {
      const t = setup()
      await t.make({ keychain: keychain() }).activate(t.key.key)
      withoutNodeCrypto()
      const js = t.make({ keychain: keychain() })
      expect(await js.check({ online: 'never' })).toMatchObject({
        status: 'active',
        integrity: 'keychain',
      })
      // Written again by the pure-JS side (a validation), then read by Node's.
      expect(await js.refresh()).toMatchObject({ status: 'active', integrity: 'keychain' })
      vi.restoreAllMocks()
      expect(await t.make({ keychain: keychain() }).refresh()).toMatchObject({
        status: 'active',
        integrity: 'keychain',
      })
    })

    it('a runtime whose node:crypto computes no HMAC uses the pure-JS one', async () => {
      const t = setup()
      await t.make({ keychain: keychain() }).activate(t.key.key)
      const real = process.getBuiltinModule.bind(process)
      const partial = {
        ...(real('node:crypto') as object),
        createHmac: () => {
          throw new Error('Digest method not supported')
        },
      }
      vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
        id === 'node:crypto' ? partial : real(id)) as typeof real)
      expect(await t.make({ keychain: keychain() }).check({ online: 'never' })).toMatchObject({
        status: 'active',
        integrity: 'keychain',
      })
    })

    it('moves an edited record aside as Node’s HMAC does', async () => {
      const t = setup()
      await t.make({ keychain: keychain() }).activate(t.key.key)
      await edit(t.store, plusOneYear)
      withoutNodeCrypto()
      expect(await t.make({ keychain: keychain() }).check({ online: 'never' })).toMatchObject({
        status: 'inactive',
        reason: 'not_activated',
        note: { kind: 'unreadable' },
      })
    })
  })

  it('asks the keychain once per instance', async () => {
    const t = setup()
    const chain = keychain()
    const licensing = t.make({ keychain: chain })
    await licensing.activate(t.key.key)
    for (let i = 0; i < 5; i++) await licensing.check({ online: 'never' })
    expect(chain.calls).toBe(1)
  })
})

describe('a record copied to another machine and edited to look like its own', () => {
  /** Machine A activates (the key's only seat); its record is copied to machine B, edited by `change`. */
  async function copiedToB(change: (record: Record<string, unknown>) => void, chain?: Keychain) {
    const t = setup({ limitActivations: 1 })
    await t.licensing.activate(t.key.key)
    const storeB = memoryStore()
    const record = JSON.parse((await t.store.read()) ?? 'null') as Record<string, unknown>
    record.fingerprint = 'fp-machine-b'
    change(record)
    await storeB.write(JSON.stringify(record, null, 2))
    const machine = staticMachine('fp-machine-b', 'Bob’s desktop')
    const b = t.make({
      store: storeB,
      machine,
      ...(chain === undefined ? {} : { keychain: chain }),
    })
    return { t, b, storeB }
  }

  it.each([
    ['no keychain', undefined],
    ['a keychain on B', keychain(9)],
  ])(
    'the fingerprint edited (%s): Polar is asked with B’s conditions and refuses',
    async (_, chain) => {
      const { t, b } = await copiedToB(() => {}, chain)
      t.advance(2 * DAY)
      const state = await b.check()
      expect(state).toMatchObject({ status: 'inactive', reason: 'conditions_mismatch' })
      // Machine A keeps its seat.
      expect(await t.licensing.check()).toMatchObject({ status: 'active' })
    },
  )

  it('rewritten without its seat (activation null) for a key that uses seats: locked online, and B needs a seat of its own', async () => {
    const { t, b, storeB } = await copiedToB((r) => {
      r.activation = null
      r.conditions = {}
    }, keychain(9))
    t.advance(2 * DAY)
    expect(await b.check()).toMatchObject({ status: 'inactive', reason: 'activation_not_found' })
    expect(await b.check({ online: 'never' })).not.toMatchObject({ status: 'active' })
    // Activating on B needs a seat of its own: the only one is A's.
    await expect(b.activate(t.key.key)).rejects.toMatchObject({ code: 'activation_limit_reached' })
    expect(JSON.parse((await storeB.read()) ?? '{}')).toMatchObject({ activation: null })
  })

  it('its key edited, then the real key activated on B: A’s seat is not taken over (rekey)', async () => {
    const { t, b } = await copiedToB((r) => {
      delete r.encodedKey
      r.v = 1
      r.key = 'SOMETHING-ELSE'
    })
    await expect(b.activate(t.key.key)).rejects.toMatchObject({ code: 'activation_limit_reached' })
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
  })
})

/** A keychain that also keeps entries (`remember`/`recall`), as both built-in ones do. */
function rememberingKeychain(seed = 7): Keychain & { entries: Map<string, Uint8Array> } {
  const entries = new Map<string, Uint8Array>()
  return {
    ...keychain(seed),
    entries,
    async remember(name, bytes) {
      entries.set(name, bytes)
    },
    async recall(name) {
      return entries.get(name) ?? null
    },
  }
}

const stripMac = (r: Record<string, unknown>, key: string) => {
  delete r.mac
  delete r.sealedKey
  r.v = 1
  r.key = key
}

describe('a keychain-signed record downgraded to a plain one', () => {
  // The keychain remembers that keygate signed a record here, so a record without a MAC is
  // one whose MAC was removed, not an older one: nothing in it is believed offline.
  it('a revoked key, MAC stripped, verdict removed, times moved to now: never active offline', async () => {
    const t = setup()
    const chain = rememberingKeychain()
    const licensing = t.make({ keychain: chain })
    await licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    t.advance(2 * DAY)
    expect(await licensing.check()).toMatchObject({ reason: 'revoked' })
    await edit(t.store, (r) => {
      stripMac(r, t.key.key)
      delete r.verdict
      r.validatedAt = t.clock.now
      r.localValidatedAt = t.clock.now
      r.clockHighWater = t.clock.now
    })
    t.emulator.setOffline(true)
    for (const later of [0, HOUR, 3 * DAY, 30 * DAY]) {
      t.clock.now += later
      const app = t.make({ keychain: chain })
      expect(summary(await app.check())).toBe('inactive:tampered')
      expect(summary(await app.check({ online: 'never' }))).toBe('inactive:tampered')
      await app.settled()
    }
    t.emulator.setOffline(false)
    t.advance(61_000)
    expect(await t.make({ keychain: chain }).check()).toMatchObject({
      status: 'inactive',
      reason: 'revoked',
    })
  })

  it('unedited, only its MAC removed: tampered offline, then one validation signs it again', async () => {
    const t = setup()
    const chain = rememberingKeychain()
    await t.make({ keychain: chain }).activate(t.key.key)
    await edit(t.store, (r) => stripMac(r, t.key.key))
    t.advance(HOUR)
    const app = t.make({ keychain: chain })
    expect(await app.check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'tampered',
      integrity: 'none',
    })
    const before = t.emulator.requests.length
    expect(await app.check()).toMatchObject({ status: 'active', integrity: 'keychain' })
    expect(t.endpoints(before)).toEqual(['validate'])
    expect(JSON.parse((await t.store.read()) ?? '{}')).toHaveProperty('mac')
    t.emulator.setOffline(true)
    expect(await t.make({ keychain: chain }).check()).toMatchObject({ status: 'active' })
  })

  it('an older plain record on a machine that never signed one still runs, and is signed online', async () => {
    const t = setup()
    // Activated by a version (or an app) without a keychain: plain, and nothing remembered.
    await t.licensing.activate(t.key.key)
    const chain = rememberingKeychain()
    t.emulator.setOffline(true)
    t.advance(2 * HOUR)
    expect(await t.make({ keychain: chain }).check()).toMatchObject({
      status: 'active',
      integrity: 'none',
    })
    expect(chain.entries.size).toBe(0)
    t.emulator.setOffline(false)
    t.advance(61_000)
    expect(await t.make({ keychain: chain }).refresh()).toMatchObject({ integrity: 'keychain' })
    expect(chain.entries.has('signed')).toBe(true)
    // From now on the same downgrade is refused.
    await edit(t.store, (r) => stripMac(r, t.key.key))
    expect(await t.make({ keychain: chain }).check({ online: 'never' })).toMatchObject({
      reason: 'tampered',
    })
  })

  it('the keychain’s memory out of reach: an unsigned record reads as an older one would', async () => {
    const t = setup()
    const chain = rememberingKeychain()
    await t.make({ keychain: chain }).activate(t.key.key)
    await edit(t.store, (r) => stripMac(r, t.key.key))
    const flaky: Keychain = {
      ...chain,
      recall: () => Promise.reject(new Error('the keyring is busy')),
    }
    expect(await t.make({ keychain: flaky }).check({ online: 'never' })).toMatchObject({
      status: 'active',
      integrity: 'none',
    })
    expect(await t.make({ keychain: chain }).check({ online: 'never' })).toMatchObject({
      reason: 'tampered',
    })
  })
})
