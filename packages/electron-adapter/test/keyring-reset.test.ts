import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { safeStorageKeychain } from '../src/record-key.js'
import { closeElectronApps, electronApp, tempFolder } from './electron-app.js'
import { type FakeSafeStorage, fakeSafeStorage } from './fakes.js'

afterEach(closeElectronApps)

/** The files beside the key that hold a key moved aside as unreadable. */
async function movedAside(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('license.key.unreadable-')).sort()
}

/** The sealed key in `dir`, and the folder's listing, to compare before and after. */
async function snapshot(dir: string) {
  return { key: await readFile(join(dir, 'license.key')), files: (await readdir(dir)).sort() }
}

/** A folder holding a sealed key made by `safeStorage`, and keychains on it. */
async function keyFolder(safeStorage: FakeSafeStorage) {
  const dir = await tempFolder()
  const path = () => join(dir, 'license.key')
  const keychain = () => safeStorageKeychain({ safeStorage, path })
  const first = await keychain().key()
  return { dir, path, keychain, first, sealed: await readFile(path()) }
}

/** What Electron's safeStorage throws for bytes it cannot decrypt. */
const DECRYPT_ERROR = 'Error while decrypting the ciphertext provided to safeStorage.decryptString.'

/**
 * Another process's recovery, run while this one waits on the decryption of the old key;
 * once it is done, `then` sees every later decryption first (true: fail it).
 */
function quickRecovery(
  safeStorage: FakeSafeStorage,
  oldKey: Buffer,
  keychain: () => ReturnType<typeof safeStorageKeychain>,
  then: (encrypted: Buffer) => Promise<boolean> | boolean = () => false,
): () => Promise<Uint8Array | null> | undefined {
  const decrypt = safeStorage.decryptStringAsync
  if (decrypt === undefined) throw new Error('the fake has no asynchronous decryption')
  let quick: Promise<Uint8Array | null> | undefined
  let recovered = false
  safeStorage.decryptStringAsync = async (encrypted) => {
    if (quick === undefined && encrypted.equals(oldKey)) {
      quick = keychain().key()
      await quick
      recovered = true
    } else if (recovered && (await then(encrypted))) {
      throw new Error(DECRYPT_ERROR)
    }
    return decrypt(encrypted)
  }
  return () => quick
}

/** Makes the next `times` decryptions fail while the keyring says it is available. */
function failDecryptions(safeStorage: FakeSafeStorage, times: number): void {
  const decrypt = safeStorage.decryptString
  if (decrypt === undefined) throw new Error('the fake has no synchronous decryption')
  let left = times
  safeStorage.decryptString = (encrypted) => {
    if (left-- > 0) throw new Error(DECRYPT_ERROR)
    return decrypt(encrypted)
  }
}

describe('after the OS keyring was reset (safeStorage works, the old license.key never opens)', () => {
  it('activating again seals the record with a new key: integrity keychain, the old key kept aside', async () => {
    const t = await electronApp()
    const key = t.polar.createKey({ prefix: 'ACME', limitActivations: 2 })
    const before = t.make()
    await before.start()
    expect(await before.activate(key.key)).toMatchObject({ integrity: 'keychain' })
    const oldKey = await readFile(join(t.userData, 'license.key'))
    before.stop()

    t.safeStorage.resetKeyring()
    const after = t.make()
    // The record was sealed by the old keyring too: it reads as another machine's.
    expect(await after.start()).toMatchObject({ status: 'inactive', reason: 'machine_mismatch' })
    expect(await after.activate(key.key)).toMatchObject({
      status: 'active',
      integrity: 'keychain',
      encryption: 'os',
    })
    // The unreadable record's seat is not known here: a new one is taken (as the README
    // says), the old one stays until freed in the customer portal.
    expect(t.polar.listActivations(key)).toHaveLength(2)

    // A new key, sealed by the keyring that works now; the old one moved aside, unchanged.
    const newKey = await readFile(join(t.userData, 'license.key'))
    expect(newKey.equals(oldKey)).toBe(false)
    const aside = await movedAside(t.userData)
    expect(aside).toHaveLength(1)
    expect((await readFile(join(t.userData, aside[0] ?? ''))).equals(oldKey)).toBe(true)

    // The next start opens the record and verifies its MAC with the new key.
    const next = t.make()
    expect(await next.start()).toMatchObject({ status: 'active', integrity: 'keychain' })
    expect(await movedAside(t.userData)).toHaveLength(1)
  })

  it('of racing recoveries, one moves the old key aside and all use the key it created', async () => {
    const safeStorage = fakeSafeStorage('alice', 'async')
    const { dir, keychain, first, sealed: oldKey } = await keyFolder(safeStorage)
    safeStorage.resetKeyring()

    const keys = await Promise.all([1, 2, 3].map(() => keychain().key()))
    expect(keys[0]?.length).toBe(32)
    expect(keys[0]).not.toEqual(first)
    expect(keys[1]).toEqual(keys[0])
    expect(keys[2]).toEqual(keys[0])
    const aside = await movedAside(dir)
    expect(aside).toHaveLength(1)
    expect((await readFile(join(dir, aside[0] ?? ''))).equals(oldKey)).toBe(true)
    expect(await keychain().key()).toEqual(keys[0])
  })

  it('a recovery that read the old key after another one replaced it opens that new key', async () => {
    const safeStorage = fakeSafeStorage('alice', 'async')
    const { dir, keychain, sealed: oldKey } = await keyFolder(safeStorage)
    safeStorage.resetKeyring()
    // The slow process read the old bytes; before it learns that they do not open, the
    // quick one has moved them aside and linked its new key into place.
    const quick = quickRecovery(safeStorage, oldKey, keychain)
    const slow = await keychain().key()
    expect(slow?.length).toBe(32)
    expect(slow).toEqual(await quick())
    expect(await movedAside(dir)).toHaveLength(1)
    expect(await keychain().key()).toEqual(slow)
  })

  it('a recovery that cannot open the key another one just created leaves that key alone', async () => {
    const safeStorage = fakeSafeStorage('alice', 'async')
    const { dir, path, keychain, sealed: oldKey } = await keyFolder(safeStorage)
    safeStorage.resetKeyring()
    let failed = false
    const quick = quickRecovery(safeStorage, oldKey, keychain, async (encrypted) => {
      // The slow process's keyring hiccups on the new key: it is still not its to move.
      if (failed || !encrypted.equals(await readFile(path()))) return false
      failed = true
      return true
    })
    await expect(keychain().key()).rejects.toThrow(/decrypting/)
    expect(await movedAside(dir)).toHaveLength(1)
    expect(await keychain().key()).toEqual(await quick())
  })
})

describe('a keyring that fails now never replaces the key', () => {
  it('unavailable: key() rejects and license.key stays as it is', async () => {
    const safeStorage = fakeSafeStorage()
    const { dir, keychain, first } = await keyFolder(safeStorage)
    const before = await snapshot(dir)
    safeStorage.available = false
    await expect(keychain().key()).rejects.toThrow()
    expect(await snapshot(dir)).toEqual(before)
    safeStorage.available = true
    expect(await keychain().key()).toEqual(first)
  })

  it('a decryption that fails once (the same bytes open again): the same key, nothing moved', async () => {
    const safeStorage = fakeSafeStorage()
    const { dir, keychain, first } = await keyFolder(safeStorage)
    const before = await snapshot(dir)
    failDecryptions(safeStorage, 1)
    const again = await keychain()
      .key()
      .catch(() => keychain().key())
    expect(again).toEqual(first)
    expect(await snapshot(dir)).toEqual(before)
  })

  it('every decryption failing (a probe cannot be opened either): key() rejects, nothing moved', async () => {
    const safeStorage = fakeSafeStorage()
    const { dir, keychain, first } = await keyFolder(safeStorage)
    const before = await snapshot(dir)
    const decrypt = safeStorage.decryptString
    if (decrypt === undefined) throw new Error('the fake has no synchronous decryption')
    failDecryptions(safeStorage, Number.POSITIVE_INFINITY)
    await expect(keychain().key()).rejects.toThrow(/decrypting/)
    expect(await snapshot(dir)).toEqual(before)
    safeStorage.decryptString = decrypt
    expect(await keychain().key()).toEqual(first)
  })

  it('encryption failing while it says it is available: key() rejects, nothing moved', async () => {
    const safeStorage = fakeSafeStorage()
    const { dir, keychain } = await keyFolder(safeStorage)
    safeStorage.resetKeyring()
    const before = await snapshot(dir)
    safeStorage.encryptString = () => {
      throw new Error('Encryption is not available.')
    }
    await expect(keychain().key()).rejects.toThrow()
    expect(await snapshot(dir)).toEqual(before)
  })
})
