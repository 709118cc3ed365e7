import * as v from 'valibot'
import { PendingActivationSchema } from './pending.js'
import { type InactiveReason, REASONS } from './reasons.js'
import type { ActivationInfo, LicenseInfo } from './state.js'

/** Bumped on any incompatible change; a record with a newer version is not read. */
export const GRANT_VERSION = 1

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
  /** An activation sent but not confirmed when the process stopped (see record.ts). */
  pending: v.optional(PendingActivationSchema),
})

export type Grant = v.InferOutput<typeof GrantSchema>

export type GrantParseResult =
  | { ok: true; grant: Grant }
  | { ok: false; problem: 'not_json' | 'newer_version' | 'invalid'; message: string }

/** Parses stored text. Pure; never throws. */
export function parseGrant(text: string): GrantParseResult {
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
  if (
    typeof json === 'object' &&
    json !== null &&
    'v' in json &&
    typeof json.v === 'number' &&
    json.v > GRANT_VERSION
  ) {
    return {
      ok: false,
      problem: 'newer_version',
      message: `the stored license record has version ${json.v}, written by a newer keygate (this one reads version ${GRANT_VERSION})`,
    }
  }
  const result = v.safeParse(GrantSchema, json)
  if (!result.success) {
    return {
      ok: false,
      problem: 'invalid',
      message: `the stored license record is not a keygate grant: ${v.summarize(result.issues)}`,
    }
  }
  return { ok: true, grant: result.output }
}

export function serializeGrant(grant: Grant): string {
  return `${JSON.stringify(grant, null, 2)}\n`
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
