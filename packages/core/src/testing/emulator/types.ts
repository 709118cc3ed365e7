/** Public types of the Polar emulator (`@keygate/core/testing`). Times are epoch ms. */

export type EmulatedKeyStatus = 'granted' | 'revoked' | 'disabled'

/** A moment: a `Date`, an ISO string, or epoch ms. */
export type TimeInput = string | Date | number

/** Polar's `RateLimitGroup` of an organization (set by Polar's staff; most are `default`). */
export type OrganizationRateLimitGroup = 'default' | 'restricted' | 'elevated'

/** Polar's rate-limit zones with a block time; a block earned in one answers all of them. */
export type PolarBlockZone =
  | 'login-code'
  | 'auth-email-otp'
  | 'customer-session-login'
  | 'seat-claim-stream'
  | 'checkout-confirm'
  | 'feedback-submit'
  | 'customer-license-key'

/** The customer-license-key zone's rule. The window opens at a client's first request. */
export interface RateLimitOptions {
  /** Requests allowed per window, per client, shared by the three endpoints. */
  requests: number
  /** Window length in ms. */
  perMs: number
  /** How long a client that went past the limit is refused, in ms. */
  blockMs: number
}

export interface PolarEmulatorOptions {
  /** The clock, epoch ms. Default `Date.now`. `advance()` and `setClock()` shift it. */
  now?: (() => number) | undefined
  /** Answer like `sandbox-api.polar.sh`: every response carries `X-Polar-Sandbox: 1`. */
  sandbox?: boolean | undefined
  /**
   * Polar's limit on the license-key endpoints (default 3 requests per 1000 ms, then
   * blocked for 60 s). `false` turns off every limit (the organization API's too).
   */
  rateLimit?: RateLimitOptions | false | undefined
  /**
   * The organizations' rate-limit group on the organization API: `default` 500/min
   * (sandbox 100/min), `restricted` 60/min (sandbox 10/min), `elevated` 100/s (sandbox
   * 50/s). Default `default`.
   */
  organizationRateLimit?: OrganizationRateLimitGroup | undefined
  /**
   * `Polar-Version` values served, the first being the default for a request without
   * the header. Default Polar's: `['2026-04', '2026-10']`. Any other value, malformed
   * ones included, is answered 404 `{"detail":"Not Found"}`.
   */
  polarVersions?: readonly string[] | undefined
  /** The default organization's id. Default: a random UUIDv4 (`emulator.organizationId`). */
  organizationId?: string | undefined
  /**
   * How far Polar's read replica trails its primary, in ms. Default 0. The organization
   * API's GETs read the replica (`get_db_read_session`): activations taken within that
   * time are not listed yet, ones freed within it still are. `setReplicaLag` changes it.
   */
  replicaLagMs?: number | undefined
}

export interface CreateKeyOptions {
  /** Default: the emulator's organization. */
  organizationId?: string | undefined
  /** Generated keys look like `PREFIX-<UPPERCASE UUID>`. Ignored when `key` is given. */
  prefix?: string | undefined
  /** An imported key string, used exactly as given. */
  key?: string | undefined
  status?: EmulatedKeyStatus | undefined
  /** Seats. `null` (or 0): the benefit has no activation limit, so activate is refused. Default 3. */
  limitActivations?: number | null | undefined
  limitUsage?: number | null | undefined
  usage?: number | undefined
  expiresAt?: TimeInput | null | undefined
  benefitId?: string | undefined
  customerId?: string | undefined
  /** A freshly bought key: every endpoint answers 404 "Not found" until this time. */
  availableAfter?: TimeInput | null | undefined
  /**
   * Granted by a subscription: `expires_at` is always null, `endSubscription` revokes
   * it and `resubscribe` re-grants the same key.
   */
  subscription?: boolean | undefined
  /** `team` customers may have no email and no name (both null). Default `individual`. */
  customerType?: 'individual' | 'team' | undefined
  /** The team member the key was granted to (a team customer's seat). */
  memberId?: string | undefined
}

/** A snapshot of a key as the emulator holds it. Re-read with `getKey` after requests. */
export interface EmulatedKey {
  readonly id: string
  /** The full key string (test data: safe to use in tests, never log a real one). */
  readonly key: string
  readonly displayKey: string
  readonly organizationId: string
  readonly customerId: string
  readonly benefitId: string
  readonly status: EmulatedKeyStatus
  readonly limitActivations: number | null
  readonly limitUsage: number | null
  readonly usage: number
  readonly validations: number
  readonly lastValidatedAt: number | null
  readonly expiresAt: number | null
  readonly availableAfter: number | null
  readonly createdAt: number
  readonly deleted: boolean
  readonly subscription: boolean
  readonly memberId: string | null
}

export type ConditionValue = string | number | boolean

export interface EmulatedActivation {
  readonly id: string
  readonly licenseKeyId: string
  readonly label: string
  /** Stored at activation; Polar never echoes them. */
  readonly conditions: Readonly<Record<string, ConditionValue>>
  readonly meta: Readonly<Record<string, ConditionValue>>
  readonly createdAt: number
  readonly modifiedAt: number | null
}

/** A key string, a key id, or a key record. */
export type KeyRef = string | { readonly id: string }

export type EmulatorEndpoint = 'activate' | 'validate' | 'deactivate'

/** Injected failures, each standing for a way the network or Polar's edge really fails. */
export type FaultKind =
  /** The connection drops: `fetch` rejects with a `TypeError` ("fetch failed"). */
  | 'reset'
  | 500
  | 502
  | 503
  /** 200 with an HTML page, as a captive portal or proxy answers. */
  | 'html'
  /** 200 `application/json` with a truncated body. */
  | 'invalid_json'
  /** No answer ever: the request hangs until its `signal` aborts (or the server closes). */
  | 'timeout'
  | 'hang'

export interface EmulatorRequestLog {
  readonly method: string
  /** URL path, e.g. `/v1/customer-portal/license-keys/activate`. */
  readonly path: string
  readonly endpoint: EmulatorEndpoint | null
  /** The parsed JSON body with `key` masked (`****-` + last 6), or undefined. */
  readonly body: unknown
  /** HTTP status, or the fault that answered instead (`reset`, `timeout`, …). */
  readonly status: number | 'reset' | 'timeout' | 'hang'
  readonly ip: string
  /** Emulator time of the request, epoch ms. */
  readonly at: number
}

export interface EmulatorServer {
  /** Base URL, e.g. `http://127.0.0.1:54321`. Pass it as the client's `server`. */
  readonly url: string
  readonly port: number
  /** Stops listening and drops open connections (hanging requests included). */
  close(): Promise<void>
}
