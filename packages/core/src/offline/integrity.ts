import type { Grant } from './grant.js'

/**
 * What a record's trust rests on, reported on every state:
 * - `signed`: a lease signed by the seller's lease server decides (see the lease client);
 * - `keychain`: the record carries a MAC whose key lives in the OS keychain, and it verified;
 * - `none`: no MAC (no keychain here, or a record written before one): tamper-evident only.
 */
export type Integrity = 'signed' | 'keychain' | 'none'

/**
 * Where the record's MAC key lives: somewhere a text editor cannot reach (Electron's
 * safeStorage, the OS keyring). Injected as `createLicensing({ keychain })`.
 */
export interface Keychain {
  readonly kind: 'keychain'
  /**
   * The secret (at least 16 bytes), created on first use and the same on every later call.
   * Resolves null where this machine offers no keychain (then records carry no MAC);
   * rejects when it exists but cannot be reached now.
   */
  key(): Promise<Uint8Array | null>
  /**
   * Optional. Keeps `bytes` under `name` somewhere the record's deletion does not reach
   * (a second keyring entry, a sealed file outside the record): keygate keeps a copy of
   * the trial's start there (`name` is `trial`), MACed, so deleting the record does not
   * restart a trial. Without it, a deleted record restarts the trial.
   */
  remember?(name: string, bytes: Uint8Array): Promise<void>
  /** What `remember` kept under `name`, or null. */
  recall?(name: string): Promise<Uint8Array | null>
}

/** HMAC-SHA256 under one key, its key schedule computed once. */
type Mac = (data: Uint8Array) => Uint8Array

/** The keys a record is sealed and signed with, derived from the keychain's secret. */
export interface RecordKeys {
  mac: Mac
  seal: Mac
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// Loaded only when a keychain exists: an app without one parses no hash code at start.
let hmacModule: Promise<(key: Uint8Array) => Mac> | undefined
function loadHmac(): Promise<(key: Uint8Array) => Mac> {
  hmacModule ??= Promise.all([
    import('@noble/hashes/hmac.js'),
    import('@noble/hashes/sha2.js'),
  ]).then(
    ([{ hmac }, { sha256 }]) =>
      (key: Uint8Array): Mac => {
        // The padded key's two blocks are hashed once; each use starts from a copy.
        const keyed = hmac.create(sha256, key)
        return (data) => keyed.clone().update(data).digest()
      },
    (error: unknown) => {
      hmacModule = undefined
      throw error
    },
  )
  return hmacModule
}

export async function deriveKeys(secret: Uint8Array): Promise<RecordKeys> {
  const keyed = await loadHmac()
  const master = keyed(secret)
  // Separate keys for separate jobs, so the seal's keystream never doubles as a MAC.
  return {
    mac: keyed(master(encoder.encode('keygate record mac v1'))),
    seal: keyed(master(encoder.encode('keygate license key seal v1'))),
  }
}

/** HMAC-SHA256 over the record's body, base64url. */
export function macOf(keys: RecordKeys, body: string): string {
  return toBase64Url(keys.mac(encoder.encode(body)))
}

/** Compares without stopping at the first difference. */
export function sameMac(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/**
 * Encrypts the license key: HMAC-SHA256 in counter mode under a random nonce (a stream
 * cipher from the one primitive we ship). Its authenticity comes from the record's MAC,
 * which covers the sealed text.
 */
export function sealKey(keys: RecordKeys, key: string): string {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(16))
  const plain = encoder.encode(key)
  const sealed = xorStream(keys, nonce, plain)
  const out = new Uint8Array(nonce.length + sealed.length)
  out.set(nonce)
  out.set(sealed, nonce.length)
  return toBase64Url(out)
}

/** The key sealed by `sealKey`, or null when the text is not one. */
export function openKey(keys: RecordKeys, text: string): string | null {
  const bytes = fromBase64Url(text)
  if (bytes === null || bytes.length <= 16) return null
  return decoder.decode(xorStream(keys, bytes.subarray(0, 16), bytes.subarray(16)))
}

function xorStream(keys: RecordKeys, nonce: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length)
  const block = new Uint8Array(nonce.length + 4)
  block.set(nonce)
  for (let offset = 0, counter = 0; offset < data.length; offset += 32, counter++) {
    new DataView(block.buffer).setUint32(nonce.length, counter)
    const stream = keys.seal(block)
    for (let i = 0; i < 32 && offset + i < data.length; i++) {
      out[offset + i] = (data[offset + i] ?? 0) ^ (stream[i] ?? 0)
    }
  }
  return out
}

/**
 * Without a keychain the key is only encoded, so that it is not stored verbatim (a search
 * of the disk for it finds nothing). Obscurity, not security: anyone can decode it.
 */
export function encodeKey(key: string): string {
  return toBase64Url(encoder.encode(key))
}

export function decodeKey(text: string): string | null {
  const bytes = fromBase64Url(text)
  return bytes === null || bytes.length === 0 ? null : decoder.decode(bytes)
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
    const bytes = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
    return bytes
  } catch {
    return null
  }
}

// What a grant read from the store rested on, for states evaluated from it anywhere
// (online code evaluates grants it read, too). Grants built afresh are not in it.
const readIntegrity = new WeakMap<Grant, Integrity>()

export function tagIntegrity(grant: Grant, integrity: Integrity): Grant {
  readIntegrity.set(grant, integrity)
  return grant
}

export function integrityOf(grant: Grant): Integrity | undefined {
  return readIntegrity.get(grant)
}
