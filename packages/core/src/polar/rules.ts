import { KeygateError } from '../errors.js'
import { checkUuid4, codePoints, describeValue as describe } from '../offline/origin.js'
import type { ActivateRequest, Conditions, DeactivateRequest, ValidateRequest } from './types.js'

/**
 * Polar's field rules, checked before anything is sent so a bad value fails fast with
 * `invalid_input` instead of a 422 (whose body echoes the key) or a wasted request.
 * Pure: no I/O, usable by anything that builds a request (UI forms, the emulator).
 *
 * Lengths count Unicode code points, as Polar's server (Python) does.
 */

/**
 * Longest key accepted. Polar's own keys are an uppercase UUID with an optional prefix
 * (~40 characters); imported keys can be any string, but nothing longer than this is a
 * key someone typed or pasted on purpose.
 */
export const KEY_MAX_LENGTH = 1024

/**
 * Longest activation label accepted. Polar sets no limit on `label`; ours keeps a
 * host-name sized label (DNS names are at most 253 characters) readable in the
 * customer portal and out of Polar's way should it add one.
 */
export const LABEL_MAX_LENGTH = 255

/** `conditions` and `meta`: Polar's metadata rules. */
export const METADATA_MAX_PAIRS = 50
export const METADATA_KEY_MAX_LENGTH = 40
export const METADATA_VALUE_MAX_LENGTH = 500

// The UUID check is needed at start (createLicensing's organizationId): it lives apart.
export { checkUuid4, isUuid4 } from '../offline/origin.js'

function invalid(message: string): KeygateError {
  return new KeygateError('invalid_input', message)
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * True when the text cannot be encoded as UTF-8 (a lone UTF-16 surrogate, e.g. a string
 * cut in the middle of an emoji): Polar's server cannot store it and answers 500.
 */
function malformed(value: string): boolean {
  return LONE_SURROGATE.test(value)
}

/**
 * The key as it is sent: trimmed (pasted keys often carry a space or newline). Throws
 * `invalid_input` for an empty, oversized or NUL-bearing key; the message never shows it.
 */
export function normalizeKey(key: unknown): string {
  if (typeof key !== 'string') throw invalid('The license key must be a string.')
  const trimmed = key.trim()
  if (trimmed === '') throw invalid('The license key is empty. Enter the key from your receipt.')
  if (trimmed.includes('\0')) throw invalid('The license key contains a NUL character.')
  if (malformed(trimmed)) {
    throw invalid('The license key contains a broken character; copy it again from your receipt.')
  }
  if (codePoints(trimmed) > KEY_MAX_LENGTH) {
    throw invalid(
      `The license key is longer than ${KEY_MAX_LENGTH} characters; paste only the key itself.`,
    )
  }
  return trimmed
}

/** The label as it is sent: trimmed, 1..LABEL_MAX_LENGTH characters, no NUL. */
export function normalizeLabel(label: unknown): string {
  if (typeof label !== 'string') throw invalid('label must be a string.')
  const trimmed = label.trim()
  if (trimmed === '') throw invalid('label must not be empty.')
  if (trimmed.includes('\0')) throw invalid('label must not contain a NUL character.')
  if (malformed(trimmed)) {
    throw invalid('label contains a broken character (half of an emoji?); it cannot be sent.')
  }
  const length = codePoints(trimmed)
  if (length > LABEL_MAX_LENGTH) {
    throw invalid(`label must be at most ${LABEL_MAX_LENGTH} characters (got ${length}).`)
  }
  return trimmed
}

/**
 * The first `max` characters of a label (code points, as Polar counts them), so a long
 * host name is cut between characters, never inside an emoji's surrogate pair.
 */
export function truncateLabel(label: string, max: number = LABEL_MAX_LENGTH): string {
  if (label.length <= max) return label
  return Array.from(label).slice(0, max).join('')
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Throws `invalid_input` unless `value` is a flat object Polar accepts as `conditions`
 * or `meta`: at most 50 pairs, keys 1–40 characters, values a string of 1–500
 * characters, an integer, a finite number or a boolean; no NUL anywhere.
 */
export function checkMetadata(field: 'conditions' | 'meta', value: unknown): Conditions {
  if (!isPlainObject(value)) throw invalid(`${field} must be a plain object of key-value pairs.`)
  const entries = Object.entries(value)
  if (entries.length > METADATA_MAX_PAIRS) {
    throw invalid(`${field} may hold at most ${METADATA_MAX_PAIRS} pairs (got ${entries.length}).`)
  }
  for (const [name, item] of entries) {
    const keyLength = codePoints(name)
    if (keyLength < 1 || keyLength > METADATA_KEY_MAX_LENGTH) {
      throw invalid(
        `${field} keys must be 1–${METADATA_KEY_MAX_LENGTH} characters (got ${keyLength}).`,
      )
    }
    if (name.includes('\0')) throw invalid(`${field} keys must not contain a NUL character.`)
    if (malformed(name)) throw invalid(`${field} keys must not contain a broken character.`)
    checkMetadataValue(`${field}.${name}`, item)
  }
  return value as Conditions
}

function checkMetadataValue(path: string, item: unknown): void {
  if (typeof item === 'boolean') return
  if (typeof item === 'number') {
    if (!Number.isFinite(item)) throw invalid(`${path} must be a finite number (got ${item}).`)
    return
  }
  if (typeof item === 'string') {
    const length = codePoints(item)
    if (length < 1 || length > METADATA_VALUE_MAX_LENGTH) {
      throw invalid(
        `${path} must be a string of 1–${METADATA_VALUE_MAX_LENGTH} characters (got ${length}).`,
      )
    }
    if (item.includes('\0')) throw invalid(`${path} must not contain a NUL character.`)
    if (malformed(item)) throw invalid(`${path} must not contain a broken character.`)
    return
  }
  throw invalid(
    `${path} must be a string, a number or a boolean (got ${describe(item)}); nothing nested.`,
  )
}

/** Throws `invalid_input` unless `value` is a whole number ≥ 0. */
function checkIncrementUsage(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`incrementUsage must be a whole number of 0 or more (got ${describe(value)}).`)
  }
  return value
}

/** Checks an activate request and returns it as it will be sent (key and label trimmed). */
export function validateActivateRequest(request: ActivateRequest): ActivateRequest {
  return {
    key: normalizeKey(request.key),
    organizationId: checkUuid4('organizationId', request.organizationId),
    label: normalizeLabel(request.label),
    ...(request.conditions === undefined
      ? {}
      : { conditions: checkMetadata('conditions', request.conditions) }),
    ...(request.meta === undefined ? {} : { meta: checkMetadata('meta', request.meta) }),
  }
}

/** Checks a validate request and returns it as it will be sent (key trimmed). */
export function validateValidateRequest(request: ValidateRequest): ValidateRequest {
  return {
    key: normalizeKey(request.key),
    organizationId: checkUuid4('organizationId', request.organizationId),
    ...(request.activationId === undefined
      ? {}
      : { activationId: checkUuid4('activationId', request.activationId) }),
    ...(request.benefitId === undefined
      ? {}
      : { benefitId: checkUuid4('benefitId', request.benefitId) }),
    ...(request.customerId === undefined
      ? {}
      : { customerId: checkUuid4('customerId', request.customerId) }),
    ...(request.incrementUsage === undefined
      ? {}
      : { incrementUsage: checkIncrementUsage(request.incrementUsage) }),
    ...(request.conditions === undefined
      ? {}
      : { conditions: checkMetadata('conditions', request.conditions) }),
  }
}

/** Checks a deactivate request and returns it as it will be sent (key trimmed). */
export function validateDeactivateRequest(request: DeactivateRequest): DeactivateRequest {
  return {
    key: normalizeKey(request.key),
    organizationId: checkUuid4('organizationId', request.organizationId),
    activationId: checkUuid4('activationId', request.activationId),
  }
}
