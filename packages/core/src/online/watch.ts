import type { LicenseState } from '../offline/state.js'
import type { Licensing, WatchOptions } from '../types.js'
import {
  DEFAULT_TIMING,
  isDue,
  nextDelay,
  type RevalidationTiming,
  retryNotBefore,
} from './schedule.js'

/**
 * `licensing.watch()`: background revalidation for any app. Validates when the grant is
 * due, spread by jitter so a fleet started together does not stay together; backs off
 * after failures; never asks before Polar's `Retry-After`; looks again when grace runs
 * out, after sleep (`resume`) and when the network returns (`online`). Every timer is
 * unref'd, so watching never keeps a quitting process alive. Returns `stop`.
 */
export function watch(
  licensing: Pick<Licensing, 'check' | 'refresh' | 'subscribe' | 'policy'>,
  now: () => number,
  options: WatchOptions = {},
): () => void {
  const timing: RevalidationTiming = { ...DEFAULT_TIMING, ...options.timing }
  const random = options.random ?? Math.random
  const isOnline = options.isOnline ?? (() => true)
  let stopped = false
  let failures = 0
  let notBefore = 0
  let current: LicenseState | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let poll: ReturnType<typeof setInterval> | undefined
  let inflight: Promise<void> | undefined

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
    if (stopped) return
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

  function plan(state: LicenseState): void {
    current = state
    if (stopped) return
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

  // Where no 'online' event is fed in, poll the cheap, local `isOnline()` while the
  // network is down, and revalidate (a little spread out) once it is back.
  const watchNetwork = () => {
    if (poll !== undefined || stopped || options.isOnline === undefined) return
    let wasOnline = isOnline()
    poll = setInterval(() => {
      const online = isOnline()
      if (online && !wasOnline) onOnline()
      wasOnline = online
    }, timing.onlinePollMs)
    poll.unref?.()
  }

  function settle(state: LicenseState): void {
    if (state.status === 'active') {
      failures = 0
      stopPolling()
    } else {
      failures += 1
    }
    notBefore = retryNotBefore(state, now(), notBefore)
    if (state.error?.code === 'network' || state.error?.code === 'timeout') watchNetwork()
    plan(state)
  }

  function revalidate(): Promise<void> {
    if (inflight !== undefined) return inflight
    clearTimer()
    const run = (async () => {
      if (now() < notBefore || !isOnline()) {
        // Polar asked us to wait, or surely offline: look at the cache only.
        const cached = await licensing.check({ online: 'never' })
        if (now() >= notBefore) {
          failures += 1
          watchNetwork()
        }
        plan(cached)
        return
      }
      settle(await licensing.refresh())
    })()
    inflight = run
    return run.finally(() => {
      inflight = undefined
    })
  }

  // After sleep, timers may be late (macOS) or the state may have moved to grace.
  function onResume(): void {
    at(timing.resumeDelayMs * (1 + random()), async () => {
      const state = await licensing.check({ online: 'never' })
      if (isDue(state, now())) await revalidate()
      else plan(state)
    })
  }

  function onOnline(): void {
    stopPolling()
    at(Math.max(timing.minDelayMs * random(), notBefore - now()), revalidate)
  }

  // Every state the licensing reports (an activation, a check) re-plans the schedule.
  const unsubscribe = licensing.subscribe((state) => {
    if (state.status === 'active' && state.error === undefined) failures = 0
    notBefore = retryNotBefore(state, now(), notBefore)
    if (inflight === undefined) plan(state)
  })
  const unlisten = options.events?.((event) => (event === 'resume' ? onResume() : onOnline()))

  licensing.check({ online: 'never' }).then(plan, () => {
    failures += 1
    at(timing.backoffBaseMs, revalidate)
  })

  return () => {
    stopped = true
    clearTimer()
    stopPolling()
    unsubscribe()
    unlisten?.()
  }
}
