import { isKeygateError, KeygateError } from '../errors.js'
import type { PolarClient } from './types.js'

/** Polar's block after a 429 when it names no `Retry-After`. */
const DEFAULT_PAUSE_S = 60

/**
 * Wraps a client so that, once Polar answered 429 with `Retry-After`, nothing is sent
 * before that time: every call fails at once with `rate_limited` and the seconds left.
 * Polar blocks the whole IP, so a request sent meanwhile only earns another 429 (and
 * prolongs the block for every seat behind the same NAT). One pause per licensing.
 */
export function pauseOnRateLimit(client: PolarClient, now: () => number): PolarClient {
  let until = 0
  let length = 0

  function remainingMs(): number {
    const left = until - now()
    // A clock set back must not stretch the wait beyond what Polar asked for.
    if (left > length) until = 0
    return left > length ? 0 : Math.max(0, left)
  }

  function guard<T>(send: () => Promise<T>): Promise<T> {
    const left = remainingMs()
    if (left > 0) return Promise.reject(pausedError(left))
    return send().catch((error: unknown) => {
      if (isKeygateError(error) && error.code === 'rate_limited') {
        const seconds = error.retryAfter ?? DEFAULT_PAUSE_S
        if (Number.isFinite(seconds) && seconds > 0) {
          length = seconds * 1000
          until = now() + length
        }
      }
      throw error
    })
  }

  return {
    baseURL: client.baseURL,
    activate: (request) => guard(() => client.activate(request)),
    validate: (request) => guard(() => client.validate(request)),
    deactivate: (request) => guard(() => client.deactivate(request)),
  }
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
