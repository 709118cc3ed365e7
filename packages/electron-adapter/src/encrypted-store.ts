import { KeygateError, type LicenseStore } from '@keygate/core'
import type { ElectronSafeStorage } from './electron-types.js'
import type { EncryptionStatus } from './renderer-types.js'

/**
 * Marks a record encrypted with `safeStorage`; the rest of the text is base64. A record
 * without it is plain text, written while the OS offered no encryption.
 */
export const ENCRYPTED_HEADER = 'keygate-safestorage:1\n'

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

export interface EncryptedStoreOptions {
  safeStorage: ElectronSafeStorage
  /**
   * Store the record as plain text when the OS offers no encryption (Linux without a
   * keyring). Default true: the record holds no customer data and is bound to this
   * machine anyway; encryption only keeps the key from other local users. Never once
   * this record was encrypted: then a write waits for the keyring.
   */
  allowPlainText?: boolean | undefined
}

export interface EncryptedStore extends LicenseStore {
  /** Whether writes are encrypted, as last seen (every read and write looks again). */
  encryption(): EncryptionStatus
  /** Looks again whether the OS can encrypt now. */
  probe(): Promise<EncryptionStatus>
  /**
   * Rejects with the error `write` would throw when the record could not be stored
   * (no encryption, and plain text not allowed or encryption used before): call it
   * before anything costly, such as taking a seat in Polar.
   */
  assertWritable(): Promise<void>
}

/** Which `safeStorage` API to use: the asynchronous one wherever Electron has it. */
type Api = 'async' | 'sync' | 'none'

function apiOf(safeStorage: ElectronSafeStorage): Api {
  const s = safeStorage
  if (s.isAsyncEncryptionAvailable && s.encryptStringAsync && s.decryptStringAsync) return 'async'
  if (s.isEncryptionAvailable && s.encryptString && s.decryptString) return 'sync'
  return 'none'
}

/** Linux's `basic_text` backend "encrypts" with a fixed, public password. */
function isBasicText(safeStorage: ElectronSafeStorage): boolean {
  try {
    // Linux only; elsewhere the method is missing or throws.
    return safeStorage.getSelectedStorageBackend?.() === 'basic_text'
  } catch {
    return false
  }
}

/**
 * Where encryption stands: `os`, or `unavailable` (no keyring, a locked one, Linux's
 * `basic_text` backend, whose password is public: we would rather say so than pretend).
 */
export async function encryptionStatus(
  safeStorage: ElectronSafeStorage,
): Promise<EncryptionStatus> {
  if (isBasicText(safeStorage)) return 'unavailable'
  try {
    switch (apiOf(safeStorage)) {
      case 'async':
        return (await safeStorage.isAsyncEncryptionAvailable?.()) === true ? 'os' : 'unavailable'
      case 'sync':
        return safeStorage.isEncryptionAvailable?.() === true ? 'os' : 'unavailable'
      case 'none':
        return 'unavailable'
    }
  } catch {
    return 'unavailable'
  }
}

async function seal(safeStorage: ElectronSafeStorage, text: string): Promise<Buffer> {
  if (apiOf(safeStorage) === 'async' && safeStorage.encryptStringAsync) {
    return safeStorage.encryptStringAsync(text)
  }
  if (safeStorage.encryptString) return safeStorage.encryptString(text)
  throw new Error('safeStorage offers no encryption')
}

async function open(safeStorage: ElectronSafeStorage, sealed: Buffer): Promise<string> {
  // The asynchronous API also opens records the synchronous one sealed. `shouldReEncrypt`
  // needs nothing here: every write seals again with the current key.
  if (apiOf(safeStorage) === 'async' && safeStorage.decryptStringAsync) {
    return (await safeStorage.decryptStringAsync(sealed)).result
  }
  if (safeStorage.decryptString) return safeStorage.decryptString(sealed)
  throw new Error('safeStorage offers no decryption')
}

/**
 * Wraps a store so the record is encrypted at rest with Electron's `safeStorage`.
 *
 * A record that cannot be decrypted was encrypted by another OS user or machine (a
 * copied profile): `read()` throws a `store` error with `reason: 'machine_mismatch'`,
 * which core reports as that state without touching the record; only a new
 * activation moves it aside (quarantine) before writing a fresh grant. A plain record
 * found while the OS can encrypt is refused as damaged (core moves it aside): this
 * adapter would have encrypted it, so it was written or edited by someone else.
 */
export function encryptedStore(
  inner: LicenseStore,
  options: EncryptedStoreOptions,
): EncryptedStore {
  const { safeStorage } = options
  const allowPlainText = options.allowPlainText ?? true
  let last: EncryptionStatus = 'unavailable'
  // Set once an encrypted record was seen or written: from then on nothing is written
  // in plain text, so a keyring that disappears never exposes the key.
  let usedEncryption = false
  // The sealed record this process last wrote or opened, with its text: read again, the
  // same bytes say the same thing, so a keyring that fails or locks mid-session does not
  // turn the app's own record into a foreign one. Other bytes are opened as usual.
  let known: { body: string; text: string } | undefined

  const probe = async () => {
    last = await encryptionStatus(safeStorage)
    return last
  }

  const assertWritable = async () => {
    if ((await probe()) === 'os') return
    if (!usedEncryption) {
      const stored = await inner.read()
      usedEncryption = typeof stored === 'string' && stored.startsWith(ENCRYPTED_HEADER)
    }
    if (usedEncryption) {
      throw new KeygateError(
        'store',
        'Cannot store the license: it was encrypted with the system keyring before, and the keyring is not available now. Unlock the keyring (or log in to your usual desktop session) and try again.',
      )
    }
    if (allowPlainText) return
    throw new KeygateError(
      'store',
      'Cannot store the license: this system offers no encryption (no keyring), and the app does not allow storing it in plain text. Install or unlock a keyring (e.g. GNOME Keyring or KWallet) and try again.',
    )
  }

  /** The text the inner store keeps for `text`: sealed once encryption is OS-backed. */
  async function stored(text: string): Promise<string> {
    if ((await probe()) === 'os') {
      let sealed: Buffer
      try {
        sealed = await seal(safeStorage, text)
      } catch (cause) {
        throw new KeygateError(
          'store',
          'Could not encrypt the license record with the system keyring; check that the keyring is unlocked and try again.',
          { cause },
        )
      }
      usedEncryption = true
      const body = sealed.toString('base64')
      known = { body, text }
      return `${ENCRYPTED_HEADER}${body}\n`
    }
    await assertWritable()
    return text
  }

  return {
    encryption: () => last,
    probe,
    assertWritable,

    async read() {
      const text = await inner.read()
      const status = await probe()
      if (text === null || typeof text !== 'string') return text
      if (!text.startsWith(ENCRYPTED_HEADER)) {
        if (status === 'unavailable') return text
        // An error: core treats it as damaged and moves it aside, never overwriting it.
        throw new KeygateError(
          'store',
          'The license record is in plain text although this system encrypts it with the keyring, so it may have been edited and is not trusted',
        )
      }
      usedEncryption = true
      const body = text.slice(ENCRYPTED_HEADER.length).trim()
      if (known?.body === body) return known.text
      try {
        if (!BASE64.test(body)) throw new Error('the record is not base64')
        const opened = await open(safeStorage, Buffer.from(body, 'base64'))
        known = { body, text: opened }
        return opened
      } catch {
        // Both cases are a foreign record, so core reports the state and keeps the record
        // (an error would be quarantined as damaged).
        if (status === 'unavailable') {
          // The keyring may just be locked or not running this session: nothing proves
          // the record is foreign, and it reads again once the keyring is back.
          return {
            foreign: true,
            why: 'The license record is encrypted with the system keyring, which is not available right now. Unlock the keyring (or log in to your usual desktop session) and restart the app, or activate again.',
          }
        }
        return {
          foreign: true,
          why: 'The license record on this computer was encrypted by another user account or another computer (a copied profile?) and cannot be read here. Activate the license again on this computer.',
        }
      }
    },

    write: async (text) => inner.write(await stored(text)),
    // The seat note right after Polar's answer (core's pending.ts): sealed like any record,
    // then the inner store's quick write, which only has to outlive a killed process.
    ...(inner.writeQuick === undefined
      ? {}
      : {
          writeQuick: async (text: string) => {
            const encoded = await stored(text)
            await inner.writeQuick?.(encoded)
          },
        }),

    clear: () => inner.clear(),
    lock: (fn) => inner.lock(fn),
    quarantine: (reason) => inner.quarantine?.(reason) ?? Promise.resolve(null),
    prepare: () => inner.prepare?.() ?? Promise.resolve(),
    // Request times only, no secret: kept as the inner store keeps it, unsealed.
    pacing: inner.pacing,
  }
}
