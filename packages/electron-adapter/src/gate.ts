import type {
  ActivateOptions,
  CheckOptions,
  LicenseState,
  Licensing,
  RevalidationTiming,
  WatchEvent,
} from '@keygate/core'
import type { ElectronPowerMonitor } from './electron-types.js'
import type { EncryptionStatus } from './renderer-types.js'

/** A license state plus whether its record is encrypted at rest. */
export type ElectronLicenseState = LicenseState & { encryption: EncryptionStatus }

export type ElectronStateListener = (state: ElectronLicenseState) => void

export interface GateOptions {
  licensing: Licensing
  encryption: () => EncryptionStatus
  /** `net.isOnline()`: false means surely offline, so no request is tried. */
  isOnline?: (() => boolean) | undefined
  powerMonitor?: ElectronPowerMonitor | undefined
  timing?: Partial<RevalidationTiming> | undefined
  random?: (() => number) | undefined
}

/** Core's licensing with the encryption status on every state, kept fresh by core's `watch()`. */
export interface Gate {
  start(): Promise<ElectronLicenseState>
  stop(): void
  /** The latest state, once `start()` (or any call) produced one. */
  readonly state: ElectronLicenseState | undefined
  check(options?: CheckOptions): Promise<ElectronLicenseState>
  /** Validates online now; core refuses at once while Polar asked to wait. Never throws. */
  refresh(): Promise<ElectronLicenseState>
  activate(key: string, options?: ActivateOptions): Promise<ElectronLicenseState>
  deactivate(): Promise<ElectronLicenseState>
  subscribe(listener: ElectronStateListener): () => void
}

/** Electron's sleep event, fed to core's schedule (Electron main has no `online` event). */
function electronEvents(powerMonitor: ElectronPowerMonitor | undefined) {
  if (powerMonitor === undefined) return undefined
  return (wake: (event: WatchEvent) => void) => {
    const onResume = () => wake('resume')
    powerMonitor.on('resume', onResume)
    return () => powerMonitor.removeListener('resume', onResume)
  }
}

/**
 * The start-up gate: `check({ online: 'never' })` from the cache at once, then core's
 * `watch()` with Electron's `resume` and `net.isOnline()`. What is left here is the
 * encryption status on each state and keeping the newest one.
 */
export function createGate(options: GateOptions): Gate {
  const { licensing } = options
  const listeners = new Set<ElectronStateListener>()

  let current: ElectronLicenseState | undefined
  let lastSent = ''
  // Calls overlap (the renderer's check while an activation finishes): a state read before
  // one already kept is returned to its caller, but neither kept nor told to listeners.
  let tickets = 0
  let kept = 0
  const ask = () => ++tickets
  let started = false
  // Counts stop() calls: a start() that was reading when stop() came starts nothing.
  let stops = 0
  let stopWatch: (() => void) | undefined
  let unsubscribeCore: (() => void) | undefined

  /** `ticket`: from `ask()` before the call that produced the state; default now. */
  const update = (state: LicenseState, ticket = ask()): ElectronLicenseState => {
    const next: ElectronLicenseState = Object.assign({}, state, {
      encryption: options.encryption(),
    })
    if (ticket < kept) return next
    kept = ticket
    current = next
    // Core and our own calls may report the same state twice: tell listeners once.
    const fingerprint = JSON.stringify(next)
    if (fingerprint === lastSent) return next
    lastSent = fingerprint
    for (const listener of [...listeners]) {
      try {
        listener(next)
      } catch (error) {
        // One listener's bug must not stop the others; still surface it.
        queueMicrotask(() => {
          throw error
        })
      }
    }
    return next
  }

  const call = async (run: () => Promise<LicenseState>) => {
    const ticket = ask()
    return update(await run(), ticket)
  }

  return {
    get state() {
      return current
    },

    async start() {
      if (started && current !== undefined) return current
      const ticket = ask()
      const stopsBefore = stops
      const state = await licensing.check({ online: 'never' })
      if (!started && stops === stopsBefore) {
        started = true
        unsubscribeCore = licensing.subscribe((next) => update(next))
        stopWatch = licensing.watch({
          timing: options.timing,
          random: options.random,
          isOnline: options.isOnline,
          events: electronEvents(options.powerMonitor),
        })
        // With a lease server a trial starts with the server's token, which the offline
        // check never fetches: one check that may go online, after start-up (without a
        // trial due it reads the record and sends nothing). Its state reaches listeners.
        if (state.status === 'inactive' && state.reason === 'not_activated') {
          licensing.check().catch(() => undefined)
        }
      }
      return update(state, ticket)
    },

    stop() {
      stops += 1
      started = false
      stopWatch?.()
      stopWatch = undefined
      unsubscribeCore?.()
      unsubscribeCore = undefined
    },

    check: (checkOptions) => call(() => licensing.check(checkOptions)),
    refresh: () => call(() => licensing.refresh()),
    activate: (key, activateOptions) => call(() => licensing.activate(key, activateOptions)),

    async deactivate() {
      await licensing.deactivate()
      return call(() => licensing.check({ online: 'never' }))
    },

    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
}
