/**
 * Polar's customer-portal routes allow 3 requests per second per IP; the window opens at
 * the first request and a 4th inside it blocks the IP (every seat behind the office NAT)
 * for 60 s. Counted over a sliding window, "at most 3 in any second" holds however
 * Polar aligns its window; the window is a little longer than a second so that
 * requests leaving evenly spaced but arriving bunched up still fit.
 */
export const POLAR_REQUESTS_PER_WINDOW = 3
export const POLAR_WINDOW_MS = 1_250

export interface PacedFetchOptions {
  now: () => number
  requests?: number | undefined
  windowMs?: number | undefined
}

/**
 * `fetch` that waits, in order, until sending keeps every window of `windowMs` at no
 * more than `requests` request starts. Retries go through it too, so nothing this app
 * sends (activation, revalidation, a renderer's action) can trip Polar's block.
 */
export function pacedFetch(fetch: typeof globalThis.fetch, options: PacedFetchOptions) {
  const { now } = options
  const requests = options.requests ?? POLAR_REQUESTS_PER_WINDOW
  const windowMs = options.windowMs ?? POLAR_WINDOW_MS
  const starts: number[] = []
  let queue: Promise<unknown> = Promise.resolve()

  const turn = async (signal: AbortSignal | null | undefined) => {
    for (;;) {
      signal?.throwIfAborted()
      const t = now()
      while (starts.length > 0 && (starts[0] ?? t) <= t - windowMs) starts.shift()
      if (starts.length < requests) {
        starts.push(t)
        return
      }
      // Capped: a clock set back must not make a request wait longer than one window.
      await sleep(Math.min(windowMs, (starts[0] ?? t) + windowMs - t), signal)
    }
  }

  const paced: typeof globalThis.fetch = (input, init) => {
    const mine = queue.then(() => turn(init?.signal))
    queue = mine.catch(() => undefined)
    return mine.then(() => fetch(input, init))
  }
  return paced
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
