import { KeygateError } from '../errors.js'
import { checkUuid4 } from '../polar/rules.js'
import type { Body } from '../polar/transport.js'
import {
  LICENSE_KEY_STATUSES,
  type LicenseKeyStatus,
  type LicenseKeyUpdate,
  type ListLicenseKeysParams,
} from './admin-types.js'

/**
 * The organization API's inputs, checked before anything is sent (`invalid_input`, no
 * request), as the customer client checks its bodies: a typo fails fast and clearly
 * instead of as Polar's 422.
 */

/** Polar's `API_PAGINATION_MAX_LIMIT`. Polar lowers a larger limit silently; we say so. */
export const MAX_PAGE_SIZE = 100
const INT32_MAX = 2147483647

function invalid(message: string): KeygateError {
  return new KeygateError('invalid_input', message)
}

export function checkPage(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(`${name} must be a whole number from 1 to ${max}.`)
  }
  return value
}

function many<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? (value as readonly T[]) : [value as T]
}

function checkStatus(value: unknown): LicenseKeyStatus {
  if (!(LICENSE_KEY_STATUSES as readonly unknown[]).includes(value)) {
    throw invalid(`status must be one of ${LICENSE_KEY_STATUSES.join(', ')}.`)
  }
  return value as LicenseKeyStatus
}

/** The query string of `GET /v1/license-keys/`; repeated parameters for several values. */
export function listQuery(params: ListLicenseKeysParams): URLSearchParams {
  const query = new URLSearchParams()
  for (const id of many(params.organizationId)) {
    query.append('organization_id', checkUuid4('organizationId', id).toLowerCase())
  }
  for (const id of many(params.benefitId)) {
    query.append('benefit_id', checkUuid4('benefitId', id).toLowerCase())
  }
  for (const status of many(params.status)) query.append('status', checkStatus(status))
  query.set('page', String(checkPage('page', params.page ?? 1, Number.MAX_SAFE_INTEGER)))
  query.set('limit', String(checkPage('limit', params.limit ?? 10, MAX_PAGE_SIZE)))
  return query
}

function checkInt32(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > INT32_MAX) {
    throw invalid(`${name} must be a whole number from ${min} to ${INT32_MAX}.`)
  }
  return value
}

/** A moment as Polar takes it: ISO 8601 in UTC. */
function checkTime(value: unknown): string {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'string'
        ? Date.parse(value)
        : typeof value === 'number'
          ? value
          : Number.NaN
  if (!Number.isFinite(ms)) {
    throw invalid(
      'expiresAt must be a Date, an ISO 8601 date such as 2027-01-31, epoch ms, or null.',
    )
  }
  return new Date(ms).toISOString()
}

/** The PATCH body: only the fields given, `null` sent as `null` (clear the limit or expiry). */
export function updateBody(update: LicenseKeyUpdate): Body {
  if (typeof update !== 'object' || update === null) {
    throw invalid('update needs an object such as { status: "revoked" }.')
  }
  const body: Body = {}
  if (update.status !== undefined) body.status = checkStatus(update.status)
  if (update.usage !== undefined) body.usage = checkInt32('usage', update.usage, 0)
  if (update.limitActivations !== undefined) {
    body.limit_activations =
      update.limitActivations === null
        ? null
        : checkInt32('limitActivations', update.limitActivations, 1)
  }
  if (update.limitUsage !== undefined) {
    body.limit_usage =
      update.limitUsage === null ? null : checkInt32('limitUsage', update.limitUsage, 1)
  }
  if (update.expiresAt !== undefined) {
    body.expires_at = update.expiresAt === null ? null : checkTime(update.expiresAt)
  }
  if (Object.keys(body).length === 0) {
    throw invalid(
      'update needs at least one of status, usage, limitActivations, limitUsage, expiresAt.',
    )
  }
  return body
}
