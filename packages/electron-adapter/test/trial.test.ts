import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createElectronLicensing } from '../src/electron-licensing.js'
import { toRendererState } from '../src/renderer-state.js'
import { fakeApp, fakeNet, fakeSafeStorage } from './fakes.js'

const DAY = 24 * 60 * 60 * 1000
const T0 = Date.parse('2026-03-01T12:00:00.000Z')

const dirs: string[] = []
const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  // The hourly clock mark is written in the background: let it finish before the folder goes.
  for (const stop of stops.splice(0)) await stop()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function setup() {
  const userData = await mkdtemp(join(tmpdir(), 'keygate-electron-trial-'))
  dirs.push(userData)
  const clock = { now: T0 }
  const polar = createPolarEmulator({ rateLimit: false, now: () => clock.now })
  const safeStorage = fakeSafeStorage('alice')
  const make = () => {
    const licensing = createElectronLicensing({
      organizationId: polar.organizationId,
      electron: { app: fakeApp(userData), safeStorage, net: fakeNet(polar) },
      machine: staticMachine('fingerprint-of-this-machine', 'Alice laptop'),
      now: () => clock.now,
      retry: 0,
      trial: { days: 14 },
      buyUrl: 'https://acme.example/buy',
    })
    stops.push(async () => {
      licensing.stop()
      await licensing.licensing.settled()
    })
    return licensing
  }
  return { userData, clock, polar, make }
}

describe('a trial in Electron, with the default safeStorage keychain', () => {
  it('starts at start(), and deleting license.json does not restart it', async () => {
    const t = await setup()
    expect(await t.make().start()).toMatchObject({
      status: 'trial',
      trial: { startedAt: T0, daysLeft: 14 },
      integrity: 'keychain',
    })
    // The copy lives beside the key file, sealed: no plain start in it.
    const copy = join(t.userData, 'license.key.trial')
    expect((await stat(copy)).mode & 0o777).toBe(0o600)
    expect((await readFile(copy)).toString('utf8')).toMatch(/^sealed-for:alice:/)
    t.clock.now += 4 * DAY
    await rm(join(t.userData, 'license.json'))
    const again = await t.make().start()
    expect(again).toMatchObject({ status: 'trial', trial: { startedAt: T0, daysLeft: 10 } })
    // What a renderer gets: the trial's times and words, nothing else.
    expect(toRendererState(again, 'os', { locale: 'en-US' })).toEqual({
      status: 'trial',
      trial: { startedAt: T0, endsAt: T0 + 14 * DAY, daysLeft: 10 },
      integrity: 'keychain',
      encryption: 'os',
      words: {
        title: 'Trial: 10 days left',
        detail: 'You are trying this app until March 15, 2026.',
        action: 'Buy a license to keep using the app after the trial, then enter its key.',
      },
    })
  })

  it('activating during the trial is not refused as "another key"', async () => {
    const t = await setup()
    const licensing = t.make()
    await licensing.start()
    const key = t.polar.createKey({ limitActivations: 1 })
    expect(await licensing.activate(key.key)).toMatchObject({ status: 'active' })
  })
})
