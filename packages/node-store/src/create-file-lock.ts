import { resolve } from 'node:path'
import { KeygateError } from '@keygate/core'
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STALE_MS,
  lockSettings,
  MIN_STALE_MS,
  withLock,
} from './lock-settings.js'

export interface FileLockOptions {
  /** The file the lock protects (it need not exist). The lock is `<file>.lock`, a folder beside it. */
  file: string
  /**
   * A lock not refreshed for this long is left over from a crashed process and is taken
   * over. Default 10 000 ms, minimum 2000. The holder refreshes it every quarter.
   */
  staleMs?: number | undefined
  /** The longest `lock()` waits before failing with a `store` error. Default 15 000 ms. */
  timeoutMs?: number | undefined
}

/** The cross-process lock `createFileStore` uses, for another store backend to reuse. */
export interface FileLock {
  /** The lock folder, `<file>.lock`. */
  readonly path: string
  /**
   * Runs `fn` holding the lock, exclusive across processes and within this one (every
   * `FileLock` and file store of the same file shares it). Not reentrant.
   */
  lock<T>(fn: () => Promise<T>): Promise<T>
}

/**
 * A lock folder next to `file`, taken with proper-lockfile: what `createFileStore`'s
 * `lock()` runs on. A store backend that keeps its data elsewhere (a database file, an
 * encrypted blob) can give its `lock` the same guarantees: stale locks of crashed
 * processes taken over, a non-folder at the lock path cleared or explained, a lock lost
 * while held reported instead of crashing the app. proper-lockfile loads on the first
 * `lock()`, never at start-up.
 */
export function createFileLock(options: FileLockOptions): FileLock {
  if (typeof options.file !== 'string' || options.file.length === 0) {
    throw new KeygateError(
      'invalid_input',
      'createFileLock needs the path of the file it protects.',
    )
  }
  const file = resolve(options.file)
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  if (!Number.isFinite(staleMs) || staleMs < MIN_STALE_MS) {
    throw new KeygateError(
      'invalid_input',
      `The lock's stale time must be at least ${MIN_STALE_MS} ms.`,
    )
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new KeygateError('invalid_input', "The lock's timeout must be a number of ms, 0 or more.")
  }
  const settings = lockSettings(file, staleMs, timeoutMs)
  return { path: settings.lockPath, lock: (fn) => withLock(settings, fn) }
}
