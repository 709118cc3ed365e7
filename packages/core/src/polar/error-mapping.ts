import { KeygateError, type KeygateErrorCode, maskKey } from '../errors.js'
import { type AttemptFailure, type Endpoint, neverReachedServer } from './retry.js'

/**
 * Turns whatever went wrong with one request into a KeygateError a person can act on.
 * Only a 4xx carrying Polar's `error` field is treated as Polar's verdict on the
 * license; anything else (a proxy, a wrong URL, an outage) stays transient.
 */

export interface RequestContext {
  endpoint: Endpoint
  /**
   * The request, `POST /v1/customer-portal/license-keys/activate`: kept in each error's
   * `endpoint` for logs. Never in a message (a person reads `describe()`'s words).
   */
  label: string
  baseURL: string
  /** The trimmed key: used to mask it in messages and scrub it from Polar's details. */
  key: string
  /** validate only: whether an activation id was sent (it makes "Not found" ambiguous). */
  withActivation: boolean
  /** The `Polar-Version` the app pinned, if any. */
  polarVersion?: string | undefined
}

/** The API versions Polar serves (server/polar/kit/versioning.py). */
const SERVED_VERSIONS = ['2026-04', '2026-10']

export interface RawResponse {
  status: number
  statusText: string
  headers: Headers
  /** The body as text; undefined when there was none. */
  body: string | undefined
}

/** Seconds to wait when a 429 says nothing: Polar blocks an IP for 60 s. */
const DEFAULT_RETRY_AFTER_S = 60

export type ParsedBody =
  | { ok: true; json: unknown }
  | { ok: false; what: 'an empty body' | 'an HTML page' | 'invalid JSON' }

/** Strict JSON: ofetch's lenient parsing would turn an HTML error page into a string. */
export function parseBody(body: string | undefined): ParsedBody {
  const text = body?.trim() ?? ''
  if (text === '') return { ok: false, what: 'an empty body' }
  if (text.startsWith('<')) return { ok: false, what: 'an HTML page' }
  try {
    return { ok: true, json: JSON.parse(text) as unknown }
  } catch {
    return { ok: false, what: 'invalid JSON' }
  }
}

/**
 * The longest wait a `Retry-After` is taken for. Polar blocks for 60 s; a larger value
 * comes from something else on the way (a proxy, a captive portal, a broken clock in an
 * HTTP date) and would otherwise silence a licensing for the rest of the session.
 */
const MAX_RETRY_AFTER_S = 60 * 60

/** `Retry-After` as seconds: delta-seconds or an HTTP date (relative to the response's `Date`). */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+$/.test(value)) return Math.min(Number(value), MAX_RETRY_AFTER_S)
  const at = Date.parse(value)
  if (Number.isNaN(at)) return undefined
  const date = Date.parse(headers.get('date') ?? '')
  const reference = Number.isNaN(date) ? now : date
  return Math.min(MAX_RETRY_AFTER_S, Math.max(0, Math.ceil((at - reference) / 1000)))
}

/** A failed HTTP answer (any non-2xx status). */
export function failureFromResponse(ctx: RequestContext, response: RawResponse): AttemptFailure {
  const { status } = response
  const parsed = parseBody(response.body)
  const body = parsed.ok && isRecord(parsed.json) ? parsed.json : undefined
  const detail = body === undefined ? undefined : scrub(ctx, body.detail)
  const polarError = typeof body?.error === 'string'
  const statusLine = `${status}${response.statusText ? ` ${response.statusText}` : ''}`

  if (status === 429) {
    const retryAfter = parseRetryAfter(response.headers) ?? DEFAULT_RETRY_AFTER_S
    const error = new KeygateError(
      'rate_limited',
      `${ctx.endpoint}: Polar is rate-limiting requests from this network (429). ` +
        `Try again in ${retryAfter} s; apps on one network share Polar's limit of ` +
        '3 requests per second.',
      { status, retryAfter, endpoint: ctx.label },
    )
    // Polar's limiter answers before the request is handled: nothing was consumed.
    return { error, kind: 'unsent', retryAfterMs: retryAfter * 1000 }
  }
  if (status >= 500) {
    const retryAfter = parseRetryAfter(response.headers)
    const error = new KeygateError(
      'server',
      `${ctx.endpoint}: Polar answered ${statusLine}, a fault on its side. Try again later.`,
      { status, detail, retryAfter, endpoint: ctx.label },
    )
    return {
      error,
      kind: 'in_flight',
      retryAfterMs: retryAfter === undefined ? undefined : retryAfter * 1000,
    }
  }
  if (status === 422) return { error: validationError(ctx, body, detail), kind: 'final' }
  if (status === 411 || status === 413) {
    return { error: refusedBody(ctx, status, statusLine, detail), kind: 'final' }
  }
  if (!parsed.ok && status !== 404) {
    return { error: badResponse(ctx, status, parsed.what), kind: 'final' }
  }
  if (polarError && (status === 400 || status === 403 || status === 404)) {
    return { error: verdict(ctx, status, detail ?? ''), kind: 'final' }
  }
  return { error: configError(ctx, status, statusLine, detail, parsed), kind: 'final' }
}

/** Polar's definitive answer, mapped by its detail text (see DESIGN.md "Polar's contract"). */
function verdict(ctx: RequestContext, status: number, detail: string): KeygateError {
  const masked = maskKey(ctx.key)
  const make = (code: KeygateErrorCode, message: string) =>
    new KeygateError(code, `${ctx.endpoint}: ${message}`, { status, detail, endpoint: ctx.label })

  if (/no longer active/i.test(detail)) {
    return make(
      'revoked',
      `the license key ${masked} is no longer active: the seller revoked or disabled it. ` +
        'Contact the seller, or enter a different key.',
    )
  }
  if (/has expired/i.test(detail)) {
    return make('expired', `the license key ${masked} has expired. Renew it or enter a new key.`)
  }
  if (/does not support activations/i.test(detail)) {
    return make(
      'activation_not_supported',
      `the license key ${masked} does not use activations (its benefit sets no activation ` +
        'limit): validate it instead of activating it.',
    )
  }
  if (/activation limit/i.test(detail)) {
    return make(
      'activation_limit_reached',
      `every activation of the license key ${masked} is in use. To free a seat, deactivate ` +
        "the app on another machine, or remove an old activation in Polar's customer " +
        'portal, then try again.',
    )
  }
  if (/does not match required conditions/i.test(detail)) {
    return make(
      'conditions_mismatch',
      `the license key ${masked} was activated on a different machine (the activation's ` +
        'conditions do not match this one). Activate it on this machine.',
    )
  }
  if (/does not match given (benefit|user)/i.test(detail)) {
    const what = /benefit/i.test(detail) ? 'a different product (benefit)' : 'a different customer'
    return make(
      'key_mismatch',
      `the license key ${masked} belongs to ${what} than the request names. ` +
        'Enter the license key issued for this app.',
    )
  }
  if (/usage/i.test(detail)) {
    return make(
      'usage_limit',
      `the license key ${masked} has too little usage left (${detail}). ` +
        'Ask the seller for a higher limit.',
    )
  }
  if (status === 404) return notFound(ctx, status, detail, masked)
  if (status === 403) {
    return make('forbidden', `Polar refused this for the license key ${masked}: ${detail}`)
  }
  return make(
    'invalid_input',
    `Polar rejected the request for the license key ${masked} as invalid (400): ${detail}`,
  )
}

/** "Not found": which thing was not found depends on what was asked. */
function notFound(ctx: RequestContext, status: number, detail: string, masked: string) {
  const options = { status, detail, endpoint: ctx.label }
  if (ctx.endpoint === 'activate') {
    return new KeygateError(
      'key_not_found',
      `${ctx.endpoint}: Polar does not know the license key ${masked} for this organization. ` +
        'Check it for typos; a key bought in the last few minutes can take 30 s to 2 min ' +
        'to appear, so try again shortly.',
      options,
    )
  }
  if (ctx.endpoint === 'validate' && !ctx.withActivation) {
    return new KeygateError(
      'key_not_found',
      `${ctx.endpoint}: Polar does not know the license key ${masked} for this organization: ` +
        'it was mistyped, deleted, or replaced by a new key. Enter the current key.',
      options,
    )
  }
  return new KeygateError(
    'activation_not_found',
    `${ctx.endpoint}: Polar found no such activation for the license key ${masked}: the ` +
      "activation was removed (e.g. in Polar's customer portal) or deactivated, or the key " +
      'itself is unknown or was replaced by a new one. Activate this machine again.',
    options,
  )
}

/** 422: summarize `loc` and `msg` of each problem; `input` echoes the key and is dropped. */
function validationError(
  ctx: RequestContext,
  body: Record<string, unknown> | undefined,
  detail: string | undefined,
): KeygateError {
  const problems = Array.isArray(body?.detail)
    ? body.detail.map((item: unknown) => {
        if (!isRecord(item)) return 'invalid value'
        const loc = Array.isArray(item.loc) ? item.loc.map(String).join('.') : 'request'
        const msg = typeof item.msg === 'string' ? item.msg : 'invalid value'
        return `${loc}: ${msg}`
      })
    : []
  const summary = scrub(ctx, problems.join('; ')) || detail || 'no details given'
  return new KeygateError(
    'invalid_input',
    `${ctx.endpoint}: Polar rejected the request as invalid (422): ${summary}.`,
    { status: 422, detail: summary, endpoint: ctx.label },
  )
}

function configError(
  ctx: RequestContext,
  status: number,
  statusLine: string,
  detail: string | undefined,
  parsed: ParsedBody,
): KeygateError {
  const options = { status, detail, endpoint: ctx.label }
  if (status === 404 && ctx.polarVersion !== undefined) {
    const served = SERVED_VERSIONS.includes(ctx.polarVersion)
    return new KeygateError(
      'server',
      `${ctx.endpoint}: ${ctx.baseURL} does not serve the Polar-Version '${ctx.polarVersion}' ` +
        `(${statusLine} without Polar's license answer). Polar serves only ` +
        `${SERVED_VERSIONS.join(' and ')}: ${served ? 'check the server URL, or ' : ''}` +
        'set polarVersion to one of them, or leave it unset.',
      options,
    )
  }
  if (status === 404) {
    return new KeygateError(
      'server',
      `${ctx.endpoint}: ${statusLine} without Polar's license answer: ${ctx.baseURL} does not ` +
        'serve this endpoint. Check the server URL.',
      options,
    )
  }
  if (status === 401) {
    return new KeygateError(
      'server',
      `${ctx.endpoint}: ${statusLine}. keygate sends no Authorization header to these public ` +
        'endpoints, so a proxy or a custom fetch added one (Polar refuses unknown tokens ' +
        'even here). Remove it.',
      options,
    )
  }
  if (status === 403) {
    return new KeygateError(
      'server',
      `${ctx.endpoint}: ${statusLine} from something other than Polar's license check ` +
        '(a proxy, firewall or VPN?). Check the network and try again.',
      options,
    )
  }
  const what = parsed.ok ? '' : ` with ${parsed.what}`
  return new KeygateError(
    'server',
    `${ctx.endpoint}: unexpected ${statusLine}${what} from ${ctx.baseURL}. Check the server URL ` +
      'and any proxy in between, then try again.',
    options,
  )
}

/** A body that is not what Polar sends: HTML, empty, invalid JSON, or the wrong shape. */
export function badResponse(ctx: RequestContext, status: number, what: string): KeygateError {
  return new KeygateError(
    'bad_response',
    `${ctx.endpoint}: the ${status} answer from ${ctx.baseURL} is not Polar's JSON (${what}). ` +
      'A proxy, captive portal or wrong server URL may be in the way; try again later.',
    { status, endpoint: ctx.label },
  )
}

/**
 * 411/413 come from Polar's middleware before any license check: the body was sent without
 * a length (a custom fetch or proxy streaming it) or is too large. Not transient: the same
 * request gets the same answer.
 */
function refusedBody(
  ctx: RequestContext,
  status: 411 | 413,
  statusLine: string,
  detail: string | undefined,
): KeygateError {
  const why =
    status === 411
      ? 'it arrived without a Content-Length (a custom fetch or a proxy streamed the body); ' +
        'send it with a length'
      : 'its body is too large (shorten the label, meta or conditions)'
  return new KeygateError(
    'invalid_input',
    `${ctx.endpoint}: Polar refused the request (${statusLine}): ${why}.`,
    { status, detail, endpoint: ctx.label },
  )
}

/** A request that got no answer: timed out, refused, reset, unresolvable. */
export function failureFromFetch(
  ctx: RequestContext,
  error: unknown,
  timedOut: boolean,
  timeoutMs: number,
): AttemptFailure {
  if (timedOut) {
    const error = new KeygateError(
      'timeout',
      `${ctx.endpoint}: no answer from ${ctx.baseURL} within ${timeoutMs} ms. Check the ` +
        'internet connection and try again.',
      { endpoint: ctx.label },
    )
    return { error, kind: 'in_flight' }
  }
  // The errno (ECONNREFUSED…) stays in `cause`: a person reads `describe()`'s words.
  const cause = unwrap(error)
  const keygateError = new KeygateError(
    'network',
    `${ctx.endpoint}: could not reach ${ctx.baseURL}. Check the ` +
      'internet connection, proxy or firewall, and try again.',
    { cause, endpoint: ctx.label },
  )
  return { error: keygateError, kind: neverReachedServer(cause) ? 'unsent' : 'in_flight' }
}

/**
 * ofetch wraps the fetch failure in a FetchError whose `options` hold the request body,
 * key included; keep only the fetch's own error as the cause. A fetch that rejected with
 * nothing (undefined, null, '') leaves no cause: never keep the FetchError itself.
 */
function unwrap(error: unknown): unknown {
  if (error instanceof Error && error.name === 'FetchError') return error.cause || undefined
  return error
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Polar's detail as a string, with the key masked should Polar ever echo it, in any case
 * (a proxy or a lower-cased echo must not slip through).
 */
export function scrub(ctx: Pick<RequestContext, 'key'>, detail: unknown): string | undefined {
  if (typeof detail !== 'string') return undefined
  if (ctx.key === '') return detail
  const pattern = new RegExp(ctx.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi')
  return detail.replace(pattern, maskKey(ctx.key))
}

/**
 * A 2xx from a client that pinned `Polar-Version` must carry that version: another one is
 * a proxy or a server that ignored the pin, and its shape may not be the one asked for.
 */
export function checkPolarVersion(
  ctx: RequestContext,
  response: RawResponse,
  pinned: string | undefined,
): void {
  if (pinned === undefined) return
  const answered = response.headers.get('polar-version')?.trim()
  if (answered === undefined || answered === '' || answered === pinned) return
  throw new KeygateError(
    'bad_response',
    `${ctx.endpoint}: the answer is in Polar-Version '${answered}', not the pinned ` +
      `'${pinned}': a proxy or a server that ignores the pin is in the way.`,
    { status: response.status, endpoint: ctx.label },
  )
}
