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
   * restart a trial, and a note that it signed a record (`signed`), so a record whose MAC
   * was removed is refused. Without it, a deleted record restarts the trial and a record
   * without a MAC reads as an older one.
   */
  remember?(name: string, bytes: Uint8Array): Promise<void>
  /**
   * What `remember` kept under `name`, or null when nothing is. `'unreadable'`: something
   * is kept there that can never be read again (the OS keyring that sealed it was reset);
   * rejects when the keychain cannot be reached now.
   */
  recall?(name: string): Promise<Uint8Array | 'unreadable' | null>
}

/** What `Keychain.recall` resolves for an entry kept but never readable again. */
export const UNREADABLE = 'unreadable'

/**
 * The record's MAC and the key's seal under the keychain's secret (`crypto/record-mac.ts`,
 * loaded only where a keychain exists: an app without one parses none of it).
 */
export interface RecordKeys {
  /** HMAC-SHA256 over the record's body, base64url. */
  mac(body: string): string
  /** The license key sealed for the record. */
  seal(key: string): string
  /** The key sealed by `seal`, or null when the text is not one. */
  open(text: string): string | null
}

let macModule: Promise<typeof import('../crypto/record-mac.js')> | undefined

export async function deriveKeys(secret: Uint8Array): Promise<RecordKeys> {
  macModule ??= import('../crypto/record-mac.js').catch((error: unknown) => {
    macModule = undefined
    throw error
  })
  return (await macModule).recordKeys(secret)
}

/** Compares without stopping at the first difference. */
export function sameMac(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/**
 * Without a keychain the key is only encoded, so that it is not stored verbatim (a search
 * of the disk for it finds nothing). Obscurity, not security: anyone can decode it.
 */
export function encodeKey(key: string): string {
  return toBase64Url(new TextEncoder().encode(key))
}

export function decodeKey(text: string): string | null {
  const bytes = fromBase64Url(text)
  return bytes === null || bytes.length === 0 ? null : new TextDecoder().decode(bytes)
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function fromBase64Url(text: string): Uint8Array | null {
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

// Grants read without a MAC on a machine whose keychain remembers that keygate signed a
// record there (`SIGNED_MARK`): the MAC was removed, so nothing in them can be believed.
const downgraded = new WeakSet<Grant>()

export function tagDowngraded(grant: Grant): Grant {
  downgraded.add(grant)
  return grant
}

export function isDowngraded(grant: Grant): boolean {
  return downgraded.has(grant)
}

/**
 * The keychain entry (`Keychain.remember`) saying that keygate signed a record on this
 * machine. From then on a record without a MAC is one whose MAC was removed: keygate
 * itself writes one only where the keychain cannot be reached at the write.
 */
export const SIGNED_MARK = 'signed'
