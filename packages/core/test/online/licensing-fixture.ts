import { createLicensing } from '../../src/licensing.js'
import { staticMachine } from '../../src/machine.js'
import { createPolarClient } from '../../src/polar/client.js'
import type { PolarClient } from '../../src/polar/types.js'
import { type LicenseStore, type MemoryStore, memoryStore } from '../../src/store.js'
import type { CreateKeyOptions, RateLimitOptions } from '../../src/testing/index.js'
import { createPolarEmulator } from '../../src/testing/index.js'
import type { LicensingOptions } from '../../src/types.js'

export const HOUR = 60 * 60 * 1000
export const DAY = 24 * HOUR
/** On a whole second, so the emulator's `Date` header (second precision) equals the clock. */
export const T0 = Date.parse('2026-03-01T12:00:00.000Z')
export const SERVER = 'http://emulator.local'

/** A store that counts writes, to prove what was (not) written. */
export function countingStore(inner: MemoryStore = memoryStore()) {
  const counter = { writes: 0 }
  const store: MemoryStore = {
    ...inner,
    quarantined: inner.quarantined,
    async write(text) {
      counter.writes += 1
      await inner.write(text)
    },
  }
  return Object.assign(counter, { store })
}

/** A client that fails the test if anything tries the network. */
export const offlineOnlyClient: PolarClient = {
  baseURL: SERVER,
  activate: () => Promise.reject(new Error('activate must not be called')),
  validate: () => Promise.reject(new Error('validate must not be called')),
  deactivate: () => Promise.reject(new Error('deactivate must not be called')),
}

export interface SetupOptions {
  /** Polar's rate limit in the emulator. Default off (the clock stands still between requests). */
  rateLimit?: RateLimitOptions | false
  /** The client's per-attempt timeout. Default the client's own (10 s). */
  timeoutMs?: number
}

/**
 * The emulator, a key, a store and licensing sharing one injected clock. Polar's rate
 * limit is off unless asked for; retries never sleep.
 */
export function setup(keyOptions: CreateKeyOptions = {}, options: SetupOptions = {}) {
  const clock = { now: T0 }
  const emulator = createPolarEmulator({
    now: () => clock.now,
    rateLimit: options.rateLimit ?? false,
  })
  const key = emulator.createKey({ limitActivations: 2, ...keyOptions })
  const counted = countingStore()
  const client = createPolarClient({
    fetch: emulator.fetch,
    server: SERVER,
    retry: 0,
    sleep: async () => {},
    // The client paces requests (and honours Retry-After) on the licensing's clock.
    now: () => clock.now,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  })
  const make = (overrides: Partial<LicensingOptions> & { store?: LicenseStore } = {}) =>
    createLicensing({
      organizationId: emulator.organizationId,
      store: counted.store,
      machine: staticMachine('fp-machine-a', 'Ada’s laptop'),
      client,
      now: () => clock.now,
      ...overrides,
    })
  return {
    emulator,
    key,
    store: counted.store,
    counted,
    client,
    clock,
    licensing: make(),
    make,
    advance(ms: number) {
      clock.now += ms
    },
    /** The endpoints Polar saw, in order, from `since` on. */
    endpoints(since = 0) {
      return emulator.requests.slice(since).map((r) => r.endpoint)
    },
  }
}
