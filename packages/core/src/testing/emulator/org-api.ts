import type { Subject } from './auth.js'
import {
  type Call,
  getActivation,
  getKey,
  type Handler,
  list,
  rotateKey,
  serverSide,
  updateKey,
} from './org-handlers.js'
import { decodeSegment } from './org-input.js'
import type { Answer, Reply } from './router.js'
import type { EmulatorState } from './state.js'

/**
 * Polar's organization API for license keys (`/v1/license-keys/…`), the seller's side:
 * list, get, update, rotate, get an activation, and the server-side activate/validate/
 * deactivate, behind organization access tokens and their scopes, as Polar's server
 * (server/polar/license_key/endpoints.py, auth.py) does. The token was already
 * authenticated (and counted by the limiter) by the router.
 */

export interface OrgRoute {
  request: Request
  /** The path after `/v1/license-keys`. */
  path: string
  text: string
  now: number
  /** See `Call.readAt`. */
  readAt: number
  subject: Subject | undefined
}

const READ: readonly string[] = ['license_keys:read', 'license_keys:write']
const WRITE: readonly string[] = ['license_keys:write']
const INSUFFICIENT_SCOPE =
  'The request requires higher privileges than provided by the access token.'

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
  { pattern: new RegExp(`^/${ID}/rotate$`), method: 'POST', scopes: WRITE, handler: rotateKey },
  {
    pattern: new RegExp(`^/${ID}/activations/${ID}$`),
    method: 'GET',
    scopes: READ,
    handler: getActivation,
  },
]

export function routeOrg(state: EmulatorState, route: OrgRoute, reply: Reply): Answer {
  const { request, path, subject } = route
  const matching = ROUTES.filter((r) => r.pattern.test(path))
  if (matching.length === 0) return reply.json(404, { detail: 'Not Found' })
  const found = matching.find((r) => r.method === request.method)
  if (found === undefined) {
    const allow = matching.map((r) => r.method).join(', ')
    return reply.json(405, { detail: 'Method Not Allowed' }, { allow })
  }
  // FastAPI resolves the auth dependency before it validates parameters.
  if (subject?.kind !== 'organization') {
    return reply.json(
      401,
      { error: 'Unauthorized', detail: 'Unauthorized' },
      { 'www-authenticate': 'Bearer realm="polar"' },
    )
  }
  if (!found.scopes.some((scope) => subject.scopes.has(scope))) {
    const scope = [...found.scopes].sort().join(' ')
    return reply.json(
      403,
      { error: 'insufficient_scope', error_description: INSUFFICIENT_SCOPE },
      {
        'www-authenticate': `Bearer realm="polar", scope="${scope}", error="insufficient_scope", error_description="${INSUFFICIENT_SCOPE}"`,
        'cache-control': 'no-store',
        pragma: 'no-cache',
      },
    )
  }
  const match = found.pattern.exec(path) ?? []
  const call: Call = {
    org: subject.organizationId,
    params: match.slice(1).map(decodeSegment),
    query: new URL(request.url).searchParams,
    text: route.text,
    now: route.now,
    readAt: route.readAt,
  }
  const outcome = found.handler(state, call)
  // What Starlette sends for an unhandled exception: plain text, not JSON.
  if (outcome.status === 500) return reply.raw(500, 'Internal Server Error', 'text/plain', {}, true)
  return reply.json(outcome.status, outcome.body)
}
