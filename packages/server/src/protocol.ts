import type { KeygateErrorCode } from '@keygate/core'

/**
 * The lease server's HTTP protocol, version 1: the JSON bodies of its routes. Every route
 * is `POST` with a JSON body (the license key travels in the body, never in the URL) and
 * answers JSON. Field names follow Polar's (snake_case), so the nested `license_key` and
 * `activation` objects read like Polar's own.
 */

export type MetaValue = string | number | boolean

/** `POST /v1/activate`: take (or reuse) this machine's seat and get a lease. */
export interface ActivateRequestBody {
  key: string
  /** The machine fingerprint (a salted hash, never a raw hardware id). 1–500 characters. */
  fingerprint: string
  /** Polar's activation label, e.g. the host name. Default `"Unnamed device"`. */
  label?: string | undefined
  /** Extra activation `meta` (at most 49 pairs); `keygate_machine` is set by the server. */
  meta?: Record<string, MetaValue> | undefined
}

/** `POST /v1/renew`: validate the activation with Polar again and get a fresh lease. */
export interface RenewRequestBody {
  key: string
  fingerprint: string
  /** The activation the lease was for; `null` for a key whose benefit has no activation limit. */
  activation_id: string | null
}

/** `POST /v1/devices`: this key's live activations. */
export interface DevicesRequestBody {
  key: string
  /** When given, this machine's activation is marked `current`. */
  fingerprint?: string | undefined
  /**
   * The caller's own activation (the one its lease names): with the fingerprint, it alone
   * is marked `current`, and Polar need not be asked which seat is this machine's.
   */
  activation_id?: string | null | undefined
}

/** `POST /v1/devices/free`: deactivate one of this key's activations (frees a seat). */
export interface FreeDeviceRequestBody {
  key: string
  activation_id: string
}

/**
 * `POST /v1/trial`: a signed trial token for this machine. Stateless by default: the
 * trial starts now unless the server's `trials` store knows this fingerprint.
 */
export interface TrialRequestBody {
  fingerprint: string
  /** The app's `trial.days`, used when the server sets no `trialDays`. */
  days?: number | undefined
}

/** What `/v1/trial` answers (200). */
export interface TrialResponseBody {
  /** The signed trial token: a compact JWS, see `TrialClaims`. The client keeps it. */
  token: string
  /** ISO 8601, lease server's clock. */
  started_at: string
  ends_at: string
}

/**
 * The claims of a trial token (JWS payload). Header `{ alg: "EdDSA", typ:
 * "keygate-trial+jwt", kid }`. Times are NumericDate (seconds since the epoch).
 */
export interface TrialClaims {
  iss: string
  /** Trial token format version: 1. */
  ver: 1
  organization_id: string
  /** The machine fingerprint the trial is bound to. */
  fingerprint: string
  started_at: number
  ends_at: number
  iat: number
}

/** The license key as Polar describes it, without the full key or any customer PII. */
export interface LeaseLicenseKey {
  id: string
  organization_id: string
  customer_id: string
  benefit_id: string
  /** `****-` and the last 6 characters. */
  display_key: string
  /** `granted` (a lease is only issued for granted keys). */
  status: string
  limit_activations: number | null
  usage: number
  limit_usage: number | null
  validations: number
  /** ISO 8601, Polar's clock. */
  last_validated_at: string | null
  /** ISO 8601, or `null`: never expires. */
  expires_at: string | null
}

export interface LeaseActivation {
  id: string
  label: string
  meta: Record<string, MetaValue>
  /** ISO 8601, Polar's clock. */
  created_at: string
  modified_at: string | null
}

/** What `/v1/activate` and `/v1/renew` answer (200). */
export interface LeaseResponseBody {
  /** The signed lease: a compact JWS, see `LeaseClaims`. */
  lease: string
  /** The lease's `exp` as ISO 8601 (lease server's clock). */
  lease_expires_at: string
  /** When Polar confirmed the key: its `Date` header, else the lease server's clock. ISO 8601. */
  validated_at: string
  license_key: LeaseLicenseKey
  /** `null` for a key whose benefit has no activation limit (validated, never activated). */
  activation: LeaseActivation | null
  /** activate only: true when this machine already held a seat and no new one was taken. */
  reused?: boolean
}

export interface Device extends LeaseActivation {
  /**
   * This machine's seat: the `activation_id` sent, or, without one, a seat carrying the
   * fingerprint in `meta` that Polar validates with that fingerprint as its conditions.
   */
  current: boolean
}

/** What `/v1/devices` answers (200): live activations, oldest first. */
export interface DevicesResponseBody {
  devices: Device[]
  limit_activations: number | null
}

/** What `/v1/devices/free` answers (200). */
export interface FreeDeviceResponseBody {
  freed: string
}

/** Every failure (4xx/5xx). `code` is one of `@keygate/core`'s `KeygateError` codes. */
export interface ErrorResponseBody {
  error: {
    code: KeygateErrorCode
    /** For logs and developers; never contains the full key. Apps show `describe()` text. */
    message: string
    /** Polar's `detail`, when Polar gave the verdict (e.g. "License key has expired."). */
    detail?: string
    /** Seconds; also sent as the `Retry-After` header (503 only). */
    retry_after?: number
  }
}

/**
 * The claims of a lease (JWS payload). Header: `{ alg: "EdDSA", typ: "keygate-lease+jwt",
 * kid }` with `kid` the RFC 7638 thumbprint of the signing key's public JWK.
 * Times are NumericDate (seconds since the epoch).
 */
export interface LeaseClaims {
  /** `issuer` option; default `"keygate"`. */
  iss: string
  /** The license key id (Polar's `id` of the key, not the key string). */
  sub: string
  /** Lease format version: 1. */
  ver: 1
  organization_id: string
  /** `null` for a key without activation limit. */
  activation_id: string | null
  /** The machine fingerprint the activation is bound to. */
  fingerprint: string
  /** The key's status when signed (`granted`). */
  status: string
  /** The key's own expiry, or `null` (never expires). */
  key_expires_at: number | null
  benefit_id: string
  iat: number
  /** `iat + leaseTtl`, never later than `key_expires_at`. */
  exp: number
}

/** The routes, for clients that build URLs. */
export const ROUTES = {
  activate: '/v1/activate',
  renew: '/v1/renew',
  devices: '/v1/devices',
  freeDevice: '/v1/devices/free',
  trial: '/v1/trial',
} as const
