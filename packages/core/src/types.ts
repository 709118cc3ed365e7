import type { Machine } from './machine.js'
import type { Keychain } from './offline/integrity.js'
import type { Policy } from './offline/policy.js'
import type { LicenseState } from './offline/state.js'
import type { LeaseServerOptions } from './online/lease-client.js'
import type { RevalidationTiming } from './online/schedule.js'
import type { Conditions, PolarClient, PolarServer } from './polar/types.js'
import type { LicenseStore } from './store.js'

export interface LicensingOptions {
  /** Your Polar organization id (a UUID). */
  organizationId: string
  store: LicenseStore
  machine: Machine
  /** `production` (default), `sandbox`, or a base URL such as the emulator's. */
  server?: PolarServer | undefined
  policy?: Partial<Policy> | undefined
  /** The clock, epoch ms. Default `Date.now`. */
  now?: (() => number) | undefined
  fetch?: typeof fetch | undefined
  /** Per request attempt, in ms. */
  timeoutMs?: number | undefined
  /** Extra attempts for retryable failures. */
  retry?: number | undefined
  /**
   * How long after the first check a machine with `verify()` (a cached fingerprint) is
   * checked against its hardware, in ms. Default 3000: after start-up, not during it.
   */
  machineVerifyDelayMs?: number | undefined
  /**
   * Feature names per Polar benefit id (`{ [benefitId]: ['export'] }`): states then carry
   * `features` and `can(feature)`. A key whose benefit is not listed unlocks no features.
   */
  entitlements?: Readonly<Record<string, readonly string[]>> | undefined
  /**
   * When this build was released (epoch ms or a date string), e.g. from the build. With
   * `policy.onExpiry: 'fallback'`, a key that expired after it keeps running this build.
   */
  releasedAt?: number | string | Date | undefined
  /** Use this client instead of creating one (tests, custom transports). */
  client?: PolarClient | undefined
  /**
   * Where the record's MAC key lives (Electron's safeStorage, the OS keyring: see the
   * adapters). With it, the record is signed and the license key sealed; an edited record
   * is moved aside. Without it, states say `integrity: 'none'`.
   */
  keychain?: Keychain | undefined
  /**
   * Your lease server (`@keygate/server`): activate and refresh go through it, and only
   * its signed lease decides offline. `publicKey`: its public JWK (`keygate lease keygen`).
   */
  leaseServer?: LeaseServerOptions | undefined
  /**
   * A trial for machines without a license: the first `check()` starts it and states are
   * `status: 'trial'` until it ends (`inactive`, `trial_expired`). See the README's Trials.
   */
  trial?: TrialOptions | undefined
}

export interface TrialOptions {
  /** How long a trial runs: whole days, 1 to 3650. With a lease server, the server decides. */
  days: number
  /** Features a running trial unlocks (`state.can(feature)`). Default none. */
  features?: readonly string[] | undefined
}

/** A live activation of the key, from the lease server. */
export interface Device {
  /** The activation id, for `freeDevice`. */
  id: string
  label: string
  /** Epoch ms (Polar's clock). */
  createdAt: number
  /** This machine's activation. */
  current: boolean
}

export interface DevicesOptions {
  /** The key to ask about. Default: the key this machine is activated with. */
  key?: string | undefined
}

export interface ActivateOptions {
  /** The activation's label in Polar. Default: the machine's label (host name). */
  label?: string | undefined
  meta?: Conditions | undefined
}

export interface CheckOptions {
  /**
   * `never`: the cached grant only, no network (the start-up path).
   * `auto` (default): validate online when revalidation is due.
   * `always`: validate online now.
   */
  online?: 'never' | 'auto' | 'always' | undefined
}

import type { StateListener } from './offline/emitter.js'

export type { StateListener }

export interface Licensing {
  /** Activates the key on this machine (or reuses this machine's seat). Throws a KeygateError on failure. */
  activate(key: string, options?: ActivateOptions): Promise<LicenseState>
  check(options?: CheckOptions): Promise<LicenseState>
  /** Validates online now. Never throws: a failure is reported in the state's `error`. */
  refresh(): Promise<LicenseState>
  /** Frees this machine's seat and removes the local grant. */
  deactivate(): Promise<void>
  subscribe(listener: StateListener): () => void
  /**
   * Resolves once the writes `check()` leaves running in the background (the hourly clock
   * mark) have finished. Never rejects: a failed write is the `error` of the next state
   * `check()` or `refresh()` returns. For tests, and for an app that wants them done
   * before it quits (a write cut short leaves the old record: nothing is lost).
   */
  settled(): Promise<void>
  /**
   * Starts background revalidation (see `WatchOptions`) and returns the function that
   * stops it. States it produces reach `subscribe` listeners. Any app can call it; the
   * Electron adapter calls it with Electron's sleep and network events.
   */
  watch(options?: WatchOptions): () => void
  /**
   * Whether a build released at `releaseDate` may be installed: the license runs and its
   * key had not expired by then (hook it into your updater). Offline, from the cached grant.
   */
  allowsUpdate(releaseDate: number | string | Date): Promise<boolean>
  /**
   * This key's live activations, oldest first, this machine's marked `current`. Needs a
   * lease server; `key` is needed when this machine holds no grant (activation limit
   * reached). Throws a KeygateError.
   */
  devices(options?: DevicesOptions): Promise<Device[]>
  /**
   * Frees one of the key's activations through the lease server. Freeing this machine's
   * own forgets the local grant too. Throws a KeygateError.
   */
  freeDevice(activationId: string, options?: DevicesOptions): Promise<void>
  readonly policy: Readonly<Policy>
}

/** Something the platform tells the schedule: woke from sleep, or the network is back. */
export type WatchEvent = 'resume' | 'online'

export interface WatchOptions {
  /** How the schedule spreads and backs off (all ms); defaults suit a desktop app. */
  timing?: Partial<RevalidationTiming> | undefined
  /** Uniform in [0, 1), for the jitter. Default `Math.random`. */
  random?: (() => number) | undefined
  /**
   * A cheap local test of connectivity (Electron's `net.isOnline()`): false means surely
   * offline, so no request is tried and it is polled until it turns true.
   */
  isOnline?: (() => boolean) | undefined
  /** Feeds platform events to the schedule; returns a function that stops feeding them. */
  events?: ((wake: (event: WatchEvent) => void) => () => void) | undefined
}
