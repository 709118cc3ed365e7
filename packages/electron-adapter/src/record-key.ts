import { link, mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Keychain } from '@keygate/core'
import { createFileLock } from '@keygate/node-store'
import { readOwnedFile, renameAside, UNUSABLE } from '@keygate/node-store/files'
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
 * Linux's `basic_text`) there is no key and states say `integrity: 'none'`. A key the
 * working keyring can no longer open (the OS keyring was reset) is moved aside and replaced.
 * These files are never read or written through a link: a link (or a folder, a FIFO) at
 * their path is moved aside as it is and counts as no key, or as a copy never readable.
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
      await writeFile(temp, text, { mode: 0o600, flag: 'wx' })
      // rename() replaces a link at the path, never writes through it.
      await rename(temp, path).catch(async (error: unknown) => {
        await unlink(temp).catch(() => undefined)
        throw error
      })
    },
    async recall(name) {
      const path = copyPath(name)
      const sealed = await readSealed(path)
      if (sealed === null) return null
      if (sealed === UNUSABLE) {
        // Something stood where a copy was kept: refused (core then refuses what it stood
        // for), not read through, not taken for no copy at all. Moved aside for support.
        await moveAsideUnusable(path)
        return 'unreadable'
      }
      let text: string
      try {
        text = await open(safeStorage, sealed)
      } catch (error) {
        // As for the key: only a keyring that opens what it seals now proves this copy
        // will never open again; core then refuses what it stood for, never forgets it.
        if (!(await roundTrips(safeStorage))) throw error
        return 'unreadable'
      }
      return new Uint8Array(Buffer.from(text, 'base64'))
    },
    async key() {
      const path = options.path()
      let sealed = await readSealed(path)
      if (sealed === UNUSABLE) {
        // Not a key keygate sealed (a link would lend it another app's): moved aside, then
        // as if absent, so a new one is made where the keyring works.
        await moveAsideUnusable(path)
        sealed = await readSealed(path)
        if (sealed === UNUSABLE) throw new Error('something other than a key keeps appearing')
      }
      const available = (await encryptionStatus(safeStorage)) === 'os'
      if (sealed !== null) {
        // A key exists: without the keychain it cannot be opened (records it sealed are
        // reported, not lost), and it is replaced only once it is proven unreadable.
        if (!available) throw new Error('the system keyring is not available now')
        let text: string
        try {
          text = await open(safeStorage, sealed)
        } catch (error) {
          // A keyring that fails now (locked, a hiccup) must keep the key: only one that
          // demonstrably opens what it seals says this file will never open again (the
          // keyring was reset). Otherwise, as before, the key is out of reach for now.
          if (!(await roundTrips(safeStorage))) throw error
          return replaceUnreadable(safeStorage, path, sealed)
        }
        return fromText(text)
      }
      if (!available) return null
      return create(safeStorage, path)
    },
  }
}

/** A sealed key is about 100 bytes, a copy a few hundred: anything this large is not one. */
const MAX_SEALED_BYTES = 64 * 1024

/** The sealed bytes at `path`, never through a link (`readOwnedFile`). */
function readSealed(path: string): Promise<Buffer | null | typeof UNUSABLE> {
  return readOwnedFile(path, MAX_SEALED_BYTES)
}

/**
 * Moves what stands at `path` aside while it is still not a file: under the lock beside it,
 * so a process that saw the same link never moves the file another one put in its place.
 */
async function moveAsideUnusable(path: string): Promise<void> {
  await createFileLock({ file: path }).lock(async () => {
    if ((await readSealed(path)) === UNUSABLE) await renameAside(path)
  })
}

/** A new key, sealed and linked into place; or the key another process linked first. */
async function create(safeStorage: ElectronSafeStorage, path: string): Promise<Uint8Array> {
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
    // link() never replaces an entry, a link included: read the winner's, never through one.
    const winner = await readSealed(path)
    if (winner === null || winner === UNUSABLE) throw new Error('the sealed key changed under us')
    return fromText(await open(safeStorage, winner))
  } finally {
    await unlink(temp).catch(() => undefined)
  }
}

/** Whether the keyring opens what it seals right now. */
async function roundTrips(safeStorage: ElectronSafeStorage): Promise<boolean> {
  const probe = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString('hex')
  try {
    return (await open(safeStorage, await seal(safeStorage, probe))) === probe
  } catch {
    return false
  }
}

/**
 * The key file holds `unreadable`, which the working keyring cannot open: it is moved
 * aside (kept, for a keyring that comes back) and a new key created. Under a lock beside
 * the key, and only while the file still holds those bytes: a process that read them
 * before another one recovered opens that one's new key instead of moving it aside.
 */
async function replaceUnreadable(
  safeStorage: ElectronSafeStorage,
  path: string,
  unreadable: Buffer,
): Promise<Uint8Array> {
  return createFileLock({ file: path }).lock(async () => {
    const current = await readSealed(path)
    if (current === null) return create(safeStorage, path)
    if (current !== UNUSABLE) {
      if (!current.equals(unreadable)) return fromText(await open(safeStorage, current))
      // The same bytes may open now: the failure was a hiccup after all.
      const text = await open(safeStorage, current).catch(() => null)
      if (text !== null) return fromText(text)
    }
    // Kept, for a keyring that comes back; never over an earlier copy (`renameAside`).
    await renameAside(path)
    return create(safeStorage, path)
  })
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
