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
import { createFileStore, nodeMachine } from '@keygate/node-store'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

/**
 * Moved-aside copies (`<file>.unreadable-<time>`) are kept for support, but a loop of
 * resets must not pile them up in the user's app-data folder: only the newest few stay.
 */

const KEPT = 5
const posix = process.platform !== 'win32'

// The time keygate puts in the name (ISO for the record, ms for the install id), `-<n>`.
const STAMP = /^(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z|\d{13})(-\d+)?$/

/** Our moved-aside copies of `name` in `dir`, oldest first (the time in the name sorts). */
async function aside(dir: string, name: string): Promise<string[]> {
  const prefix = `${name}.unreadable-`
  return (await readdir(dir))
    .filter((entry) => entry.startsWith(prefix) && STAMP.test(entry.slice(prefix.length)))
    .sort(byStamp(prefix))
}

/** Orders `<prefix><time>[-<n>]` names by time, then by n as a number. */
function byStamp(prefix: string) {
  const parts = (name: string) => {
    const match = /^(.*?)(?:-(\d+))?$/.exec(name.slice(prefix.length))
    return [match?.[1] ?? '', Number(match?.[2] ?? 0)] as const
  }
  return (a: string, b: string) => {
    const [sa, na] = parts(a)
    const [sb, nb] = parts(b)
    return sa < sb ? -1 : sa > sb ? 1 : na - nb
  }
}

/** A file outside the store's folder, to prove it is never reached through a link. */
async function outsideFile(): Promise<{ path: string; unchanged(): Promise<void> }> {
  const path = join(await tempDir('keygate-other-app-'), 'license.json')
  await writeFile(path, '{"another":"app"}\n')
  const before = await stat(path)
  return {
    path,
    async unchanged() {
      expect(await readFile(path, 'utf8')).toBe('{"another":"app"}\n')
      expect((await stat(path)).mtimeMs).toBe(before.mtimeMs)
    },
  }
}

/** Damages the record `times` times in a row, each one read and moved aside as check() does. */
async function damageInARow(dir: string, times: number, from = 0): Promise<void> {
  for (let i = from; i < from + times; i++) {
    const store = createFileStore({ dir })
    await writeFile(store.path, `damaged ${i}`)
    expect(await store.read()).toBe(`damaged ${i}`)
    expect(await store.quarantine('not a grant')).not.toBeNull()
  }
}

describe('moved-aside license records', () => {
  it(`8 damaged records in a row leave the newest ${KEPT}, the newest the last damage`, async () => {
    const dir = await tempDir()
    await damageInARow(dir, 8)
    const kept = await aside(dir, 'license.json')
    expect(kept).toHaveLength(KEPT)
    const texts = await Promise.all(kept.map((name) => readFile(join(dir, name), 'utf8')))
    expect(texts).toEqual(['damaged 3', 'damaged 4', 'damaged 5', 'damaged 6', 'damaged 7'])
  })

  it('a store tidies copies an older keygate left on its first write', async () => {
    const dir = await tempDir()
    for (let day = 1; day <= 9; day++) {
      await writeFile(join(dir, `license.json.unreadable-2025-06-0${day}T10-00-00.000Z`), `${day}`)
    }
    await createFileStore({ dir }).write('fresh')
    expect(await aside(dir, 'license.json')).toEqual(
      [5, 6, 7, 8, 9].map((day) => `license.json.unreadable-2025-06-0${day}T10-00-00.000Z`),
    )
  })

  it('a folder moved aside is removed with what it holds once it is among the oldest', async () => {
    const dir = await tempDir()
    const store = createFileStore({ dir })
    await mkdir(store.path)
    await writeFile(join(store.path, 'inside'), 'kept for now')
    const folder = await store.quarantine('a folder')
    expect(await readFile(join(folder as string, 'inside'), 'utf8')).toBe('kept for now')
    await damageInARow(dir, KEPT)
    await expect(lstat(folder as string)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await aside(dir, 'license.json')).toHaveLength(KEPT)
  })

  it('leaves everything that is not its own moved-aside copy alone', async () => {
    const dir = await tempDir()
    const elsewhere = await tempDir('keygate-elsewhere-')
    const old = 'unreadable-2020-01-01T00-00-00.000Z'
    const others = [
      'other-app.json',
      'license.json.unreadable', // no dash: not a name keygate gives
      'license.json.unreadable-by-hand.txt', // ours in form, but no time of ours
      `other.json.${old}`, // another file's copy
      `license.pacing.json.${old}`,
      `xlicense.json.${old}`,
    ]
    for (const name of others) await writeFile(join(dir, name), name)
    await mkdir(join(dir, 'sub'))
    await writeFile(join(dir, 'sub', `license.json.${old}`), 'in a subfolder')
    await writeFile(join(elsewhere, `license.json.${old}`), 'in another folder')
    await damageInARow(dir, 8)
    for (const name of others) expect(await readFile(join(dir, name), 'utf8')).toBe(name)
    expect(await readFile(join(dir, 'sub', `license.json.${old}`), 'utf8')).toBe('in a subfolder')
    expect(await readFile(join(elsewhere, `license.json.${old}`), 'utf8')).toBe('in another folder')
    expect(await aside(dir, 'license.json')).toHaveLength(KEPT)
  })

  it.runIf(posix)('a link moved aside is removed as a link, its target untouched', async () => {
    const dir = await tempDir()
    const target = await outsideFile()
    const targetDir = await tempDir('keygate-other-folder-')
    await writeFile(join(targetDir, 'precious'), 'precious')
    const store = createFileStore({ dir })
    await symlink(target.path, store.path)
    await expect(store.read()).rejects.toMatchObject({ code: 'store' })
    const fileLink = await store.quarantine('a symbolic link')
    expect(await readlink(fileLink as string)).toBe(target.path)
    await symlink(targetDir, store.path)
    await expect(store.read()).rejects.toMatchObject({ code: 'store' })
    const folderLink = await store.quarantine('a symbolic link')
    expect(await readlink(folderLink as string)).toBe(targetDir)

    await damageInARow(dir, KEPT)
    await expect(lstat(fileLink as string)).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(lstat(folderLink as string)).rejects.toMatchObject({ code: 'ENOENT' })
    await target.unchanged()
    expect(await readFile(join(targetDir, 'precious'), 'utf8')).toBe('precious')
  })

  it('the copy just moved aside is kept even when the clock went back', async () => {
    const dir = await tempDir()
    for (let n = 0; n < 7; n++) {
      await writeFile(join(dir, `license.json.unreadable-2099-01-01T00-00-0${n}.000Z`), `${n}`)
    }
    const store = createFileStore({ dir })
    await writeFile(store.path, 'damaged now')
    await store.read()
    const moved = await store.quarantine('not a grant')
    expect(await readFile(moved as string, 'utf8')).toBe('damaged now')
    expect(await aside(dir, 'license.json')).toHaveLength(KEPT)
  })
})

describe('moved-aside install ids', () => {
  /** Damages the install id and has a new machine replace it, `times` times. */
  async function damageIds(dir: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      await writeFile(join(dir, 'install-id'), `damaged ${i}`)
      await nodeMachine({ cache: false, salt: 's', dir, sources: [] }).fingerprint()
    }
  }

  it(`8 damaged ids in a row leave the newest ${KEPT}, the newest the last damage`, async () => {
    const dir = await tempDir()
    await damageIds(dir, 8)
    const kept = await aside(dir, 'install-id')
    expect(kept).toHaveLength(KEPT)
    const texts = await Promise.all(kept.map((name) => readFile(join(dir, name), 'utf8')))
    expect(texts).toEqual(['damaged 3', 'damaged 4', 'damaged 5', 'damaged 6', 'damaged 7'])
  })

  it('leaves other files alone, and removes an old link without touching its target', async () => {
    const dir = await tempDir()
    const others = ['install-id.unreadable', 'install-id.unreadable-notes', 'install-idx']
    for (const name of others) await writeFile(join(dir, name), name)
    const target = await outsideFile()
    const link = join(dir, 'install-id.unreadable-1000000000000')
    if (posix) await symlink(target.path, link)
    await damageIds(dir, KEPT)
    for (const name of others) expect(await readFile(join(dir, name), 'utf8')).toBe(name)
    if (posix) await expect(lstat(link)).rejects.toMatchObject({ code: 'ENOENT' })
    await target.unchanged()
    expect(await aside(dir, 'install-id')).toHaveLength(KEPT)
  })

  it('two ids damaged within one millisecond keep two copies: the second never replaces the first', async () => {
    const dir = await tempDir()
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(new Date('2026-03-01T10:00:00.000Z'))
      await damageIds(dir, 2)
    } finally {
      vi.useRealTimers()
    }
    const kept = await aside(dir, 'install-id')
    const texts = await Promise.all(kept.map((name) => readFile(join(dir, name), 'utf8')))
    expect(texts).toEqual(['damaged 0', 'damaged 1'])
  })
})
