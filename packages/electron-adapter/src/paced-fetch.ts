/**
 * Polar's customer-portal routes allow 3 requests per second per IP; the window opens at
 * the first request and a 4th inside it blocks the IP (every seat behind the office NAT)
 * for 60 s. Counted over a sliding window, "at most 3 in any second" holds however
 * Polar aligns its window; the window is a little longer than a second so that
 * requests leaving evenly spaced but arriving bunched up still fit.
 */
export const POLAR_REQUESTS_PER_WINDOW = 3
export const POLAR_WINDOW_MS = 1_250

export interface PacerOptions {
  now: () => number
  /** At most this many events in any window. Default 3 (Polar's limit). */
  requests?: number | undefined
  /** The sliding window, ms. Default 1.25 s. */
  windowMs?: number | undefined
}

/**
 * The adapter's one throttle: at most `requests` events in any sliding window of
 * `windowMs`. `pacedFetch` waits for a slot; the IPC bridge answers at once instead (the
 * cached state for a refresh, `rate_limited` for an activation), with its own policy.
 */
export interface Pacer {
  /** Milliseconds until an event would fit; 0 when one fits now. */
  next(): number
  /** Counts an event now. */
  mark(): void
  /** Counts an event now when one fits and answers 0; otherwise the wait, counting nothing. */
  take(): number
  /** Waits, in order of calling, until an event fits, then counts it. */
  wait(signal?: AbortSignal | null): Promise<void>
}

export function createPacer(options: PacerOptions): Pacer {
  const { now } = options
  const requests = options.requests ?? POLAR_REQUESTS_PER_WINDOW
  const windowMs = options.windowMs ?? POLAR_WINDOW_MS
  const starts: number[] = []
  let queue: Promise<unknown> = Promise.resolve()

  const next = () => {
    const t = now()
    while (starts.length > 0 && (starts[0] ?? t) <= t - windowMs) starts.shift()
    if (starts.length < requests) return 0
    // Capped: a clock set back must not make an event wait longer than one window.
    return Math.min(windowMs, (starts[0] ?? t) + windowMs - t)
  }
  const mark = () => {
    starts.push(now())
  }
  const take = () => {
    const wait = next()
    if (wait === 0) mark()
    return wait
  }
  const turn = async (signal: AbortSignal | null | undefined) => {
    for (;;) {
      signal?.throwIfAborted()
      const wait = take()
      if (wait === 0) return
      await sleep(wait, signal)
    }
  }
  return {
    next,
    mark,
    take,
    wait(signal) {
      const mine = queue.then(() => turn(signal))
      queue = mine.catch(() => undefined)
      return mine
    },
  }
}

/**
 * `fetch` that waits, in order, until sending keeps every window of `windowMs` at no
 * more than `requests` request starts. Retries go through it too, so nothing this app
 * sends (activation, revalidation, a renderer's action) can trip Polar's block.
 */
export function pacedFetch(
  fetch: typeof globalThis.fetch,
  options: PacerOptions,
): typeof globalThis.fetch {
  const pacer = createPacer(options)
  return (input, init) => pacer.wait(init?.signal).then(() => fetch(input, init))
}

function sleep(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, Math.max(1, ms))
    function done() {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    function abort() {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}
