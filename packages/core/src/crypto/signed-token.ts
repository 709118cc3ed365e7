import type { LeaseClaims, LeasePublicKey, TrialClaims } from '../offline/lease.js'
import { type NodeCrypto, type NodePublicKey, nodeCrypto } from '../offline/node-crypto.js'

/**
 * Parses a lease server's signed tokens (compact JWS, EdDSA over Ed25519: leases and trial
 * tokens) and checks their signatures. Its own lazy chunk, loaded by offline/lease.ts the
 * first time a record or an answer holds a token: an app without a lease server never loads
 * it. Under Node and Electron the signature is checked with Node's own Ed25519 (native, and
 * reached synchronously); elsewhere with Web Crypto where it has Ed25519, else the bundled
 * pure-JS curve.
 */

/** What a token of each kind signs. */
export interface TokenClaims {
  lease: LeaseClaims
  trial: TrialClaims
}
export type TokenKind = keyof TokenClaims

const TYPES: Record<TokenKind, string> = { lease: 'keygate-lease+jwt', trial: 'keygate-trial+jwt' }

interface Curve {
  Point: typeof import('@noble/ed25519').Point
  sha512: typeof import('@noble/hashes/sha2.js').sha512
}
let curve: Curve | undefined

/** Loads the pure-JS Ed25519 code `verifyNow` falls back to. */
export async function loadCurve(): Promise<void> {
  if (curve !== undefined) return
  curve = await import('./ed25519-js.js')
}

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
function signatureHolds(
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

/**
 * The claims when `jws` is a well-formed token of `kind` signed by `publicKey`, null when
 * it is not; undefined when this runtime cannot check the signature now (no Node crypto
 * and the pure-JS curve not loaded).
 */
export function verifyNow<K extends TokenKind>(
  jws: string,
  publicKey: LeasePublicKey,
  kind: K,
): TokenClaims[K] | null | undefined {
  const parts = parsed(jws, kind)
  const key = base64UrlBytes(publicKey.x)
  if (parts === null || key?.length !== 32) return null
  const good = signatureHolds(parts.signature, parts.signed, key, publicKey.x)
  return good === undefined ? undefined : good ? parts.claims : null
}

/**
 * As `verifyNow`, trying Web Crypto and then the pure-JS curve where Node's crypto cannot
 * decide. `trusted`: only the claims are read (see `verifyLeaseAhead`). Undefined only when
 * even the pure-JS curve could not be loaded. Never rejects.
 */
export async function verifyAhead<K extends TokenKind>(
  jws: string,
  publicKey: LeasePublicKey,
  kind: K,
  trusted: boolean,
): Promise<TokenClaims[K] | null | undefined> {
  const parts = parsed(jws, kind)
  const key = base64UrlBytes(publicKey.x)
  if (parts === null || key?.length !== 32) return null
  if (trusted) return parts.claims
  const now = signatureHolds(parts.signature, parts.signed, key, publicKey.x)
  if (now !== undefined) return now ? parts.claims : null
  const outcome = await webCryptoVerify(parts.signature, parts.signed, key, publicKey.x)
  if (outcome !== undefined) return outcome ? parts.claims : null
  try {
    await loadCurve()
  } catch {
    return undefined
  }
  return verifyNow(jws, publicKey, kind)
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

/** A compact JWS of `kind` (EdDSA): its claims and what its signature covers, unchecked. */
function parsed<K extends TokenKind>(jws: string, kind: K): Signed<TokenClaims[K]> | null {
  const parts = jws.split('.')
  if (parts.length !== 3) return null
  const [headerText, payloadText, signatureText] = parts as [string, string, string]
  const header = jsonPart(headerText)
  if (header === null || header.alg !== 'EdDSA' || header.typ !== TYPES[kind]) return null
  if ('crit' in header) return null
  const signature = base64UrlBytes(signatureText)
  const payload = jsonPart(payloadText)
  if (signature === null || payload === null) return null
  const well = kind === 'lease' ? isLeaseClaims(payload) : isTrialClaims(payload)
  if (!well) return null
  return {
    claims: payload as unknown as TokenClaims[K],
    signature,
    signed: textEncoder.encode(`${headerText}.${payloadText}`),
  }
}

const text = (value: unknown) => typeof value === 'string'
const textOrNull = (value: unknown) => value === null || typeof value === 'string'

function isLeaseClaims(c: Record<string, unknown>): boolean {
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

function isTrialClaims(c: Record<string, unknown>): boolean {
  return (
    text(c.iss) &&
    c.ver === 1 &&
    text(c.organization_id) &&
    text(c.fingerprint) &&
    Number.isFinite(c.started_at) &&
    Number.isFinite(c.ends_at) &&
    Number.isFinite(c.iat)
  )
}
