/** Every failure keygate reports. A UI can switch on `code`. */
export type KeygateErrorCode =
  | 'invalid_input'
  | 'key_not_found'
  | 'activation_not_found'
  | 'activation_limit_reached'
  | 'activation_not_supported'
  | 'revoked'
  | 'expired'
  | 'conditions_mismatch'
  | 'usage_limit'
  | 'rate_limited'
  | 'network'
  | 'timeout'
  | 'server'
  | 'bad_response'
  | 'store'
  | 'unauthorized'
  | 'forbidden'
  | 'key_mismatch'
  | 'outcome_unknown'

export interface KeygateErrorOptions {
  /** HTTP status of the response that caused it, when there was one. */
  status?: number | undefined
  /** Polar's `detail` text, when it sent one. Never contains the key. */
  detail?: string | undefined
  /** Seconds to wait before trying again (429 `Retry-After`). */
  retryAfter?: number | undefined
  /** The request that failed, e.g. `POST /v1/customer-portal/license-keys/activate`: for logs, never in the message. */
  endpoint?: string | undefined
  cause?: unknown
}

/**
 * The one error class keygate throws. Messages are written for the person who
 * must act, start with `[keygate]`, and never contain a full license key.
 */
export class KeygateError extends Error {
  override readonly name = 'KeygateError'
  readonly code: KeygateErrorCode
  readonly status: number | undefined
  readonly detail: string | undefined
  readonly retryAfter: number | undefined
  readonly endpoint: string | undefined

  constructor(code: KeygateErrorCode, message: string, options: KeygateErrorOptions = {}) {
    super(message.startsWith('[keygate]') ? message : `[keygate] ${message}`, {
      cause: options.cause,
    })
    this.code = code
    this.status = options.status
    this.detail = options.detail
    this.retryAfter = options.retryAfter
    this.endpoint = options.endpoint
  }

  /**
   * Definitive answers come from Polar itself (a 4xx carrying its `error` field) or
   * from our own input checks; they may change a grant. Everything else is transient.
   */
  get transient(): boolean {
    return TRANSIENT[this.code]
  }

  /** A plain object safe to log or send over IPC (no stack, no cause, no key). */
  toJSON(): {
    name: 'KeygateError'
    code: KeygateErrorCode
    message: string
    status?: number
    detail?: string
    retryAfter?: number
    endpoint?: string
  } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.retryAfter === undefined ? {} : { retryAfter: this.retryAfter }),
      ...(this.endpoint === undefined ? {} : { endpoint: this.endpoint }),
    }
  }
}

/** Whether each code is transient: a table, so a new code must be decided here. */
const TRANSIENT: Readonly<Record<KeygateErrorCode, boolean>> = {
  invalid_input: false,
  key_not_found: false,
  activation_not_found: false,
  activation_limit_reached: false,
  activation_not_supported: false,
  revoked: false,
  expired: false,
  conditions_mismatch: false,
  usage_limit: false,
  rate_limited: true,
  network: true,
  timeout: true,
  server: true,
  bad_response: true,
  store: true,
  unauthorized: false,
  forbidden: false,
  // Polar's verdict on the request's benefit or customer id, not on the license.
  key_mismatch: false,
  // Nothing changes the grant; whether Polar acted on the request is what is unknown.
  outcome_unknown: true,
}

/** Every error code, for tools and tests that walk them all. */
export const ERROR_CODES = Object.keys(TRANSIENT) as KeygateErrorCode[]

export function isKeygateError(value: unknown): value is KeygateError {
  return value instanceof KeygateError
}

/**
 * A form of a license key safe to show or log: `****-` and the last 6 characters,
 * as Polar's own `display_key`. Short keys show less so most of it stays hidden.
 */
export function maskKey(key: string): string {
  const trimmed = key.trim()
  const visible = trimmed.length >= 12 ? 6 : Math.floor(trimmed.length / 3)
  return `****-${visible > 0 ? trimmed.slice(-visible) : ''}`
}
