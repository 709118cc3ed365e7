import { KeygateError } from '../errors.js'

/**
 * Where a grant comes from: the organization, the Polar server and the machine. The
 * start-up check needs these rules (createLicensing checks its organization id and
 * resolves its server; a record from another origin is not ours), so they live here
 * rather than with the request rules in polar/.
 */

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i

/** True for a canonical (hyphenated) version-4 UUID, in either case. */
export function isUuid4(value: unknown): value is string {
  return typeof value === 'string' && UUID4.test(value)
}

/** Throws `invalid_input` unless `value` is a version-4 UUID. */
export function checkUuid4(field: string, value: unknown): string {
  if (!isUuid4(value)) {
    throw new KeygateError(
      'invalid_input',
      `${field} must be a version-4 UUID such as 1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f` +
        ` (got ${describeValue(value)}); copy it from Polar's dashboard.`,
    )
  }
  return value
}

/** Length in Unicode code points, as Polar's server (Python) counts it. */
export function codePoints(value: string): number {
  let count = 0
  for (const _ of value) count++
  return count
}

/** Type names only: values may be secrets or long. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  // Strings are never echoed: a key passed in the wrong argument must not leak.
  if (typeof value === 'string') return `a string of ${codePoints(value)} characters`
  if (typeof value === 'number') return String(value)
  return `a value of type ${typeof value}`
}

export type PolarServer = 'production' | 'sandbox' | (string & {})

export const POLAR_SERVERS = {
  production: 'https://api.polar.sh',
  sandbox: 'https://sandbox-api.polar.sh',
} as const

export function resolveServer(server: PolarServer | undefined): string {
  if (server === undefined || server === 'production') return POLAR_SERVERS.production
  if (server === 'sandbox') return POLAR_SERVERS.sandbox
  return server.replace(/\/+$/, '')
}

/**
 * Where a grant comes from: the same key, organization, server and machine mean the same
 * seat. A `Grant` is one too (it carries these four fields).
 */
export interface GrantOrigin {
  key: string
  organizationId: string
  server: string
  fingerprint: string
}

export function sameSeat(grant: GrantOrigin, origin: GrantOrigin): boolean {
  return grant.key === origin.key && sameMachine(grant, origin)
}

/** This machine's grant for the same organization and server, whatever its key. */
export function sameMachine(grant: GrantOrigin, origin: GrantOrigin): boolean {
  return (
    grant.organizationId === origin.organizationId &&
    grant.server === origin.server &&
    grant.fingerprint === origin.fingerprint
  )
}
