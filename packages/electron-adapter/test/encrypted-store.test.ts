import { KeygateError, memoryStore } from '@keygate/core'
import { storeContract } from '@keygate/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { ENCRYPTED_HEADER, encryptedStore, encryptionStatus } from '../src/encrypted-store.js'
import { fakeSafeStorage } from './fakes.js'
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
    expect(JSON.parse(onDisk ?? '')).toMatchObject({ v: 1 })
    expect(h.gate.encryption()).toBe('unavailable')
  })

  it("treats Linux's basic_text backend as no encryption", () => {
    const safeStorage = fakeSafeStorage()
    safeStorage.backend = 'basic_text'
    expect(encryptionStatus(safeStorage)).toBe('unavailable')
    safeStorage.backend = 'kwallet6'
    expect(encryptionStatus(safeStorage)).toBe('os')
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

  it('reads a plain record while encryption is available, and encrypts it on the next write', async () => {
    const safeStorage = fakeSafeStorage()
    safeStorage.available = false
    const before = setup({ safeStorage })
    await before.gate.activate(before.key.key)
    const plain = await before.store.read()
    expect(plain?.startsWith('{')).toBe(true)

    safeStorage.available = true // e.g. the user installed a keyring
    expect(await before.gate.start()).toMatchObject({ status: 'active', encryption: 'os' })
    expect(await before.store.read()).toBe(plain) // reading never rewrites
    await before.gate.refresh()
    expect((await before.store.read())?.startsWith(ENCRYPTED_HEADER)).toBe(true)
  })
})
