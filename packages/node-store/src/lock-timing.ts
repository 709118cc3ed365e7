// The lock's timing rules, shared by `createFileLock` and the file store. Not in
// create-file-lock.ts: the store checks them at construction but loads the lock itself
// on its first `lock()`, which the read-only start-up check never calls.

/** proper-lockfile's floor for `stale`: lower values are raised to it. */
export const MIN_STALE_MS = 2000
export const DEFAULT_STALE_MS = 10_000
export const DEFAULT_LOCK_TIMEOUT_MS = 15_000
