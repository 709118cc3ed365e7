import { type FieldIssue, issue } from './request-validation.js'
import type { EmulatedKeyStatus } from './types.js'

/**
 * Input rules of the organization API (`/v1/license-keys/…`) that the customer-portal
 * bodies do not share: path ids, the list's query parameters and the PATCH body
 * (`LicenseKeyUpdate`), reported as pydantic does (422, one issue per bad value).
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] }

export interface ListQuery {
  page: number
  limit: number
  organizationIds: string[] | null
  benefitIds: string[] | null
  statuses: EmulatedKeyStatus[] | null
}

/** `LicenseKeyUpdate` as sent: only the fields present (Polar applies `exclude_unset`). */
export interface KeyUpdate {
  status?: EmulatedKeyStatus | null
  usage?: number
  limitActivations?: number | null
  limitUsage?: number | null
  expiresAt?: number | null
}

/** Polar's `API_PAGINATION_MAX_LIMIT`: a larger `limit` is lowered to it, not refused. */
const MAX_PAGE_LIMIT = 100
const DEFAULT_PAGE_LIMIT = 10
const STATUSES: readonly EmulatedKeyStatus[] = ['granted', 'revoked', 'disabled']
const ENUM_MSG = "Input should be 'granted', 'revoked' or 'disabled'"
const INT32_MIN = -2147483648
const INT32_MAX = 2147483647
const UUID_TEXT =
  /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i

/** A path parameter as the server sees it; a malformed escape stays as sent (then fails as a UUID). */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** A UUIDv4 in canonical lowercase form, or an issue. Polar compares UUIDs, not strings. */
export function uuid4(value: string, loc: Array<string | number>): Parsed<string> {
  const match = UUID_TEXT.exec(value)
  if (match === null) {
    return {
      ok: false,
      issues: [issue('uuid_parsing', loc, 'Input should be a valid UUID', value)],
    }
  }
  const canonical = match.slice(1, 6).join('-').toLowerCase()
  if (canonical[14] !== '4') {
    const problem = issue('uuid_version', loc, 'UUID version 4 expected', value, {
      expected_version: 4,
    })
    return { ok: false, issues: [problem] }
  }
  return { ok: true, value: canonical }
}

function positiveInt(raw: string, loc: Array<string | number>, issues: FieldIssue[]): number {
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) {
    issues.push(
      issue(
        'int_parsing',
        loc,
        'Input should be a valid integer, unable to parse string as an integer',
        raw,
      ),
    )
    return 0
  }
  const value = Number.parseInt(raw, 10)
  if (value <= 0) {
    issues.push(issue('greater_than', loc, 'Input should be greater than 0', raw, { gt: 0 }))
  }
  return value
}

/** `page`, `limit` and the repeatable filters of `GET /v1/license-keys/`. */
export function parseListQuery(params: URLSearchParams): Parsed<ListQuery> {
  const issues: FieldIssue[] = []
  const page = params.has('page')
    ? positiveInt(params.get('page') ?? '', ['query', 'page'], issues)
    : 1
  const limit = params.has('limit')
    ? positiveInt(params.get('limit') ?? '', ['query', 'limit'], issues)
    : DEFAULT_PAGE_LIMIT
  const ids = (name: 'organization_id' | 'benefit_id'): string[] | null => {
    const values = params.getAll(name)
    if (values.length === 0) return null
    return values.flatMap((raw, index) => {
      const parsed = uuid4(raw, ['query', name, index])
      if (parsed.ok) return [parsed.value]
      issues.push(...parsed.issues)
      return []
    })
  }
  const organizationIds = ids('organization_id')
  const benefitIds = ids('benefit_id')
  const rawStatuses = params.getAll('status')
  const statuses: EmulatedKeyStatus[] = []
  rawStatuses.forEach((raw, index) => {
    if ((STATUSES as readonly string[]).includes(raw)) statuses.push(raw as EmulatedKeyStatus)
    else {
      issues.push(
        issue('enum', ['query', 'status', index], ENUM_MSG, raw, {
          expected: "'granted', 'revoked' or 'disabled'",
        }),
      )
    }
  })
  if (issues.length > 0) return { ok: false, issues }
  return {
    ok: true,
    value: {
      page,
      limit: Math.min(limit, MAX_PAGE_LIMIT),
      organizationIds,
      benefitIds,
      statuses: rawStatuses.length === 0 ? null : statuses,
    },
  }
}

function int32(
  value: unknown,
  loc: string[],
  issues: FieldIssue[],
  positive: boolean,
): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.push(issue('int_type', loc, 'Input should be a valid integer', value))
    return undefined
  }
  if (!Number.isInteger(value)) {
    issues.push(
      issue(
        'int_from_float',
        loc,
        'Input should be a valid integer, got a number with a fractional part',
        value,
      ),
    )
    return undefined
  }
  if (positive && value <= 0) {
    issues.push(issue('greater_than', loc, 'Input should be greater than 0', value, { gt: 0 }))
  } else if (value < INT32_MIN) {
    issues.push(
      issue(
        'greater_than_equal',
        loc,
        `Input should be greater than or equal to ${INT32_MIN}`,
        value,
        {
          ge: INT32_MIN,
        },
      ),
    )
  } else if (value > INT32_MAX) {
    issues.push(
      issue('less_than_equal', loc, `Input should be less than or equal to ${INT32_MAX}`, value, {
        le: INT32_MAX,
      }),
    )
  } else {
    return value
  }
  return undefined
}

/** pydantic reads a number as Unix time: seconds, or milliseconds when it is that large. */
function datetime(value: unknown, loc: string[], issues: FieldIssue[]): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    return Math.abs(value) > 2e10 ? value : value * 1000
  }
  if (
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?/.test(value)
  ) {
    const ms = Date.parse(value)
    if (!Number.isNaN(ms)) return ms
  }
  issues.push(issue('datetime_from_date_parsing', loc, 'Input should be a valid datetime', value))
  return undefined
}

/** The PATCH body; unknown fields are ignored, as pydantic does. */
export function parseKeyUpdate(text: string): Parsed<KeyUpdate> {
  if (text.trim() === '') {
    return { ok: false, issues: [issue('missing', ['body'], 'Field required', null)] }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, issues: [issue('json_invalid', ['body', 0], 'JSON decode error', {})] }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    const msg = 'Input should be a valid dictionary or object to extract fields from'
    return { ok: false, issues: [issue('model_attributes_type', ['body'], msg, json)] }
  }
  const input = json as Record<string, unknown>
  const issues: FieldIssue[] = []
  const out: KeyUpdate = {}
  if ('status' in input) {
    const status = input.status
    if (status === null || (STATUSES as readonly unknown[]).includes(status)) {
      out.status = status as EmulatedKeyStatus | null
    } else issues.push(issue('enum', ['body', 'status'], ENUM_MSG, status))
  }
  if ('usage' in input) {
    const usage = int32(input.usage, ['body', 'usage'], issues, false)
    if (usage !== undefined) out.usage = usage
  }
  for (const [field, name] of [
    ['limit_activations', 'limitActivations'],
    ['limit_usage', 'limitUsage'],
  ] as const) {
    if (!(field in input)) continue
    const value = input[field]
    if (value === null) out[name] = null
    else {
      const parsed = int32(value, ['body', field], issues, true)
      if (parsed !== undefined) out[name] = parsed
    }
  }
  if ('expires_at' in input) {
    const value = input.expires_at
    if (value === null) out.expiresAt = null
    else {
      const parsed = datetime(value, ['body', 'expires_at'], issues)
      if (parsed !== undefined) out.expiresAt = parsed
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out }
}
