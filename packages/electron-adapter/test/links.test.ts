import { execFileSync } from 'node:child_process'
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { safeStorageKeychain } from '../src/record-key.js'
import { closeElectronApps, electronApp, tempFolder } from './electron-app.js'
import { fakeSafeStorage } from './fakes.js'

/**
 * The sealed key (`license.key`) and the copies beside it (`license.key.trial`, `.signed`)
 * are the adapter's own files: a link at their path, or anything but a file, is never read
 * or written through. It is moved aside as it is (the link, never its target).
 */

afterEach(closeElectronApps)

// Creating symlinks on Windows needs a privilege most accounts lack.
const posix = process.platform !== 'win32'

/** What was moved aside from `name` in `dir`. */
async function aside(dir: string, name: string): Promise<string[]> {
  return (await readdir(dir)).filter((entry) => entry.startsWith(`${name}.unreadable-`))
}

/** A folder of another app holding a sealed key and trial copy that Alice's keyring opens. */
async function otherApp() {
  const dir = await tempFolder()
  const keychain = safeStorageKeychain({
    safeStorage: fakeSafeStorage('alice'),
    path: () => join(dir, 'license.key'),
  })
  const key = await keychain.key()
  await keychain.remember?.('trial', new Uint8Array([7, 7, 7]))
  const files = ['license.key', 'license.key.trial'].map((name) => join(dir, name))
  const before = await Promise.all(
    files.map(async (file) => [await readFile(file), await stat(file)]),
  )
  return {
    dir,
    key,
    async unchanged() {
      for (const [i, file] of files.entries()) {
        const [bytes, info] = before[i] ?? []
        expect(await readFile(file)).toEqual(bytes)
        expect((await stat(file)).mtimeMs).toBe((info as { mtimeMs: number }).mtimeMs)
      }
      expect((await readdir(dir)).sort()).toEqual(['license.key', 'license.key.trial'])
    },
  }
}

describe.runIf(posix)('a symbolic link at the sealed key path', () => {
  const keychainIn = (dir: string) =>
    safeStorageKeychain({
      safeStorage: fakeSafeStorage('alice'),
      path: () => join(dir, 'license.key'),
    })

  it("is not read through: another app's key is not used, the link is moved aside, a new key made", async () => {
    const other = await otherApp()
    const dir = await tempFolder()
    await symlink(join(other.dir, 'license.key'), join(dir, 'license.key'))
    const key = await keychainIn(dir).key()
    expect(key).toHaveLength(32)
    expect(key).not.toEqual(other.key)
    const info = await lstat(join(dir, 'license.key'))
    expect(info.isFile()).toBe(true)
    expect(info.mode & 0o777).toBe(0o600)
    const [moved, ...more] = await aside(dir, 'license.key')
    expect(more).toEqual([])
    expect(await readlink(join(dir, moved ?? '?'))).toBe(join(other.dir, 'license.key'))
    expect(await keychainIn(dir).key()).toEqual(key)
    await other.unchanged()
  })

  it('a dangling link is moved aside and nothing is created where it points', async () => {
    const nowhere = join(await tempFolder(), 'created-through-the-link')
    const dir = await tempFolder()
    await symlink(nowhere, join(dir, 'license.key'))
    expect(await keychainIn(dir).key()).toHaveLength(32)
    expect((await lstat(join(dir, 'license.key'))).isFile()).toBe(true)
    expect(await aside(dir, 'license.key')).toHaveLength(1)
    await expect(lstat(nowhere)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('a folder there is moved aside with what it holds, and a key made', async () => {
    const dir = await tempFolder()
    await mkdir(join(dir, 'license.key'))
    await writeFile(join(dir, 'license.key', 'inside'), 'kept')
    expect(await keychainIn(dir).key()).toHaveLength(32)
    const [moved] = await aside(dir, 'license.key')
    expect(await readFile(join(dir, moved ?? '?', 'inside'), 'utf8')).toBe('kept')
  })

  it.runIf(process.platform === 'linux')(
    'a FIFO there does not hang key()',
    async () => {
      const dir = await tempFolder()
      execFileSync('mkfifo', [join(dir, 'license.key')])
      expect(await keychainIn(dir).key()).toHaveLength(32)
      const [moved] = await aside(dir, 'license.key')
      expect((await lstat(join(dir, moved ?? '?'))).isFIFO()).toBe(true)
    },
    5000,
  )

  it('an app activates beside it: the record is sealed with a key of its own', async () => {
    const other = await otherApp()
    const t = await electronApp()
    await symlink(join(other.dir, 'license.key'), join(t.userData, 'license.key'))
    const app = t.make()
    await app.start()
    const key = t.polar.createKey({ limitActivations: 1 })
    expect(await app.activate(key.key)).toMatchObject({ status: 'active', integrity: 'keychain' })
    expect((await lstat(join(t.userData, 'license.key'))).isFile()).toBe(true)
    expect(await t.make().start()).toMatchObject({ status: 'active', integrity: 'keychain' })
    await other.unchanged()
  })
})

describe.runIf(posix)("a symbolic link at a copy's path (the trial's, beside the key)", () => {
  it("is not read through: recall() says unreadable, not the other app's copy; the link is moved aside", async () => {
    const other = await otherApp()
    const dir = await tempFolder()
    const keychain = safeStorageKeychain({
      safeStorage: fakeSafeStorage('alice'),
      path: () => join(dir, 'license.key'),
    })
    await keychain.key()
    await symlink(join(other.dir, 'license.key.trial'), join(dir, 'license.key.trial'))
    expect(await keychain.recall?.('trial')).toBe('unreadable')
    const [moved, ...more] = await aside(dir, 'license.key.trial')
    expect(more).toEqual([])
    expect(await readlink(join(dir, moved ?? '?'))).toBe(join(other.dir, 'license.key.trial'))
    expect(await keychain.recall?.('trial')).toBeNull()
    await other.unchanged()
  })

  it('a dangling link is unreadable, never null, and remember() writes a file in its place', async () => {
    const nowhere = join(await tempFolder(), 'created-through-the-link')
    const dir = await tempFolder()
    const keychain = safeStorageKeychain({
      safeStorage: fakeSafeStorage('alice'),
      path: () => join(dir, 'license.key'),
    })
    await symlink(nowhere, join(dir, 'license.key.trial'))
    expect(await keychain.recall?.('trial')).toBe('unreadable')
    await symlink(nowhere, join(dir, 'license.key.trial'))
    await keychain.remember?.('trial', new Uint8Array([1, 2, 3]))
    expect((await lstat(join(dir, 'license.key.trial'))).isFile()).toBe(true)
    expect(await keychain.recall?.('trial')).toEqual(new Uint8Array([1, 2, 3]))
    await expect(lstat(nowhere)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('a folder there is unreadable and moved aside', async () => {
    const dir = await tempFolder()
    const keychain = safeStorageKeychain({
      safeStorage: fakeSafeStorage('alice'),
      path: () => join(dir, 'license.key'),
    })
    await mkdir(join(dir, 'license.key.signed'))
    expect(await keychain.recall?.('signed')).toBe('unreadable')
    expect(await aside(dir, 'license.key.signed')).toHaveLength(1)
  })
})
