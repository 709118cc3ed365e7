import type { TokenClaims, TokenKind } from '../crypto/signed-token.js'
import { KeygateError } from '../errors.js'
import type { Grant } from './grant.js'

/**
 * The lease a lease server signed (a compact JWS, EdDSA over Ed25519), and the times
 * `evaluate` trusts from it. `evaluate` stays synchronous: the record's reader verifies a
 * lease as it reads it (`verifyLeaseAhead`) and the answer is remembered here. The code that
 * parses tokens and checks signatures (crypto/signed-token.ts) loads only then, so an app
 * without a lease server never loads it. A direct caller of the synchronous `verifyLease`
 * (or of `evaluate` on a leased grant) awaits `loadLeaseVerifier()` once first.
 */

type Tokens = typeof import('../crypto/signed-token.js')
let tokens: Tokens | undefined
let loading: Promise<Tokens> | undefined

function loadTokens(): Promise<Tokens> {
  loading ??= import('../crypto/signed-token.js').then(
    (loaded) => {
      tokens = loaded
      return loaded
    },
    (error: unknown) => {
      loading = undefined
      throw error
    },
  )
  return loading
}

/**
 * Loads the code the synchronous `verifyLease` and `verifyTrialToken` need, with the
 * pure-JS Ed25519 they fall back to where Node's crypto is absent; call (and await) it
 * once before.
 */
export async function loadLeaseVerifier(): Promise<void> {
  await (await loadTokens()).loadCurve()
}

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
  // 43 base64url characters are 32 bytes.
  if (!/^[A-Za-z0-9_-]{43}$/.test(jwk.x)) return 'its x is not a 32-byte base64url key'
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
 * The last tokens (leases and trial tokens) verified, by public key and text: a check of an
 * unchanged record verifies nothing. The JWS header names the token's type, so one text
 * never stands for both.
 */
const verified = new Map<string, unknown>()
const CACHE_SIZE = 32

function remember<Claims>(cacheKey: string, claims: Claims | null): Claims | null {
  if (verified.size >= CACHE_SIZE) verified.delete(verified.keys().next().value as string)
  verified.set(cacheKey, claims)
  return claims
}

/** The claims when `jws` is a token of `kind` that `publicKey` signed: remembered, else verified now. */
function verifySync<K extends TokenKind>(
  jws: string,
  publicKey: LeasePublicKey,
  kind: K,
): TokenClaims[K] | null {
  const cacheKey = `${publicKey.x}.${jws}`
  if (verified.has(cacheKey)) return verified.get(cacheKey) as TokenClaims[K] | null
  const claims = tokens?.verifyNow(jws, publicKey, kind)
  if (claims === undefined) {
    throw new Error('[keygate] verifyLease before loadLeaseVerifier(): await it once first.')
  }
  return remember(cacheKey, claims)
}

/** Verifies `jws` now, so that `verifySync` finds the answer remembered. Never rejects. */
async function verifyAhead(
  jws: string,
  publicKey: LeasePublicKey,
  kind: TokenKind,
  trusted: boolean,
): Promise<void> {
  const cacheKey = `${publicKey.x}.${jws}`
  if (verified.has(cacheKey)) return
  let loaded: Tokens
  try {
    loaded = await loadTokens()
  } catch {
    return // the synchronous check then says why
  }
  const claims = await loaded.verifyAhead(jws, publicKey, kind, trusted)
  if (claims !== undefined) remember(cacheKey, claims)
}

/**
 * Verifies a lease now, asynchronously, so that the synchronous `verifyLease` (and so
 * `evaluate`) finds the answer remembered: with Node's crypto where it is here, else Web
 * Crypto; where Web Crypto has no Ed25519, the pure-JS verifier loads and decides.
 * `trusted`: the lease sits in a record whose MAC (keyed from the OS keychain) verified and
 * which says this key verified it when it was received: the MAC already proves the bytes
 * are the ones verified then, so only the claims are read. Never rejects.
 */
export function verifyLeaseAhead(
  jws: string,
  publicKey: LeasePublicKey,
  trusted = false,
): Promise<void> {
  return verifyAhead(jws, publicKey, 'lease', trusted)
}

/**
 * The lease's claims when `jws` is a well-formed lease signed by `publicKey`, else null.
 * Never throws once loaded. Checks the header (`alg` EdDSA, `typ`) and the claims' shape,
 * not their meaning: `leasedGrant` compares them with the record and the machine. Finds the
 * answer of `verifyLeaseAhead`, or needs `loadLeaseVerifier()` awaited once.
 */
export function verifyLease(jws: string, publicKey: LeasePublicKey): LeaseClaims | null {
  return verifySync(jws, publicKey, 'lease')
}

/**
 * The claims when `jws` is a well-formed trial token signed by `publicKey`, else null. As
 * `verifyLease`, it finds the answer of `verifyTrialAhead`, or needs `loadLeaseVerifier()`
 * awaited once.
 */
export function verifyTrialToken(jws: string, publicKey: LeasePublicKey): TrialClaims | null {
  return verifySync(jws, publicKey, 'trial')
}

/** As `verifyLeaseAhead`, for a trial token. */
export function verifyTrialAhead(jws: string, publicKey: LeasePublicKey): Promise<void> {
  return verifyAhead(jws, publicKey, 'trial', false)
}

export type LeaseOutcome =
  /** The grant with every time and verdict-relevant field taken from the signed lease. */
  | { ok: true; grant: Grant; leaseEndsAt: number }
  | { ok: false; reason: 'tampered' | 'machine_mismatch' }

/**
 * What a leased grant allows offline: the signed claims replace the record's times, key
 * status, expiry and binding, so editing the record changes nothing (or breaks the
 * signature). `leaseEndsAt`, on the local clock, is the lease's own end.
 *
 * Times: the lease is signed on the server's clock. The record's local time of receipt
 * (`localValidatedAt`) is believed only when it is not later than the signed `iat`, so an
 * edit can move it earlier (which only shortens the lease) and never later; a machine
 * whose clock runs behind the server's keeps its own clock's view of the same instants.
 */
export function leasedGrant(
  grant: Grant,
  publicKey: LeasePublicKey,
  fingerprint: string,
): LeaseOutcome {
  if (grant.lease === undefined) return { ok: false, reason: 'tampered' }
  const claims = verifyLease(grant.lease, publicKey)
  if (claims === null) return { ok: false, reason: 'tampered' }
  if (claims.fingerprint !== fingerprint) return { ok: false, reason: 'machine_mismatch' }
  const activationId = grant.activation === null ? null : grant.activation.id
  const bound =
    claims.organization_id === grant.organizationId &&
    claims.sub === grant.license.id &&
    claims.activation_id === activationId &&
    claims.fingerprint === grant.fingerprint
  if (!bound) return { ok: false, reason: 'tampered' }
  const issuedAt = claims.iat * 1000
  const local = Math.min(grant.localValidatedAt ?? issuedAt, issuedAt)
  const skew = issuedAt - local
  return {
    ok: true,
    grant: {
      ...grant,
      license: {
        ...grant.license,
        status: claims.status,
        expiresAt: claims.key_expires_at,
        benefitId: claims.benefit_id,
      },
      validatedAt: issuedAt,
      localValidatedAt: local,
      // A high-water mark edited forward would lock the user out, never let them in.
      clockHighWater: Math.max(grant.clockHighWater, local),
    },
    leaseEndsAt: claims.exp * 1000 - skew,
  }
}
