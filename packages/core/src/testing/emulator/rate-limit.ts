import type { OrganizationRateLimitGroup, PolarBlockZone, RateLimitOptions } from './types.js'

/**
 * Polar's rate limiter (server/polar/rate_limit.py on asgi-ratelimit 0.10 with its Redis
 * backend), rule for rule where the license-key routes and the organization API meet it:
 *
 * - The first path pattern whose rules have one for the client's group decides (a group
 *   without a rule there falls through to the next pattern, `^/v1`).
 * - A window opens at the client's first request (`SET key limit EX window NX`) and
 *   counts down; a request finding it at 0 is refused and does not count.
 * - A refusal under a rule with a block time sets `blocking:<client>`, keyed by the client
 *   alone: one block answers every zone until it ends, with its remaining TTL (Redis
 *   rounds TTL to the nearest second; a block with less than half a second left reads 0
 *   and no longer blocks). Without a block time the answer is the window's length.
 */

export type RateLimitGroup = OrganizationRateLimitGroup | 'web' | 'pending_auth'

/** Who the limiter counts: the client IP, `token:…` before a token is known, or the subject. */
export interface RateIdentity {
  user: string
  group: RateLimitGroup
}

interface Rule {
  group: RateLimitGroup
  limit: number
  windowMs: number
  blockMs: number | null
  zone: string
}

export const DEFAULT_RATE_LIMIT: Readonly<RateLimitOptions> = Object.freeze({
  requests: 3,
  perMs: 1000,
  blockMs: 60_000,
})

/** Block times of Polar's other zones, whose block also answers the license routes. */
export const POLAR_BLOCK_SECONDS: Readonly<Record<PolarBlockZone, number>> = Object.freeze({
  'login-code': 900,
  'auth-email-otp': 900,
  'customer-session-login': 900,
  'seat-claim-stream': 300,
  'checkout-confirm': 1800,
  'feedback-submit': 3600,
  'customer-license-key': 60,
})

const MINUTE = 60_000
const SECOND = 1000

function licenseRules(options: RateLimitOptions): Rule[] {
  return (['default', 'pending_auth'] as const).map((group) => ({
    group,
    limit: options.requests,
    windowMs: options.perMs,
    blockMs: options.blockMs,
    zone: 'customer-license-key',
  }))
}

function apiRules(sandbox: boolean): Rule[] {
  const rule = (group: RateLimitGroup, limit: number, windowMs: number): Rule => ({
    group,
    limit,
    windowMs,
    blockMs: null,
    zone: 'api',
  })
  return sandbox
    ? [
        rule('restricted', 10, MINUTE),
        rule('default', 100, MINUTE),
        rule('web', 50, SECOND),
        rule('elevated', 50, SECOND),
        rule('pending_auth', 60, MINUTE),
      ]
    : [
        rule('restricted', 60, MINUTE),
        rule('default', 500, MINUTE),
        rule('web', 100, SECOND),
        rule('elevated', 100, SECOND),
        rule('pending_auth', 60, MINUTE),
      ]
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number }

export interface RateLimiter {
  /** Counts one request to `path` and says whether it may pass. */
  hit(path: string, identity: RateIdentity, now: number): RateDecision
  /** Sets `blocking:<user>` as another zone's refusal would. */
  block(user: string, seconds: number, now: number): void
  reset(): void
}

export interface RateLimiterOptions {
  /** The customer-license-key zone; `false` turns the whole limiter off. */
  license: RateLimitOptions | false
  sandbox: boolean
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const config: Array<{ pattern: RegExp; rules: Rule[] }> =
    options.license === false
      ? []
      : [
          {
            // re.match: anchored at the start only, as Polar's patterns are.
            pattern: /^\/v1\/customer-portal\/license-keys\/(validate|activate|deactivate)/,
            rules: licenseRules(options.license),
          },
          { pattern: /^\/v1/, rules: apiRules(options.sandbox) },
        ]
  const windows = new Map<string, { remaining: number; expiresAt: number }>()
  const blocks = new Map<string, number>()
  // Redis keeps a key alive up to and including its expiry instant.
  const alive = (expiresAt: number | undefined, now: number) =>
    expiresAt !== undefined && now <= expiresAt

  return {
    hit(path, identity, now) {
      let rule: Rule | undefined
      for (const entry of config) {
        if (!entry.pattern.test(path)) continue
        rule = entry.rules.find((r) => r.group === identity.group)
        if (rule !== undefined) break
      }
      if (rule === undefined) return { allowed: true }
      const blockedUntil = blocks.get(identity.user)
      if (alive(blockedUntil, now) && blockedUntil !== undefined) {
        // Redis TTL: remaining seconds rounded to the nearest, 0 no longer counts as blocked.
        const ttl = Math.floor((blockedUntil - now + 500) / 1000)
        if (ttl > 0) return { allowed: false, retryAfterSeconds: ttl }
      }
      const key = `${rule.zone}:*:${identity.user}:${rule.windowMs}`
      let window = windows.get(key)
      if (window === undefined || !alive(window.expiresAt, now)) {
        window = { remaining: rule.limit, expiresAt: now + rule.windowMs }
        windows.set(key, window)
      }
      if (window.remaining < 1) {
        if (rule.blockMs === null || rule.blockMs <= 0) {
          return {
            allowed: false,
            retryAfterSeconds: Math.max(1, Math.round(rule.windowMs / 1000)),
          }
        }
        blocks.set(identity.user, now + rule.blockMs)
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.round(rule.blockMs / 1000)) }
      }
      window.remaining -= 1
      return { allowed: true }
    },
    block(user, seconds, now) {
      blocks.set(user, now + seconds * 1000)
    },
    reset() {
      windows.clear()
      blocks.clear()
    },
  }
}
