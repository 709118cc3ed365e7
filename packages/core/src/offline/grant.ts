import * as v from 'valibot'
import { decodeKey, encodeKey } from './integrity.js'
import { PendingActivationSchema } from './pending.js'
import { type InactiveReason, REASONS } from './reasons.js'
import type { ActivationInfo, LicenseInfo } from './state.js'
import { TrialMemorySchema } from './trial.js'

/**
 * Bumped on any incompatible change; a record with a newer version is not read. Version 1
 * held the key verbatim; version 2 never does (sealed with the keychain key, or encoded) and
 * may carry a MAC. Version 1 records are still read.
 */
export const GRANT_VERSION = 2

const MetaValue = v.union([v.string(), v.number(), v.boolean()])

/**
 * The record a store holds. Only what the library uses: no customer PII.
 * Polar's timestamps are kept as the ISO strings Polar sent; ours are epoch ms.
 */
export const GrantSchema = v.object({
  v: v.literal(GRANT_VERSION),
  key: v.pipe(v.string(), v.minLength(1)),
  organizationId: v.string(),
  /** Base URL of the Polar API the grant came from. */
  server: v.string(),
  /** Salted machine fingerprint the grant was bound to. */
  fingerprint: v.string(),
  /** The conditions sent at activation; validate must send exactly these. */
  conditions: v.record(v.string(), MetaValue),
  /** null for keys whose benefit supports no activations (validate-only). */
  activation: v.nullable(
    v.object({
      id: v.string(),
      label: v.string(),
      meta: v.record(v.string(), MetaValue),
      createdAt: v.string(),
    }),
  ),
  license: v.object({
    id: v.string(),
    displayKey: v.string(),
    status: v.string(),
    expiresAt: v.nullable(v.string()),
    limitActivations: v.nullable(v.number()),
    usage: v.number(),
    limitUsage: v.nullable(v.number()),
    benefitId: v.string(),
    customerId: v.string(),
  }),
  /** Last successful online validation (server time when known), epoch ms. */
  validatedAt: v.number(),
  /**
   * The same moment on this machine's clock, epoch ms. Every offline comparison runs on
   * the local clock; `validatedAt - localValidatedAt` is the skew that translates Polar's
   * `expires_at`. Absent in records of older keygate versions: then taken as `validatedAt`.
   */
  localValidatedAt: v.optional(v.number()),
  /** The latest local time ever observed, epoch ms: a clock set back below it is noticed. */
  clockHighWater: v.number(),
  /** A definitive answer from Polar that made this grant inactive, kept with its detail. */
  verdict: v.optional(
    v.object({
      reason: v.picklist(Object.keys(REASONS) as [InactiveReason, ...InactiveReason[]]),
      detail: v.optional(v.string()),
      at: v.number(),
    }),
  ),
  /** With a lease server: its signed lease (compact JWS), which alone decides offline. */
  lease: v.optional(v.string()),
  /** The public key (`x`) the lease was verified with when it was received. */
  leaseKey: v.optional(v.string()),
  /** An activation sent but not confirmed when the process stopped (see record.ts). */
  pending: v.optional(PendingActivationSchema),
  /** This machine's trial before the key was activated (trial.ts): kept so it never restarts. */
  trial: v.optional(TrialMemorySchema),
})

export type Grant = v.InferOutput<typeof GrantSchema>

export type GrantParseResult =
  | { ok: true; grant: Grant }
  | { ok: false; problem: 'not_json' | 'newer_version' | 'invalid'; message: string }

/** A record's text, parsed; `sealed` still needs the keychain to open its key and check its MAC. */
export type RecordParseResult =
  | { ok: true; format: 'legacy' | 'encoded'; grant: Grant }
  | { ok: true; format: 'sealed'; grant: Grant; sealedKey: string; mac: string; body: string }
  | { ok: false; problem: 'not_json' | 'newer_version' | 'invalid'; message: string }

const invalid = (issues: string): RecordParseResult => ({
  ok: false,
  problem: 'invalid',
  message: `the stored license record is not a keygate grant: ${issues}`,
})

/** Parses stored text of either version. Pure; never throws. */
export function parseRecord(text: string): RecordParseResult {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return {
      ok: false,
      problem: 'not_json',
      message: 'the stored license record is not valid JSON',
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return invalid('not an object')
  const version = (json as { v?: unknown }).v
  if (typeof version === 'number' && version > GRANT_VERSION) {
    return {
      ok: false,
      problem: 'newer_version',
      message: `the stored license record has version ${version}, written by a newer keygate (this one reads version ${GRANT_VERSION})`,
    }
  }
  if (version === 1) {
    // The older format: the grant itself, key included.
    const result = v.safeParse(GrantSchema, { ...json, v: GRANT_VERSION })
    if (!result.success) return invalid(v.summarize(result.issues))
    return { ok: true, format: 'legacy', grant: result.output }
  }
  if (version !== GRANT_VERSION) return invalid('no known record version')
  const { mac, ...unsigned } = json as Record<string, unknown>
  const { sealedKey, encodedKey, key: _verbatim, ...fields } = unsigned
  let key: string | null = null
  if (typeof mac === 'string') {
    if (typeof sealedKey !== 'string') return invalid('a signed record without its sealed key')
  } else if (mac !== undefined || typeof encodedKey !== 'string') {
    return invalid('no readable license key')
  } else {
    key = decodeKey(encodedKey)
    if (key === null) return invalid('the license key is not encoded as keygate writes it')
  }
  // The placeholder passes the schema; the sealed key replaces it once opened.
  const result = v.safeParse(GrantSchema, { ...fields, key: key ?? 'sealed' })
  if (!result.success) return invalid(v.summarize(result.issues))
  if (key !== null) return { ok: true, format: 'encoded', grant: result.output }
  return {
    ok: true,
    format: 'sealed',
    grant: { ...result.output, key: '' },
    sealedKey: sealedKey as string,
    mac: mac as string,
    body: JSON.stringify(unsigned),
  }
}

/**
 * Parses stored text. Pure; never throws. For a record sealed with a keychain key, `key`
 * is empty and the MAC is not checked: only a licensing instance holding that keychain can
 * open and verify it.
 */
export function parseGrant(text: string): GrantParseResult {
  const parsed = parseRecord(text)
  return parsed.ok ? { ok: true, grant: parsed.grant } : parsed
}

/** The fields of a version 2 record before its MAC: everything but the key, then `keyField`. */
export function recordBody(
  grant: Grant,
  keyField: { sealedKey: string } | { encodedKey: string },
): Record<string, unknown> {
  const { key: _key, ...fields } = grant
  return { ...fields, ...keyField }
}

/** A record without a MAC: the key encoded, not verbatim (obscurity, not security). */
export function serializeGrant(grant: Grant): string {
  return `${JSON.stringify(recordBody(grant, { encodedKey: encodeKey(grant.key) }), null, 2)}\n`
}

/** The UI-safe view of a grant's license (no key). */
export function licenseInfo(grant: Grant): LicenseInfo {
  const l = grant.license
  return {
    id: l.id,
    displayKey: l.displayKey,
    status: l.status,
    expiresAt: l.expiresAt === null ? null : Date.parse(l.expiresAt),
    limitActivations: l.limitActivations,
    usage: l.usage,
    limitUsage: l.limitUsage,
    benefitId: l.benefitId,
    customerId: l.customerId,
  }
}

export function activationInfo(grant: Grant): ActivationInfo | null {
  const a = grant.activation
  return a === null ? null : { id: a.id, label: a.label, createdAt: Date.parse(a.createdAt) }
}
