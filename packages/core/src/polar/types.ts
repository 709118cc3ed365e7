/**
 * The Polar client's contract: requests, results and options. Types only, plus
 * `resolveServer`: the response schemas live in polar-schemas.ts, which only the HTTP
 * clients import, so this module costs nothing on the start-up path.
 */
import type { PolarActivation, PolarValidatedKey } from './schemas.js'

export type { PolarActivation, PolarLicenseKey, PolarValidatedKey } from './schemas.js'

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
  /**
   * `options.onAnswer` is called with the body of Polar's successful answer as soon as it
   * arrives, before it is parsed: the activation in it is a seat Polar has already counted,
   * which an app killed a moment later must not lose (keygate notes its id at once). It
   * must not throw; an error it throws is ignored.
   */
  activate(
    request: ActivateRequest,
    options?: { onAnswer?: ((body: string) => void) | undefined },
  ): Promise<PolarResult<PolarActivation>>
  validate(request: ValidateRequest): Promise<PolarResult<PolarValidatedKey>>
  deactivate(request: DeactivateRequest): Promise<PolarResult<null>>
}

export type { PolarServer } from '../offline/origin.js'

import type { PolarServer } from '../offline/origin.js'

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
  /** Waits between attempts and for a turn (see below); injectable so tests need not sleep. */
  sleep?: ((ms: number) => Promise<void>) | undefined
  /**
   * The clock for pacing, epoch ms. Default `Date.now`. The client sends at most 3 requests
   * in any second (Polar's per-IP limit) and nothing before a 429's `Retry-After`.
   */
  now?: (() => number) | undefined
}

export { POLAR_SERVERS, resolveServer } from '../offline/origin.js'
