// The start-up check's whole disk access. Nothing here imports the write side, so an
// app loads only this (and the dist keeps it inside its entry file).
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
} from 'node:fs'
import { KeygateError } from '@keygate/core'

/** A grant is about 2 KB; anything this large is not one, and reading it is not worth the memory. */
export const MAX_RECORD_BYTES = 1024 * 1024

// O_NONBLOCK: a FIFO planted at the path must not hang the start-up check. O_NOFOLLOW: a
// symlink at the path is refused, not read through (another app's record, say). Windows
// has neither flag; `identityOf`'s lstat, which runs first, catches a link there.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0)

/** Why a symbolic link at the record's path is not read, in a person's words. */
export const LINK_REFUSED = 'it is a symbolic link, which the store never follows'

/**
 * The record's text, or null when there is none. Throws a `store` error when something
 * other than a record is there, and the fs error itself when a call fails (the caller
 * words it: see `file-store.ts`).
 *
 * Synchronous on purpose (as sindresorhus/conf reads its file): each async fs call is a
 * round trip through libuv's thread pool, which costs many times the work itself on the
 * start-up check (docs/benchmarks.md has the figures). The price is
 * that a hung filesystem blocks the thread; the record lives in the local app-data folder.
 */
export function readRecordSync(path: string): string | null {
  let fd: number
  try {
    fd = openSync(path, READ_FLAGS)
  } catch (error) {
    if (isMissing(error)) return null
    // O_NOFOLLOW's answer for a link: ELOOP (Linux, macOS), EMLINK (FreeBSD).
    if (hasCode(error, 'ELOOP') || hasCode(error, 'EMLINK')) throw unreadable(path, LINK_REFUSED)
    throw error
  }
  try {
    const info = fstatSync(fd)
    if (info.isDirectory()) throw unreadable(path, 'it is a folder, not a file')
    if (!info.isFile()) throw unreadable(path, 'it is not a regular file')
    if (info.size > MAX_RECORD_BYTES) throw unreadable(path, `it is ${info.size} bytes long`)
    if ((info.mode & 0o077) !== 0) keepPrivate(fd)
    // One read sized by the fstat (plus a byte, to notice a file still growing).
    const buffer = Buffer.allocUnsafe(info.size + 1)
    const bytesRead = readSync(fd, buffer, 0, buffer.length, 0)
    if (bytesRead <= info.size) return buffer.toString('utf8', 0, bytesRead)
    // Someone is writing it in place (keygate never does: it renames): read it whole.
    const text = readFileSync(fd, 'utf8')
    if (Buffer.byteLength(text) > MAX_RECORD_BYTES) {
      throw unreadable(path, 'it grew past 1 MiB while being read')
    }
    return text
  } finally {
    try {
      closeSync(fd)
    } catch {
      // Nothing was written through it: a failed close loses nothing.
    }
  }
}

/**
 * A record other users may read (0644, say: copied in by hand, or written by a release
 * that did not set the mode) is made 0600 as soon as it is found, not at the next write.
 * Best effort: a file of another owner cannot be changed, and Windows ignores modes.
 */
function keepPrivate(fd: number): void {
  if (process.platform === 'win32') return
  try {
    fchmodSync(fd, 0o600)
  } catch {
    // Not ours to change (another owner, a read-only mount): the read itself is fine.
  }
}

export interface FileIdentity {
  dev: number
  ino: number
  /** A symbolic link stands at the path (judged as itself, never followed). */
  link: boolean
}

/**
 * The directory entry's identity (lstat: a symlink is judged as itself), or undefined
 * when absent; throws the fs error otherwise. Synchronous like the read.
 */
export function identityOf(path: string): FileIdentity | undefined {
  try {
    const info = lstatSync(path)
    return { dev: info.dev, ino: info.ino, link: info.isSymbolicLink() }
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino
}

export function unreadable(path: string, why: string, cause?: unknown): KeygateError {
  return new KeygateError('store', `Cannot read the license record ${path}: ${why}.`, { cause })
}

function isMissing(error: unknown): boolean {
  return hasCode(error, 'ENOENT')
}

// Not errno.ts: that module belongs to the lazily loaded write side.
function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code
}
