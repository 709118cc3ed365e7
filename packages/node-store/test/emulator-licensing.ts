import { createLicensing, type Keychain, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createFileStore } from '@keygate/node-store'
import { tempDir } from './temp-dir.js'

export const HOUR = 60 * 60 * 1000
export const DAY = 24 * HOUR
export const T0 = Date.parse('2026-03-01T12:00:00.000Z')

/**
 * A file store in a fresh temp folder and a licensing on it, against the emulator (no
 * rate limit) on a clock the test moves; with `keychain`, the record is MACed.
 */
export async function emulatorLicensing(keychain?: Keychain) {
  const clock = { now: T0 }
  const emulator = createPolarEmulator({ now: () => clock.now, rateLimit: false })
  const key = emulator.createKey({ limitActivations: 2 })
  const dir = await tempDir()
  const store = createFileStore({ dir })
  /** A licensing on `store`: the app as started again in the same folder. */
  const start = (on = store) =>
    createLicensing({
      organizationId: emulator.organizationId,
      store: on,
      machine: staticMachine('fp-machine-a', 'Laptop'),
      server: 'http://emulator.local',
      fetch: emulator.fetch,
      retry: 0,
      now: () => clock.now,
      ...(keychain === undefined ? {} : { keychain }),
    })
  const licensing = start()
  /** A new start of the app: a fresh store object on the same folder. */
  const restart = () => start(createFileStore({ dir }))
  return { clock, emulator, key, dir, store, licensing, restart }
}
