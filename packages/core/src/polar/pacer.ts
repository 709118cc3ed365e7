import { isKeygateError, KeygateError } from '../errors.js'
import type { PacingLog } from '../store.js'
import { SharedPause, type SharedWindow, sharedWindow } from './shared-pacing.js'
import type { PolarClient } from './types.js'

/**
 * When keygate may ask Polar: one mechanism, three policies. Every request to the license
 * endpoints takes a turn here (retries too), so no caller can step around a rule.
 *
 * - **Window**: Polar counts 3 requests per client IP in a window that opens when the first
 *   of them reaches it, and blocks the IP for 60 s on the 4th. That arrival is no later than
 *   its answer here, so a request is sent only once `windowMs` (plus a margin) has passed
 *   since the answer to the request `requests` places before it; while that one is still in
 *   flight, the turn waits for it. Short waits: one user action never trips the block.
 * - **Pause**: after a 429, nothing is sent before its `Retry-After` (Polar blocks the whole
 *   IP; asking meanwhile only prolongs the block for every seat behind the same NAT): each
 *   turn fails at once with `rate_limited` and the seconds left.
 * - **Quiet**: after a transient failure (an outage's 503s, a timeout), `quiet()` names it
 *   for a minute, so optional requests (`check()`'s `auto`) answer from the cache meanwhile.
 *   A success ends it.
 *
 * Polar counts per IP, not per process: while a store's lock is held (every request to
 * Polar is sent under it), `share` adds the window and the pause the store's other
 * processes left in its pacing log (shared-pacing.ts).
 */

export interface PacerOptions {
  /** The clock, epoch ms. */
  now: () => number
  sleep: (ms: number) => Promise<void>
  /** Requests per window. Default 3, Polar's. */
  requests?: number | undefined
  /** The window, ms. Default 1000, Polar's. */
  windowMs?: number | undefined
}

/** One request's turn: call `settled` once its answer (or failure) is in. */
export interface Turn {
  settled(error?: unknown): void
}

export interface Pacer {
  /** Waits until a request may be sent; rejects with `rate_limited` during a pause. */
  turn(): Promise<Turn>
  /** The transient failure of the last minute, if one is still quieting optional requests. */
  quiet(): KeygateError | undefined
  /**
   * From now on, turns also follow (and add to) `log`, the store's pacing log, until the
   * returned function is called; it resolves once every note is written. Call it only while
   * holding the store's lock, and end it before the lock is given up.
   */
  share(log: PacingLog): () => Promise<void>
}

const POLAR_REQUESTS = 3
const POLAR_WINDOW_MS = 1000
/** Polar's window ends a whole `windowMs` after it opened; its end instant still counts. */
const WINDOW_MARGIN_MS = 100
/** Polar's block after a 429 when it names no `Retry-After`. */
const DEFAULT_PAUSE_S = 60
/**
 * A `Retry-After` up to this long is waited out by the request's own retry (retry.ts); a
 * longer one pauses every request.
 */
const SHORT_RETRY_AFTER_S = 2
export const QUIET_MS = 60_000

interface Slot {
  /** When its answer came in; undefined while in flight. */
  at: number | undefined
  done: Promise<void>
  settle: () => void
}

export function createPacer(options: PacerOptions): Pacer {
  const { now, sleep } = options
  const requests = options.requests ?? POLAR_REQUESTS
  const span = (options.windowMs ?? POLAR_WINDOW_MS) + WINDOW_MARGIN_MS
  /** The last `requests` turns, oldest first. */
  const slots: Slot[] = []
  let queue: Promise<unknown> = Promise.resolve()
  let pausedUntil = 0
  let pauseLength = 0
  let quiet: { since: number; error: KeygateError } | undefined
  let sharing: SharedWindow | undefined

  function pauseLeft(): number {
    const left = pausedUntil - now()
    // A clock set back must not stretch the wait beyond what Polar asked for.
    if (left > pauseLength) pausedUntil = 0
    return left > pauseLength ? 0 : Math.max(0, left)
  }

  /** The pause `error` asks for, ms, when it asks for one. */
  function pauseOf(error: unknown): number | undefined {
    if (!isKeygateError(error) || error.code !== 'rate_limited') return undefined
    const seconds = error.retryAfter ?? DEFAULT_PAUSE_S
    return Number.isFinite(seconds) && seconds > SHORT_RETRY_AFTER_S ? seconds * 1000 : undefined
  }

  function pause(ms: number): void {
    pauseLength = ms
    pausedUntil = now() + ms
  }

  function observe(error: unknown): void {
    if (error === undefined) {
      quiet = undefined
      return
    }
    if (!isKeygateError(error)) return
    const pauseMs = pauseOf(error)
    if (pauseMs !== undefined) pause(pauseMs)
    else if (error.transient && error.code !== 'store' && error.code !== 'rate_limited') {
      quiet = { since: now(), error }
    }
  }

  /** Waits for the store's other processes' window; undefined when nothing is shared. */
  async function admitShared(shared: SharedWindow | undefined): Promise<number | undefined> {
    if (shared === undefined) return undefined
    try {
      return await shared.admit()
    } catch (error) {
      if (!(error instanceof SharedPause)) throw error
      // Another process was told to wait: this one waits too, without asking again.
      pause(error.leftMs)
      throw pausedError(error.leftMs)
    }
  }

  async function take(): Promise<Turn> {
    const left = pauseLeft()
    if (left > 0) throw pausedError(left)
    const oldest = slots.length >= requests ? slots[slots.length - requests] : undefined
    if (oldest !== undefined) {
      await oldest.done
      const wait = (oldest.at ?? now()) + span - now()
      // Bounded by the span: a clock set back must not stall the queue.
      if (wait > 0) await sleep(Math.min(wait, span))
    }
    const shared = sharing
    const sentAt = await admitShared(shared)
    let settle: () => void = () => {}
    const done = new Promise<void>((resolve) => {
      settle = resolve
    })
    const slot: Slot = { at: undefined, done, settle }
    slots.push(slot)
    if (slots.length > requests) slots.shift()
    let settled = false
    return {
      settled(error) {
        if (settled) return
        settled = true
        slot.at = now()
        slot.settle()
        observe(error)
        if (shared !== undefined && sentAt !== undefined) shared.settle(sentAt, pauseOf(error))
      },
    }
  }

  return {
    turn() {
      // In order: concurrent callers cannot overtake each other past the window.
      const turn = queue.then(take)
      queue = turn.catch(() => undefined)
      return turn
    },
    quiet() {
      if (quiet === undefined) return undefined
      const left = quiet.since + QUIET_MS - now()
      // A clock set back (left beyond the whole span) ends the quiet minute, not stretches it.
      if (left <= 0 || left > QUIET_MS) {
        quiet = undefined
        return undefined
      }
      return quiet.error
    },
    share(log) {
      const window = sharedWindow(log, { now, sleep, requests, span })
      sharing = window
      return async () => {
        await window.flush()
        if (sharing === window) sharing = undefined
      }
    },
  }
}

/**
 * Paces a client that does not pace itself (one passed in by the app): each call is one
 * turn. Clients from `createPolarClient` pace every attempt themselves.
 */
export function pacedClient(client: PolarClient, pacer: Pacer): PolarClient {
  const paced = <T>(send: () => Promise<T>) =>
    pacer.turn().then(async (turn) => {
      try {
        const result = await send()
        turn.settled()
        return result
      } catch (error) {
        turn.settled(error)
        throw error
      }
    })
  const wrapped: PolarClient = {
    baseURL: client.baseURL,
    activate: (request, options) => paced(() => client.activate(request, options)),
    validate: (request) => paced(() => client.validate(request)),
    deactivate: (request) => paced(() => client.deactivate(request)),
  }
  PACERS.set(wrapped, pacer)
  return wrapped
}

const PACERS = new WeakMap<PolarClient, Pacer>()

/** Marks `client` as pacing itself with `pacer`. */
export function registerPacer(client: PolarClient, pacer: Pacer): void {
  PACERS.set(client, pacer)
}

/** The pacer a client paces itself with, if it is one of keygate's. */
export function pacerOf(client: PolarClient): Pacer | undefined {
  return PACERS.get(client)
}

function pausedError(leftMs: number): KeygateError {
  const retryAfter = Math.ceil(leftMs / 1000)
  return new KeygateError(
    'rate_limited',
    `Polar asked this network to wait (429), so keygate sends nothing for ${retryAfter} s more; ` +
      "apps on one network share Polar's limit of 3 requests per second.",
    { retryAfter },
  )
}
