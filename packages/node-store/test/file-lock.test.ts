import { chown, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { KeygateError } from '@keygate/core'
import { createFileLock, createFileStore } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

async function rejection(promise: Promise<unknown>): Promise<KeygateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeygateError)
  return error as KeygateError
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('createFileStore: lock', () => {
  it('runs holders one at a time, in order, across store instances of one file', async () => {
    const dir = await tempDir()
    let inside = 0
    let most = 0
    const order: number[] = []
    await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        createFileStore({ dir }).lock(async () => {
          inside++
          most = Math.max(most, inside)
          order.push(i)
          for (let n = 0; n < 5; n++) await tick()
          inside--
        }),
      ),
    )
    expect(most).toBe(1)
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
  })

  it("returns fn's value, passes on its error, and is free again after either", async () => {
    const store = createFileStore({ dir: join(await tempDir(), 'not-yet-created') })
    expect(await store.lock(async () => 42)).toBe(42)
    const boom = new Error('boom')
    await expect(store.lock(async () => Promise.reject(boom))).rejects.toBe(boom)
    expect(await store.lock(async () => 'again')).toBe('again')
    await expect(stat(`${store.path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('holds a lock folder next to the record while fn runs', async () => {
    const store = createFileStore({ dir: await tempDir() })
    await store.lock(async () => {
      expect((await stat(`${store.path}.lock`)).isDirectory()).toBe(true)
    })
  })

  it('gives up with a clear store error when another process holds the lock', async () => {
    const store = createFileStore({ dir: await tempDir(), lockTimeoutMs: 200 })
    await mkdir(`${store.path}.lock`) // a live holder: fresh mtime
    let ran = false
    const error = await rejection(
      store.lock(async () => {
        ran = true
      }),
    )
    expect(ran).toBe(false)
    expect(error.code).toBe('store')
    expect(error.message).toContain('Another instance of the app is holding the license lock')
  })

  it('takes over a lock older than the stale window (its holder died)', async () => {
    const store = createFileStore({ dir: await tempDir(), lockStaleMs: 2000, lockTimeoutMs: 500 })
    await mkdir(`${store.path}.lock`)
    const old = new Date(Date.now() - 60_000)
    await utimes(`${store.path}.lock`, old, old)
    expect(await store.lock(async () => 'took over')).toBe('took over')
  })

  it('takes over a dead lock stamped in the future (the clock was set back since)', async () => {
    const store = createFileStore({ dir: await tempDir(), lockStaleMs: 2000, lockTimeoutMs: 4000 })
    await mkdir(`${store.path}.lock`)
    // Its holder was killed while the clock ran an hour ahead; the clock is right again.
    const ahead = new Date(Date.now() + 60 * 60_000)
    await utimes(`${store.path}.lock`, ahead, ahead)
    // Nothing refreshes it for the stale window, as watched on a clock that cannot be set.
    expect(await store.lock(async () => 'took over')).toBe('took over')
  })

  it('takes over a stale lock whose takeover was cut short by a crash (both left behind)', async () => {
    const store = createFileStore({ dir: await tempDir(), lockStaleMs: 2000, lockTimeoutMs: 500 })
    const old = new Date(Date.now() - 60_000)
    for (const left of [`${store.path}.lock`, `${store.path}.lock.takeover`]) {
      await mkdir(left)
      await utimes(left, old, old)
    }
    expect(await store.lock(async () => 'took over')).toBe('took over')
    expect(await readdir(join(store.path, '..'))).toEqual([])
  })

  it('reports a reentrant call as a store error instead of hanging', async () => {
    const store = createFileStore({ dir: await tempDir(), lockTimeoutMs: 100 })
    const error = await rejection(store.lock(() => store.lock(async () => 'inner')))
    expect(error.message).toContain('not reentrant')
    expect(await store.lock(async () => 'free')).toBe('free')
  })

  it('turns a lock lost while held into a store error for that operation, not a crash', async () => {
    const store = createFileStore({ dir: await tempDir(), lockStaleMs: 2000 })
    const error = await rejection(
      store.lock(async () => {
        // Someone removed our lock (e.g. judged it stale): proper-lockfile notices on
        // its next refresh, after `update` (1 s here).
        await rm(`${store.path}.lock`, { recursive: true })
        await new Promise((resolve) => setTimeout(resolve, 1500))
        return 'done'
      }),
    )
    expect(error.code).toBe('store')
    expect(error.message).toContain('was lost')
    expect(await store.lock(async () => 'next')).toBe('next')
  })
})

describe('createFileStore: something other than a lock folder at the lock path', () => {
  const longAgo = new Date(Date.now() - 60 * 60_000)
  const errnoCode = /\bE[A-Z]{3,}\b/

  async function plant(path: string, age?: Date): Promise<void> {
    await writeFile(path, 'not a lock folder')
    if (age !== undefined) await utimes(path, age, age)
  }

  it('an old plain file is moved aside (kept intact) and the lock is taken', async () => {
    const dir = await tempDir()
    const store = createFileStore({ dir, lockTimeoutMs: 500 })
    await plant(`${store.path}.lock`, longAgo)
    expect(await store.lock(async () => 'locked')).toBe('locked')
    await store.write('{"fresh":true}')
    const [moved, ...more] = (await readdir(dir)).filter((n) => n.startsWith('license.json.lock.'))
    expect(more).toEqual([])
    expect(moved).toMatch(/^license\.json\.lock\.unreadable-/)
    expect(await readFile(join(dir, moved ?? '?'), 'utf8')).toBe('not a lock folder')
  })

  it('a young file is waited on like a held lock, and cleared once nothing changed it for the stale window', async () => {
    const store = createFileStore({ dir: await tempDir(), lockStaleMs: 2000, lockTimeoutMs: 6000 })
    await plant(`${store.path}.lock`)
    expect(await store.lock(async () => 'locked')).toBe('locked')
  })

  it('a young file that outlasts the wait: a store error that says what stands there and what to do', async () => {
    const store = createFileStore({ dir: await tempDir(), lockTimeoutMs: 200 })
    await plant(`${store.path}.lock`)
    const error = await rejection(store.lock(async () => 'never'))
    expect(error.code).toBe('store')
    expect(error.message).toContain(`${store.path}.lock should be the license lock, a folder`)
    expect(error.message).toContain('it is a file')
    expect(error.message).toContain('delete it')
    expect(error.message).not.toMatch(errnoCode)
    expect(error.message).not.toContain('may write to')
  })

  it.runIf(process.platform !== 'win32' && process.getuid?.() === 0)(
    "another user's file is left alone, with words saying whose it is",
    async () => {
      const store = createFileStore({ dir: await tempDir(), lockTimeoutMs: 5000 })
      await plant(`${store.path}.lock`, longAgo)
      await chown(`${store.path}.lock`, 65534, 65534)
      const error = await rejection(store.lock(async () => 'never'))
      expect(error.message).toContain('belongs to another user account')
      expect(error.message).not.toMatch(errnoCode)
      expect(await readFile(`${store.path}.lock`, 'utf8')).toBe('not a lock folder')
    },
  )
})

describe('createFileLock: the same lock for another store backend', () => {
  it('excludes a file store of the same file, in this process and across instances', async () => {
    const dir = await tempDir()
    const store = createFileStore({ dir })
    const lock = createFileLock({ file: store.path })
    expect(lock.path).toBe(`${store.path}.lock`)
    let inside = 0
    let most = 0
    const hold = async () => {
      inside++
      most = Math.max(most, inside)
      for (let n = 0; n < 5; n++) await tick()
      inside--
    }
    await Promise.all([
      lock.lock(hold),
      store.lock(hold),
      createFileLock({ file: join(dir, '.', 'license.json') }).lock(hold),
      lock.lock(hold),
    ])
    expect(most).toBe(1)
  })

  it('takes over a stale lock and refuses bad settings with invalid_input', async () => {
    const file = join(await tempDir(), 'data.sqlite')
    await mkdir(`${file}.lock`)
    const old = new Date(Date.now() - 60_000)
    await utimes(`${file}.lock`, old, old)
    expect(await createFileLock({ file, staleMs: 2000, timeoutMs: 500 }).lock(async () => 1)).toBe(
      1,
    )
    expect(() => createFileLock({ file, staleMs: 100 })).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    )
    expect(() => createFileLock({ file: '' })).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    )
  })
})
