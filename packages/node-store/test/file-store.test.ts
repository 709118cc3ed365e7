import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { renameSync, writeFileSync } from 'node:fs'
import { chmod, mkdir, open, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { KeygateError } from '@keygate/core'
import { createFileStore } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { canRunAsNobody, NOBODY, runFixture, runningAsRoot } from './run-fixture.js'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

const posix = process.platform !== 'win32'
// As root, permission cases need another user to run as; elsewhere the test user will do.
const permissionsTestable = posix && (!runningAsRoot || canRunAsNobody)
const otherUser = runningAsRoot ? NOBODY : {}

/** A folder for bundled fixtures that the other user can read. */
async function binDir(): Promise<string> {
  const dir = await tempDir()
  await chmod(dir, 0o755)
  return dir
}

async function rejection(promise: Promise<unknown>): Promise<KeygateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeygateError)
  return error as KeygateError
}

function thrown(fn: () => unknown): KeygateError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(KeygateError)
    return error as KeygateError
  }
  throw new Error('expected a throw')
}

describe('createFileStore: where the file lives', () => {
  it('keeps <dir>/<name>.json, license.json by default', async () => {
    const dir = await tempDir()
    expect(createFileStore({ dir }).path).toBe(join(dir, 'license.json'))
    expect(createFileStore({ dir, name: 'pro' }).path).toBe(join(dir, 'pro.json'))
  })

  it.runIf(process.platform === 'linux')(
    "uses the OS data folder for appName, without env-paths' -nodejs suffix",
    async () => {
      const data = await tempDir()
      const before = process.env.XDG_DATA_HOME
      process.env.XDG_DATA_HOME = data
      try {
        const store = createFileStore({ appName: 'Acme Notes' })
        expect(store.path).toBe(join(data, 'Acme Notes', 'license.json'))
        await store.write('x')
        expect(await readFile(join(data, 'Acme Notes', 'license.json'), 'utf8')).toBe('x')
      } finally {
        if (before === undefined) delete process.env.XDG_DATA_HOME
        else process.env.XDG_DATA_HOME = before
      }
    },
  )

  it('refuses names that could escape the folder or break on some OS', async () => {
    const dir = await tempDir()
    const bad = ['', '.', '..', '../x', 'a/b', 'a\\b', 'a\0b', 'x'.repeat(101), ' x', 'x.', 'a:b']
    for (const name of bad) {
      expect(thrown(() => createFileStore({ dir, name })).code, JSON.stringify(name)).toBe(
        'invalid_input',
      )
      expect(thrown(() => createFileStore({ appName: name })).code).toBe('invalid_input')
    }
    expect(thrown(() => createFileStore({})).code).toBe('invalid_input')
    expect(thrown(() => createFileStore({ dir, lockStaleMs: 100 })).code).toBe('invalid_input')
  })
})

describe('createFileStore: reads and writes', () => {
  it('reads null when there is no record, then what was written', async () => {
    const store = createFileStore({ dir: await tempDir() })
    expect(await store.read()).toBeNull()
    await store.write('{"a":1}')
    expect(await store.read()).toBe('{"a":1}')
    await store.clear()
    expect(await store.read()).toBeNull()
    await store.clear() // no error when already gone
  })

  it.runIf(posix)(
    'creates a missing folder 0700 and the file 0600, even over a 0644 file',
    async () => {
      const root = await tempDir()
      const dir = join(root, 'deep', 'er')
      const store = createFileStore({ dir })
      await store.write('one')
      expect((await stat(dir)).mode & 0o777).toBe(0o700)
      expect((await stat(store.path)).mode & 0o777).toBe(0o600)
      await chmod(store.path, 0o644)
      await store.write('two')
      expect((await stat(store.path)).mode & 0o777).toBe(0o600)
    },
  )

  it.runIf(posix)('makes a record found with mode 0644 private (0600) on read', async () => {
    const store = createFileStore({ dir: await tempDir() })
    await writeFile(store.path, '{"copied":"by hand"}', { mode: 0o644 })
    await chmod(store.path, 0o644) // whatever the umask
    expect(await store.read()).toBe('{"copied":"by hand"}')
    expect((await stat(store.path)).mode & 0o777).toBe(0o600)
  })

  it.runIf(posix)('writes 0600 whatever the umask', async () => {
    const store = createFileStore({ dir: await tempDir() })
    const before = process.umask(0o277)
    try {
      await store.write('one')
    } finally {
      process.umask(before)
    }
    expect((await stat(store.path)).mode & 0o777).toBe(0o600)
  })

  it('replaces the file on every write (a new inode: rename, never in-place)', async () => {
    const store = createFileStore({ dir: await tempDir() })
    await store.write('record 0')
    for (let i = 1; i < 5; i++) {
      const before = await open(store.path, 'r')
      try {
        const inode = (await before.stat()).ino
        await store.write(`record ${i}`)
        expect((await stat(store.path)).ino).not.toBe(inode)
        // The old file is untouched: a reader holding it sees the whole previous record.
        expect(await before.readFile('utf8')).toBe(`record ${i - 1}`)
      } finally {
        await before.close()
      }
    }
    expect(await store.read()).toBe('record 4')
  })

  it('leaves no temp files behind and removes old ones a killed writer left', async () => {
    const dir = await tempDir()
    const leftover = join(dir, 'license.json.123456')
    const young = join(dir, 'license.json.654321')
    await writeFile(leftover, 'half a rec')
    await writeFile(young, 'in flight?')
    const old = new Date(Date.now() - 5 * 60_000)
    await utimes(leftover, old, old)
    const store = createFileStore({ dir })
    await store.write('a')
    await store.write('b')
    expect((await readdir(dir)).sort()).toEqual(['license.json', 'license.json.654321'])
  })

  it('reads the file within the call: no thread-pool round trips for the start-up check', async () => {
    const store = createFileStore({ dir: await tempDir() })
    await store.write('old')
    const pending = store.read()
    // Replaced before the promise settles: an async read would only open it after this.
    writeFileSync(`${store.path}.next`, 'new')
    renameSync(`${store.path}.next`, store.path)
    expect(await pending).toBe('old')
    expect(await store.read()).toBe('new')
  })

  it('refuses a record larger than it would read back', async () => {
    const store = createFileStore({ dir: await tempDir() })
    expect((await rejection(store.write('x'.repeat(1024 * 1024 + 1)))).code).toBe('invalid_input')
  })
})

describe('createFileStore: a damaged or hostile file', () => {
  // The store hands text to core, which parses it; what cannot be read at all is a store error.
  const damaged: Array<[string, Buffer]> = [
    // (One cut short in a verbatim key has that masked: quarantine-key.test.ts.)
    ['a truncated record', Buffer.from('{"v":2,"organizationId":"org_12')],
    ['random bytes', randomBytes(512)],
    ['JSON of another shape', Buffer.from('[1,2,3]')],
    ['a newer schema version', Buffer.from('{"v":99}')],
    ['an empty file', Buffer.alloc(0)],
  ]

  for (const [what, bytes] of damaged) {
    it(`returns ${what} as is and quarantines it byte for byte`, async () => {
      const dir = await tempDir()
      const store = createFileStore({ dir })
      await writeFile(store.path, bytes)
      expect(await store.read()).toBe(bytes.toString('utf8'))
      const moved = await store.quarantine('not a grant')
      expect(moved).toMatch(/license\.json\.unreadable-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/)
      expect(await readFile(moved as string)).toEqual(bytes)
      expect(await store.read()).toBeNull()
      await store.write('fresh')
      expect(await store.read()).toBe('fresh')
      expect(await readFile(moved as string)).toEqual(bytes)
    })
  }

  it('throws a store error for a folder where the file should be, and moves the folder aside', async () => {
    const dir = await tempDir()
    const store = createFileStore({ dir })
    await mkdir(store.path)
    await writeFile(join(store.path, 'inside'), 'kept')
    const error = await rejection(store.read())
    expect(error.code).toBe('store')
    expect(error.message).toContain('folder')
    expect((await rejection(store.write('x'))).code).toBe('store')
    const moved = await store.quarantine('a folder')
    expect(await readFile(join(moved as string, 'inside'), 'utf8')).toBe('kept')
    await store.write('fresh')
    expect(await store.read()).toBe('fresh')
  })

  it('throws a store error for a file too large to be a record', async () => {
    const store = createFileStore({ dir: await tempDir() })
    await writeFile(store.path, Buffer.alloc(2 * 1024 * 1024, 0x61))
    expect((await rejection(store.read())).message).toContain('bytes long')
    expect(await store.quarantine('too large')).not.toBeNull()
  })

  it.runIf(process.platform === 'linux')(
    'does not hang on a FIFO planted at the path',
    async () => {
      const store = createFileStore({ dir: await tempDir() })
      execFileSync('mkfifo', [store.path])
      expect((await rejection(store.read())).message).toContain('not a regular file')
      expect(await store.quarantine('a fifo')).not.toBeNull()
      expect(await store.read()).toBeNull()
    },
  )

  it.runIf(permissionsTestable)(
    'throws a store error for a record this user may not read',
    async () => {
      const dir = await tempDir()
      await chmod(dir, 0o777)
      const path = join(dir, 'license.json')
      await writeFile(path, '{"secret":true}')
      await chmod(path, 0o000)
      const bin = await binDir()
      const read = await runFixture<{ ok: boolean; code: string; message: string }>(
        'store-op.ts',
        [dir, 'read'],
        bin,
        otherUser,
      )
      expect(read).toMatchObject({ ok: false, code: 'store' })
      expect(read.message).toContain('permission denied')
      const moved = await runFixture<{ ok: boolean; value: string }>(
        'store-op.ts',
        [dir, 'quarantine'],
        bin,
        otherUser,
      )
      expect(moved.ok).toBe(true)
      await chmod(moved.value, 0o600)
      expect(await readFile(moved.value, 'utf8')).toBe('{"secret":true}')
    },
  )

  it.runIf(permissionsTestable)(
    'throws a store error when it cannot even move the record aside',
    async () => {
      const dir = await tempDir()
      await writeFile(join(dir, 'license.json'), 'garbage')
      await chmod(join(dir, 'license.json'), 0o644)
      // Root's own folder is read-only to the other user; a non-root user locks itself out.
      await chmod(dir, runningAsRoot ? 0o755 : 0o555)
      const result = await runFixture<{ ok: boolean; code: string; message: string }>(
        'store-op.ts',
        [dir, 'quarantine'],
        await binDir(),
        otherUser,
      )
      expect(result).toMatchObject({ ok: false, code: 'store' })
      expect(result.message).toContain('could not be moved aside')
      expect(await readFile(join(dir, 'license.json'), 'utf8')).toBe('garbage')
    },
  )

  it('quarantines to distinct names and returns null when there is nothing', async () => {
    const store = createFileStore({ dir: await tempDir() })
    expect(await store.quarantine('nothing')).toBeNull()
    const moved = new Set<string | null>()
    for (let i = 0; i < 3; i++) {
      await store.write(`bad ${i}`)
      moved.add(await store.quarantine('bad'))
    }
    expect(moved.size).toBe(3)
    for (const path of moved) expect(path).not.toBeNull()
  })

  it('never quarantines a fresh record another instance wrote after this one read', async () => {
    const dir = await tempDir()
    const mine = createFileStore({ dir })
    const other = createFileStore({ dir })
    await writeFile(mine.path, 'garbage')
    expect(await mine.read()).toBe('garbage')
    await other.write('{"fresh":true}') // another instance activated meanwhile
    expect(await mine.quarantine('not json')).toBeNull()
    expect(await mine.read()).toBe('{"fresh":true}')
  })

  it('still knows which file it read after clearing one that was already moved away', async () => {
    const dir = await tempDir()
    const mine = createFileStore({ dir })
    const other = createFileStore({ dir })
    await writeFile(mine.path, 'garbage')
    expect(await mine.read()).toBe('garbage')
    renameSync(mine.path, join(dir, 'moved-by-hand')) // kept: its inode is not reused
    await mine.clear()
    await other.write('{"fresh":true}')
    expect(await mine.quarantine('not json')).toBeNull()
    expect(await mine.read()).toBe('{"fresh":true}')
  })
})
