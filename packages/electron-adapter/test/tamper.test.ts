import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ElectronLicensingOptions } from '../src/electron-licensing.js'
import { ENCRYPTED_HEADER } from '../src/encrypted-store.js'
import { safeStorageKeychain } from '../src/record-key.js'
import { closeElectronApps, electronApp, T0, tempFolder } from './electron-app.js'
import { type FakeSafeStorage, fakeSafeStorage } from './fakes.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR
const YEAR = 365 * DAY

afterEach(closeElectronApps)

async function setup(options: Partial<ElectronLicensingOptions> = {}, shape?: 'sync' | 'async') {
  const app = await electronApp(shape)
  const key = app.polar.createKey({ prefix: 'ACME', limitActivations: 2 })
  const licensing = app.make(options)
  return { ...app, key, licensing, record: join(app.userData, 'license.json') }
}

/** The +1 year edit, made by someone who can decrypt the record as this OS user. */
async function addOneYear(path: string, safeStorage: FakeSafeStorage) {
  const text = await readFile(path, 'utf8')
  expect(text.startsWith(ENCRYPTED_HEADER)).toBe(true)
  const sealed = Buffer.from(text.slice(ENCRYPTED_HEADER.length), 'base64')
  const decrypt = safeStorage.decryptString ?? (() => '')
  const record = JSON.parse(decrypt(sealed)) as Record<string, number>
  record.validatedAt = (record.validatedAt ?? 0) + YEAR
  record.localValidatedAt = (record.localValidatedAt ?? 0) + YEAR
  const encrypt = safeStorage.encryptString ?? (() => Buffer.alloc(0))
  await writeFile(path, ENCRYPTED_HEADER + encrypt(JSON.stringify(record)).toString('base64'))
}

describe('the +1 year edit on the encrypted Electron store, revoked key', () => {
  it('with the default safeStorage-sealed MAC key: the record fails its MAC and is moved aside', async () => {
    const t = await setup()
    await t.licensing.start()
    expect(await t.licensing.activate(t.key.key)).toMatchObject({
      status: 'active',
      integrity: 'keychain',
    })
    // The MAC key sits beside the record, sealed: neither holds the key in plain text.
    const sealedKey = await readFile(join(t.userData, 'license.key'))
    expect((await stat(join(t.userData, 'license.key'))).mode & 0o777).toBe(0o600)
    expect(sealedKey.toString('utf8')).toMatch(/^sealed-for:alice:/)
    const plain = (t.safeStorage.decryptString ?? (() => ''))(
      Buffer.from((await readFile(t.record, 'utf8')).slice(ENCRYPTED_HEADER.length), 'base64'),
    )
    expect(plain.toLowerCase()).not.toContain(t.key.key.toLowerCase())

    t.polar.revoke(t.key)
    await addOneYear(t.record, t.safeStorage)
    t.clock.now += HOUR
    const state = await t.licensing.check()
    expect(state).toMatchObject({ status: 'inactive', note: { kind: 'unreadable' } })
    expect(state.status).not.toBe('active')
    // Activating again asks Polar, which says the key is revoked.
    await expect(t.licensing.activate(t.key.key)).rejects.toMatchObject({ code: 'revoked' })
  })

  it('without a MAC key, Polar reachable: check() revalidates at once and locks', async () => {
    const t = await setup({ keychain: false })
    await t.licensing.start()
    expect(await t.licensing.activate(t.key.key)).toMatchObject({ integrity: 'none' })
    t.polar.revoke(t.key)
    await addOneYear(t.record, t.safeStorage)
    t.clock.now += 30 * DAY
    expect(await t.licensing.check()).toMatchObject({ status: 'inactive', reason: 'revoked' })
  })

  it('without a MAC key, Polar unreachable: tampered, never active, at any time after', async () => {
    const t = await setup({ keychain: false })
    await t.licensing.start()
    await t.licensing.activate(t.key.key)
    t.polar.revoke(t.key)
    await addOneYear(t.record, t.safeStorage)
    t.polar.setOffline(true)
    for (const later of [HOUR, 8 * DAY, 200 * DAY, YEAR + 2 * DAY]) {
      t.clock.now = T0 + later
      expect(await t.licensing.check()).toMatchObject({ status: 'inactive', reason: 'tampered' })
      await t.licensing.licensing.settled()
    }
  })
})

describe('the encrypted record rewritten without its MAC', () => {
  it('is tampered offline once a record was signed on this machine, and signed again online', async () => {
    const t = await setup()
    await t.licensing.start()
    expect(await t.licensing.activate(t.key.key)).toMatchObject({ integrity: 'keychain' })
    // Someone who can decrypt the record as this OS user removes its MAC.
    const text = await readFile(t.record, 'utf8')
    const decrypt = t.safeStorage.decryptString ?? (() => '')
    const encrypt = t.safeStorage.encryptString ?? (() => Buffer.alloc(0))
    const record = JSON.parse(
      decrypt(Buffer.from(text.slice(ENCRYPTED_HEADER.length), 'base64')),
    ) as Record<string, unknown>
    delete record.mac
    delete record.sealedKey
    record.v = 1
    record.key = t.key.key
    await writeFile(t.record, ENCRYPTED_HEADER + encrypt(JSON.stringify(record)).toString('base64'))
    t.clock.now += HOUR
    t.polar.setOffline(true)
    const offline = t.make()
    await offline.start()
    expect(await offline.check()).toMatchObject({ status: 'inactive', reason: 'tampered' })
    t.polar.setOffline(false)
    t.clock.now += 2 * 60_000
    const online = t.make()
    await online.start()
    expect(await online.check()).toMatchObject({ status: 'active', integrity: 'keychain' })
  })
})

describe('safeStorageKeychain', () => {
  it('creates the key once and opens the same one on the next start (async safeStorage too)', async () => {
    const dir = await tempFolder()
    const path = () => join(dir, 'nested', 'license.key')
    const safeStorage = fakeSafeStorage('alice', 'async')
    const [a, b] = await Promise.all([
      safeStorageKeychain({ safeStorage, path }).key(),
      safeStorageKeychain({ safeStorage, path }).key(),
    ])
    expect(a?.length).toBe(32)
    expect(b).toEqual(a)
    expect(await safeStorageKeychain({ safeStorage, path }).key()).toEqual(a)
  })

  it('offers no key where the OS has no keychain, and never replaces one it cannot open', async () => {
    const dir = await tempFolder()
    const path = () => join(dir, 'license.key')
    const safeStorage = fakeSafeStorage()
    safeStorage.available = false
    expect(await safeStorageKeychain({ safeStorage, path }).key()).toBeNull()
    safeStorage.available = true
    const first = await safeStorageKeychain({ safeStorage, path }).key()
    safeStorage.available = false
    await expect(safeStorageKeychain({ safeStorage, path }).key()).rejects.toThrow(/not available/)
    safeStorage.available = true
    expect(await safeStorageKeychain({ safeStorage, path }).key()).toEqual(first)
  })

  it('reports integrity none on a machine without a keyring', async () => {
    const t = await setup()
    t.safeStorage.available = false
    await t.licensing.start()
    expect(await t.licensing.activate(t.key.key)).toMatchObject({ integrity: 'none' })
    await expect(stat(join(t.userData, 'license.key'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
