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
import { createLicensing, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createFileStore } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

// Creating symlinks on Windows needs a privilege most accounts lack; the read side there
// refuses a link through lstat, which these tests cannot reach without one.
const posix = process.platform !== 'win32'

/** Another app's record outside the store folder, and its bytes and times to compare. */
async function outsideRecord(): Promise<{
  path: string
  unchanged(): Promise<void>
}> {
  const path = join(await tempDir('keygate-other-app-'), 'license.json')
  await writeFile(path, '{"another":"app"}\n', { mode: 0o644 })
  const before = await stat(path)
  return {
    path,
    async unchanged() {
      const after = await stat(path)
      expect(await readFile(path, 'utf8')).toBe('{"another":"app"}\n')
      expect(after.mtimeMs).toBe(before.mtimeMs)
      expect(after.mode).toBe(before.mode)
      expect(after.ino).toBe(before.ino)
    },
  }
}

async function aside(dir: string, prefix: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith(`${prefix}.unreadable-`))
}

describe.runIf(posix)('a symbolic link at the record path', () => {
  it('is not read through: read() says it is a link and quarantine moves the link itself', async () => {
    const target = await outsideRecord()
    const store = createFileStore({ dir: await tempDir() })
    await symlink(target.path, store.path)
    await expect(store.read()).rejects.toMatchObject({
      code: 'store',
      message: expect.stringContaining('symbolic link'),
    })
    const moved = await store.quarantine('a symbolic link')
    expect(moved).not.toBeNull()
    expect((await lstat(moved as string)).isSymbolicLink()).toBe(true)
    expect(await readlink(moved as string)).toBe(target.path)
    expect(await store.read()).toBeNull()
    await target.unchanged()
  })

  it('is never written through: write() moves the link aside and writes a 0600 file in the folder', async () => {
    const target = await outsideRecord()
    const dir = await tempDir()
    const store = createFileStore({ dir })
    await symlink(target.path, store.path)
    await store.write('{"mine":true}')
    const info = await lstat(store.path)
    expect(info.isFile()).toBe(true)
    expect(info.mode & 0o777).toBe(0o600)
    expect(await store.read()).toBe('{"mine":true}')
    const [link, ...more] = await aside(dir, 'license.json')
    expect(more).toEqual([])
    expect(await readlink(join(dir, link ?? '?'))).toBe(target.path)
    await target.unchanged()
  })

  it('a dangling link is damaged too, and nothing is created where it points', async () => {
    const dir = await tempDir()
    const nowhere = join(await tempDir('keygate-nowhere-'), 'created-through-the-link.json')
    const store = createFileStore({ dir })
    await symlink(nowhere, store.path)
    await expect(store.read()).rejects.toMatchObject({ code: 'store' })
    await store.write('{"mine":true}')
    await expect(lstat(nowhere)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await store.read()).toBe('{"mine":true}')
  })

  it('activate() and check() leave another app’s record alone and keep the grant in the folder', async () => {
    const target = await outsideRecord()
    const dir = await tempDir()
    const polar = createPolarEmulator({ rateLimit: false })
    const app = () =>
      createLicensing({
        organizationId: polar.organizationId,
        store: createFileStore({ dir }),
        machine: staticMachine('fp-this-machine'),
        fetch: polar.fetch,
      })
    await symlink(target.path, join(dir, 'license.json'))
    // First start: the link is treated as a damaged record and moved aside.
    const first = await app().check({ online: 'never' })
    expect(first).toMatchObject({ status: 'inactive', reason: 'not_activated' })
    expect(
      first.status === 'inactive' && first.note?.kind === 'unreadable' && first.note.problem,
    ).toContain('symbolic link')
    // A link planted again (between two starts) is moved aside by the write as well.
    await symlink(target.path, join(dir, 'license.json'))
    expect((await app().activate(polar.createKey().key)).status).toBe('active')
    expect((await lstat(join(dir, 'license.json'))).isFile()).toBe(true)
    expect((await stat(join(dir, 'license.json'))).mode & 0o777).toBe(0o600)
    expect(await aside(dir, 'license.json')).toHaveLength(2)
    expect((await app().check({ online: 'never' })).status).toBe('active')
    await target.unchanged()
  })
})

describe.runIf(posix)('a symbolic link at the lock path', () => {
  it('is moved aside, never used as the lock: the folder it points to is not touched', async () => {
    const outside = await tempDir('keygate-outside-')
    await writeFile(join(outside, 'kept.txt'), 'kept')
    const before = await stat(outside)
    const dir = await tempDir()
    const store = createFileStore({ dir, lockTimeoutMs: 1000 })
    await symlink(outside, `${store.path}.lock`)
    expect(await store.lock(async () => (await lstat(`${store.path}.lock`)).isDirectory())).toBe(
      true,
    )
    await store.write('{"mine":true}')
    expect(await readdir(outside)).toEqual(['kept.txt'])
    expect((await stat(outside)).mtimeMs).toBe(before.mtimeMs)
    const [link] = await aside(dir, 'license.json.lock')
    expect(await readlink(join(dir, link ?? '?'))).toBe(outside)
  })

  it('an old lock folder reached through a link is not removed either', async () => {
    const outside = join(await tempDir('keygate-outside-'), 'someone-elses.lock')
    await mkdir(outside)
    const dir = await tempDir()
    const store = createFileStore({ dir, lockStaleMs: 2000, lockTimeoutMs: 1000 })
    await symlink(outside, `${store.path}.lock`)
    expect(await store.lock(async () => 'held')).toBe('held')
    expect((await stat(outside)).isDirectory()).toBe(true)
  })
})
