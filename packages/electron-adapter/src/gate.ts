import type { ActivateOptions, CheckOptions, LicenseState, Licensing } from '@keygate/core'
import type { ElectronPowerMonitor } from './electron-types.js'
import type { EncryptionStatus } from './renderer-types.js'
import {
  DEFAULT_TIMING,
  isDue,
  nextDelay,
  type RevalidationTiming,
  retryNotBefore,
} from './schedule.js'

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
  now?: (() => number) | undefined
}

/** Core's licensing plus the background schedule that keeps it fresh. */
export interface Gate {
  start(): Promise<ElectronLicenseState>
  stop(): void
  /** The latest state, once `start()` (or any call) produced one. */
  readonly state: ElectronLicenseState | undefined
  check(options?: CheckOptions): Promise<ElectronLicenseState>
  /** Validates online now, unless Polar asked to wait (`Retry-After`). Never throws. */
  refresh(): Promise<ElectronLicenseState>
  activate(key: string, options?: ActivateOptions): Promise<ElectronLicenseState>
  deactivate(): Promise<ElectronLicenseState>
  subscribe(listener: ElectronStateListener): () => void
}

/**
 * The start-up gate: answers from the cache at once, then revalidates in the
 * background on a jittered schedule, after sleep, and when the network returns.
 * Every timer is unref'd, so the gate never keeps a quitting app alive.
 */
export function createGate(options: GateOptions): Gate {
  const { licensing, powerMonitor } = options
  const timing: RevalidationTiming = { ...DEFAULT_TIMING, ...options.timing }
  const random = options.random ?? Math.random
  const now = options.now ?? Date.now
  const isOnline = options.isOnline ?? (() => true)
  const listeners = new Set<ElectronStateListener>()

  let current: ElectronLicenseState | undefined
  let lastSent = ''
  // Calls overlap (the renderer's check while an activation finishes): a state read before
  // one already kept is returned to its caller, but neither kept nor told to listeners.
  let tickets = 0
  let kept = 0
  const ask = () => ++tickets
  // Timers run only between start() and stop(); calls work either way.
  let started = false
  let failures = 0
  let notBefore = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let poll: ReturnType<typeof setInterval> | undefined
  let inflight: Promise<ElectronLicenseState> | undefined
  let unsubscribeCore: (() => void) | undefined

  const withEncryption = (state: LicenseState): ElectronLicenseState =>
    Object.assign({}, state, { encryption: options.encryption() })

  /** `ticket`: from `ask()` before the call that produced the state; default now. */
  const update = (state: LicenseState, ticket = ask()): ElectronLicenseState => {
    const next = withEncryption(state)
    if (ticket < kept) return next
    kept = ticket
    current = next
    // Core and our own calls may report the same state twice: tell listeners once.
    const fingerprint = JSON.stringify(next)
    if (fingerprint !== lastSent) {
      lastSent = fingerprint
      for (const listener of [...listeners]) {
        try {
          listener(next)
        } catch (error) {
          // One listener's bug must not stop the schedule or the others; still surface it.
          queueMicrotask(() => {
            throw error
          })
        }
      }
    }
    return next
  }

  const clearTimer = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  const stopPolling = () => {
    if (poll !== undefined) clearInterval(poll)
    poll = undefined
  }

  const at = (delay: number, run: () => Promise<unknown>) => {
    clearTimer()
    if (!started) return
    timer = setTimeout(() => {
      timer = undefined
      run().catch(() => {
        // e.g. the machine id could not be read: try later, as after a transient failure.
        failures += 1
        if (current !== undefined) plan(current)
      })
    }, delay)
    timer.unref?.()
  }

  const plan = (state: LicenseState) => {
    const delay = nextDelay(state, {
      now: now(),
      policy: licensing.policy,
      timing,
      random,
      failures,
      notBefore,
    })
    if (delay === null) {
      clearTimer()
      stopPolling()
      return
    }
    at(delay, revalidate)
  }

  // Electron main has no 'online' event: poll the cheap, local `net.isOnline()` while
  // the network is down, and revalidate (a little spread out) once it is back.
  const watchNetwork = () => {
    if (poll !== undefined || !started || options.isOnline === undefined) return
    let wasOnline = isOnline()
    poll = setInterval(() => {
      const online = isOnline()
      if (online && !wasOnline) {
        stopPolling()
        at(Math.max(timing.minDelayMs * random(), notBefore - now()), revalidate)
      }
      wasOnline = online
    }, timing.onlinePollMs)
    poll.unref?.()
  }

  const settle = (state: LicenseState, ticket: number) => {
    if (state.status === 'active') {
      failures = 0
      stopPolling()
    } else {
      failures += 1
    }
    notBefore = retryNotBefore(state, now(), notBefore)
    if (state.error?.code === 'network' || state.error?.code === 'timeout') watchNetwork()
    const result = update(state, ticket)
    plan(state)
    return result
  }

  async function revalidate(): Promise<ElectronLicenseState> {
    if (inflight !== undefined) return inflight
    clearTimer()
    const run = (async () => {
      const ticket = ask()
      if (now() < notBefore || !isOnline()) {
        // Polar asked us to wait, or surely offline: look at the cache only.
        const cached = await licensing.check({ online: 'never' })
        if (now() >= notBefore) {
          failures += 1
          watchNetwork()
        }
        const result = update(cached, ticket)
        plan(cached)
        return result
      }
      return settle(await licensing.refresh(), ticket)
    })()
    inflight = run
    try {
      return await run
    } finally {
      inflight = undefined
    }
  }

  // After sleep, timers may be late (macOS) or the state may have moved to grace.
  const onResume = () => {
    at(timing.resumeDelayMs * (1 + random()), async () => {
      const ticket = ask()
      const state = await licensing.check({ online: 'never' })
      update(state, ticket)
      if (isDue(state, now())) await revalidate()
      else plan(state)
    })
  }

  return {
    get state() {
      return current
    },

    async start() {
      if (started) {
        if (current !== undefined) return current
        const ticket = ask()
        return update(await licensing.check({ online: 'never' }), ticket)
      }
      started = true
      let state: LicenseState
      try {
        state = await licensing.check({ online: 'never' })
      } catch (error) {
        started = false
        throw error
      }
      unsubscribeCore = licensing.subscribe((next) => update(next))
      powerMonitor?.on('resume', onResume)
      const result = update(state)
      plan(state)
      return result
    },

    stop() {
      started = false
      clearTimer()
      stopPolling()
      unsubscribeCore?.()
      unsubscribeCore = undefined
      powerMonitor?.removeListener('resume', onResume)
    },

    async check(checkOptions) {
      const ticket = ask()
      return update(await licensing.check(checkOptions), ticket)
    },

    refresh: () => revalidate(),

    async activate(key, activateOptions) {
      const state = await licensing.activate(key, activateOptions)
      failures = 0
      notBefore = 0
      const result = update(state)
      plan(state)
      return result
    },

    async deactivate() {
      await licensing.deactivate()
      const ticket = ask()
      const state = await licensing.check({ online: 'never' })
      const result = update(state, ticket)
      plan(state)
      return result
    },

    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
}
