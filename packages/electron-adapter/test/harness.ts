import { type MemoryStore, memoryStore, staticMachine } from '@keygate/core'
import {
  createPolarEmulator,
  type PolarEmulator,
  type PolarEmulatorOptions,
} from '@keygate/core/testing'
import {
  createElectronLicensing,
  type ElectronLicensingOptions,
} from '../src/electron-licensing.js'
import type { ElectronModules } from '../src/electron-types.js'
import {
  type FakeSafeStorage,
  fakeApp,
  fakeIpcMain,
  fakeNet,
  fakePowerMonitor,
  fakeSafeStorage,
} from './fakes.js'

export const START = Date.parse('2026-03-01T12:00:00Z')
export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

export interface HarnessOptions {
  polar?: PolarEmulatorOptions
  /** An emulator to share (a second app instance, an updated app): `polar` is ignored. */
  emulator?: PolarEmulator
  store?: MemoryStore
  safeStorage?: FakeSafeStorage
  /** The jitter source; 0.5 puts every scheduled check exactly on its due time. */
  random?: () => number
  gate?: Partial<ElectronLicensingOptions>
  /** Replaces some of the fake Electron modules (e.g. `shell`, an `app` with a locale). */
  electron?: Partial<ElectronModules>
}

/** The adapter wired to fake Electron modules, with the Polar emulator behind `net.fetch`. */
export function harness(options: HarnessOptions = {}) {
  const polar = options.emulator ?? createPolarEmulator({ rateLimit: false, ...options.polar })
  const key = polar.createKey({ prefix: 'ACME', limitActivations: 2 })
  const safeStorage = options.safeStorage ?? fakeSafeStorage()
  const net = fakeNet(polar)
  const ipcMain = fakeIpcMain()
  const powerMonitor = fakePowerMonitor()
  const app = fakeApp('/nonexistent/userData')
  const store = options.store ?? memoryStore()
  const gate = createElectronLicensing({
    organizationId: polar.organizationId,
    electron: { app, safeStorage, net, ipcMain, powerMonitor, ...options.electron },
    store,
    machine: staticMachine('fingerprint-of-this-machine', 'Alice laptop'),
    revalidation: { random: options.random ?? (() => 0.5) },
    ...options.gate,
  })
  const count = (endpoint: 'activate' | 'validate' | 'deactivate') =>
    polar.requests.filter((r) => r.endpoint === endpoint).length
  return { polar, key, safeStorage, net, ipcMain, powerMonitor, app, store, gate, count }
}
