import { KeygateError, type LicenseStore } from '@keygate/core'
import type { ElectronSafeStorage } from './electron-types.js'
import type { EncryptionStatus } from './renderer-types.js'

/**
 * Marks a record encrypted with `safeStorage`; the rest of the text is base64. Anything
 * without it is read as plain text (a record written before encryption was available).
 */
export const ENCRYPTED_HEADER = 'keygate-safestorage:1\n'

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

export interface EncryptedStoreOptions {
  safeStorage: ElectronSafeStorage
  /**
   * Store the record as plain text when the OS offers no encryption (Linux without a
   * keyring). Default true: the record holds no customer data and is bound to this
   * machine anyway; encryption only keeps the key from other local users.
   */
  allowPlainText?: boolean | undefined
}

export interface EncryptedStore extends LicenseStore {
  /** Whether writes are encrypted right now. */
  encryption(): EncryptionStatus
  /**
   * Throws the error `write` would throw when the OS has no encryption and plain text
   * is not allowed: call it before anything costly, such as taking a seat in Polar.
   */
  assertWritable(): void
}

/**
 * Where encryption stands. Linux's `basic_text` backend "encrypts" with a fixed,
 * public password, so it counts as unavailable: we would rather say so than pretend.
 */
export function encryptionStatus(safeStorage: ElectronSafeStorage): EncryptionStatus {
  try {
    if (!safeStorage.isEncryptionAvailable()) return 'unavailable'
  } catch {
    return 'unavailable'
  }
  let backend: string | undefined
  try {
    // Linux only; elsewhere the method is missing or throws.
    backend = safeStorage.getSelectedStorageBackend?.()
  } catch {
    backend = undefined
  }
  return backend === 'basic_text' ? 'unavailable' : 'os'
}

/**
 * Wraps a store so the record is encrypted at rest with Electron's `safeStorage`.
 *
 * A record that cannot be decrypted was encrypted by another OS user or machine (a
 * copied profile): `read()` throws a `store` error with `reason: 'machine_mismatch'`,
 * which core reports as that state without touching the record; only a new
 * activation moves it aside (quarantine) before writing a fresh grant.
 */
export function encryptedStore(
  inner: LicenseStore,
  options: EncryptedStoreOptions,
): EncryptedStore {
  const { safeStorage } = options
  const allowPlainText = options.allowPlainText ?? true
  const encryption = () => encryptionStatus(safeStorage)
  const assertWritable = () => {
    if (allowPlainText || encryption() === 'os') return
    throw new KeygateError(
      'store',
      'Cannot store the license: this system offers no encryption (no keyring), and the app does not allow storing it in plain text. Install or unlock a keyring (e.g. GNOME Keyring or KWallet) and try again.',
    )
  }

  return {
    encryption,
    assertWritable,

    async read() {
      const text = await inner.read()
      if (text === null || typeof text !== 'string' || !text.startsWith(ENCRYPTED_HEADER)) {
        return text
      }
      const body = text.slice(ENCRYPTED_HEADER.length).trim()
      try {
        if (!BASE64.test(body)) throw new Error('the record is not base64')
        return safeStorage.decryptString(Buffer.from(body, 'base64'))
      } catch {
        // Both cases are a foreign record, so core reports the state and keeps the record
        // (an error would be quarantined as damaged).
        if (encryption() === 'unavailable') {
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

    async write(text) {
      if (encryption() === 'os') {
        let sealed: Buffer
        try {
          sealed = safeStorage.encryptString(text)
        } catch (cause) {
          throw new KeygateError(
            'store',
            'Could not encrypt the license record with the system keyring; check that the keyring is unlocked and try again.',
            { cause },
          )
        }
        return inner.write(`${ENCRYPTED_HEADER}${sealed.toString('base64')}\n`)
      }
      assertWritable()
      return inner.write(text)
    },

    clear: () => inner.clear(),
    lock: (fn) => inner.lock(fn),
    quarantine: (reason) => inner.quarantine?.(reason) ?? Promise.resolve(null),
  }
}
