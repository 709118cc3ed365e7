import type { FaultQueue } from './faults.js'
import {
  type Call,
  getActivation,
  getKey,
  type Handler,
  list,
  serverSide,
  updateKey,
} from './org-handlers.js'
import { createRateLimiter } from './rate-limit.js'
import { type Answer, faultAnswer, maskedBody, respond } from './router.js'
import type { EmulatorState } from './state.js'
import type { EmulatorRequestLog } from './types.js'

/**
 * Polar's organization API for license keys (`/v1/license-keys/…`), the seller's side:
 * list, get, update, get an activation, and the server-side activate/validate/deactivate.
 * Authenticated with organization access tokens and their scopes, as Polar's server
 * (polarsource/polar server/polar/license_key/endpoints.py, auth.py) does.
 */

export type LicenseKeyScope = 'license_keys:read' | 'license_keys:write'

export interface AccessTokenOptions {
  /** Default both license-key scopes. Any other scope string grants nothing here. */
  scopes?: ReadonlyArray<LicenseKeyScope | (string & {})> | undefined
  /** The organization the token belongs to. Default: the emulator's organization. */
  organizationId?: string | undefined
}

export interface OrgApiDeps {
  state: EmulatorState
  now(): number
  organizationId: string
  sandbox: boolean
  /** Polar's `^/v1` limit per token: 500/min in production, 100/min in sandbox. */
  rateLimit: boolean
  faults: FaultQueue
  log(entry: EmulatorRequestLog): void
}

type NextRoute = (request: Request, ip: string) => Promise<Answer>

export interface OrgApi {
  createAccessToken(options?: AccessTokenOptions): string
  /** The token answers 401 from now on. False when it was not live. */
  revokeAccessToken(token: string): boolean
  /** Answers `/v1/license-keys/…`; everything else goes to `next`. */
  answer(request: Request, ip: string, next: NextRoute): Promise<Answer>
  resetRateLimit(): void
}

const ROOT = /^\/v1\/license-keys(?=\/|$)/
const READ: readonly string[] = ['license_keys:read', 'license_keys:write']
const WRITE: readonly string[] = ['license_keys:write']
// authlib's RFC 6750 texts, as Polar sends them.
const INVALID_TOKEN =
  'The access token provided is expired, revoked, malformed, or invalid for other reasons.'
const INSUFFICIENT_SCOPE =
  'The request requires higher privileges than provided by the access token.'

interface Token {
  organizationId: string
  scopes: ReadonlySet<string>
}

interface Route {
  pattern: RegExp
  method: 'GET' | 'POST' | 'PATCH'
  scopes: readonly string[]
  handler: Handler
}

const ID = '([^/]+)'
const ROUTES: readonly Route[] = [
  { pattern: /^\/?$/, method: 'GET', scopes: READ, handler: list },
  {
    pattern: /^\/(activate|validate|deactivate)$/,
    method: 'POST',
    scopes: WRITE,
    handler: serverSide,
  },
  { pattern: new RegExp(`^/${ID}$`), method: 'GET', scopes: READ, handler: getKey },
  { pattern: new RegExp(`^/${ID}$`), method: 'PATCH', scopes: WRITE, handler: updateKey },
  {
    pattern: new RegExp(`^/${ID}/activations/${ID}$`),
    method: 'GET',
    scopes: READ,
    handler: getActivation,
  },
]

export function createOrgApi(deps: OrgApiDeps): OrgApi {
  const tokens = new Map<string, Token>()
  const limiter = createRateLimiter(
    deps.rateLimit && { requests: deps.sandbox ? 100 : 500, perMs: 60_000, blockMs: 60_000 },
  )

  async function serve(request: Request, ip: string, path: string): Promise<Answer> {
    const now = deps.now()
    const url = new URL(request.url)
    const text = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text()
    const record = (status: EmulatorRequestLog['status']) =>
      deps.log({
        method: request.method,
        path,
        endpoint: null,
        body: maskedBody(text),
        status,
        ip,
        at: now,
      })
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record(status)
      const text = body === null ? null : JSON.stringify(body)
      return respond(now, status, text, 'application/json', headers, deps.sandbox)
    }

    const fault = faultAnswer(deps.faults, now, record)
    if (fault !== null) return fault
    const bearer = bearerToken(request)
    const token = bearer === null ? undefined : tokens.get(bearer)
    if (bearer !== null && token === undefined) {
      return reply(
        401,
        { error: 'invalid_token', error_description: INVALID_TOKEN },
        {
          'www-authenticate': `Bearer realm="polar", error="invalid_token", error_description="${INVALID_TOKEN}"`,
          'cache-control': 'no-store',
          pragma: 'no-cache',
        },
      )
    }
    const rest = path.replace(ROOT, '')
    const matching = ROUTES.filter((r) => r.pattern.test(rest))
    if (matching.length === 0) return reply(404, { detail: 'Not Found' })
    const rate = limiter.hit(bearer ?? `ip:${ip}`, now)
    if (!rate.allowed) {
      record(429)
      const headers = { 'retry-after': String(rate.retryAfterSeconds) }
      return respond(now, 429, '', null, headers, deps.sandbox)
    }
    const route = matching.find((r) => r.method === request.method)
    if (route === undefined) {
      const allow = matching.map((r) => r.method).join(', ')
      return reply(405, { detail: 'Method Not Allowed' }, { allow })
    }
    // FastAPI resolves the auth dependency before it validates parameters.
    if (token === undefined) {
      return reply(
        401,
        { error: 'Unauthorized', detail: 'Unauthorized' },
        { 'www-authenticate': 'Bearer realm="polar"' },
      )
    }
    if (!route.scopes.some((scope) => token.scopes.has(scope))) {
      const scope = [...route.scopes].sort().join(' ')
      return reply(
        403,
        { error: 'insufficient_scope', error_description: INSUFFICIENT_SCOPE },
        {
          'www-authenticate': `Bearer realm="polar", scope="${scope}", error="insufficient_scope", error_description="${INSUFFICIENT_SCOPE}"`,
          'cache-control': 'no-store',
          pragma: 'no-cache',
        },
      )
    }
    const match = route.pattern.exec(rest) ?? []
    const params = match.slice(1).map(decodeSegment)
    const call: Call = { org: token.organizationId, params, query: url.searchParams, text, now }
    const outcome = route.handler(deps.state, call)
    if (outcome.status === 500) {
      // What Starlette sends for an unhandled exception: plain text, not JSON.
      record(500)
      return respond(now, 500, 'Internal Server Error', 'text/plain', {}, deps.sandbox)
    }
    return reply(outcome.status, outcome.body)
  }

  return {
    createAccessToken(options = {}) {
      const token = `polar_oat_${crypto.randomUUID().replace(/-/g, '')}`
      tokens.set(token, {
        organizationId: (options.organizationId ?? deps.organizationId).toLowerCase(),
        scopes: new Set(options.scopes ?? READ),
      })
      return token
    },
    revokeAccessToken: (token) => tokens.delete(token),
    async answer(request, ip, next) {
      const path = new URL(request.url).pathname
      if (ROOT.test(path)) return serve(request, ip, path)
      const bearer = bearerToken(request)
      // A valid organization token is not a subject the customer portal accepts: Polar
      // treats the request as anonymous there, so it passes as if no token was sent.
      if (bearer !== null && tokens.has(bearer)) return next(await withoutToken(request), ip)
      return next(request, ip)
    },
    resetRateLimit: () => limiter.reset(),
  }
}

/** A path parameter as the server sees it; a malformed escape stays as sent (then fails as a UUID). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Polar only looks at `Authorization: Bearer <token>`; other schemes count as no token. */
function bearerToken(request: Request): string | null {
  const header = request.headers.get('authorization')
  if (header === null) return null
  const [scheme, value] = header.trim().split(/\s+/, 2)
  if (!scheme || !value || scheme.toLowerCase() !== 'bearer') return null
  return value
}

async function withoutToken(request: Request): Promise<Request> {
  const headers = new Headers(request.headers)
  headers.delete('authorization')
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
  return new Request(request.url, {
    method: request.method,
    headers,
    signal: request.signal,
    ...(hasBody ? { body: await request.text() } : {}),
  })
}
