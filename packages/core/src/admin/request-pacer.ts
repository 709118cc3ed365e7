import { KeygateError } from '../errors.js'
import { POLAR_SERVERS } from '../polar/types.js'
import type { AdminRateLimit } from './admin-types.js'

/**
 * Polar limits its API per organization, all its tokens together: 500 requests per minute
 * in production, 100 in sandbox (polarsource/polar server/polar/rate_limit.py). Walking
 * every page of a big organization, or a script looping over keys, would run into it and
 * get 429s; the pacer spaces requests so that never happens from one client (two tools of
 * one organization running at once still share the limit).
 */
export const PRODUCTION_RATE_LIMIT: Readonly<AdminRateLimit> = Object.freeze({
  requests: 500,
  perMs: 60_000,
})
export const SANDBOX_RATE_LIMIT: Readonly<AdminRateLimit> = Object.freeze({
  requests: 100,
  perMs: 60_000,
})

export function defaultRateLimit(baseURL: string): AdminRateLimit {
  return baseURL === POLAR_SERVERS.sandbox ? SANDBOX_RATE_LIMIT : PRODUCTION_RATE_LIMIT
}

export function checkRateLimit(limit: AdminRateLimit): AdminRateLimit {
  const ok = (n: unknown, max: number) =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= max
  if (
    typeof limit !== 'object' ||
    limit === null ||
    !ok(limit.requests, 1e6) ||
    !ok(limit.perMs, 36e5)
  ) {
    throw new KeygateError(
      'invalid_input',
      'rateLimit must be false or { requests, perMs } with whole numbers of at least 1 ' +
        '(perMs at most one hour).',
    )
  }
  return limit
}

/**
 * Polar's window is fixed: it opens at the first request it counts and ends `perMs` later,
 * its end instant included, and a request's arrival there is later than its send here by
 * an unknown latency. So a request is sent only when `perMs` and a margin (a tenth of it, at
 * most a second) have passed
 * since the request `requests` places before it. Callers are served in order, so
 * concurrent requests cannot overtake each other past the limit.
 */

export function createRequestPacer(
  limit: AdminRateLimit,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
): () => Promise<void> {
  const sent: number[] = []
  let queue: Promise<void> = Promise.resolve()

  async function take(): Promise<void> {
    const span = limit.perMs + Math.min(1000, Math.ceil(limit.perMs / 10))
    const cutoff = now() - span
    while (sent.length > 0 && (sent[0] ?? 0) <= cutoff) sent.shift()
    if (sent.length >= limit.requests) {
      // The oldest request leaves the window at `oldest + span`; after that wait it has.
      const wait = (sent[0] ?? 0) + span - now()
      if (wait > 0) await sleep(wait)
      sent.shift()
    }
    sent.push(now())
  }

  return () => {
    const turn = queue.then(take)
    queue = turn.catch(() => undefined)
    return turn
  }
}
