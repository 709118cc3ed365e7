import type { Policy } from '../offline/policy.js'
import type { LicenseState } from '../offline/state.js'

/** How background revalidation spreads and backs off. All durations in ms. */
export interface RevalidationTiming {
  /** Each scheduled check moves by up to ± this fraction of `revalidateAfter`. Default 0.1. */
  jitter: number
  /** A check already due at start-up runs at a random moment in this window. Default 60 s. */
  dueWindowMs: number
  /** Never sooner than this after start-up or an event. Default 2 s. */
  minDelayMs: number
  /** First retry after a transient failure; doubles each time. Default 60 s. */
  backoffBaseMs: number
  /** Longest wait between retries. Default 1 h. */
  backoffMaxMs: number
  /** Wait after `resume` so Wi-Fi can reconnect, plus up to the same again. Default 5 s. */
  resumeDelayMs: number
  /** How often `net.isOnline()` is polled while the network is down. Default 15 s. */
  onlinePollMs: number
}

export const DEFAULT_TIMING: Readonly<RevalidationTiming> = Object.freeze({
  jitter: 0.1,
  dueWindowMs: 60_000,
  minDelayMs: 2_000,
  backoffBaseMs: 60_000,
  backoffMaxMs: 60 * 60_000,
  resumeDelayMs: 5_000,
  onlinePollMs: 15_000,
})

/** setTimeout fires at once for anything past 2^31-1 ms (~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * When an online validation is next due, or null when none can change the state (no
 * grant, a record from another machine). Core sets `nextCheckAt` on inactive states it
 * may still lift: a day after a verdict from Polar (a re-enabled key), or at once for an
 * expiry a subscription renewal may have extended, grace run out, a clock set back.
 */
function dueAt(state: LicenseState): number | null {
  if (state.status === 'grace') return Number.NEGATIVE_INFINITY
  // A trial rests on no key: nothing to validate.
  if (state.status === 'trial') return null
  return state.nextCheckAt ?? null
}

/** Whether an online validation is due now. */
export function isDue(state: LicenseState, now: number): boolean {
  const due = dueAt(state)
  return due !== null && due <= now
}

export interface PlanContext {
  now: number
  policy: Readonly<Policy>
  timing: Readonly<RevalidationTiming>
  /** Uniform in [0, 1): injected so tests pick the jitter. */
  random: () => number
  /** Online attempts in a row that did not end `active`. */
  failures: number
  /** Epoch ms before which Polar must not be asked again (its `Retry-After`). */
  notBefore: number
}

/**
 * Milliseconds until the next online validation, or null when there is nothing to
 * revalidate (no grant, or a record Polar must not be asked about). Pure.
 */
export function nextDelay(state: LicenseState, ctx: PlanContext): number | null {
  const due = dueAt(state)
  if (due === null) return null
  const { now, timing, random } = ctx
  let delay: number
  if (state.status === 'active' || due > now) {
    // Spread around the due time so a fleet started together does not stay together.
    // A verdict waits for its day too, however many attempts failed before it.
    const spread = ctx.policy.revalidateAfter * timing.jitter
    delay = due - now + (random() * 2 - 1) * spread
  } else if (ctx.failures === 0) {
    delay = timing.dueWindowMs * random()
  } else {
    const exp = Math.min(timing.backoffMaxMs, timing.backoffBaseMs * 2 ** (ctx.failures - 1))
    // "Equal jitter": at least half the backoff, so retries never bunch up at zero.
    delay = exp / 2 + (exp / 2) * random()
  }
  if (state.status === 'grace') {
    // Look again when grace runs out, so the app hears about it on time even offline.
    delay = Math.min(delay, state.graceEndsAt - now)
  }
  delay = Math.max(delay, timing.minDelayMs, ctx.notBefore - now)
  return Math.min(Math.round(delay), MAX_TIMER_MS)
}

/** Epoch ms before which Polar must not be asked again, from a state's error. */
export function retryNotBefore(state: LicenseState, now: number, previous: number): number {
  const seconds = state.error?.retryAfter
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return previous
  return Math.max(previous, now + seconds * 1000)
}
