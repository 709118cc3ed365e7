import * as v from 'valibot'

/**
 * Polar's response shapes, parsed leniently: only the fields keygate uses are
 * required, unknown fields are dropped (so customer PII never goes further), and
 * both the 2024 shape (with `user`) and the 2026-10 shape parse.
 */
const MetaValue = v.union([v.string(), v.number(), v.boolean()])
const Meta = v.record(v.string(), MetaValue)
const nullableString = v.optional(v.nullable(v.string()), null)
const nullableInt = v.optional(v.nullable(v.number()), null)

export const PolarLicenseKeySchema = v.object({
  id: v.string(),
  organization_id: v.string(),
  customer_id: v.string(),
  benefit_id: v.string(),
  display_key: v.string(),
  status: v.string(),
  limit_activations: nullableInt,
  usage: v.optional(v.number(), 0),
  limit_usage: nullableInt,
  validations: v.optional(v.number(), 0),
  last_validated_at: nullableString,
  expires_at: nullableString,
})

export const PolarActivationBaseSchema = v.object({
  id: v.string(),
  license_key_id: v.string(),
  label: v.string(),
  meta: v.optional(Meta, {}),
  created_at: v.string(),
  modified_at: nullableString,
})

/** `LicenseKeyActivationRead`: what activate returns. */
export const PolarActivationSchema = v.object({
  ...PolarActivationBaseSchema.entries,
  license_key: PolarLicenseKeySchema,
})

/** `ValidatedLicenseKey`: what validate returns (`activation` only when one was sent). */
export const PolarValidatedKeySchema = v.object({
  ...PolarLicenseKeySchema.entries,
  activation: v.optional(v.nullable(PolarActivationBaseSchema), null),
})

export type PolarLicenseKey = v.InferOutput<typeof PolarLicenseKeySchema>
export type PolarActivationBase = v.InferOutput<typeof PolarActivationBaseSchema>
export type PolarActivation = v.InferOutput<typeof PolarActivationSchema>
export type PolarValidatedKey = v.InferOutput<typeof PolarValidatedKeySchema>

/** Values Polar accepts in `conditions` and `meta`: flat, at most 50 pairs. */
export type ConditionValue = string | number | boolean
export type Conditions = Record<string, ConditionValue>

export interface ActivateRequest {
  key: string
  organizationId: string
  label: string
  conditions?: Conditions | undefined
  meta?: Conditions | undefined
}

export interface ValidateRequest {
  key: string
  organizationId: string
  activationId?: string | undefined
  benefitId?: string | undefined
  customerId?: string | undefined
  incrementUsage?: number | undefined
  conditions?: Conditions | undefined
}

export interface DeactivateRequest {
  key: string
  organizationId: string
  activationId: string
}

/** A parsed answer plus what the response said about time and environment. */
export interface PolarResult<T> {
  data: T
  /** The response's `Date` header, epoch ms, when present. */
  serverTime: number | undefined
  /** True when the response carried `X-Polar-Sandbox: 1`. */
  sandbox: boolean
}

/** The customer-portal license-key endpoints. No secret: safe to ship in an app. */
export interface PolarClient {
  /** Base URL requests go to, e.g. `https://api.polar.sh`. */
  readonly baseURL: string
  activate(request: ActivateRequest): Promise<PolarResult<PolarActivation>>
  validate(request: ValidateRequest): Promise<PolarResult<PolarValidatedKey>>
  deactivate(request: DeactivateRequest): Promise<PolarResult<null>>
}

export type PolarServer = 'production' | 'sandbox' | (string & {})

export interface PolarClientOptions {
  /** `production` (default), `sandbox`, or a base URL such as the emulator's. */
  server?: PolarServer | undefined
  fetch?: typeof fetch | undefined
  /** Per attempt, in ms. Default 10 000. */
  timeoutMs?: number | undefined
  /** Extra attempts for retryable failures. Default 2. */
  retry?: number | undefined
  /** Sent as `Polar-Version` only when set. */
  polarVersion?: string | undefined
  /** Waits between attempts; injectable so tests need not sleep. */
  sleep?: ((ms: number) => Promise<void>) | undefined
}

export const POLAR_SERVERS = {
  production: 'https://api.polar.sh',
  sandbox: 'https://sandbox-api.polar.sh',
} as const

export function resolveServer(server: PolarServer | undefined): string {
  if (server === undefined || server === 'production') return POLAR_SERVERS.production
  if (server === 'sandbox') return POLAR_SERVERS.sandbox
  return server.replace(/\/+$/, '')
}
