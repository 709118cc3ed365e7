import { KeygateError } from '@keygate/core'
import {
  type CryptoKey,
  calculateJwkThumbprint,
  compactVerify,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
} from 'jose'
import { misconfigured } from './http-answer.js'
import type { LeaseClaims, TrialClaims } from './protocol.js'

/** An Ed25519 private key as a JWK (RFC 8037). */
export interface Ed25519PrivateJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  /** The public key, base64url. */
  x: string
  /** The private key, base64url. A secret: keep it in the server's secret store. */
  d: string
  kid?: string | undefined
  alg?: string | undefined
  use?: string | undefined
}

/** The matching public key: what the app embeds to verify leases. */
export interface Ed25519PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  kid: string
  alg: 'EdDSA'
  use: 'sig'
}

export interface KeyPair {
  privateJwk: Ed25519PrivateJwk & { kid: string; alg: 'EdDSA'; use: 'sig' }
  publicJwk: Ed25519PublicJwk
}

export const LEASE_TYPE = 'keygate-lease+jwt'
export const TRIAL_TYPE = 'keygate-trial+jwt'
const KEY_BYTES = /^[A-Za-z0-9_-]{43}$/

/**
 * A fresh Ed25519 key pair as JWKs, `kid` set to the RFC 7638 thumbprint. Keep
 * `privateJwk` as the server's `signingKey` secret; embed `publicJwk` in the app.
 */
export async function createKeyPair(): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('Ed25519', { extractable: true })
  const priv = await exportJWK(privateKey)
  const pub = await exportJWK(publicKey)
  const x = String(pub.x)
  const kid = await thumbprint(x)
  return {
    privateJwk: { kty: 'OKP', crv: 'Ed25519', x, d: String(priv.d), kid, alg: 'EdDSA', use: 'sig' },
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' },
  }
}

function thumbprint(x: string): Promise<string> {
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x })
}

/**
 * Checks the shape of `signingKey` at start (synchronously, so a misconfigured server
 * fails on its first line). Accepts the JWK object or its JSON text (a secret from env).
 */
export function checkSigningKey(value: unknown): Ed25519PrivateJwk {
  let jwk: unknown = value
  if (typeof value === 'string') {
    try {
      jwk = JSON.parse(value)
    } catch {
      throw badKey('it is a string but not JSON')
    }
  }
  if (typeof jwk !== 'object' || jwk === null) throw badKey('it is not an object')
  const { kty, crv, x, d } = jwk as Record<string, unknown>
  if (kty !== 'OKP' || crv !== 'Ed25519') throw badKey('kty must be "OKP" and crv "Ed25519"')
  if (typeof d !== 'string' || !KEY_BYTES.test(d)) {
    throw badKey(
      'd (the private part) is missing or not 32 bytes of base64url; is this the public key?',
    )
  }
  if (typeof x !== 'string' || !KEY_BYTES.test(x)) {
    throw badKey('x (the public part) is missing or not 32 bytes of base64url')
  }
  return { kty, crv, x, d }
}

function badKey(why: string): KeygateError {
  return new KeygateError(
    'invalid_input',
    `signingKey must be an Ed25519 private JWK { kty: "OKP", crv: "Ed25519", x, d }: ${why}. ` +
      'Make one with createKeyPair() or `keygate lease keygen`.',
  )
}

export interface LeaseSigner {
  readonly kid: Promise<string>
  /** Resolves once the key is proved (rejects as `sign` would): asked before Polar is. */
  ready(): Promise<void>
  sign(claims: LeaseClaims): Promise<string>
  signTrial(claims: TrialClaims): Promise<string>
}

/**
 * Imports the key once (lazily: Web Crypto is async) and proves on first use that `x`
 * belongs to `d`, so a mismatched secret never issues leases the app cannot verify.
 */
export function createLeaseSigner(jwk: Ed25519PrivateJwk): LeaseSigner {
  const kid = thumbprint(jwk.x)
  let ready: Promise<CryptoKey> | undefined
  const load = async (): Promise<CryptoKey> => {
    const mismatch = () =>
      misconfigured(badKey('x is not the public key of d, or d is not a valid key').message)
    let key: CryptoKey
    try {
      // Some runtimes check x against d on import (Node), others do not: the probe below does.
      const imported = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, 'EdDSA')
      if (!('type' in imported)) throw mismatch()
      key = imported
    } catch {
      throw mismatch()
    }
    const probe = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).sign(key)
    const publicKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'EdDSA')
    try {
      await compactVerify(probe, publicKey)
    } catch {
      throw mismatch()
    }
    return key
  }
  const key = () => {
    ready ??= load().catch((error: unknown) => {
      ready = undefined
      throw error
    })
    return ready
  }
  return {
    kid,
    async ready() {
      await key()
    },
    async sign(claims) {
      const signing = await key()
      const { iat, exp, ...rest } = claims
      return new SignJWT({ ...rest })
        .setProtectedHeader({ alg: 'EdDSA', typ: LEASE_TYPE, kid: await kid })
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(signing)
    },
    async signTrial(claims) {
      const signing = await key()
      const { iat, ...rest } = claims
      return new SignJWT({ ...rest })
        .setProtectedHeader({ alg: 'EdDSA', typ: TRIAL_TYPE, kid: await kid })
        .setIssuedAt(iat)
        .sign(signing)
    },
  }
}

/** `iat` now, `exp` after the TTL but never past the key's own expiry (seconds). */
export function leaseTimes(
  now: number,
  leaseTtlMs: number,
  keyExpiresAt: string | null,
): { iat: number; exp: number; keyExpiresAt: number | null } {
  const iat = Math.floor(now / 1000)
  let keyExp: number | null = null
  if (keyExpiresAt !== null) {
    const expiry = Date.parse(keyExpiresAt)
    // A lease must never outlive the key: an expiry we cannot read issues no lease.
    if (!Number.isFinite(expiry)) {
      throw new KeygateError('bad_response', 'Polar sent a key expiry that is not a date.')
    }
    keyExp = Math.floor(expiry / 1000)
  }
  const exp = Math.floor((now + leaseTtlMs) / 1000)
  return { iat, exp: keyExp === null ? exp : Math.min(exp, keyExp), keyExpiresAt: keyExp }
}
