// The fingerprint a previous start derived, kept beside the record so a start on macOS or
// Windows need not run `ioreg` / `reg.exe` again. Reading it is on the start-up path:
// synchronous, no node:crypto, no child process. Writing it loads the write side.
import { statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { readRecordSync } from './read-record.js'

export interface CachedFingerprint {
  fingerprint: string
  /** The id source it was derived from, e.g. `IOPlatformUUID`. */
  source: string
}

/** Bumped when the facts or the file's shape change: older entries then miss. */
const CACHE_VERSION = 1
const FINGERPRINT = /^[0-9a-f]{64}$/

/** The cache file for `salt` in `dir`: one per app, since apps may share a folder. */
export function cacheFile(dir: string, salt: string): string {
  return join(dir, `fingerprint-${digest64(salt).slice(0, 8)}.json`)
}

/**
 * The cached fingerprint when it was written on this machine, by this OS user, in this
 * very folder; undefined otherwise (a miss is only slower, never wrong). Never throws.
 */
export function readCachedFingerprint(dir: string, salt: string): CachedFingerprint | undefined {
  const key = factsKey(dir, salt)
  if (key === undefined) return undefined
  try {
    // The record's reader: no symlinks followed, no FIFO blocking, a 0644 file made 0600.
    const text = readRecordSync(cacheFile(dir, salt))
    if (text === null) return undefined
    const entry = JSON.parse(text) as Record<string, unknown>
    const { v, key: stored, fingerprint, source } = entry
    if (v !== CACHE_VERSION || stored !== key) return undefined
    if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint)) return undefined
    if (typeof source !== 'string' || source.length === 0 || source.length > 200) return undefined
    return { fingerprint, source }
  } catch {
    return undefined
  }
}

/** Keeps `value` for the next start (atomically, 0600, never through a link). */
export async function writeCachedFingerprint(
  dir: string,
  salt: string,
  value: CachedFingerprint,
): Promise<void> {
  const [{ ensureDir }, { replaceFile }, { sweepLeftovers }] = await Promise.all([
    import('./durable-fs.js'),
    import('./atomic-file.js'),
    import('./record-writes.js'),
  ])
  await ensureDir(dir)
  const key = factsKey(dir, salt) // after ensureDir: the folder's identity is part of it
  if (key === undefined) return
  const entry = { v: CACHE_VERSION, key, fingerprint: value.fingerprint, source: value.source }
  const file = cacheFile(dir, salt)
  await replaceFile(file, `${JSON.stringify(entry)}\n`)
  await sweepLeftovers(file) // temp files of a write killed halfway
}

/**
 * A digest of facts that cost a few microseconds and no process to read: the OS user,
 * the home folder, platform and architecture, and the identity of the folder itself
 * (inode and creation time), which a copy of the folder never keeps. So a folder copied to
 * another machine or user misses. Not the host name: a Mac's changes with the network it
 * joins, and a miss there would start a process for nothing. A disk image cloned block by
 * block keeps all of them; `verify()` is what catches that. Not secret and not meant to
 * be: it only tells a hit from a miss, so a 64-bit non-cryptographic hash does
 * (node:crypto would cost more at start than the whole read).
 */
function factsKey(dir: string, salt: string): string | undefined {
  let folder: string
  try {
    const info = statSync(dir, { bigint: true })
    folder = `${info.ino}:${info.birthtimeNs}`
  } catch {
    return undefined
  }
  const facts = [
    CACHE_VERSION,
    salt,
    process.platform,
    process.arch,
    // The uid, not os.userInfo(): that asks the user database, which may be a network
    // directory on a managed machine. Windows has no uid; its user name is in the env.
    process.getuid?.() ?? process.env.USERNAME ?? '',
    attempt(homedir),
    folder,
  ]
  return digest64(facts.join('\0'))
}

function attempt(read: () => string): string {
  try {
    return read()
  } catch {
    return '' // no home folder known: the other facts still tell a copy
  }
}

/** Two multiplicative hash lanes mixed at the end: 16 hex characters. */
function digest64(text: string): string {
  let a = 0x9e3779b9 ^ text.length
  let b = 0x85ebca6b ^ text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x9e3779b1)
    b = Math.imul(b ^ c, 0x5bd1e995)
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35)
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35)
  return (b >>> 0).toString(16).padStart(8, '0') + (a >>> 0).toString(16).padStart(8, '0')
}
