import { generateKeyPairSync, sign } from 'node:crypto'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ENCRYPTED_HEADER } from '../src/encrypted-store.js'
import { safeStorageKeychain } from '../src/record-key.js'
import { closeElectronApps, electronApp, T0, tempFolder } from './electron-app.js'
import { type FakeSafeStorage, fakeApp, fakeSafeStorage } from './fakes.js'

const DAY = 24 * 60 * 60 * 1000

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

/**
 * A lease server that answers only `POST /v1/trial`, signing 14-day trials with its own
 * Ed25519 key; `asked` counts its answers.
 */
function trialServer(organizationId: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const x = publicKey.export({ format: 'jwk' }).x ?? ''
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const server = {
    asked: 0,
    leaseServer: {
      url: 'https://lease.example',
      publicKey: { kty: 'OKP' as const, crv: 'Ed25519' as const, x },
    },
    async fetch(input: string, init?: RequestInit): Promise<Response> {
      const body = JSON.parse(String(init?.body)) as { fingerprint: string; days: number }
      if (!input.endsWith('/v1/trial')) return new Response('not here', { status: 404 })
      server.asked += 1
      const iat = Math.floor(T0 / 1000)
      const claims = {
        ...{ iss: 'keygate', ver: 1, organization_id: organizationId },
        ...{ fingerprint: body.fingerprint, started_at: iat, ends_at: iat + 14 * 86_400, iat },
      }
      const input_ = `${part({ alg: 'EdDSA', typ: 'keygate-trial+jwt' })}.${part(claims)}`
      const token = `${input_}.${sign(null, Buffer.from(input_), privateKey).toString('base64url')}`
      const at = (s: number) => new Date(s * 1000).toISOString()
      return Response.json({
        token,
        started_at: at(claims.started_at),
        ends_at: at(claims.ends_at),
      })
    },
  }
  return server
}

describe('after a keyring reset, the copies sealed beside the key (trial, signed) do not open', () => {
  /** Asserts `state` matches `shape` and carries no error beside it. */
  const is = (state: object, shape: object) => {
    expect(state).toMatchObject(shape)
    expect(state).not.toHaveProperty('error')
  }
  const refused = { status: 'inactive', reason: 'tampered', note: { kind: 'trial' } }

  it('a local trial is not restarted, and nothing throws: deleting the record shows it refused', async () => {
    const t = await electronApp()
    const make = () => t.make({ trial: { days: 14 } })
    expect(await make().start()).toMatchObject({ status: 'trial', integrity: 'keychain' })
    t.clock.now += 2 * DAY
    t.safeStorage.resetKeyring()

    // The record, sealed by the old keyring, reads as not this machine's.
    const after = make()
    expect(await after.start()).toMatchObject({ status: 'inactive', reason: 'machine_mismatch' })
    // Without it, the trial's copy speaks: it cannot be opened, so it is refused as a
    // trial whose record cannot be trusted (never a new 14 days), on every check alike.
    await rm(join(t.userData, 'license.json'))
    const again = make()
    is(await again.start(), refused)
    is(await again.check(), refused)
    is(await make().start(), refused)

    // Buying a license still works; deactivating then does not bring the trial back.
    const key = t.polar.createKey({ limitActivations: 1 })
    is(await again.activate(key.key), { status: 'active' })
    is(await again.deactivate(), refused)
  })

  it('a trial through the lease server is not asked for again: refused, no request', async () => {
    const t = await electronApp()
    const server = trialServer(t.polar.organizationId)
    const electron = {
      app: fakeApp(t.userData),
      safeStorage: t.safeStorage,
      net: { fetch: server.fetch, isOnline: () => true },
    }
    const make = () => t.make({ trial: { days: 14 }, leaseServer: server.leaseServer, electron })
    const first = make()
    await first.start()
    expect(await first.check()).toMatchObject({ status: 'trial', integrity: 'signed' })
    first.stop()
    expect(server.asked).toBe(1)
    t.safeStorage.resetKeyring()

    await rm(join(t.userData, 'license.json'))
    const after = make()
    await after.start()
    is(await after.check(), refused)
    expect(server.asked).toBe(1)
  })

  it('an activated app: check() says what happened, activating again works, nothing throws', async () => {
    const t = await electronApp()
    const make = () => t.make({ trial: { days: 14 } })
    const key = t.polar.createKey({ limitActivations: 2 })
    const before = make()
    await before.start()
    expect(await before.activate(key.key)).toMatchObject({ status: 'active' })
    before.stop()
    t.safeStorage.resetKeyring()

    const after = make()
    const mismatch = { status: 'inactive', reason: 'machine_mismatch' }
    expect(await after.start()).toMatchObject(mismatch)
    expect(await after.check()).toMatchObject(mismatch)
    is(await after.activate(key.key), { status: 'active' })
    expect(await make().start()).toMatchObject({ status: 'active', integrity: 'keychain' })
    // The trial ended with the first activation: deactivating does not start another.
    is(await after.deactivate(), refused)
  })

  it('a record rewritten without its MAC is still tampered offline: a record was signed here', async () => {
    const t = await electronApp()
    const key = t.polar.createKey({ limitActivations: 2 })
    const before = t.make()
    await before.start()
    await before.activate(key.key)
    before.stop()
    // Someone who can open the record as this OS user keeps it, resets the keyring, and
    // seals it again without its MAC under the new one.
    const path = join(t.userData, 'license.json')
    const decrypt = t.safeStorage.decryptString ?? (() => '')
    const encrypt = t.safeStorage.encryptString ?? (() => Buffer.alloc(0))
    const sealed = (await readFile(path, 'utf8')).slice(ENCRYPTED_HEADER.length)
    const record = JSON.parse(decrypt(Buffer.from(sealed, 'base64'))) as Record<string, unknown>
    const unsigned: Record<string, unknown> = { ...record, v: 1, key: key.key }
    delete unsigned.mac
    delete unsigned.sealedKey
    t.safeStorage.resetKeyring()
    await writeFile(path, ENCRYPTED_HEADER + encrypt(JSON.stringify(unsigned)).toString('base64'))
    t.polar.setOffline(true)
    t.clock.now += 60 * 60 * 1000
    const after = t.make()
    await after.start()
    expect(await after.check()).toMatchObject({ status: 'inactive', reason: 'tampered' })
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

  it("a copy's decryption failing while nothing round-trips: recall() rejects, unreadable only after a reset", async () => {
    const safeStorage = fakeSafeStorage()
    const { keychain } = await keyFolder(safeStorage)
    await keychain().remember?.('trial', new Uint8Array([1, 2, 3]))
    failDecryptions(safeStorage, Number.POSITIVE_INFINITY)
    await expect(keychain().recall?.('trial')).rejects.toThrow(/decrypting/)
    const other = fakeSafeStorage()
    const folder = await keyFolder(other)
    await folder.keychain().remember?.('trial', new Uint8Array([1, 2, 3]))
    other.resetKeyring()
    expect(await folder.keychain().recall?.('trial')).toBe('unreadable')
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
