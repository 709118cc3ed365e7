/**
 * Where a grant lives between runs. Stores hold opaque text; core owns the format.
 * Every store passes `storeContract` from `@keygate/core/testing`.
 */
export interface LicenseStore {
  /** The stored text, or null when there is none. Throws a `store` KeygateError when it cannot be read. */
  read(): Promise<string | null>
  /** Replaces the stored text atomically: a crash leaves the old text or the new one. */
  write(text: string): Promise<void>
  /** Removes the stored text. No error when there is none. */
  clear(): Promise<void>
  /**
   * Runs `fn` while holding this store's lock, exclusive across every process that
   * shares the store. Not reentrant: never call `lock` from inside `fn`.
   */
  lock<T>(fn: () => Promise<T>): Promise<T>
  /**
   * Moves an unreadable record aside so it is never silently overwritten, then
   * behaves as empty. Returns where it went (a path, a key), or null when there
   * was nothing to move.
   */
  quarantine(reason: string): Promise<string | null>
}

export interface MemoryStore extends LicenseStore {
  /** Records moved aside by `quarantine`, oldest first (for tests and diagnostics). */
  readonly quarantined: ReadonlyArray<{ text: string; reason: string }>
}

/** An in-memory store: for tests, for browsers, and for apps that persist elsewhere. */
export function memoryStore(initial: string | null = null): MemoryStore {
  let text = initial
  let tail: Promise<unknown> = Promise.resolve()
  const quarantined: Array<{ text: string; reason: string }> = []
  return {
    quarantined,
    async read() {
      return text
    },
    async write(next) {
      text = next
    },
    async clear() {
      text = null
    },
    lock(fn) {
      // A promise chain: each holder starts when the previous one settled.
      const run = tail.then(fn, fn)
      tail = run.catch(() => undefined)
      return run
    },
    async quarantine(reason) {
      if (text === null) return null
      quarantined.push({ text, reason })
      text = null
      return `memory:quarantined/${quarantined.length - 1}`
    },
  }
}
