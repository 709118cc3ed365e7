import { link, lstat, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Keychain } from '@keygate/core'
import { createFileLock } from '@keygate/node-store'
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
      const sealed = await readKey(path)
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

async function readKey(path: string): Promise<Buffer | null> {
  return readFile(path).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'ENOENT') return null
    throw error
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
    return fromText(await open(safeStorage, await readFile(path)))
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
    const current = await readKey(path)
    if (current === null) return create(safeStorage, path)
    if (!current.equals(unreadable)) return fromText(await open(safeStorage, current))
    // The same bytes may open now: the failure was a hiccup after all.
    const text = await open(safeStorage, current).catch(() => null)
    if (text !== null) return fromText(text)
    await moveAside(path)
    return create(safeStorage, path)
  })
}

/**
 * Moves the key file to `<path>.unreadable-<time>`, never over an existing file; only the
 * newest `KEPT_ASIDE` such copies stay (`pruneAside`), the one just moved among them.
 */
async function moveAside(path: string): Promise<void> {
  // ISO time without colons, which Windows forbids in file names.
  const base = `${path}.unreadable-${new Date().toISOString().replace(/:/g, '-')}`
  let target = base
  for (let n = 0; ; n++) {
    target = n === 0 ? base : `${base}-${n}`
    try {
      // A link, not a rename, which would replace an earlier copy of the same name.
      await link(path, target)
      break
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST' || n >= 99) throw error
    }
  }
  await unlink(path)
  await pruneAside(path, target)
}

/** How many copies of the key moved aside are kept: a keyring reset at every start must
 * not pile them up in userData. As node-store keeps the record's (not exported there). */
const KEPT_ASIDE = 5
// The names `moveAside` gives; a copy a user named by hand, with our prefix, is not ours.
const ASIDE_STAMP = /^(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z)(?:-(\d{1,2}))?$/

/**
 * Removes all but the newest copies, by the time in the name, sparing `spare`. A copy that
 * is a link (or anything but a file) is one directory entry, removed as it is, never
 * followed; this key is only ever moved aside as a file. Best effort: never throws.
 */
async function pruneAside(path: string, spare: string): Promise<void> {
  try {
    const dir = dirname(path)
    const prefix = `${basename(path)}.unreadable-`
    const copies: Array<{ name: string; stamp: string; n: number }> = []
    for (const name of await readdir(dir)) {
      const match = name.startsWith(prefix) ? ASIDE_STAMP.exec(name.slice(prefix.length)) : null
      if (match !== null) copies.push({ name, stamp: match[1] ?? '', n: Number(match[2] ?? 0) })
    }
    copies.sort((a, b) => (a.stamp === b.stamp ? b.n - a.n : a.stamp < b.stamp ? 1 : -1))
    let kept = 1 // `spare`, just linked
    for (const { name } of copies) {
      if (name === basename(spare)) continue
      if (kept < KEPT_ASIDE) {
        kept++
        continue
      }
      const entry = join(dir, name)
      // A folder is not a copy this code made: left alone (unlink never removes one).
      const info = await lstat(entry).catch(() => undefined)
      if (info !== undefined && !info.isDirectory()) await unlink(entry).catch(() => undefined)
    }
  } catch {
    // Tidying is best effort: the new key is in place whatever happens here.
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
