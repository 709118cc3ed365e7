import type { $Fetch } from 'ofetch'
import * as v from 'valibot'
import { KeygateError } from '../errors.js'
import {
  badResponse,
  failureFromFetch,
  failureFromResponse,
  parseBody,
  type RawResponse,
  type RequestContext,
} from './error-mapping.js'
import type { Pacer } from './pacer.js'
import { type AttemptFailure, type Endpoint, retryDelay } from './retry.js'
import type { PolarResult } from './types.js'

/**
 * The request loop both Polar clients share (customer portal and organization API):
 * ofetch loaded on first use, a fresh timeout per attempt, the retry rules of retry.ts,
 * every failure mapped to a KeygateError, and strict-JSON, lenient-shape parsing.
 */

export type Body = Record<string, unknown>

export interface TransportOptions {
  baseURL: string
  headers: Record<string, string>
  fetch: typeof fetch
  timeoutMs: number
  retry: number
  sleep: (ms: number) => Promise<void>
  /** Awaited before every attempt, retries included (the admin client's rate limiter). */
  beforeAttempt?: (() => Promise<void>) | undefined
  /** Every attempt, retries included, takes a turn here (see pacer.ts). */
  pacer?: Pacer | undefined
}

export interface TransportRequest {
  ctx: RequestContext
  method: 'GET' | 'POST' | 'PATCH'
  /** Path and query, relative to the base URL. */
  path: string
  body?: Body | undefined
  /** Which endpoint's retry rules apply. Default `ctx.endpoint`. */
  retryAs?: Endpoint | undefined
  /** Maps a failed answer before the shared rules do; undefined leaves it to them. */
  mapFailure?: ((response: RawResponse) => AttemptFailure | undefined) | undefined
  /**
   * Never sent again once an attempt may have reached Polar (`increment_usage` is counted
   * on every arrival): such a failure throws `outcome_unknown` instead of retrying.
   */
  once?: boolean | undefined
  /**
   * A failure after an earlier attempt may have reached Polar: return the answer it stands
   * for (deactivate's 404 after a lost 204 means the seat is already free), or undefined.
   */
  afterLostAnswer?: ((failure: AttemptFailure) => RawResponse | undefined) | undefined
  /** Called with a 2xx answer's body the moment it is read, before anything else. */
  onAnswer?: ((body: string) => void) | undefined
  /**
   * Checks a 2xx answer (parses it) before its turn is settled: what it throws is that
   * attempt's failure, not retried. So the pacer hears of a 200 that is not Polar's (a
   * captive portal's page) as the failure it is, not as a success.
   */
  accept?: ((response: RawResponse) => void) | undefined
}

type Attempt = { ok: true; response: RawResponse } | { ok: false; failure: AttemptFailure }

/** Sends requests with retries; resolves with the first 2xx answer, else throws a KeygateError. */
export function createTransport(
  options: TransportOptions,
): (request: TransportRequest) => Promise<RawResponse> {
  const { baseURL, headers, timeoutMs, retry, sleep } = options

  // ofetch is loaded on the first request: the offline start-up check never pays for it.
  let fetcher: Promise<$Fetch> | undefined
  const getFetcher = () => {
    fetcher ??= import('ofetch').then(
      async ({ ofetch }) => {
        const defaults = { baseURL, headers, retry: 0, ignoreResponseError: true } as const
        // The answer-reading path, run once on a canned response without any request: the
        // first real answer (an activation's, whose seat is noted the moment it is read) is
        // then not read by code that has never run.
        await ofetch
          .create(defaults, { fetch: async () => new Response('{}', { status: 200 }) })
          .raw<string, 'text'>('/', { method: 'POST', body: {}, responseType: 'text' })
          .catch(() => undefined)
        return ofetch.create({ ...defaults, responseType: 'text' }, { fetch: options.fetch })
      },
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

  async function attempt(request: TransportRequest): Promise<Attempt> {
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
      const pending = $fetch.raw<string, 'text'>(request.path, {
        method: request.method,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: controller.signal,
      })
      // Settles the race even if a custom fetch ignores the signal.
      pending.catch(() => {})
      expired.catch(() => {})
      const response = await Promise.race([pending, expired])
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
      return { ok: false, failure: failureFromFetch(request.ctx, error, timedOut, timeoutMs) }
    } finally {
      clearTimeout(timer)
      if (onAbort) controller.signal.removeEventListener('abort', onAbort)
    }
  }

  return async function send(request: TransportRequest): Promise<RawResponse> {
    let mayHaveArrived = false
    for (let retries = 0; ; retries++) {
      const turn = await options.pacer?.turn()
      await options.beforeAttempt?.()
      const result = await attempt(request)
      if (result.ok && result.response.status >= 200 && result.response.status < 300) {
        const body = result.response.body
        if (request.onAnswer !== undefined && typeof body === 'string') {
          try {
            request.onAnswer(body)
          } catch {
            // The caller's business; the answer is returned as it came.
          }
        }
        try {
          request.accept?.(result.response)
        } catch (error) {
          turn?.settled(error)
          throw error
        }
        turn?.settled()
        return result.response
      }
      const failure = result.ok
        ? (request.mapFailure?.(result.response) ??
          failureFromResponse(request.ctx, result.response))
        : result.failure
      turn?.settled(failure.error)
      if (mayHaveArrived) {
        const answer = request.afterLostAnswer?.(failure)
        if (answer !== undefined) return answer
      }
      if (failure.kind === 'in_flight' && request.once) {
        throw outcomeUnknown(request.ctx, failure.error)
      }
      if (failure.kind === 'in_flight') mayHaveArrived = true
      const endpoint = request.retryAs ?? request.ctx.endpoint
      const delay = retryDelay(endpoint, failure, retries, retry)
      if (delay === undefined) throw withAttempts(failure.error, retries + 1)
      await sleep(delay)
    }
  }
}

/** A request that must not be repeated lost its answer: whether Polar acted is unknown. */
function outcomeUnknown(ctx: RequestContext, error: KeygateError): KeygateError {
  return new KeygateError(
    'outcome_unknown',
    `${ctx.endpoint}: the request may have reached Polar but its answer was lost ` +
      `(${error.code}), so whether Polar counted it is unknown. It was not sent again: ` +
      "sending it twice could count the usage twice. Check the key's usage before retrying.",
    {
      status: error.status,
      detail: error.detail,
      endpoint: error.endpoint,
      cause: error,
    },
  )
}

/** Parses a 2xx body against `schema`; a body that is not Polar's JSON is `bad_response`. */
export function parseResponse<T>(
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

export function meta<T>(response: RawResponse, data: T): PolarResult<T> {
  const date = Date.parse(response.headers.get('date') ?? '')
  return {
    data,
    serverTime: Number.isNaN(date) ? undefined : date,
    sandbox: response.headers.get('x-polar-sandbox')?.trim() === '1',
  }
}

/** Polar treats a present `null` differently from an absent field: send only what is set. */
export function compact(body: Body): Body {
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
    endpoint: error.endpoint,
    cause: error.cause,
  })
}
