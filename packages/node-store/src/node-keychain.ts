import type { Keychain } from '@keygate/core'

/** The part of `@napi-rs/keyring` used here: one password slot in the OS keyring. */
export interface KeyringEntry {
  getPassword(): string | null | undefined
  setPassword(password: string): void
}

export interface KeyringModule {
  Entry: new (service: string, account: string) => KeyringEntry
}

export interface NodeKeychainOptions {
  /** The keyring's service name, e.g. your app's name. */
  service: string
  /** The entry's account name. Default `keygate-record-key`. */
  account?: string | undefined
  /**
   * Loads the keyring module. Default: `import('@napi-rs/keyring')`, an optional peer
   * dependency; when it is not installed the keychain reports none (`integrity: 'none'`).
   */
  load?: (() => Promise<KeyringModule>) | undefined
}

const DEFAULT_ACCOUNT = 'keygate-record-key'
// A variable specifier: bundlers and TypeScript leave the optional dependency alone.
const KEYRING_MODULE = '@napi-rs/keyring'

function isNotInstalled(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true
  // Bundlers' dev loaders (Vite's, for one) say so in words only.
  const message = error instanceof Error ? error.message : ''
  return message.includes(KEYRING_MODULE) && /cannot find|could not resolve/i.test(message)
}

/**
 * The record's MAC key in the OS keyring (macOS Keychain, Windows Credential Manager, the
 * Secret Service on Linux) through `@napi-rs/keyring`, created on first use. Pass it as
 * `createLicensing({ keychain: nodeKeychain({ service: 'Acme Notes' }) })`. The keyring
 * is reached when the record is first read, never at import.
 */
export function nodeKeychain(options: NodeKeychainOptions): Keychain {
  const account = options.account ?? DEFAULT_ACCOUNT
  const load = options.load ?? (() => import(KEYRING_MODULE) as Promise<KeyringModule>)
  /** The keyring module, or null when it is not installed. */
  async function keyring(): Promise<KeyringModule | null> {
    try {
      return await load()
    } catch (error) {
      if (isNotInstalled(error)) return null
      throw error
    }
  }
  return {
    kind: 'keychain',
    // The trial's copy (core's `Keychain.remember`): a second entry, which deleting the
    // record does not reach.
    async remember(name, bytes) {
      const module = await keyring()
      if (module === null) return
      new module.Entry(options.service, `${account}:${name}`).setPassword(
        Buffer.from(bytes).toString('base64'),
      )
    },
    async recall(name) {
      const module = await keyring()
      if (module === null) return null
      const stored = new module.Entry(options.service, `${account}:${name}`).getPassword()
      return typeof stored === 'string' && stored !== ''
        ? new Uint8Array(Buffer.from(stored, 'base64'))
        : null
    },
    async key() {
      let keyring: KeyringModule
      try {
        keyring = await load()
      } catch (error) {
        if (isNotInstalled(error)) return null
        throw error
      }
      const entry = new keyring.Entry(options.service, account)
      const stored = entry.getPassword()
      if (typeof stored === 'string' && stored !== '') return fromStored(stored)
      const secret = globalThis.crypto.getRandomValues(new Uint8Array(32))
      entry.setPassword(Buffer.from(secret).toString('base64'))
      // Read back: of two first starts racing, both then use what the keyring kept.
      const kept = entry.getPassword()
      return typeof kept === 'string' && kept !== '' ? fromStored(kept) : secret
    },
  }
}

function fromStored(text: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, 'base64'))
  if (bytes.length < 16) throw new Error('the keyring entry holds no keygate key')
  return bytes
}
