import { KeygateError } from './errors.js'
import { resolveServer } from './offline/origin.js'
import type { PolarClientOptions } from './polar/types.js'

/**
 * The Polar clients' option checks, kept apart from the HTTP code so that
 * `createPolarClient` can refuse bad options at once while the client itself (transport,
 * error mapping, response schemas, ofetch) loads on the first request.
 */

export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_RETRY = 2
const MAX_RETRY = 10
const MAX_TIMEOUT_MS = 600_000

/** Checked options, ready for the client: nothing here can fail later. */
export interface ClientSettings {
  baseURL: string
  timeoutMs: number
  retry: number
  /** Sent with every request (`accept`, and `polar-version` when asked for). */
  headers: Record<string, string>
  fetch: PolarClientOptions['fetch']
  sleep: PolarClientOptions['sleep']
  now: PolarClientOptions['now']
  /** The `Polar-Version` the app pinned, if any: answers must carry the same. */
  polarVersion: string | undefined
}

/** Checks `options` and fills in defaults; throws `invalid_input` on a bad value. */
export function resolveClientSettings(options: PolarClientOptions): ClientSettings {
  const baseURL = checkBaseURL(resolveServer(options.server))
  const timeoutMs = checkNumber(
    'timeoutMs',
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    1,
    MAX_TIMEOUT_MS,
  )
  const retry = checkNumber('retry', options.retry ?? DEFAULT_RETRY, 0, MAX_RETRY)
  const headers: Record<string, string> = { accept: 'application/json' }
  const polarVersion =
    options.polarVersion === undefined
      ? undefined
      : checkHeaderValue('polarVersion', options.polarVersion)
  if (polarVersion !== undefined) headers['polar-version'] = polarVersion
  return {
    baseURL,
    timeoutMs,
    retry,
    headers,
    fetch: options.fetch,
    sleep: options.sleep,
    now: options.now,
    polarVersion,
  }
}

export function checkBaseURL(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new KeygateError('invalid_input', `server must be 'production', 'sandbox' or a URL.`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new KeygateError('invalid_input', `server must be an http(s) URL.`)
  }
  return url
}

export function checkNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new KeygateError('invalid_input', `${name} must be a whole number from ${min} to ${max}.`)
  }
  return value
}

export function checkHeaderValue(name: string, value: string): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]+$/.test(value)) {
    throw new KeygateError('invalid_input', `${name} must be a version name such as '2026-10'.`)
  }
  return value
}
