import { type Conditions, checkUuid4, KeygateError, MACHINE_CONDITION } from '@keygate/core'
import {
  checkMetadata,
  METADATA_MAX_PAIRS,
  normalizeKey,
  normalizeLabel,
} from '@keygate/core/rules'

/**
 * The request bodies, checked before anything is sent to Polar: a malformed request
 * costs no request against the organization's rate limit and answers 400 at once.
 */

/** Far more than any valid body (a key, a label, 49 meta pairs); a bigger one is refused unread. */
export const MAX_BODY_BYTES = 64 * 1024
const FINGERPRINT_MAX = 500
const DEFAULT_LABEL = 'Unnamed device'

export interface ActivateInput {
  key: string
  fingerprint: string
  label: string
  meta: Conditions
}

export interface RenewInput {
  key: string
  fingerprint: string
  activationId: string | null
}

export interface DevicesInput {
  key: string
  fingerprint: string | undefined
  /** The caller's own activation (from its lease), when it holds one. */
  activationId: string | undefined
}

export interface FreeInput {
  key: string
  activationId: string
}

const invalid = (message: string) => new KeygateError('invalid_input', message)

export async function readJson(request: Request): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/json\b/i.test(type.trim())) {
    throw invalid('Send the request body as JSON (content-type: application/json).')
  }
  const length = Number(request.headers.get('content-length') ?? 0)
  if (length > MAX_BODY_BYTES) throw invalid('The request body is too large.')
  const text = await request.text()
  if (text.length > MAX_BODY_BYTES) throw invalid('The request body is too large.')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw invalid('The request body is not valid JSON.')
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid('The request body must be a JSON object.')
  }
  return json as Record<string, unknown>
}

function fingerprint(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > FINGERPRINT_MAX) {
    throw invalid(`fingerprint must be a string of 1 to ${FINGERPRINT_MAX} characters.`)
  }
  // Polar stores it in meta and conditions, where a NUL is refused.
  if (value.includes('\0')) throw invalid('fingerprint contains a NUL character.')
  return value
}

function activationId(value: unknown): string {
  return checkUuid4('activation_id', value).toLowerCase()
}

export function activateInput(body: Record<string, unknown>): ActivateInput {
  const fp = fingerprint(body.fingerprint)
  const extra = body.meta === undefined ? {} : checkMetadata('meta', body.meta)
  if (Object.keys(extra).length >= METADATA_MAX_PAIRS && !(MACHINE_CONDITION in extra)) {
    throw invalid(`meta holds at most ${METADATA_MAX_PAIRS - 1} pairs besides the fingerprint.`)
  }
  return {
    key: normalizeKey(body.key),
    fingerprint: fp,
    label: normalizeLabel(body.label ?? DEFAULT_LABEL),
    // The fingerprint in meta is what finds this machine's seat again: the caller cannot override it.
    meta: { ...extra, [MACHINE_CONDITION]: fp },
  }
}

export function renewInput(body: Record<string, unknown>): RenewInput {
  if (!('activation_id' in body)) {
    throw invalid('activation_id is required (null for a key without activation limit).')
  }
  return {
    key: normalizeKey(body.key),
    fingerprint: fingerprint(body.fingerprint),
    activationId: body.activation_id === null ? null : activationId(body.activation_id),
  }
}

export function devicesInput(body: Record<string, unknown>): DevicesInput {
  return {
    key: normalizeKey(body.key),
    fingerprint: body.fingerprint === undefined ? undefined : fingerprint(body.fingerprint),
    activationId:
      body.activation_id === undefined || body.activation_id === null
        ? undefined
        : activationId(body.activation_id),
  }
}

export interface TrialInput {
  fingerprint: string
  /** The app's `trial.days`; the server's own `trialDays` wins when set. */
  days: number | undefined
}

export function trialInput(body: Record<string, unknown>): TrialInput {
  const days = body.days
  if (
    days !== undefined &&
    (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 3650)
  ) {
    throw invalid('days must be a whole number of days from 1 to 3650.')
  }
  return { fingerprint: fingerprint(body.fingerprint), days }
}

export function freeInput(body: Record<string, unknown>): FreeInput {
  return { key: normalizeKey(body.key), activationId: activationId(body.activation_id) }
}
