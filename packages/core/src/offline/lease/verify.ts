import type { LeaseClaims, LeasePublicKey, TrialClaims } from '../lease.js'
import { type NodeCrypto, type NodePublicKey, nodeCrypto } from '../node-crypto.js'

/**
 * Verifies the leases and trial tokens a lease server signed (compact JWS, EdDSA over
 * Ed25519), so that `evaluate` (synchronous) can trust their claims. Under
 * Node and Electron the signature is checked at once with Node's own Ed25519 (native, and
 * reached synchronously). Elsewhere the record's reader verifies a lease before anyone
 * evaluates it (`verifyLeaseAhead`), with Web Crypto where it has Ed25519, and remembers
 * the answer; where neither exists the pure-JS verifier loads (`loadCurve`; a direct caller
 * of the synchronous `verifyLease` awaits `loadLeaseVerifier()` once there).
 */

interface Curve {
  Point: typeof import('@noble/ed25519').Point
  sha512: typeof import('@noble/hashes/sha2.js').sha512
}
let curve: Curve | undefined

/** Loads the pure-JS Ed25519 code `verifyLease` falls back to (`loadLeaseVerifier` awaits it). */
export async function loadCurve(): Promise<void> {
  if (curve !== undefined) return
  curve = await import('../../crypto/ed25519-js.js')
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
    await loadCurve()
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
