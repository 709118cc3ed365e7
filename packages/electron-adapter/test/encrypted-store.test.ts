import { KeygateError, memoryStore } from '@keygate/core'
import { storeContract } from '@keygate/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { ENCRYPTED_HEADER, encryptedStore, encryptionStatus } from '../src/encrypted-store.js'
import { fakeSafeStorage, type SafeStorageShape } from './fakes.js'
import { harness } from './harness.js'

storeContract(
  { describe, it, expect },
  () => encryptedStore(memoryStore(), { safeStorage: fakeSafeStorage() }),
  {
    name: 'encryptedStore (safeStorage) passes the LicenseStore contract',
  },
)

storeContract(
  { describe, it, expect },
  () => {
    const safeStorage = fakeSafeStorage()
    safeStorage.available = false
    return encryptedStore(memoryStore(), { safeStorage })
  },
  { name: 'encryptedStore without a keyring passes the LicenseStore contract' },
)

describe('encryption at rest', () => {
  let stores: Array<ReturnType<typeof harness>> = []
  afterEach(() => {
    for (const h of stores) h.gate.stop()
    stores = []
  })
  const setup = (...args: Parameters<typeof harness>) => {
    const h = harness(...args)
    stores.push(h)
    return h
  }

  it('stores the grant encrypted with safeStorage and reads it back', async () => {
    const h = setup()
    const activated = await h.gate.activate(h.key.key)
    expect(activated).toMatchObject({ status: 'active', encryption: 'os' })

    const onDisk = await h.store.read()
    expect(onDisk?.startsWith(ENCRYPTED_HEADER)).toBe(true)
    // Neither the key nor any field of the grant is readable on disk.
    expect(onDisk).not.toContain(h.key.key)
    expect(onDisk).not.toContain(h.key.displayKey.slice(-6))
    expect(onDisk).not.toContain('fingerprint')

    const started = await h.gate.start()
    expect(started).toMatchObject({
      status: 'active',
      encryption: 'os',
      license: { displayKey: h.key.displayKey },
    })
  })

  it('keeps the record in plain text, and says so, when the OS has no encryption', async () => {
    const safeStorage = fakeSafeStorage()
    safeStorage.available = false
    const h = setup({ safeStorage })
    expect(await h.gate.activate(h.key.key)).toMatchObject({
      status: 'active',
      encryption: 'unavailable',
    })
    const onDisk = await h.store.read()
    expect(JSON.parse(onDisk ?? '')).toMatchObject({ v: 2 })
    expect(h.gate.encryption()).toBe('unavailable')
  })

  it("treats Linux's basic_text backend as no encryption", async () => {
    const safeStorage = fakeSafeStorage()
    safeStorage.backend = 'basic_text'
    expect(await encryptionStatus(safeStorage)).toBe('unavailable')
    safeStorage.backend = 'kwallet6'
    expect(await encryptionStatus(safeStorage)).toBe('os')
  })

  it('refuses to activate, before asking Polar, when plain text is not allowed', async () => {
    const safeStorage = fakeSafeStorage()
    safeStorage.available = false
    const h = setup({ safeStorage, gate: { allowPlainText: false } })
    const failure = await h.gate.activate(h.key.key).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(KeygateError)
    expect(failure).toMatchObject({ code: 'store' })
    expect((failure as KeygateError).message).toMatch(/keyring/)
    // No seat was taken for a grant that could not have been stored.
    expect(h.count('activate')).toBe(0)
    expect(h.polar.listActivations(h.key)).toHaveLength(0)
    expect(await h.store.read()).toBeNull()
  })

  it('reads a record encrypted by another user as machine_mismatch and leaves it alone', async () => {
    const bob = setup({ safeStorage: fakeSafeStorage('bob') })
    await bob.gate.activate(bob.key.key)
    const copied = await bob.store.read()

    // Alice's profile now holds Bob's record (a copied profile).
    const alice = setup({ store: memoryStore(copied), safeStorage: fakeSafeStorage('alice') })
    const state = await alice.gate.start()
    expect(state).toMatchObject({
      status: 'inactive',
      reason: 'machine_mismatch',
      encryption: 'os',
    })
    expect(state.status === 'inactive' && state.note?.kind === 'foreign' && state.note.why).toMatch(
      /another user account or another computer/,
    )
    expect(await alice.store.read()).toBe(copied)
    expect(alice.store.quarantined).toHaveLength(0)
  })

  it('moves the foreign record aside, never overwriting it, when this machine activates', async () => {
    const bob = setup({ safeStorage: fakeSafeStorage('bob') })
    await bob.gate.activate(bob.key.key)
    const copied = await bob.store.read()

    const alice = setup({ store: memoryStore(copied), safeStorage: fakeSafeStorage('alice') })
    await alice.gate.start()
    const key = alice.polar.createKey({ prefix: 'ALICE' })
    expect(await alice.gate.activate(key.key)).toMatchObject({ status: 'active' })
    expect(alice.store.quarantined.map((q) => q.text)).toEqual([copied])
  })

  it('keeps an encrypted record for later when the keyring is not available now', async () => {
    const safeStorage = fakeSafeStorage()
    const first = setup({ safeStorage })
    await first.gate.activate(first.key.key)
    const sealed = await first.store.read()

    const locked = fakeSafeStorage()
    locked.available = false
    const later = setup({ store: memoryStore(sealed), safeStorage: locked })
    const state = await later.gate.start()
    expect(state).toMatchObject({ status: 'inactive', reason: 'machine_mismatch' })
    expect(state.status === 'inactive' && state.note?.kind === 'foreign' && state.note.why).toMatch(
      /keyring.*not available/,
    )
    expect(await later.store.read()).toBe(sealed)
    expect(later.store.quarantined).toHaveLength(0)
  })

  it('keeps a running app active when the keyring fails mid-session on the record it wrote', async () => {
    const safeStorage = fakeSafeStorage()
    const h = setup({ safeStorage })
    await h.gate.activate(h.key.key)
    const sealed = await h.store.read()
    // The keyring hiccups (a decryption error while it reports itself available)…
    safeStorage.decryptString = () => {
      throw new Error(
        'Error while decrypting the ciphertext provided to safeStorage.decryptString.',
      )
    }
    expect(await h.gate.check({ online: 'never' })).toMatchObject({ status: 'active' })
    // …or locks: the record this process wrote still reads as what it wrote.
    safeStorage.available = false
    expect(await h.gate.check({ online: 'never' })).toMatchObject({ status: 'active' })
    expect(await h.store.read()).toBe(sealed)
    expect(h.store.quarantined).toHaveLength(0)
  })

  it('still refuses another record that cannot be decrypted, after one that could', async () => {
    const bob = setup({ safeStorage: fakeSafeStorage('bob') })
    await bob.gate.activate(bob.key.key)
    const copied = await bob.store.read()
    const store = memoryStore()
    const alice = setup({ store, safeStorage: fakeSafeStorage('alice') })
    await alice.gate.activate(alice.key.key)
    await store.write(copied ?? '')
    expect(await alice.gate.check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'machine_mismatch',
    })
  })

  it('refuses a plain record once the keyring works: moved aside, never read as active', async () => {
    const safeStorage = fakeSafeStorage()
    safeStorage.available = false
    const before = setup({ safeStorage })
    await before.gate.activate(before.key.key)
    const plain = await before.store.read()
    expect(plain?.startsWith('{')).toBe(true)
    // Someone edits the plain JSON to buy more than Polar granted.
    const edited = (plain ?? '').replace(/"limitActivations": *\d+/, '"limitActivations": 999')
    expect(edited).toContain('"limitActivations": 999')

    safeStorage.available = true
    const after = setup({ store: memoryStore(edited), safeStorage })
    const state = await after.gate.start()
    expect(state).toMatchObject({ status: 'inactive', reason: 'not_activated', encryption: 'os' })
    const note = state.status === 'inactive' ? state.note : undefined
    expect(note?.kind === 'unreadable' && note.problem).toMatch(/plain text.*keyring/)
    expect(after.store.quarantined.map((q) => q.text)).toEqual([edited])
    expect(await after.store.read()).toBeNull()
  })
})

describe.each<SafeStorageShape>(['sync', 'both', 'async'])(
  'safeStorage with the %s API',
  (shape) => {
    const made: Array<ReturnType<typeof harness>> = []
    afterEach(() => {
      for (const h of made.splice(0)) h.gate.stop()
    })
    const setup = (...args: Parameters<typeof harness>) => {
      const h = harness(...args)
      made.push(h)
      return h
    }

    it('encrypts the grant and reads it back', async () => {
      const h = setup({ safeStorage: fakeSafeStorage('alice', shape) })
      expect(await h.gate.activate(h.key.key)).toMatchObject({ status: 'active', encryption: 'os' })
      const onDisk = await h.store.read()
      expect(onDisk?.startsWith(ENCRYPTED_HEADER)).toBe(true)
      expect(onDisk).not.toContain(h.key.key)
      expect(await h.gate.start()).toMatchObject({ status: 'active', encryption: 'os' })
      expect(h.gate.encryption()).toBe('os')
    })

    it('reads a record the synchronous API sealed (an app updated to a newer Electron)', async () => {
      const old = setup({ safeStorage: fakeSafeStorage('alice', 'sync') })
      await old.gate.activate(old.key.key)
      const sealed = await old.store.read()

      const updated = harness({
        emulator: old.polar,
        store: memoryStore(sealed),
        safeStorage: fakeSafeStorage('alice', shape),
      })
      made.push(updated)
      expect(await updated.gate.start()).toMatchObject({ status: 'active', encryption: 'os' })
    })

    it('never writes the key in plain text once the record was encrypted', async () => {
      const safeStorage = fakeSafeStorage('alice', shape)
      const h = setup({ safeStorage })
      await h.gate.activate(h.key.key)
      const sealed = await h.store.read()
      const activations = h.count('activate')

      safeStorage.available = false // the keyring is gone (locked, or an API removed)
      // The record this process wrote still reads as itself; its renewal cannot be stored
      // without the keyring, and is not stored in plain text.
      const refreshed = await h.gate.refresh()
      expect(refreshed).toMatchObject({ status: 'active', error: { code: 'store' } })
      expect(refreshed.error?.message).toMatch(/keyring/)
      expect(await h.store.read()).toBe(sealed)
      // Activating again uses the seat this machine holds: no new seat, nothing written.
      await h.gate.activate(h.key.key).catch(() => undefined)
      expect(h.count('activate')).toBe(activations)
      expect(await h.store.read()).toBe(sealed)
      expect(h.store.quarantined).toHaveLength(0)
    })

    it('refuses a plain write after the keyring went away between a read and the write', async () => {
      const safeStorage = fakeSafeStorage('alice', shape)
      const inner = memoryStore()
      const store = encryptedStore(inner, { safeStorage })
      await store.write('{"v":1,"key":"ACME-SECRET-KEY"}')
      expect(await store.read()).toBe('{"v":1,"key":"ACME-SECRET-KEY"}')
      const sealed = await inner.read()

      safeStorage.available = false
      await inner.clear() // even with nothing left on disk to tell
      const failure = await store.write('{"v":1,"key":"ACME-SECRET-KEY"}').catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(KeygateError)
      expect(failure).toMatchObject({ code: 'store' })
      expect(await inner.read()).toBeNull()
      expect(sealed).not.toContain('ACME-SECRET-KEY')
    })
  },
)

describe('the quick seat note (writeQuick)', () => {
  it('is sealed like any record and handed to the inner store’s quick write', async () => {
    const quick: string[] = []
    const inner = memoryStore()
    const withQuick = {
      ...inner,
      writeQuick: async (text: string) => {
        quick.push(text)
        await inner.write(text)
      },
    }
    const store = encryptedStore(withQuick, { safeStorage: fakeSafeStorage() })
    const note = '{"v":1,"pending":{"at":1,"displayKey":"****-AB12","activationId":"act-123"}}'
    await store.writeQuick?.(note)
    expect(quick).toHaveLength(1)
    expect(quick[0]?.startsWith(ENCRYPTED_HEADER)).toBe(true)
    expect(quick[0]).not.toContain('act-123')
    expect(await store.read()).toBe(note)
  })

  it('is absent when the inner store has none (core then writes no separate note)', () => {
    const store = encryptedStore(memoryStore(), { safeStorage: fakeSafeStorage() })
    expect(store.writeQuick).toBeUndefined()
  })
})
