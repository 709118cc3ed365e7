import { KeygateError } from '../errors.js'
import { fromBase64Url } from './integrity.js'

/**
 * What the start-up code knows of leases: the public key's type and its check. The code
 * that verifies a lease or a trial token, and judges a leased grant, is `lease/`, loaded
 * (`loadLeaseCode`) only where a lease server is configured: most apps' grants hold no
 * lease, and their start-up check parses none of it.
 */

/** The lease server's public key, as `keygate lease keygen` prints it. */
export interface LeasePublicKey {
  kty: 'OKP'
  crv: 'Ed25519'
  /** The public key, base64url (32 bytes). */
  x: string
  kid?: string | undefined
  alg?: string | undefined
  use?: string | undefined
}

/** The claims a lease signs (times in seconds since the epoch), as the server documents them. */
export interface LeaseClaims {
  iss: string
  sub: string
  ver: number
  organization_id: string
  activation_id: string | null
  fingerprint: string
  status: string
  key_expires_at: string | null
  benefit_id: string
  iat: number
  exp: number
}

/** The claims of a trial token a lease server signed (`POST /v1/trial`), times in seconds. */
export interface TrialClaims {
  iss: string
  ver: number
  organization_id: string
  fingerprint: string
  started_at: number
  ends_at: number
  iat: number
}

/**
 * Why `value` is not a lease server's public key as `keygate lease keygen` prints it (an
 * Ed25519 public JWK), or undefined when it is one. Never repeats the value: a private key
 * pasted by mistake must not reach a log. A JWK holding the private part (`d`) is refused:
 * shipped in an app, it would let anyone sign leases.
 */
export function leasePublicKeyProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'it is not a JSON object'
  }
  const jwk = value as Record<string, unknown>
  if ('d' in jwk) {
    return "this is the lease server's private key (signingKey), a secret that belongs only on the server; pass the public key"
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    return 'it is not an Ed25519 public key'
  }
  if (fromBase64Url(jwk.x)?.length !== 32) return 'its x is not a 32-byte base64url key'
  return undefined
}

/**
 * `createLicensing({ leaseServer })` checked up front: an http(s) URL and an Ed25519 public
 * JWK (`leasePublicKeyProblem`). A wrong key would otherwise surface only as `tampered`.
 */
export function checkLeaseServer<T extends { url: string; publicKey: LeasePublicKey }>(
  leaseServer: T | undefined,
): T | undefined {
  if (leaseServer === undefined) return undefined
  const { url, publicKey } = (leaseServer ?? {}) as Partial<T>
  let protocol: string | undefined
  try {
    protocol = typeof url === 'string' ? new URL(url).protocol : undefined
  } catch {
    protocol = undefined
  }
  if (protocol !== 'https:' && protocol !== 'http:') {
    throw new KeygateError(
      'invalid_input',
      "leaseServer.url must be the lease server's absolute http(s) URL, such as https://lease.example.com.",
    )
  }
  const problem = leasePublicKeyProblem(publicKey)
  if (problem !== undefined) {
    throw new KeygateError(
      'invalid_input',
      `leaseServer.publicKey must be the public Ed25519 JWK \`keygate lease keygen\` prints ({ kty: "OKP", crv: "Ed25519", x }): ${problem}.`,
    )
  }
  return leaseServer
}

type LeaseCode = typeof import('./lease/index.js')

let loaded: LeaseCode | undefined
let loading: Promise<LeaseCode> | undefined

/**
 * Loads the lease code (`lease/`). The record's reader awaits it before anyone evaluates a
 * record under a lease server, so `evaluate` stays synchronous. A load that failed is tried
 * again on the next call.
 */
export async function loadLeaseCode(): Promise<LeaseCode> {
  loading ??= import('./lease/index.js').catch((error: unknown) => {
    loading = undefined
    throw error
  })
  loaded = await loading
  return loaded
}

/** The lease code, once `loadLeaseCode` has loaded it. */
export function leaseCode(): LeaseCode {
  if (loaded === undefined) {
    throw new Error(
      '[keygate] a lease was evaluated before its code loaded: await loadLeaseVerifier() once first.',
    )
  }
  return loaded
}

/**
 * Loads the lease code, and the pure-JS Ed25519 verifier for a runtime without Node's
 * crypto. Await it once before evaluating a leased grant yourself (`evaluate(grant, { lease
 * })`), or, outside Node and Electron, before calling `verifyLease` directly.
 */
export async function loadLeaseVerifier(): Promise<void> {
  await (await loadLeaseCode()).loadCurve()
}
