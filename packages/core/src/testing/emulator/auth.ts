import type { RateIdentity } from './rate-limit.js'
import type { OrganizationRateLimitGroup } from './types.js'

/**
 * Polar's bearer tokens as the emulator issues them: organization access tokens
 * (`polar_oat_…`, server/polar/organization_access_token/) and customer sessions
 * (`polar_cst_…`, server/polar/customer_session/), and the identity cache the rate
 * limiter reads (server/polar/rate_limit.py: a token counts as `token:<hash>` in the
 * `pending_auth` group until a request authenticates it, then as its subject for 300 s).
 */

export type LicenseKeyScope = 'license_keys:read' | 'license_keys:write'

export interface AccessTokenOptions {
  /** Default both license-key scopes. Any other scope string grants nothing here. */
  scopes?: ReadonlyArray<LicenseKeyScope | (string & {})> | undefined
  /** The organization the token belongs to. Default: the emulator's organization. */
  organizationId?: string | undefined
}

export type Subject =
  | { kind: 'organization'; organizationId: string; scopes: ReadonlySet<string> }
  | { kind: 'customer'; customerId: string; organizationId: string }

const IDENTITY_TTL_MS = 300_000
const READ_WRITE = ['license_keys:read', 'license_keys:write']

export interface Auth {
  createAccessToken(options: AccessTokenOptions, defaultOrganization: string): string
  createCustomerSession(customerId: string, organizationId: string): string
  revoke(token: string): boolean
  /** What the limiter counts this request as. */
  identity(bearer: string | null, ip: string, now: number): RateIdentity
  /** The token's subject, remembered for the limiter; undefined for an unknown token. */
  authenticate(bearer: string, now: number): Subject | undefined
  /** Polar clears the cached identity when a token is refused. */
  forget(bearer: string): void
}

export function createAuth(organizationGroup: OrganizationRateLimitGroup): Auth {
  const subjects = new Map<string, Subject>()
  const cache = new Map<string, { identity: RateIdentity; until: number }>()
  const issue = (prefix: string, subject: Subject) => {
    const token = `${prefix}${crypto.randomUUID().replace(/-/g, '')}`
    subjects.set(token, subject)
    return token
  }
  return {
    createAccessToken(options, defaultOrganization) {
      return issue('polar_oat_', {
        kind: 'organization',
        organizationId: (options.organizationId ?? defaultOrganization).toLowerCase(),
        scopes: new Set(options.scopes ?? READ_WRITE),
      })
    },
    createCustomerSession(customerId, organizationId) {
      return issue('polar_cst_', { kind: 'customer', customerId, organizationId })
    },
    revoke: (token) => subjects.delete(token),
    identity(bearer, ip, now) {
      if (bearer === null) return { user: ip, group: 'default' }
      const cached = cache.get(bearer)
      if (cached !== undefined && now <= cached.until) return cached.identity
      return { user: `token:${bearer}`, group: 'pending_auth' }
    },
    authenticate(bearer, now) {
      const subject = subjects.get(bearer)
      if (subject === undefined) return undefined
      const identity: RateIdentity =
        subject.kind === 'organization'
          ? { user: `organization:${subject.organizationId}`, group: organizationGroup }
          : { user: `customer:${subject.customerId}`, group: 'default' }
      cache.set(bearer, { identity, until: now + IDENTITY_TTL_MS })
      return subject
    },
    forget: (bearer) => {
      cache.delete(bearer)
    },
  }
}

/** `Authorization: Bearer <token>` as the rate limiter reads it (any characters). */
export function rateLimitBearer(request: Request): string | null {
  const header = request.headers.get('authorization')
  if (header === null) return null
  const [scheme, value] = splitAuthorization(header)
  return scheme.toLowerCase() === 'bearer' && value !== '' ? value : null
}

/** The bearer token as Polar's auth middleware reads it: ASCII only, else anonymous. */
export function authBearer(request: Request): string | null {
  const value = rateLimitBearer(request)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  return value !== null && /^[\x00-\x7f]*$/.test(value) ? value : null
}

/** FastAPI's `get_authorization_scheme_param`: split at the first space. */
function splitAuthorization(header: string): [string, string] {
  const index = header.indexOf(' ')
  if (index < 0) return [header, '']
  return [header.slice(0, index), header.slice(index + 1)]
}
