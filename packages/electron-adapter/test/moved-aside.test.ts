import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { safeStorageKeychain } from '../src/record-key.js'
import { closeElectronApps, tempFolder } from './electron-app.js'
import { fakeSafeStorage } from './fakes.js'

/**
 * Each keyring reset moves the sealed key aside (`license.key.unreadable-<time>`): a keyring
 * reset at every start must not pile them up in userData. Only the newest few stay.
 */

const KEPT = 5
const posix = process.platform !== 'win32'
const outside: string[] = []

afterEach(async () => {
  await closeElectronApps()
  for (const dir of outside.splice(0)) await rm(dir, { recursive: true, force: true })
})

const STAMP = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z(-\d+)?$/

/** The key copies moved aside in `dir`, oldest first: by time, then by the `-<n>` suffix. */
async function movedAside(dir: string): Promise<string[]> {
  const prefix = 'license.key.unreadable-'
  const parts = (name: string) => {
    const match = /^(.*?)(?:-(\d+))?$/.exec(name.slice(prefix.length))
    return [match?.[1] ?? '', Number(match?.[2] ?? 0)] as const
  }
  return (await readdir(dir))
    .filter((name) => name.startsWith(prefix) && STAMP.test(name.slice(prefix.length)))
    .sort((a, b) => {
      const [sa, na] = parts(a)
      const [sb, nb] = parts(b)
      return sa < sb ? -1 : sa > sb ? 1 : na - nb
    })
}

/** Resets the keyring `times` times, each followed by a start that replaces the key. */
async function resetsInARow(dir: string, times: number): Promise<Buffer[]> {
  const safeStorage = fakeSafeStorage('alice')
  const keychain = () => safeStorageKeychain({ safeStorage, path: () => join(dir, 'license.key') })
  await keychain().key()
  const replaced: Buffer[] = []
  for (let i = 0; i < times; i++) {
    replaced.push(await readFile(join(dir, 'license.key')))
    safeStorage.resetKeyring()
    expect(await keychain().key()).toHaveLength(32)
  }
  return replaced
}

describe('sealed keys moved aside after keyring resets', () => {
  it(`8 resets in a row leave the newest ${KEPT} copies, the newest the last key replaced`, async () => {
    const dir = await tempFolder()
    const replaced = await resetsInARow(dir, 8)
    const kept = await movedAside(dir)
    expect(kept).toHaveLength(KEPT)
    const copies = await Promise.all(kept.map((name) => readFile(join(dir, name))))
    expect(copies).toEqual(replaced.slice(-KEPT))
  })

  it('leaves other files alone, and removes an old link without touching its target', async () => {
    const dir = await tempFolder()
    const old = 'unreadable-2020-01-01T00-00-00.000Z'
    const others = [
      'license.key.unreadable', // no dash: not a name keygate gives
      'license.key.unreadable-by-hand',
      `license.json.${old}`, // the record's, tidied by the store, not here
      `other.key.${old}`,
      'license.key.trial',
    ]
    for (const name of others) await writeFile(join(dir, name), name)
    const elsewhere = await mkdtemp(join(tmpdir(), 'keygate-electron-other-'))
    outside.push(elsewhere)
    await writeFile(join(elsewhere, `license.key.${old}`), 'in another folder')
    const target = join(elsewhere, 'precious')
    await writeFile(target, 'precious')
    const before = await stat(target)
    const link = join(dir, `license.key.${old}`)
    if (posix) await symlink(target, link)

    await resetsInARow(dir, KEPT)
    for (const name of others) expect(await readFile(join(dir, name), 'utf8')).toBe(name)
    expect(await readFile(join(elsewhere, `license.key.${old}`), 'utf8')).toBe('in another folder')
    if (posix) await expect(lstat(link)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await readFile(target, 'utf8')).toBe('precious')
    expect((await stat(target)).mtimeMs).toBe(before.mtimeMs)
    expect(await movedAside(dir)).toHaveLength(KEPT)
  })
})
