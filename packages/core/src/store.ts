/**
 * Where a grant lives between runs. Stores hold opaque text; core owns the format, and
 * only core's `offline/record` module calls a store. Every store passes `storeContract`
 * from `@keygate/core/testing`.
 */
export interface LicenseStore {
  /**
   * The stored text, or null when there is none, or a `ForeignRecord` when a record is
   * there, intact, but not readable on this machine (encrypted with another OS user's
   * key, say). Throws a `store` KeygateError when it cannot be read.
   */
  read(): Promise<string | null | ForeignRecord>
  /** Replaces the stored text atomically: a crash leaves the old text or the new one. */
  write(text: string): Promise<void>
  /**
   * Optional. Replaces the stored text as `write` does, atomically, but returns as soon as
   * the text would survive the process being killed, without waiting for the disk (no
   * fsync): a power cut may lose it. Core uses it once per activation, for the note of the
   * seat Polar has just given, right before the durable `write` of the grant; without it,
   * `write` is used. A store that must transform the text (encrypt it) simply omits it.
   */
  writeQuick?(text: string): Promise<void>
  /** Removes the stored text. No error when there is none. */
  clear(): Promise<void>
  /**
   * Runs `fn` while holding this store's lock, exclusive across every process that
   * shares the store. Not reentrant: never call `lock` from inside `fn`.
   */
  lock<T>(fn: () => Promise<T>): Promise<T>
  /**
   * Optional. Moves an unreadable record aside so it is never silently overwritten,
   * then behaves as empty. Returns where it went (a path, a key), or null when there was
   * nothing to move. Without it, an unreadable record stays where it is until the next
   * activation replaces it (see `quarantineOf`).
   */
  quarantine?(reason: string): Promise<string | null>
  /**
   * Optional. Loads whatever the next `write` needs (a writer module, a key), so that a
   * write right after Polar's answer starts at once: called just before an activation is
   * sent, when a crash between the answer and the durable write would cost a seat.
   * Never required for correctness; a failure here is ignored (the write reports it).
   */
  prepare?(): Promise<void>
  /**
   * Optional. A small text shared by every process using this store, read and written by
   * core only while it holds `lock()`: when this machine last asked Polar, and any pause
   * Polar asked for. Polar allows 3 requests a second per IP and blocks the IP for a minute
   * past that, so app instances that each paced only themselves could trip it together.
   * Needs no durability (no fsync): a lost or garbled text only means no pacing history.
   * Never holds a key. Without it, each process paces only itself.
   */
  pacing?: PacingLog | undefined
}

/** What `LicenseStore.pacing` holds: opaque text core owns, a few hundred bytes. */
export interface PacingLog {
  /** The text last written, or null when there is none. */
  read(): Promise<string | null>
  /** Replaces it; a crash mid-write may leave it garbled, which core reads as none. */
  write(text: string): Promise<void>
}

/**
 * What a store returns for a record that is intact but belongs elsewhere: core reports
 * `machine_mismatch` and keeps the record (it is not damaged, so it is not moved aside
 * until a new activation replaces it).
 */
export interface ForeignRecord {
  readonly foreign: true
  /** For a person: why the record cannot be read here. Never contains the key. */
  readonly why: string
}

export function isForeignRecord(value: unknown): value is ForeignRecord {
  return typeof value === 'object' && value !== null && (value as ForeignRecord).foreign === true
}

export interface MemoryStore extends LicenseStore {
  read(): Promise<string | null>
  quarantine(reason: string): Promise<string | null>
  /** Records moved aside by `quarantine`, oldest first (for tests and diagnostics). */
  readonly quarantined: ReadonlyArray<{ text: string; reason: string }>
}

/** An in-memory store: for tests, for browsers, and for apps that persist elsewhere. */
export function memoryStore(initial: string | null = null): MemoryStore {
  let text = initial
  let tail: Promise<unknown> = Promise.resolve()
  let pacing: string | null = null
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
    pacing: {
      read: async () => pacing,
      write: async (next) => {
        pacing = next
      },
    },
    async quarantine(reason) {
      if (text === null) return null
      quarantined.push({ text, reason })
      text = null
      return `memory:quarantined/${quarantined.length - 1}`
    },
  }
}
