import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { toRendererState } from '../src/renderer-state.js'
import { closeElectronApps, electronApp, T0 } from './electron-app.js'

const DAY = 24 * 60 * 60 * 1000

afterEach(closeElectronApps)

async function setup() {
  const app = await electronApp()
  const make = () => app.make({ trial: { days: 14 }, buyUrl: 'https://acme.example/buy' })
  return { ...app, make }
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
