import { KeygateError, type KeygateErrorCode } from '@keygate/core'
import type { ErrorResponseBody } from './protocol.js'

/**
 * How failures reach the app: `{ error: { code, message, detail?, retry_after? } }` with an
 * HTTP status that says who must act. Codes are core's, so the client keeps its one rule:
 * a transient code (`rate_limited`, `network`, `timeout`, `server`, `bad_response`) never
 * downgrades a grant; a verdict (`revoked`, `expired`, `key_not_found`…) does.
 */

const STATUS: Readonly<Record<KeygateErrorCode, number>> = {
  invalid_input: 400,
  key_not_found: 404,
  activation_not_found: 404,
  activation_limit_reached: 409,
  activation_not_supported: 409,
  revoked: 403,
  expired: 403,
  conditions_mismatch: 403,
  usage_limit: 403,
  key_mismatch: 403,
  rate_limited: 503,
  // A request that may have reached Polar and whose answer was lost.
  outcome_unknown: 502,
  network: 502,
  timeout: 504,
  server: 502,
  bad_response: 502,
  store: 500,
  // Polar refused the organization token: the seller's configuration, never the app's fault.
  unauthorized: 500,
  forbidden: 500,
}

const misconfigurations = new WeakSet<KeygateError>()

/** A fault in the seller's setup (e.g. the signing key): answered as `server`, told to `log`. */
export function misconfigured(message: string): KeygateError {
  const error = new KeygateError('server', message)
  misconfigurations.add(error)
  return error
}

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }

export function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { ...HEADERS, ...headers } })
}

export function errorAnswer(
  status: number,
  code: KeygateErrorCode,
  message: string,
  extra: { detail?: string | undefined; retryAfter?: number | undefined } = {},
  headers: Record<string, string> = {},
): Response {
  const body: ErrorResponseBody = {
    error: {
      code,
      message: message.startsWith('[keygate]') ? message : `[keygate] ${message}`,
      ...(extra.detail === undefined ? {} : { detail: extra.detail }),
      ...(extra.retryAfter === undefined ? {} : { retry_after: extra.retryAfter }),
    },
  }
  return json(status, body, headers)
}

/** Any thrown value as an answer. `log` hears what the seller must fix (never a full key). */
export function failureAnswer(error: unknown, log: (line: string) => void): Response {
  if (!(error instanceof KeygateError)) {
    // Our own code never puts a key in an error message; request bodies are parsed before.
    const what = error instanceof Error ? `${error.name}: ${error.message}` : 'failure'
    log(`[keygate] lease server: unexpected ${what}`)
    return errorAnswer(500, 'server', 'The lease server failed unexpectedly. Try again later.')
  }
  if (
    error.code === 'unauthorized' ||
    error.code === 'forbidden' ||
    error.code === 'store' ||
    misconfigurations.has(error)
  ) {
    // The message tells the seller what to fix (e.g. the token's scopes); the app only needs
    // to know it is the server's problem, so it hears `server` (transient) and keeps its grant.
    log(error.message)
    return errorAnswer(
      500,
      'server',
      'The lease server is misconfigured; its operator must fix it. Try again later.',
    )
  }
  if (error.code === 'rate_limited') {
    const retryAfter = Math.max(1, Math.ceil(error.retryAfter ?? 60))
    return errorAnswer(
      503,
      'rate_limited',
      `Polar is busy; try again in ${retryAfter} s.`,
      { retryAfter },
      { 'retry-after': String(retryAfter) },
    )
  }
  if (STATUS[error.code] >= 500) log(error.message)
  return errorAnswer(STATUS[error.code], error.code, error.message, { detail: error.detail })
}
