import type { $Fetch } from 'ofetch'
import * as v from 'valibot'
import { KeygateError } from './errors.js'
import {
  badResponse,
  failureFromFetch,
  failureFromResponse,
  parseBody,
  type RawResponse,
  type RequestContext,
} from './polar-errors.js'
import {
  type ActivateRequest,
  type DeactivateRequest,
  PolarActivationSchema,
  type PolarClient,
  type PolarClientOptions,
  type PolarResult,
  PolarValidatedKeySchema,
  resolveServer,
  type ValidateRequest,
} from './polar-types.js'
import {
  validateActivateRequest,
  validateDeactivateRequest,
  validateValidateRequest,
} from './request-rules.js'
import { type AttemptFailure, defaultSleep, type Endpoint, retryDelay } from './retry.js'

export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_RETRY = 2
const MAX_RETRY = 10

const PATH = '/v1/customer-portal/license-keys/'

type Body = Record<string, unknown>
type Attempt = { ok: true; response: RawResponse } | { ok: false; failure: AttemptFailure }

/**
 * The customer-portal license-key client: no secret, safe to ship in an app.
 *
 * Every request is checked against Polar's field rules first (`invalid_input`, nothing
 * sent), gets a fresh timeout per attempt, and is retried only where that cannot cost
 * the customer a seat: see retry.ts. Every failure is a KeygateError.
 */
export function createPolarClient(options: PolarClientOptions = {}): PolarClient {
  const baseURL = checkBaseURL(resolveServer(options.server))
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 600_000)
  const retry = checkNumber('retry', options.retry ?? DEFAULT_RETRY, 0, MAX_RETRY)
  const sleep = options.sleep ?? defaultSleep
  // Resolved per call so a fetch patched later (msw, an Electron net.fetch swap) is used.
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.polarVersion !== undefined) {
    headers['polar-version'] = checkHeaderValue('polarVersion', options.polarVersion)
  }

  // ofetch is loaded on the first request: the offline start-up check never pays for it.
  let fetcher: Promise<$Fetch> | undefined
  const getFetcher = () => {
    fetcher ??= import('ofetch').then(
      ({ ofetch }) =>
        ofetch.create(
          { baseURL, headers, retry: 0, ignoreResponseError: true, responseType: 'text' },
          { fetch: fetchImpl },
        ),
      (cause: unknown) => {
        fetcher = undefined
        throw new KeygateError(
          'network',
          'Could not load the HTTP client (the ofetch package); check that the app ships it.',
          { cause },
        )
      },
    )
    return fetcher
  }

  async function attempt(ctx: RequestContext, body: Body): Promise<Attempt> {
    const $fetch = await getFetcher()
    // A fresh timer per attempt: ofetch 1.5.1 would reuse one timeout signal across its
    // own retries, failing every retry after a first timeout.
    const controller = new AbortController()
    let timedOut = false
    let onAbort: (() => void) | undefined
    const expired = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error('timeout'))
      controller.signal.addEventListener('abort', onAbort, { once: true })
    })
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeoutMs)
    try {
      const request = $fetch.raw<string, 'text'>(PATH + ctx.endpoint, {
        method: 'POST',
        body,
        signal: controller.signal,
      })
      // Settles the race even if a custom fetch ignores the signal.
      request.catch(() => {})
      expired.catch(() => {})
      const response = await Promise.race([request, expired])
      return {
        ok: true,
        response: {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
          body: response._data,
        },
      }
    } catch (error) {
      return { ok: false, failure: failureFromFetch(ctx, error, timedOut, timeoutMs) }
    } finally {
      clearTimeout(timer)
      if (onAbort) controller.signal.removeEventListener('abort', onAbort)
    }
  }

  async function send(ctx: RequestContext, body: Body): Promise<RawResponse> {
    for (let retries = 0; ; retries++) {
      const result = await attempt(ctx, body)
      if (result.ok && result.response.status >= 200 && result.response.status < 300) {
        return result.response
      }
      const failure = result.ok ? failureFromResponse(ctx, result.response) : result.failure
      const delay = retryDelay(ctx.endpoint, failure, retries, retry)
      if (delay === undefined) throw withAttempts(failure.error, retries + 1)
      await sleep(delay)
    }
  }

  function context(endpoint: Endpoint, key: string, withActivation = false): RequestContext {
    return { endpoint, label: `[POST] ${PATH}${endpoint}`, baseURL, key, withActivation }
  }

  function parse<T>(
    ctx: RequestContext,
    response: RawResponse,
    schema: v.GenericSchema<unknown, T>,
  ): PolarResult<T> {
    const parsed = parseBody(response.body)
    if (!parsed.ok) throw badResponse(ctx, response.status, parsed.what)
    const result = v.safeParse(schema, parsed.json)
    if (!result.success) {
      throw badResponse(ctx, response.status, `unexpected shape: ${describeIssues(result.issues)}`)
    }
    return meta(response, result.output)
  }

  return {
    baseURL,
    async activate(request: ActivateRequest) {
      const r = validateActivateRequest(request)
      const body = compact({
        key: r.key,
        organization_id: r.organizationId,
        label: r.label,
        conditions: r.conditions,
        meta: r.meta,
      })
      const ctx = context('activate', r.key)
      return parse(ctx, await send(ctx, body), PolarActivationSchema)
    },
    async validate(request: ValidateRequest) {
      const r = validateValidateRequest(request)
      const body = compact({
        key: r.key,
        organization_id: r.organizationId,
        activation_id: r.activationId,
        benefit_id: r.benefitId,
        customer_id: r.customerId,
        increment_usage: r.incrementUsage,
        conditions: r.conditions,
      })
      const ctx = context('validate', r.key, r.activationId !== undefined)
      return parse(ctx, await send(ctx, body), PolarValidatedKeySchema)
    },
    async deactivate(request: DeactivateRequest) {
      const r = validateDeactivateRequest(request)
      const body = {
        key: r.key,
        organization_id: r.organizationId,
        activation_id: r.activationId,
      }
      // 204 with no body; any other success is accepted too, its body is not needed.
      return meta(await send(context('deactivate', r.key, true), body), null)
    },
  }
}

function meta<T>(response: RawResponse, data: T): PolarResult<T> {
  const date = Date.parse(response.headers.get('date') ?? '')
  return {
    data,
    serverTime: Number.isNaN(date) ? undefined : date,
    sandbox: response.headers.get('x-polar-sandbox')?.trim() === '1',
  }
}

/** Polar treats a present `null` differently from an absent field: send only what is set. */
function compact(body: Body): Body {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined))
}

/** Paths and expectations only: the received values may be PII. */
function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${v.getDotPath(issue) ?? '(root)'} (expected ${issue.expected ?? 'valid'})`)
    .join(', ')
}

function withAttempts(error: KeygateError, attempts: number): KeygateError {
  if (attempts < 2) return error
  return new KeygateError(error.code, `${error.message} (${attempts} attempts)`, {
    status: error.status,
    detail: error.detail,
    retryAfter: error.retryAfter,
    cause: error.cause,
  })
}

function checkBaseURL(url: string): string {
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

function checkNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new KeygateError('invalid_input', `${name} must be a whole number from ${min} to ${max}.`)
  }
  return value
}

function checkHeaderValue(name: string, value: string): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]+$/.test(value)) {
    throw new KeygateError('invalid_input', `${name} must be a version name such as '2026-10'.`)
  }
  return value
}
