import * as v from 'valibot'
import { PolarActivationBaseSchema, PolarLicenseKeySchema } from '../polar/schemas.js'
import type {
  ActivateRequest,
  DeactivateRequest,
  PolarActivation,
  PolarResult,
  PolarServer,
  PolarValidatedKey,
  ValidateRequest,
} from '../polar/types.js'

/**
 * Shapes of Polar's organization API (`/v1/license-keys/…`), parsed leniently as the
 * customer client does: only what seller tooling uses is required, added fields never
 * fail, and both the 2024 shape (with `user`) and the 2026-10 shape parse.
 */

const nullableString = v.optional(v.nullable(v.string()), null)

/** The customer as a seller's support needs it; billing details are dropped. */
const AdminCustomerSchema = v.object({
  id: v.string(),
  email: nullableString,
  name: nullableString,
})

/** `LicenseKeyRead` for the seller: with the full key and who bought it. */
export const AdminLicenseKeySchema = v.object({
  ...PolarLicenseKeySchema.entries,
  // The organization API always sends it, and seller tools need it (deactivate).
  organization_id: v.string(),
  /** The full key. Only the seller's API returns it: never print or log it. */
  key: v.optional(v.string()),
  created_at: v.string(),
  modified_at: nullableString,
  customer: v.optional(v.nullable(AdminCustomerSchema), null),
})

/** `LicenseKeyWithActivations`: the key and its live activations. */
export const AdminLicenseKeyWithActivationsSchema = v.object({
  ...AdminLicenseKeySchema.entries,
  activations: v.optional(v.array(PolarActivationBaseSchema), []),
})

/** `LicenseKeyActivationRead` from `GET /v1/license-keys/{id}/activations/{activation_id}`. */
export const AdminActivationSchema = v.object({
  ...PolarActivationBaseSchema.entries,
  license_key: AdminLicenseKeySchema,
})

const PaginationSchema = v.object({ total_count: v.number(), max_page: v.number() })

/** `ListResource[LicenseKeyRead]`. */
export const AdminLicenseKeyPageSchema = v.object({
  items: v.array(AdminLicenseKeySchema),
  pagination: PaginationSchema,
})

export type AdminLicenseKey = v.InferOutput<typeof AdminLicenseKeySchema>
export type AdminLicenseKeyWithActivations = v.InferOutput<
  typeof AdminLicenseKeyWithActivationsSchema
>
export type AdminActivation = v.InferOutput<typeof AdminActivationSchema>
export type Pagination = v.InferOutput<typeof PaginationSchema>
export type AdminLicenseKeyPage = v.InferOutput<typeof AdminLicenseKeyPageSchema>

export type LicenseKeyStatus = 'granted' | 'revoked' | 'disabled'
export const LICENSE_KEY_STATUSES: readonly LicenseKeyStatus[] = ['granted', 'revoked', 'disabled']

/** Filters of `GET /v1/license-keys/`; a list matches any of its values. */
export interface ListLicenseKeysFilter {
  organizationId?: string | readonly string[] | undefined
  benefitId?: string | readonly string[] | undefined
  status?: LicenseKeyStatus | readonly LicenseKeyStatus[] | undefined
}

export interface ListLicenseKeysParams extends ListLicenseKeysFilter {
  /** From 1. Default 1. */
  page?: number | undefined
  /** Keys per page, 1–100. Default 10 (Polar's default). */
  limit?: number | undefined
}

export interface ListAllParams extends ListLicenseKeysFilter {
  /** Keys per request, 1–100. Default 100: the fewest requests. */
  pageSize?: number | undefined
}

/**
 * `PATCH /v1/license-keys/{id}`: only the fields given are changed. `null` clears a limit
 * or the expiry (no limit, never expires).
 */
export interface LicenseKeyUpdate {
  status?: LicenseKeyStatus | undefined
  usage?: number | undefined
  limitActivations?: number | null | undefined
  limitUsage?: number | null | undefined
  /** A `Date`, an ISO 8601 string or epoch ms; `null` = never expires. */
  expiresAt?: Date | string | number | null | undefined
}

/** Client-side pacing: at most `requests` per `perMs`. */
export interface AdminRateLimit {
  requests: number
  perMs: number
}

export interface PolarAdminClientOptions {
  /**
   * An Organization Access Token with `license_keys:read` (and `license_keys:write` to
   * change keys). A secret: keep it on the seller's machine or server, never in an app.
   */
  token: string
  /** `production` (default), `sandbox`, or a base URL such as the emulator's. */
  server?: PolarServer | undefined
  fetch?: typeof fetch | undefined
  /** Per attempt, in ms. Default 10 000. */
  timeoutMs?: number | undefined
  /** Extra attempts for retryable failures. Default 2. */
  retry?: number | undefined
  /** Sent as `Polar-Version` only when set. */
  polarVersion?: string | undefined
  /**
   * Requests are spaced to stay under Polar's API limit, which is per organization: 500
   * per minute in production, 100 in sandbox (the default follows `server`). `false`
   * turns pacing off.
   */
  rateLimit?: AdminRateLimit | false | undefined
  /** Waits (retries, pacing); injectable so tests need not sleep. */
  sleep?: ((ms: number) => Promise<void>) | undefined
  /** The clock for pacing, epoch ms. Default `Date.now`. */
  now?: (() => number) | undefined
}

/** The organization-token client: seller tooling only, never shipped in an app. */
export interface PolarAdminClient {
  readonly baseURL: string
  /** One page of license keys with `pagination` (`total_count`, `max_page`). */
  list(params?: ListLicenseKeysParams): Promise<PolarResult<AdminLicenseKeyPage>>
  /** Every matching license key, oldest first, fetching page after page as needed. */
  listAll(params?: ListAllParams): AsyncIterableIterator<AdminLicenseKey>
  /** A license key with its live activations. */
  get(id: string): Promise<PolarResult<AdminLicenseKeyWithActivations>>
  update(id: string, update: LicenseKeyUpdate): Promise<PolarResult<AdminLicenseKey>>
  /**
   * `POST /v1/license-keys/{id}/rotate`: a new key string (the benefit's current prefix)
   * for the same key; the old string stops working at once, activations stay valid.
   * Only granted or disabled keys: a revoked one fails with `revoked`.
   */
  rotate(id: string): Promise<PolarResult<AdminLicenseKey>>
  getActivation(id: string, activationId: string): Promise<PolarResult<AdminActivation>>
  /** Server-side activation (`POST /v1/license-keys/activate`): takes a seat. */
  activate(request: ActivateRequest): Promise<PolarResult<PolarActivation>>
  validate(request: ValidateRequest): Promise<PolarResult<PolarValidatedKey>>
  /** Frees a seat: the app on that machine finds its activation gone on its next check. */
  deactivate(request: DeactivateRequest): Promise<PolarResult<null>>
}
