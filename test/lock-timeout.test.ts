import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLicensing, type LicenseStore, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createFileStore } from '@keygate/node-store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const DAY = 24 * 60 * 60 * 1000
const T0 = Date.parse('2026-03-01T12:00:00.000Z')

let work: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'keygate-lock-timeout-'))
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

/** Holds the store's lock (as another instance stuck mid-request would) until released. */
async function holdLock(store: LicenseStore): Promise<() => Promise<void>> {
  let release = () => {}
  let taken = () => {}
  const isTaken = new Promise<void>((resolve) => {
    taken = resolve
  })
  const held = store.lock(
    () =>
      new Promise<void>((resolve) => {
        release = resolve
        taken()
      }),
  )
  await isTaken
  return async () => {
    release()
    await held
  }
}

describe('the file store’s lock times out (another instance holds it)', () => {
  it('check, refresh and activate report the cached state with the error; nothing is written', async () => {
    const dir = join(work, 'store')
    const clock = { now: T0 }
    const polar = createPolarEmulator({ now: () => clock.now, rateLimit: false })
    const key = polar.createKey({ limitActivations: 2 })
    const make = (store: LicenseStore) =>
      createLicensing({
        organizationId: polar.organizationId,
        store,
        machine: staticMachine('fp-this-machine'),
        server: 'http://emulator.local',
        fetch: polar.fetch,
        now: () => clock.now,
      })
    const owner = make(createFileStore({ dir }))
    await owner.activate(key.key)
    clock.now += 2 * DAY
    const cached = await owner.check({ online: 'never' }) // the hourly clock mark…
    await owner.settled() // …written in the background
    expect(cached).toMatchObject({ status: 'grace', why: 'revalidation_due' })
    const bytes = await readFile(join(dir, 'license.json'), 'utf8')
    const requests = polar.requests.length

    const release = await holdLock(createFileStore({ dir }))
    try {
      const impatient = make(createFileStore({ dir, lockTimeoutMs: 200 }))
      for (const state of [
        await impatient.check({ online: 'always' }),
        await impatient.check(),
        await impatient.refresh(),
        await impatient.activate(key.key),
      ]) {
        const { error, ...rest } = state
        expect(rest).toEqual(cached)
        expect(error).toMatchObject({ code: 'store', transient: true })
      }
      await expect(impatient.deactivate()).rejects.toMatchObject({ code: 'store' })
    } finally {
      await release()
    }
    expect(await readFile(join(dir, 'license.json'), 'utf8')).toBe(bytes)
    expect(polar.requests.length).toBe(requests)
    expect(polar.listActivations(key)).toHaveLength(1)
  })
})
