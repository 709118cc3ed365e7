import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import {
  createElectronLicensing,
  type ElectronLicensingOptions,
} from '../src/electron-licensing.js'
import { fakeApp, fakeNet, fakeSafeStorage, type SafeStorageShape } from './fakes.js'

export const T0 = Date.parse('2026-03-01T12:00:00.000Z')

const dirs: string[] = []
const stops: Array<() => Promise<void>> = []

/** Stops every licensing `electronApp` made and removes its userData; for `afterEach`. */
export async function closeElectronApps(): Promise<void> {
  // The hourly clock mark is written in the background: let it finish before the folder goes.
  for (const stop of stops.splice(0)) await stop()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
}

/** A fresh folder, removed after the test by `closeElectronApps`. */
export async function tempFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keygate-electron-'))
  dirs.push(dir)
  return dir
}

/**
 * An Electron app's world for one test: a fresh userData folder, the emulator on a clock
 * the test moves, Alice's safeStorage; `make()` starts createElectronLicensing on them (the
 * app again, the next time it is called).
 */
export async function electronApp(shape?: SafeStorageShape) {
  const userData = await tempFolder()
  const clock = { now: T0 }
  const polar = createPolarEmulator({ rateLimit: false, now: () => clock.now })
  const safeStorage = fakeSafeStorage('alice', shape)
  const make = (options: Partial<ElectronLicensingOptions> = {}) => {
    const licensing = createElectronLicensing({
      organizationId: polar.organizationId,
      electron: { app: fakeApp(userData), safeStorage, net: fakeNet(polar) },
      machine: staticMachine('fingerprint-of-this-machine', 'Alice laptop'),
      now: () => clock.now,
      retry: 0,
      ...options,
    })
    stops.push(async () => {
      licensing.stop()
      await licensing.licensing.settled()
    })
    return licensing
  }
  return { userData, clock, polar, safeStorage, make }
}
