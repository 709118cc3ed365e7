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
import { createLicensing, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createFileStore, nodeMachine } from '@keygate/node-store'
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

describe.runIf(posix)('a symbolic link or a non-file at the install id path', () => {
  const machine = (dir: string) => nodeMachine({ cache: false, salt: 's', dir, sources: [] })
  const ID = '0123456789abcdef0123456789abcdef\n'

  /** Checks that `dir` holds a fresh id file (0600) and that what stood there was moved aside. */
  async function replaced(dir: string): Promise<string> {
    const info = await lstat(join(dir, 'install-id'))
    expect(info.isFile()).toBe(true)
    expect(info.mode & 0o777).toBe(0o600)
    const id = await readFile(join(dir, 'install-id'), 'utf8')
    expect(id).toMatch(/^[0-9a-f]{32}\n$/)
    expect(id).not.toBe(ID)
    const [moved, ...more] = await aside(dir, 'install-id')
    expect(more).toEqual([])
    return join(dir, moved ?? '?')
  }

  it("is not read through: another install's id is not taken, the link itself is moved aside", async () => {
    const other = await tempDir('keygate-other-install-')
    await writeFile(join(other, 'install-id'), ID)
    const before = await stat(join(other, 'install-id'))
    const dir = await tempDir()
    await symlink(join(other, 'install-id'), join(dir, 'install-id'))
    const fingerprint = await machine(dir).fingerprint()
    expect(fingerprint).not.toBe(await machine(other).fingerprint())
    expect(await readlink(await replaced(dir))).toBe(join(other, 'install-id'))
    expect(await machine(dir).fingerprint()).toBe(fingerprint)
    expect(await readFile(join(other, 'install-id'), 'utf8')).toBe(ID)
    expect((await stat(join(other, 'install-id'))).mtimeMs).toBe(before.mtimeMs)
  })

  it('a dangling link is moved aside and nothing is created where it points', async () => {
    const nowhere = join(await tempDir('keygate-nowhere-'), 'created-through-the-link')
    const dir = await tempDir()
    await symlink(nowhere, join(dir, 'install-id'))
    expect(await machine(dir).fingerprint()).toMatch(/^[0-9a-f]{64}$/)
    expect(await readlink(await replaced(dir))).toBe(nowhere)
    await expect(lstat(nowhere)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('a folder there is moved aside with what it holds', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, 'install-id'))
    await writeFile(join(dir, 'install-id', 'inside'), 'kept')
    expect(await machine(dir).fingerprint()).toMatch(/^[0-9a-f]{64}$/)
    expect(await readFile(join(await replaced(dir), 'inside'), 'utf8')).toBe('kept')
  })

  it.runIf(process.platform === 'linux')(
    'a FIFO there does not hang the fingerprint',
    async () => {
      const dir = await tempDir()
      execFileSync('mkfifo', [join(dir, 'install-id')])
      expect(await machine(dir).fingerprint()).toMatch(/^[0-9a-f]{64}$/)
      expect((await lstat(await replaced(dir))).isFIFO()).toBe(true)
    },
    5000,
  )
})
