import { execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLicensing, KeygateError, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createFileStore } from '@keygate/node-store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from './temp-dir.js'

/**
 * A real full disk: a 64 KiB tmpfs (Linux, as root; skipped elsewhere). No fs mocks, so
 * what is checked is what the atomic writer, proper-lockfile and the kernel really do.
 */
let mountPoint: string | undefined

function tryMount(dir: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,nr_inodes=64', 'tmpfs', dir], {
      stdio: 'ignore',
    })
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  const dir = await tempDir('keygate-disk-full-')
  if (tryMount(dir)) mountPoint = dir
})

afterAll(async () => {
  if (mountPoint !== undefined) execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' })
  await removeTempDirs()
})

/** Fills the rest of the disk (blocks and inodes); returns a function that frees it. */
async function fillDisk(root: string): Promise<() => Promise<void>> {
  const filler = join(root, 'filler')
  await mkdir(filler)
  for (let i = 0; ; i++) {
    try {
      await writeFile(join(filler, `block-${i}`), Buffer.alloc(4096))
    } catch {
      break
    }
  }
  for (let i = 0; ; i++) {
    try {
      await writeFile(join(filler, `inode-${i}`), '')
    } catch {
      break
    }
  }
  return () => rm(filler, { recursive: true, force: true })
}

async function rejection(promise: Promise<unknown>): Promise<KeygateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeygateError)
  return error as KeygateError
}

describe.runIf(process.platform === 'linux' && process.getuid?.() === 0)('a full disk', () => {
  it('refuses the write, says the disk is full, and keeps the old record and no temp file', async (context) => {
    if (mountPoint === undefined) return context.skip()
    const dir = join(mountPoint, 'write')
    const store = createFileStore({ dir })
    await store.write('{"old":true}\n')
    const free = await fillDisk(mountPoint)
    try {
      const error = await rejection(store.write(`{"new":"${'x'.repeat(8000)}"}\n`))
      expect(error.code).toBe('store')
      expect(error.message).toMatch(/disk is full/i)
      expect(await store.read()).toBe('{"old":true}\n')
      expect(await readdir(dir)).toEqual(['license.json'])
    } finally {
      await free()
    }
  })

  it('refuses the lock with an error that says the disk is full, not a permission problem', async (context) => {
    if (mountPoint === undefined) return context.skip()
    const store = createFileStore({ dir: join(mountPoint, 'lock') })
    await store.write('{}\n')
    const free = await fillDisk(mountPoint)
    try {
      const error = await rejection(store.lock(async () => undefined))
      expect(error.code).toBe('store')
      expect(error.message).toMatch(/disk is full/i)
      expect(error.message).not.toMatch(/may write/)
    } finally {
      await free()
    }
  })

  it('keeps a licensed app running from the cached grant, untouched, with the reason beside it', async (context) => {
    if (mountPoint === undefined) return context.skip()
    let now = Date.parse('2026-03-01T12:00:00Z')
    const emulator = createPolarEmulator({ rateLimit: false, now: () => now })
    const key = emulator.createKey()
    const dir = join(mountPoint, 'app')
    const app = () =>
      createLicensing({
        organizationId: emulator.organizationId,
        store: createFileStore({ dir }),
        machine: staticMachine('fp'),
        fetch: emulator.fetch,
        now: () => now,
      })
    expect((await app().activate(key.key)).status).toBe('active')
    const bytes = await readFile(join(dir, 'license.json'), 'utf8')
    const free = await fillDisk(mountPoint)
    try {
      now += 3 * 60 * 60 * 1000 // past the hourly clock mark: check() wants to write
      const licensing = app()
      // The start-up check answers at once; the mark is written in the background…
      expect(await licensing.check({ online: 'never' })).toMatchObject({ status: 'active' })
      await licensing.settled()
      // …and its failure is reported beside the next state.
      const state = await licensing.check({ online: 'never' })
      expect(state).toMatchObject({ status: 'active', error: { code: 'store' } })
      expect(state.error?.message).toMatch(/disk is full/i)
      expect(await readFile(join(dir, 'license.json'), 'utf8')).toBe(bytes)
    } finally {
      await free()
    }
    expect((await app().check({ online: 'always' })).status).toBe('active')
  })
})
