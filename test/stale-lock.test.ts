import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLicensing, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createFileStore } from '@keygate/node-store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleFixture, startChild } from './fixtures/build-fixture.js'

// Short for the test (proper-lockfile's floor is 2 s); the holder refreshes every second,
// leaving two seconds of slack for a loaded CI machine.
const STALE_MS = 3000

let work: string
let holder: string
let racer: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'keygate-stale-'))
  holder = await bundleFixture('lock-holder.ts', work)
  racer = await bundleFixture('lock-racer.ts', work)
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('a lock whose holder was killed', () => {
  it('blocks others while the holder lives, and no longer than the stale window after SIGKILL', async () => {
    const dir = join(work, 'store')
    const child = startChild(holder, { LOCK_DIR: dir, LOCK_STALE_MS: String(STALE_MS) })
    try {
      await child.waitFor((line) => line === 'locked')

      // Alive, it keeps its lock fresh: waiting past the stale window does not steal it.
      const patient = createFileStore({ dir, lockStaleMs: STALE_MS, lockTimeoutMs: STALE_MS + 700 })
      await expect(patient.lock(async () => 'stolen')).rejects.toMatchObject({
        code: 'store',
        message: expect.stringContaining('Another instance of the app is holding the license lock'),
      })

      child.process.kill('SIGKILL')
      await child.exited
      // The dead holder's lock folder is still there: no exit handler ran.
      expect((await stat(join(dir, 'license.json.lock'))).isDirectory()).toBe(true)

      // The stale window (plus one refresh interval and retry slack) bounds the wait.
      const next = createFileStore({ dir, lockStaleMs: STALE_MS, lockTimeoutMs: STALE_MS + 2000 })
      expect(await next.lock(async () => 'taken over')).toBe('taken over')
      await next.write('{"after":"takeover"}')
      expect(await next.read()).toBe('{"after":"takeover"}')
    } finally {
      child.process.kill('SIGKILL')
    }
  })
})

describe('a stale lock that several instances find at once', () => {
  it('is taken over by one of them at a time, never held by two', async () => {
    const dir = join(work, 'stale-race')
    const lock = join(dir, 'license.json.lock')
    await mkdir(lock, { recursive: true })
    const old = new Date(Date.now() - 60_000)
    await utimes(lock, old, old) // left by an instance killed a minute ago
    // Each racer waits before removing a lock folder: all of them see it stale first.
    const env = { LOCK_DIR: dir, LOCK_STALE_MS: String(STALE_MS), LOCK_SLOW_RMDIR_MS: '300' }
    const racers = Array.from({ length: 6 }, () => startChild(racer, env))
    await Promise.all(racers.map((child) => child.waitFor((line) => line === 'ready')))
    for (const child of racers) child.process.stdin?.write('go\n')
    const outcomes = await Promise.all(
      racers.map((child) => child.waitFor((line) => line !== 'ready', 60_000)),
    )
    expect(outcomes).toEqual(racers.map(() => 'alone'))
  })
})

describe('a plain file where the lock folder should be', () => {
  it('does not lock a licensed user out: refresh and activate go through and the file is kept aside', async () => {
    const dir = join(work, 'plain-file-lock')
    await mkdir(dir)
    const DAY = 24 * 60 * 60 * 1000
    const clock = { now: Date.parse('2026-03-01T12:00:00.000Z') }
    const polar = createPolarEmulator({ now: () => clock.now, rateLimit: false })
    const key = polar.createKey({ limitActivations: 1 })
    const app = () =>
      createLicensing({
        organizationId: polar.organizationId,
        store: createFileStore({ dir }),
        machine: staticMachine('fp-this-machine'),
        fetch: polar.fetch,
        now: () => clock.now,
      })
    expect((await app().activate(key.key)).status).toBe('active')

    // Left by a restored backup or another tool, long ago; the grant is due a refresh.
    const lock = join(dir, 'license.json.lock')
    await writeFile(lock, '')
    const old = new Date(Date.now() - 24 * 60 * 60_000)
    await utimes(lock, old, old)
    clock.now += 2 * DAY
    const refreshed = await app().refresh()
    expect(refreshed).toMatchObject({ status: 'active' })
    expect(refreshed.error).toBeUndefined()
    expect((await app().activate(key.key)).status).toBe('active') // reuses the seat
    expect(polar.listActivations(key)).toHaveLength(1)
    const names = await readdir(dir)
    expect(names).not.toContain('license.json.lock')
    expect(names.filter((n) => n.startsWith('license.json.lock.unreadable-'))).toHaveLength(1)
  })
})
