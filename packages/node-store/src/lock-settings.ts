import { dirname } from 'node:path'
import type { FileLockSettings } from './file-lock.js'

// The lock's rules and its lazy loading, shared by `createFileLock` and the file store.
// Not in create-file-lock.ts: the store checks its settings at construction but loads the
// lock itself on its first `lock()`, which the read-only start-up check never calls.

/** proper-lockfile's floor for `stale`: lower values are raised to it. */
export const MIN_STALE_MS = 2000
export const DEFAULT_STALE_MS = 10_000
export const DEFAULT_LOCK_TIMEOUT_MS = 15_000

/** The settings of the lock folder beside `file` (an absolute path), already checked. */
export function lockSettings(file: string, staleMs: number, timeoutMs: number): FileLockSettings {
  return { file, lockPath: `${file}.lock`, dir: dirname(file), staleMs, timeoutMs }
}

/** Runs `fn` holding the lock, loading the lock's code on first use. */
export async function withLock<T>(settings: FileLockSettings, fn: () => Promise<T>): Promise<T> {
  const { withFileLock } = await loadLock()
  return withFileLock(settings, fn)
}

// One promise, so callers waiting for the first load resume in the order they called.
let lockModule: Promise<typeof import('./file-lock.js')> | undefined
const loadLock = () => {
  lockModule ??= import('./file-lock.js')
  return lockModule
}
