import type { RateLimitOptions } from './types.js'

export const DEFAULT_RATE_LIMIT: Readonly<RateLimitOptions> = Object.freeze({
  requests: 3,
  perMs: 1000,
  blockMs: 60_000,
})

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number }

export interface RateLimiter {
  /** Counts one request from `ip` at `now` and says whether it may pass. */
  hit(ip: string, now: number): RateDecision
  reset(): void
}

/**
 * Polar's limiter on the license-key endpoints: a fixed window counter per client IP
 * (as its Redis backend keeps), and once a client goes past it, every request is
 * refused until the block ends. Requests refused while blocked do not extend it.
 */
export function createRateLimiter(options: RateLimitOptions | false): RateLimiter {
  const clients = new Map<string, { window: number; count: number; blockedUntil: number }>()
  return {
    hit(ip, now) {
      if (options === false) return { allowed: true }
      const window = Math.floor(now / options.perMs)
      let client = clients.get(ip)
      if (client === undefined) {
        client = { window, count: 0, blockedUntil: Number.NEGATIVE_INFINITY }
        clients.set(ip, client)
      }
      if (now < client.blockedUntil) return refuse(client.blockedUntil - now)
      if (client.window !== window) {
        client.window = window
        client.count = 0
      }
      client.count += 1
      if (client.count > options.requests) {
        client.blockedUntil = now + options.blockMs
        client.count = 0
        return refuse(options.blockMs)
      }
      return { allowed: true }
    },
    reset() {
      clients.clear()
    },
  }
}

function refuse(remainingMs: number): RateDecision {
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) }
}
