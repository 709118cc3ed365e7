import { KeygateError } from '../errors.js'
import type { Grant } from './grant.js'
import { type NodeCrypto, type NodePublicKey, nodeCrypto } from './node-crypto.js'

/**
 * Verifies the lease a lease server signed (a compact JWS, EdDSA over Ed25519) and turns
 * its signed claims into the times `evaluate` trusts. `evaluate` stays synchronous. Under
 * Node and Electron the signature is checked at once with Node's own Ed25519 (native, and
 * reached synchronously). Elsewhere the record's reader verifies a lease before anyone
 * evaluates it (`verifyLeaseAhead`), with Web Crypto where it has Ed25519, and remembers
 * the answer; where neither exists the pure-JS verifier loads (`loadLeaseVerifier`, also
 * what a direct caller of the synchronous `verifyLease` awaits once there).
 */

interface Curve {
  Point: typeof import('@noble/ed25519').Point
  sha512: typeof import('@noble/hashes/sha2.js').sha512
}
let curve: Curve | undefined

/** Loads the pure-JS Ed25519 code `verifyLease` falls back to; call (and await) it once before. */
export async function loadLeaseVerifier(): Promise<void> {
  if (curve !== undefined) return
  curve = await import('../crypto/ed25519-js.js')
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
  if (base64UrlBytes(jwk.x)?.length !== 32) return 'its x is not a 32-byte base64url key'
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

const LEASE_TYPE = 'keygate-lease+jwt'

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/')
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function jsonPart(text: string): Record<string, unknown> | null {
  const bytes = base64UrlBytes(text)
  if (bytes === null) return null
  try {
    const value: unknown = JSON.parse(textDecoder.decode(bytes))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

function bytesToNumberLE(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number)
  return n
}

/** The order of the Ed25519 group. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n

/**
 * RFC 8032 verification, [8][S]B = [8]R + [8][k]A, as one joint double-and-add. Written
 * here over noble's point arithmetic rather than calling its `verify`: that one builds a
 * large table of base-point multiples on first use, which a start-up check pays for.
 */
function verifyEd25519(
  { Point, sha512 }: Curve,
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  const rBytes = signature.subarray(0, 32)
  const s = bytesToNumberLE(signature.subarray(32))
  if (s >= L) return false
  let A: InstanceType<Curve['Point']>
  let R: InstanceType<Curve['Point']>
  try {
    A = Point.fromBytes(publicKey)
    R = Point.fromBytes(rBytes)
  } catch {
    return false
  }
  if (A.isSmallOrder()) return false
  const hashed = new Uint8Array(32 + 32 + message.length)
  hashed.set(rBytes, 0)
  hashed.set(publicKey, 32)
  hashed.set(message, 64)
  const k = bytesToNumberLE(sha512(hashed)) % L
  // [s]B + [k](-A), both scalars walked together from the top bit.
  const B = Point.BASE
  const minusA = A.negate()
  const both = B.add(minusA)
  let acc = Point.ZERO
  for (let bit = 255; bit >= 0; bit--) {
    acc = acc.double()
    const sBit = (s >> BigInt(bit)) & 1n
    const kBit = (k >> BigInt(bit)) & 1n
    if (sBit === 1n && kBit === 1n) acc = acc.add(both)
    else if (sBit === 1n) acc = acc.add(B)
    else if (kBit === 1n) acc = acc.add(minusA)
  }
  return acc.subtract(R).clearCofactor().is0()
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

/** A token's claims, well-formed, with what its signature covers (unchecked). */
type Parse<Claims> = (jws: string) => Signed<Claims> | null

const nodeKeys = new Map<string, NodePublicKey | null>()

/**
 * Node's Ed25519 verify. Undefined where this runtime's `node:crypto` cannot import the key
 * or verify with it (a partial implementation): the next verifier decides, never a
 * "tampered" that only says the runtime lacks Ed25519.
 */
function nodeVerify(
  native: NodeCrypto,
  signature: Uint8Array,
  signed: Uint8Array,
  x: string,
): boolean | undefined {
  let key = nodeKeys.get(x)
  if (key === undefined) {
    try {
      key = native.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
    } catch {
      key = null
    }
    nodeKeys.set(x, key)
  }
  if (key === null) return undefined
  if (signature.length !== 64) return false
  try {
    return native.verify(null, signed, key, signature)
  } catch {
    return undefined
  }
}

/** The signature checked now (Node's crypto, else the loaded pure-JS code); undefined: neither is here. */
function verifyNow(
  signature: Uint8Array,
  signed: Uint8Array,
  publicKey: Uint8Array,
  x: string,
): boolean | undefined {
  const native = nodeCrypto()
  const answer = native === undefined ? undefined : nodeVerify(native, signature, signed, x)
  if (answer !== undefined) return answer
  if (curve !== undefined) return verifyEd25519(curve, signature, signed, publicKey)
  return undefined
}

/** The claims when `jws` parses and `publicKey` signed it, verified now, remembered. */
function verifySync<Claims>(
  jws: string,
  publicKey: LeasePublicKey,
  parse: Parse<Claims>,
): Claims | null {
  const cacheKey = `${publicKey.x}.${jws}`
  if (verified.has(cacheKey)) return verified.get(cacheKey) as Claims | null
  const parts = parse(jws)
  const key = base64UrlBytes(publicKey.x)
  if (parts === null || key?.length !== 32) return remember(cacheKey, null)
  const good = verifyNow(parts.signature, parts.signed, key, publicKey.x)
  if (good === undefined) {
    throw new Error('[keygate] verifyLease before loadLeaseVerifier(): await it once first.')
  }
  return remember(cacheKey, good ? parts.claims : null)
}

/**
 * Verifies `jws` now, so that `verifySync` finds the answer remembered: with Node's crypto
 * where it is here, else Web Crypto; where Web Crypto has no Ed25519, the pure-JS verifier
 * loads and decides. `trusted`: only the claims are read (see `verifyLeaseAhead`). Never
 * rejects.
 */
async function verifyAhead<Claims>(
  jws: string,
  publicKey: LeasePublicKey,
  parse: Parse<Claims>,
  trusted: boolean,
): Promise<void> {
  const cacheKey = `${publicKey.x}.${jws}`
  if (verified.has(cacheKey)) return
  const parts = parse(jws)
  const key = base64UrlBytes(publicKey.x)
  if (parts === null || key?.length !== 32) {
    remember(cacheKey, null)
    return
  }
  if (trusted) {
    remember(cacheKey, parts.claims)
    return
  }
  const now = verifyNow(parts.signature, parts.signed, key, publicKey.x)
  if (now !== undefined) {
    remember(cacheKey, now ? parts.claims : null)
    return
  }
  const outcome = await webCryptoVerify(parts.signature, parts.signed, key, publicKey.x)
  if (outcome !== undefined) {
    remember(cacheKey, outcome ? parts.claims : null)
    return
  }
  try {
    await loadLeaseVerifier()
  } catch {
    return // the synchronous check then says why
  }
  verifySync(jws, publicKey, parse)
}

/**
 * Verifies a lease now, asynchronously, so that the synchronous `verifyLease` (and so
 * `evaluate`) finds the answer remembered. `trusted`: the lease sits in a record whose MAC
 * (keyed from the OS keychain) verified and which says this key verified it when it was
 * received: the MAC already proves the bytes are the ones verified then, so only the
 * claims are read. Never rejects.
 */
export function verifyLeaseAhead(
  jws: string,
  publicKey: LeasePublicKey,
  trusted = false,
): Promise<void> {
  return verifyAhead(jws, publicKey, parsedLease, trusted)
}

const webCryptoKeys = new Map<string, Promise<CryptoKey>>()

/** true/false: Web Crypto's answer; undefined: this runtime's Web Crypto has no Ed25519. */
async function webCryptoVerify(
  signature: Uint8Array<ArrayBuffer>,
  signed: Uint8Array<ArrayBuffer>,
  publicKey: Uint8Array<ArrayBuffer>,
  x: string,
): Promise<boolean | undefined> {
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined || signature.length !== 64 || publicKey.length !== 32) {
    return subtle === undefined ? undefined : false
  }
  let key = webCryptoKeys.get(x)
  if (key === undefined) {
    key = subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify'])
    webCryptoKeys.set(x, key)
  }
  try {
    return await subtle.verify({ name: 'Ed25519' }, await key, signature, signed)
  } catch (error) {
    webCryptoKeys.delete(x)
    return (error as { name?: unknown }).name === 'NotSupportedError' ? undefined : false
  }
}

interface Signed<Claims> {
  claims: Claims
  signature: Uint8Array<ArrayBuffer>
  signed: Uint8Array<ArrayBuffer>
}

/** A compact JWS of type `typ` (EdDSA): its payload and what its signature covers, unchecked. */
function parsedToken(
  jws: string,
  typ: string,
): (Omit<Signed<never>, 'claims'> & { payload: Record<string, unknown> }) | null {
  const parts = jws.split('.')
  if (parts.length !== 3) return null
  const [headerText, payloadText, signatureText] = parts as [string, string, string]
  const header = jsonPart(headerText)
  if (header === null || header.alg !== 'EdDSA' || header.typ !== typ) return null
  if ('crit' in header) return null
  const signature = base64UrlBytes(signatureText)
  const payload = jsonPart(payloadText)
  if (signature === null || payload === null) return null
  return { payload, signature, signed: textEncoder.encode(`${headerText}.${payloadText}`) }
}

/** The lease's parts when its header and claims are well-formed (the signature unchecked). */
function parsedLease(jws: string): Signed<LeaseClaims> | null {
  const token = parsedToken(jws, LEASE_TYPE)
  return token !== null && isClaims(token.payload) ? { ...token, claims: token.payload } : null
}

/**
 * The lease's claims when `jws` is a well-formed lease signed by `publicKey`, else null.
 * Never throws. Checks the header (`alg` EdDSA, `typ`) and the claims' shape, not their
 * meaning: `leasedGrant` compares them with the record and the machine. Finds the answer of
 * `verifyLeaseAhead`, or needs `loadLeaseVerifier()` awaited once.
 */
export function verifyLease(jws: string, publicKey: LeasePublicKey): LeaseClaims | null {
  return verifySync(jws, publicKey, parsedLease)
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

const TRIAL_TYPE = 'keygate-trial+jwt'

/**
 * The claims when `jws` is a well-formed trial token signed by `publicKey`, else null.
 * Never throws; as `verifyLease`, it finds the answer of `verifyTrialAhead`, or needs
 * `loadLeaseVerifier()` awaited once.
 */
export function verifyTrialToken(jws: string, publicKey: LeasePublicKey): TrialClaims | null {
  return verifySync(jws, publicKey, parsedTrial)
}

/** As `verifyLeaseAhead`, for a trial token. */
export function verifyTrialAhead(jws: string, publicKey: LeasePublicKey): Promise<void> {
  return verifyAhead(jws, publicKey, parsedTrial, false)
}

function parsedTrial(jws: string): Signed<TrialClaims> | null {
  const token = parsedToken(jws, TRIAL_TYPE)
  if (token === null) return null
  const c = token.payload
  const ok =
    typeof c.iss === 'string' &&
    c.ver === 1 &&
    typeof c.organization_id === 'string' &&
    typeof c.fingerprint === 'string' &&
    Number.isFinite(c.started_at) &&
    Number.isFinite(c.ends_at) &&
    Number.isFinite(c.iat)
  return ok ? { ...token, claims: c as unknown as TrialClaims } : null
}

function isClaims(c: Record<string, unknown>): c is Record<string, unknown> & LeaseClaims {
  const text = (value: unknown) => typeof value === 'string'
  const textOrNull = (value: unknown) => value === null || typeof value === 'string'
  return (
    text(c.iss) &&
    text(c.sub) &&
    c.ver === 1 &&
    text(c.organization_id) &&
    textOrNull(c.activation_id) &&
    text(c.fingerprint) &&
    text(c.status) &&
    textOrNull(c.key_expires_at) &&
    text(c.benefit_id) &&
    Number.isFinite(c.iat) &&
    Number.isFinite(c.exp)
  )
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
