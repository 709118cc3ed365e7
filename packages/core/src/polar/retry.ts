import type { KeygateError } from '../errors.js'

/**
 * When a failed attempt may be repeated. Polar shares 3 requests per second per client
 * IP across the license endpoints and blocks the IP for 60 s past that, and every
 * successful activate consumes a seat, so retrying is the exception, not the rule.
 */
export type Endpoint = 'activate' | 'validate' | 'deactivate'

/**
 * - `unsent`: provably never reached Polar (DNS failure, connection refused, a 429 from
 *   the rate limiter): safe to repeat on every endpoint.
 * - `in_flight`: may have reached Polar (timeout, reset, 5xx): the answer was lost, so
 *   only the idempotent endpoints (validate, deactivate) repeat it; activate would risk
 *   consuming a second seat.
 * - `final`: a definitive answer or a fault a retry will not fix.
 */
export type FailureKind = 'unsent' | 'in_flight' | 'final'

export interface AttemptFailure {
  error: KeygateError
  kind: FailureKind
  /** From a `Retry-After` header, in ms: never retry sooner. */
  retryAfterMs?: number | undefined
}

const BACKOFF_BASE_MS = 500
const BACKOFF_CAP_MS = 4000
/** A `Retry-After` longer than this is left to the caller to schedule. */
const MAX_RETRY_AFTER_MS = 2000

/**
 * Wait before retry number `retryIndex` (0 for the first): 500 ms × 2^n plus up to 50 %
 * jitter, capped. Never less than the base, so one call never sends more than two
 * requests within a second.
 */
export function backoffDelay(retryIndex: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retryIndex)
  return Math.round(base * (1 + random() * 0.5))
}

/**
 * How long to wait before retrying `failure` of `endpoint`, or undefined to give up.
 * `retriesDone` counts retries already made; `budget` is the allowed number.
 */
export function retryDelay(
  endpoint: Endpoint,
  failure: AttemptFailure,
  retriesDone: number,
  budget: number,
  random: () => number = Math.random,
): number | undefined {
  if (retriesDone >= budget || failure.kind === 'final') return undefined
  if (failure.kind === 'in_flight' && endpoint === 'activate') return undefined
  const backoff = backoffDelay(retriesDone, random)
  if (failure.retryAfterMs === undefined) return backoff
  if (failure.retryAfterMs > MAX_RETRY_AFTER_MS) return undefined
  return Math.max(backoff, failure.retryAfterMs)
}

const PRE_CONNECTION_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  // undici: the TCP/TLS connection was not established in time, no request was written.
  'UND_ERR_CONNECT_TIMEOUT',
])

// Chromium's codes as Electron's net.fetch reports them ("net::ERR_NAME_NOT_RESOLVED").
const PRE_CONNECTION_NET_ERRORS =
  /net::ERR_(NAME_NOT_RESOLVED|NAME_RESOLUTION_FAILED|CONNECTION_REFUSED|INTERNET_DISCONNECTED|ADDRESS_UNREACHABLE)\b/

/**
 * The error code closest to the cause of a fetch failure (`ECONNREFUSED`,
 * `net::ERR_NAME_NOT_RESOLVED`), walking `cause` chains; undefined when none is known.
 */
export function failureCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, message, cause, errors } = current as {
      code?: unknown
      message?: unknown
      cause?: unknown
      errors?: unknown
    }
    if (typeof code === 'string' && code !== '') return code
    if (typeof message === 'string') {
      const net = /net::ERR_[A-Z_]+/.exec(message)
      if (net) return net[0]
    }
    // Happy eyeballs: every address failed; Node reports an AggregateError.
    if (Array.isArray(errors) && errors.length > 0) return commonCode(errors)
    current = cause
  }
  return undefined
}

function commonCode(errors: unknown[]): string | undefined {
  const codes = new Set(errors.map(failureCode))
  return codes.size === 1 ? [...codes][0] : undefined
}

/** True when the failure proves the request never reached the server. */
export function neverReachedServer(error: unknown): boolean {
  const code = failureCode(error)
  if (code === undefined) return false
  return PRE_CONNECTION_CODES.has(code) || PRE_CONNECTION_NET_ERRORS.test(code)
}

export function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
