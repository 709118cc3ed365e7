import { maskKey } from '../../errors.js'
import type { FaultQueue } from './faults.js'
import type { RateLimiter } from './rate-limit.js'
import { parseBody } from './request-validation.js'
import * as rules from './rules.js'
import type { EmulatorState } from './state.js'
import type { EmulatorEndpoint, EmulatorRequestLog } from './types.js'

/** How the emulator answers one request; each transport (fetch, msw, node:http) maps it. */
export type Answer = { kind: 'response'; response: Response } | { kind: 'reset' } | { kind: 'hang' }

export interface RouterDeps {
  state: EmulatorState
  now(): number
  sandbox: boolean
  /** `Polar-Version` values served; null serves any. */
  polarVersions: readonly string[] | null
  limiter: RateLimiter
  faults: FaultQueue
  log(entry: EmulatorRequestLog): void
}

const ENDPOINT = /^\/v1\/customer-portal\/license-keys\/(activate|validate|deactivate)$/

// authlib's RFC 6750 error, which Polar's auth middleware sends for any unknown bearer token.
const INVALID_TOKEN =
  'The access token provided is expired, revoked, malformed, or invalid for other reasons.'

export async function route(deps: RouterDeps, request: Request, ip: string): Promise<Answer> {
  const now = deps.now()
  const path = new URL(request.url).pathname
  const match = ENDPOINT.exec(path)
  const endpoint = (match?.[1] ?? null) as EmulatorEndpoint | null
  const text = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text()
  const record = (status: EmulatorRequestLog['status']) =>
    deps.log({
      method: request.method,
      path,
      endpoint,
      body: maskedBody(text),
      status,
      ip,
      at: now,
    })

  // Injected faults stand for the network or the edge: they come before Polar sees anything.
  const fault = faultAnswer(deps.faults, now, record)
  if (fault !== null) return fault

  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    record(status)
    const bodyText = body === null ? null : JSON.stringify(body)
    return respond(now, status, bodyText, 'application/json', headers, deps.sandbox)
  }

  // Polar's auth middleware runs before routing: an unknown token is refused on any path.
  if (bearerToken(request) !== null) {
    return answer(
      401,
      { error: 'invalid_token', error_description: INVALID_TOKEN },
      {
        'www-authenticate': `Bearer realm="polar", error="invalid_token", error_description="${INVALID_TOKEN}"`,
        'cache-control': 'no-store',
        pragma: 'no-cache',
      },
    )
  }
  // The rate limit applies to the three license-key routes only, before the method check.
  if (endpoint === null) return answer(404, { detail: 'Not Found' })
  const rate = deps.limiter.hit(ip, now)
  if (!rate.allowed) {
    record(429)
    const headers = { 'retry-after': String(rate.retryAfterSeconds) }
    return respond(now, 429, '', null, headers, deps.sandbox)
  }
  if (request.method !== 'POST') {
    return answer(405, { detail: 'Method Not Allowed' }, { allow: 'POST' })
  }
  // An API version the server does not serve looks like a wrong path: 404 without `error`.
  const version = request.headers.get('polar-version')
  if (version !== null && deps.polarVersions !== null && !deps.polarVersions.includes(version)) {
    return answer(404, { detail: 'Not Found' })
  }
  const outcome = runEndpoint(deps.state, endpoint, text, now)
  return answer(outcome.status, outcome.body)
}

function runEndpoint(
  state: EmulatorState,
  endpoint: EmulatorEndpoint,
  text: string,
  now: number,
): rules.RuleOutcome {
  switch (endpoint) {
    case 'activate': {
      const parsed = parseBody('activate', text)
      return parsed.ok ? rules.activate(state, parsed.body, now) : invalid(parsed.issues)
    }
    case 'validate': {
      const parsed = parseBody('validate', text)
      return parsed.ok ? rules.validate(state, parsed.body, now) : invalid(parsed.issues)
    }
    case 'deactivate': {
      const parsed = parseBody('deactivate', text)
      return parsed.ok ? rules.deactivate(state, parsed.body, now) : invalid(parsed.issues)
    }
  }
}

const invalid = (issues: unknown[]): rules.RuleOutcome => ({
  status: 422,
  body: { error: 'RequestValidationError', detail: issues },
})

/** Polar only looks at `Authorization: Bearer <ascii token>`; other schemes pass as anonymous. */
function bearerToken(request: Request): string | null {
  const header = request.headers.get('authorization')
  if (header === null) return null
  const [scheme, value] = header.trim().split(/\s+/, 2)
  if (!scheme || !value || scheme.toLowerCase() !== 'bearer') return null
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  return /^[\x00-\x7f]*$/.test(value) ? value : null
}

/**
 * The injected fault for this request, if one is due, answered and logged; faults stand
 * for the network or the edge, so they come before Polar (or its rate limit) sees anything.
 */
export function faultAnswer(
  faults: FaultQueue,
  now: number,
  record: (status: EmulatorRequestLog['status']) => void,
): Answer | null {
  const fault = faults.take()
  if (fault === null) return null
  if (fault.kind !== 'response') {
    record(fault.kind)
    return fault
  }
  record(fault.status)
  return respond(now, fault.status, fault.body, fault.contentType, {}, false)
}

/** A response as Polar sends it: its Date header, the sandbox header, no body on 204. */
export function respond(
  now: number,
  status: number,
  body: string | null,
  contentType: string | null,
  extra: Record<string, string>,
  sandbox: boolean,
): Answer {
  const headers = new Headers(extra)
  headers.set('date', new Date(now).toUTCString())
  if (contentType !== null && body !== null && body !== '') headers.set('content-type', contentType)
  if (sandbox) headers.set('x-polar-sandbox', '1')
  // 204 must have no body at all; 429 has an empty one.
  const payload = status === 204 || body === null ? null : body
  return { kind: 'response', response: new Response(payload, { status, headers }) }
}

/** The body for the request log: parsed JSON with the key masked, or the raw text if not JSON. */
export function maskedBody(text: string): unknown {
  if (text === '') return undefined
  try {
    const json: unknown = JSON.parse(text)
    if (typeof json === 'object' && json !== null && !Array.isArray(json) && 'key' in json) {
      const key = (json as { key: unknown }).key
      return { ...json, key: typeof key === 'string' ? maskKey(key) : key }
    }
    return json
  } catch {
    return '[unparsable body]'
  }
}
