import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Keychain } from '@keygate/core'
import type { ElectronSafeStorage } from './electron-types.js'
import { encryptionStatus } from './encrypted-store.js'

export interface SafeStorageKeychainOptions {
  safeStorage: ElectronSafeStorage
  /** Where the sealed key lives: beside the record, e.g. `<userData>/license.key`. */
  path: () => string
}

/**
 * The record's MAC key, sealed with `safeStorage` (the OS keychain) in a file beside the
 * record: a text editor sees only ciphertext, and the key opens only for this OS user on
 * this machine. Created on first use; where the OS offers no keychain (none, a locked one,
 * Linux's `basic_text`) there is no key and states say `integrity: 'none'`.
 */
export function safeStorageKeychain(options: SafeStorageKeychainOptions): Keychain {
  const { safeStorage } = options
  // The trial's copy (core's `Keychain.remember`): sealed with safeStorage in a file
  // beside the key, `<key path>.<name>`, which deleting the record does not reach.
  const copyPath = (name: string) => `${options.path()}.${name.replace(/[^a-z0-9-]/gi, '_')}`
  return {
    kind: 'keychain',
    async remember(name, bytes) {
      if ((await encryptionStatus(safeStorage)) !== 'os') return
      const path = copyPath(name)
      const text = await seal(safeStorage, Buffer.from(bytes).toString('base64'))
      await mkdir(dirname(path), { recursive: true })
      const temp = `${path}.${globalThis.crypto.randomUUID()}.tmp`
      await writeFile(temp, text, { mode: 0o600 })
      await rename(temp, path).catch(async (error: unknown) => {
        await unlink(temp).catch(() => undefined)
        throw error
      })
    },
    async recall(name) {
      const sealed = await readFile(copyPath(name)).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'ENOENT') return null
        throw error
      })
      if (sealed === null) return null
      return new Uint8Array(Buffer.from(await open(safeStorage, sealed), 'base64'))
    },
    async key() {
      const path = options.path()
      const sealed = await readFile(path).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'ENOENT') return null
        throw error
      })
      const available = (await encryptionStatus(safeStorage)) === 'os'
      if (sealed !== null) {
        // A key exists: without the keychain it cannot be opened (records it sealed are
        // reported, not lost), and it is never replaced.
        if (!available) throw new Error('the system keyring is not available now')
        return fromText(await open(safeStorage, sealed))
      }
      if (!available) return null
      const secret = globalThis.crypto.getRandomValues(new Uint8Array(32))
      const text = await seal(safeStorage, Buffer.from(secret).toString('base64'))
      // Written aside, then linked into place: a crash leaves no half key, and of two
      // first starts racing, the one that links first wins and the other reads its key.
      await mkdir(dirname(path), { recursive: true })
      const temp = `${path}.${globalThis.crypto.randomUUID()}.tmp`
      await writeFile(temp, text, { mode: 0o600, flag: 'wx' })
      try {
        await link(temp, path)
        return secret
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'EEXIST') throw error
        return fromText(await open(safeStorage, await readFile(path)))
      } finally {
        await unlink(temp).catch(() => undefined)
      }
    },
  }
}

function fromText(text: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, 'base64'))
  if (bytes.length < 16) throw new Error('the sealed record key is not one keygate wrote')
  return bytes
}

async function seal(safeStorage: ElectronSafeStorage, text: string): Promise<Buffer> {
  if (safeStorage.encryptStringAsync) return safeStorage.encryptStringAsync(text)
  if (safeStorage.encryptString) return safeStorage.encryptString(text)
  throw new Error('safeStorage offers no encryption')
}

async function open(safeStorage: ElectronSafeStorage, sealed: Buffer): Promise<string> {
  if (safeStorage.decryptStringAsync) return (await safeStorage.decryptStringAsync(sealed)).result
  if (safeStorage.decryptString) return safeStorage.decryptString(sealed)
  throw new Error('safeStorage offers no decryption')
}
