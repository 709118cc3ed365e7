import { maskKey } from '../../errors.js'
import { type Auth, authBearer, rateLimitBearer, type Subject } from './auth.js'
import type { FaultQueue } from './faults.js'
import { type OrgRoute, routeOrg } from './org-api.js'
import { decodeSegment, uuid4 } from './org-input.js'
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
  /** `Polar-Version` values served, the default first. */
  polarVersions: readonly string[]
  limiter: RateLimiter
  auth: Auth
  faults: FaultQueue
  /** How far Polar's read replica trails the primary, ms (the organization API's GETs). */
  replicaLag(): number
  log(entry: EmulatorRequestLog): void
}

/** What the transport knows of the request beyond the `Request` itself. */
export interface Arrival {
  ip: string
  /** The `Content-Length` the client sent; null when it sent none (chunked). */
  contentLength: string | null
}

/** Polar's `API_MAX_REQUEST_BODY_SIZE`. */
const MAX_BODY_BYTES = 10 * 1024 * 1024

const PORTAL = /^\/v1\/customer-portal\/license-keys\/(activate|validate|deactivate)$/
const PORTAL_ROTATE = /^\/v1\/customer-portal\/license-keys\/([^/]+)\/rotate$/
const ORG_ROOT = /^\/v1\/license-keys(?=\/|$)/
const VERSION = /^\d{4}-\d{2}$/

// authlib's RFC 6750 error, which Polar's auth middleware sends for any unknown bearer token.
const INVALID_TOKEN =
  'The access token provided is expired, revoked, malformed, or invalid for other reasons.'

/** Replies from one layer of Polar's middleware stack, with the headers that layer adds. */
export interface Reply {
  /** A JSON answer from inside the app (sandbox header included). */
  json(status: number, body: unknown, headers?: Record<string, string>): Answer
  /** A raw answer; `inner` says whether the sandbox middleware wraps the layer. */
  raw(
    status: number,
    body: string | null,
    contentType: string | null,
    headers: Record<string, string>,
    inner: boolean,
  ): Answer
}

/**
 * One request through Polar's stack, outermost first (server/polar/app.py):
 * API version → (CORS) → body size → rate limit → auth subject → (sandbox header) →
 * routes. Injected faults stand for the network or the edge and come before all of it.
 */
export async function route(deps: RouterDeps, request: Request, arrival: Arrival): Promise<Answer> {
  const now = deps.now()
  const { ip } = arrival
  const path = new URL(request.url).pathname
  const endpoint = (PORTAL.exec(path)?.[1] ?? null) as EmulatorEndpoint | null
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

  const fault = faultAnswer(deps.faults, now, record)
  if (fault !== null) return fault

  // APIVersionMiddleware (kit/versioning.py): an unserved or malformed version is answered
  // before anything else, so without Polar-Version, CORS or sandbox headers.
  const sent = request.headers.get('polar-version')
  const version = sent === null || sent === '' ? deps.polarVersions[0] : sent
  if (version === undefined || !VERSION.test(version) || !deps.polarVersions.includes(version)) {
    record(404)
    return respond(now, 404, JSON.stringify({ detail: 'Not Found' }), 'application/json', {})
  }
  const reply: Reply = {
    raw(status, body, contentType, headers, inner) {
      record(status)
      const extra: Record<string, string> = { ...headers, 'polar-version': version }
      if (inner && deps.sandbox) extra['x-polar-sandbox'] = '1'
      return respond(now, status, body, contentType, extra)
    },
    json(status, body, headers = {}) {
      return reply.raw(
        status,
        body === null ? null : JSON.stringify(body),
        'application/json',
        headers,
        true,
      )
    },
  }

  // MaxBodySizeMiddleware (middlewares.py), outside the rate limiter.
  const sizeError = bodySizeError(request.method, arrival.contentLength)
  if (sizeError !== null) {
    return reply.raw(
      sizeError.status,
      JSON.stringify(sizeError.body),
      'application/json',
      {},
      false,
    )
  }

  // The rate limiter counts before anyone is authenticated (an unknown token included).
  const decision = deps.limiter.hit(
    path,
    deps.auth.identity(rateLimitBearer(request), ip, now),
    now,
  )
  if (!decision.allowed) {
    return reply.raw(429, '', null, { 'retry-after': String(decision.retryAfterSeconds) }, false)
  }

  // AuthSubjectMiddleware: an unknown bearer token is refused on any path.
  const bearer = authBearer(request)
  let subject: Subject | undefined
  if (bearer !== null) {
    subject = deps.auth.authenticate(bearer, now)
    if (subject === undefined) {
      deps.auth.forget(bearer)
      return reply.raw(
        401,
        JSON.stringify({ error: 'invalid_token', error_description: INVALID_TOKEN }),
        'application/json',
        {
          'www-authenticate': `Bearer realm="polar", error="invalid_token", error_description="${INVALID_TOKEN}"`,
          'cache-control': 'no-store',
          pragma: 'no-cache',
        },
        false,
      )
    }
  }

  if (endpoint !== null) {
    if (request.method !== 'POST') {
      return reply.json(405, { detail: 'Method Not Allowed' }, { allow: 'POST' })
    }
    const outcome = runEndpoint(deps.state, endpoint, text, now)
    return reply.json(outcome.status, outcome.body)
  }
  const rotate = PORTAL_ROTATE.exec(path)
  if (rotate !== null) {
    if (request.method !== 'POST') {
      return reply.json(405, { detail: 'Method Not Allowed' }, { allow: 'POST' })
    }
    const outcome = portalRotate(deps.state, subject, rotate[1] ?? '', now)
    return reply.json(outcome.status, outcome.body)
  }
  if (ORG_ROOT.test(path)) {
    const call: OrgRoute = {
      request,
      path: path.replace(ORG_ROOT, ''),
      text,
      now,
      readAt: now - deps.replicaLag(),
      subject,
    }
    return routeOrg(deps.state, call, reply)
  }
  return reply.json(404, { detail: 'Not Found' })
}

function bodySizeError(
  method: string,
  contentLength: string | null,
): { status: number; body: unknown } | null {
  if (contentLength === null) {
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return null
    return {
      status: 411,
      body: { error: 'LengthRequired', detail: 'A Content-Length header is required.' },
    }
  }
  // Python's int(): surrounding spaces allowed; anything unparsable is let through.
  const trimmed = contentLength.trim()
  if (!/^[+-]?\d+$/.test(trimmed) || Number(trimmed) <= MAX_BODY_BYTES) return null
  return {
    status: 413,
    body: {
      error: 'RequestBodyTooLarge',
      detail: `Request body exceeded the maximum allowed size of ${MAX_BODY_BYTES} bytes.`,
    },
  }
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

/**
 * `POST /v1/customer-portal/license-keys/{id}/rotate` (customer_portal/endpoints/
 * license_keys.py): a customer session's own key only.
 */
function portalRotate(
  state: EmulatorState,
  subject: Subject | undefined,
  rawId: string,
  now: number,
): rules.RuleOutcome {
  if (subject?.kind !== 'customer') {
    return { status: 401, body: { error: 'Unauthorized', detail: 'Unauthorized' } }
  }
  const id = uuid4(decodeSegment(rawId), ['path', 'id'])
  if (!id.ok) return invalid(id.issues)
  const key = state.keys.get(id.value)
  if (key === undefined || key.deleted || key.customerId !== subject.customerId) {
    return rules.notFound()
  }
  return rules.rotate(state, key, now)
}

function invalid(issues: unknown[]): rules.RuleOutcome {
  return { status: 422, body: { error: 'RequestValidationError', detail: issues } }
}

/**
 * The injected fault for this request, if one is due, answered and logged; faults stand
 * for the network or the edge, so they come before Polar (or its rate limit) sees anything.
 */
function faultAnswer(
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
  return respond(now, fault.status, fault.body, fault.contentType, {})
}

/** A response with the server's Date header and no body on 204. */
function respond(
  now: number,
  status: number,
  body: string | null,
  contentType: string | null,
  extra: Record<string, string>,
): Answer {
  const headers = new Headers(extra)
  headers.set('date', new Date(now).toUTCString())
  if (contentType !== null && body !== null && body !== '') headers.set('content-type', contentType)
  // 204 must have no body at all; 429 has an empty one.
  const payload = status === 204 || body === null || body === '' ? null : body
  return { kind: 'response', response: new Response(payload, { status, headers }) }
}

/** The body for the request log: parsed JSON with the key masked, or a placeholder. */
function maskedBody(text: string): unknown {
  if (text === '') return undefined
  try {
    const json: unknown = JSON.parse(text)
    if (typeof json === 'string') return maskKey(json)
    if (typeof json === 'object' && json !== null && !Array.isArray(json) && 'key' in json) {
      const key = (json as { key: unknown }).key
      return { ...json, key: typeof key === 'string' ? maskKey(key) : key }
    }
    return json
  } catch {
    // Raw text could hold the key (a truncated body): never log it.
    return '[unparsable body]'
  }
}
