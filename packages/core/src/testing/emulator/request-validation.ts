import type { ConditionValue, EmulatorEndpoint } from './types.js'

/**
 * Polar's field rules for the three request bodies, reported the way its FastAPI/
 * pydantic stack does: 422 with one `{type, loc, msg, input}` per problem, `input`
 * echoing the submitted value (the key included: a client must never log it).
 */
export interface FieldIssue {
  type: string
  loc: Array<string | number>
  msg: string
  input: unknown
  ctx?: Record<string, unknown>
}

export type Flat = Record<string, ConditionValue>

export interface ActivateBody {
  key: string
  organization_id: string
  label: string
  conditions: Flat
  meta: Flat
}

export interface ValidateBody {
  key: string
  organization_id: string
  activation_id: string | null
  benefit_id: string | null
  customer_id: string | null
  increment_usage: number | null
  conditions: Flat
}

export interface DeactivateBody {
  key: string
  organization_id: string
  activation_id: string
}

export type ParsedBody<E extends EmulatorEndpoint> = E extends 'activate'
  ? ActivateBody
  : E extends 'validate'
    ? ValidateBody
    : DeactivateBody

export type BodyResult<E extends EmulatorEndpoint> =
  | { ok: true; body: ParsedBody<E> }
  | { ok: false; issues: FieldIssue[] }

const UUID =
  /^(?:urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i
const MAX_PAIRS = 50
const MAX_KEY = 40
const MAX_VALUE = 500

type Field = 'string' | 'uuid4' | 'uuid4?' | 'int>=0?' | 'flat'

const FIELDS: { [E in EmulatorEndpoint]: Record<string, { kind: Field; required: boolean }> } = {
  activate: {
    key: { kind: 'string', required: true },
    organization_id: { kind: 'uuid4', required: true },
    label: { kind: 'string', required: true },
    conditions: { kind: 'flat', required: false },
    meta: { kind: 'flat', required: false },
  },
  validate: {
    key: { kind: 'string', required: true },
    organization_id: { kind: 'uuid4', required: true },
    activation_id: { kind: 'uuid4?', required: false },
    benefit_id: { kind: 'uuid4?', required: false },
    customer_id: { kind: 'uuid4?', required: false },
    increment_usage: { kind: 'int>=0?', required: false },
    conditions: { kind: 'flat', required: false },
  },
  deactivate: {
    key: { kind: 'string', required: true },
    organization_id: { kind: 'uuid4', required: true },
    activation_id: { kind: 'uuid4', required: true },
  },
}

/** Parses raw body text for an endpoint. Unknown fields are ignored, as pydantic does. */
export function parseBody<E extends EmulatorEndpoint>(endpoint: E, text: string): BodyResult<E> {
  if (text.trim() === '') {
    return { ok: false, issues: [issue('missing', ['body'], 'Field required', null)] }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'Expecting value'
    return {
      ok: false,
      issues: [issue('json_invalid', ['body', 0], 'JSON decode error', {}, { error: reason })],
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return {
      ok: false,
      issues: [
        issue(
          'model_attributes_type',
          ['body'],
          'Input should be a valid dictionary or object to extract fields from',
          json,
        ),
      ],
    }
  }
  const input = json as Record<string, unknown>
  const issues: FieldIssue[] = []
  const out: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(FIELDS[endpoint])) {
    const loc = ['body', name]
    const value = input[name]
    if (value === undefined) {
      if (spec.required) issues.push(issue('missing', loc, 'Field required', input))
      else out[name] = spec.kind === 'flat' ? {} : null
      continue
    }
    const before = issues.length
    out[name] = checkField(spec.kind, value, loc, issues)
    // Polar's Schema base class refuses NUL anywhere in a field (PostgreSQL cannot store
    // it), in an "after" validator: only for a field that was otherwise valid, reported
    // at the field, not at the nested key or value.
    if (issues.length === before && containsNul(value)) {
      issues.push(
        issue('value_error', loc, 'Value error, This value contains invalid characters', value, {
          error: {},
        }),
      )
    }
  }
  if (issues.length > 0) return { ok: false, issues }
  return { ok: true, body: out as unknown as ParsedBody<E> }
}

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (typeof value !== 'object' || value === null) return false
  return Object.entries(value).some(([name, item]) => containsNul(name) || containsNul(item))
}

function checkField(kind: Field, value: unknown, loc: string[], issues: FieldIssue[]): unknown {
  if (value === null && kind.endsWith('?')) return null
  switch (kind) {
    case 'string':
      checkString(value, loc, issues, null)
      return value
    case 'uuid4':
    case 'uuid4?':
      return checkUuid4(value, loc, issues)
    case 'int>=0?':
      return checkCount(value, loc, issues)
    case 'flat':
      return checkFlat(value, loc, issues)
  }
}

function checkString(
  value: unknown,
  loc: Array<string | number>,
  issues: FieldIssue[],
  bounds: { min: number; max: number } | null,
): void {
  if (typeof value !== 'string') {
    issues.push(issue('string_type', loc, 'Input should be a valid string', value))
    return
  }
  if (bounds === null) return
  // Python's len(): code points, so an emoji counts once (JS .length counts it twice).
  const length = [...value].length
  if (length < bounds.min) {
    issues.push(
      issue('string_too_short', loc, `String should have at least ${bounds.min} character`, value, {
        min_length: bounds.min,
      }),
    )
  } else if (length > bounds.max) {
    issues.push(
      issue('string_too_long', loc, `String should have at most ${bounds.max} characters`, value, {
        max_length: bounds.max,
      }),
    )
  }
}

function checkUuid4(value: unknown, loc: string[], issues: FieldIssue[]): unknown {
  if (typeof value !== 'string') {
    issues.push(
      issue('uuid_type', loc, 'UUID input should be a string, bytes or UUID object', value),
    )
    return value
  }
  if (!UUID.test(value)) {
    issues.push(issue('uuid_parsing', loc, 'Input should be a valid UUID', value))
    return value
  }
  const hex = value.replace(/[^0-9a-f]/gi, '').slice(-32)
  if (hex[12] !== '4') {
    issues.push(
      issue('uuid_version', loc, 'UUID version 4 expected', value, { expected_version: 4 }),
    )
    return value
  }
  // Polar compares UUIDs, not strings: normalise to the canonical lowercase form.
  const h = hex.toLowerCase()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * `increment_usage: int | None = Field(ge=0)` in pydantic's lax mode: a whole number of 0
 * or more, also sent as a whole float, a boolean or a string holding an integer.
 */
function checkCount(value: unknown, loc: string[], issues: FieldIssue[]): unknown {
  let count: unknown = value
  if (typeof value === 'boolean') count = Number(value)
  else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) count = Number(value)
  if (typeof value === 'string' && typeof count !== 'number') {
    issues.push(
      issue(
        'int_parsing',
        loc,
        'Input should be a valid integer, unable to parse string as an integer',
        value,
      ),
    )
  } else if (typeof count !== 'number' || !Number.isFinite(count)) {
    issues.push(issue('int_type', loc, 'Input should be a valid integer', value))
  } else if (!Number.isInteger(count)) {
    issues.push(
      issue(
        'int_from_float',
        loc,
        'Input should be a valid integer, got a number with a fractional part',
        value,
      ),
    )
  } else if (count < 0) {
    issues.push(
      issue('greater_than_equal', loc, 'Input should be greater than or equal to 0', value, {
        ge: 0,
      }),
    )
  }
  return count
}

function checkFlat(value: unknown, loc: string[], issues: FieldIssue[]): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push(issue('dict_type', loc, 'Input should be a valid dictionary', value))
    return value
  }
  const entries = Object.entries(value)
  if (entries.length > MAX_PAIRS) {
    issues.push(
      issue(
        'too_long',
        loc,
        `Dictionary should have at most ${MAX_PAIRS} items after validation, not ${entries.length}`,
        value,
        { field_type: 'Dictionary', max_length: MAX_PAIRS, actual_length: entries.length },
      ),
    )
    return value
  }
  for (const [name, item] of entries) {
    checkString(name, [...loc, name, '[key]'], issues, { min: 1, max: MAX_KEY })
    checkFlatValue(item, [...loc, name], issues)
  }
  return value
}

/**
 * `str (1–500 chars) | int | float | bool` in pydantic's smart union: when no member takes
 * the value, the 422 lists one issue per member, each at the member's tag.
 */
function checkFlatValue(value: unknown, loc: string[], issues: FieldIssue[]): void {
  if (typeof value === 'number' || typeof value === 'boolean') return
  if (typeof value === 'string') {
    const length = [...value].length
    if (length >= 1 && length <= MAX_VALUE) return
    // Lax mode: a string the other members can parse is taken by them.
    if (/^\s*[+-]?\d+\s*$/.test(value) || isFloatText(value) || BOOL_TEXT.test(value)) return
    const tooShort = length < 1
    issues.push(
      tooShort
        ? issue(
            'string_too_short',
            [...loc, 'constrained-str'],
            'String should have at least 1 character',
            value,
            { min_length: 1 },
          )
        : issue(
            'string_too_long',
            [...loc, 'constrained-str'],
            `String should have at most ${MAX_VALUE} characters`,
            value,
            { max_length: MAX_VALUE },
          ),
      issue(
        'int_parsing',
        [...loc, 'int'],
        'Input should be a valid integer, unable to parse string as an integer',
        value,
      ),
      issue(
        'float_parsing',
        [...loc, 'float'],
        'Input should be a valid number, unable to parse string as a number',
        value,
      ),
      issue(
        'bool_parsing',
        [...loc, 'bool'],
        'Input should be a valid boolean, unable to interpret input',
        value,
      ),
    )
    return
  }
  // Nested objects, arrays and null match none of the members.
  issues.push(
    issue('string_type', [...loc, 'constrained-str'], 'Input should be a valid string', value),
    issue('int_type', [...loc, 'int'], 'Input should be a valid integer', value),
    issue('float_type', [...loc, 'float'], 'Input should be a valid number', value),
    issue('bool_type', [...loc, 'bool'], 'Input should be a valid boolean', value),
  )
}

const BOOL_TEXT = /^(?:0|1|t|f|y|n|on|off|yes|no|true|false)$/i

/** Python's float(): decimal or exponent notation, `inf`, `infinity`, `nan`, spaces around. */
function isFloatText(value: string): boolean {
  return /^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|nan)\s*$/i.test(value)
}

/** One entry of a 422 `detail`, in Pydantic's shape. */
export function issue(
  type: string,
  loc: Array<string | number>,
  msg: string,
  input: unknown,
  ctx?: Record<string, unknown>,
): FieldIssue {
  return ctx === undefined ? { type, loc, msg, input } : { type, loc, msg, input, ctx }
}
