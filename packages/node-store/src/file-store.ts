import { join } from 'node:path'
import { KeygateError, type LicenseStore, type PacingLog } from '@keygate/core'
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STALE_MS,
  lockSettings,
  MIN_STALE_MS,
  withLock,
} from './lock-settings.js'
import { assertSafeName, type LocationOptions, resolveDir } from './paths.js'
import {
  type FileIdentity,
  identityOf,
  LINK_REFUSED,
  MAX_RECORD_BYTES,
  readRecordSync,
  sameFile,
  unreadable,
} from './read-record.js'

export interface FileStoreOptions extends LocationOptions {
  /** The record's file name without `.json`. Default `license`. */
  name?: string | undefined
  /**
   * A lock not refreshed for this long is left over from a crashed process and is
   * taken over. Default 10 000 ms, minimum 2000. The holder refreshes it every quarter.
   */
  lockStaleMs?: number | undefined
  /** The longest `lock()` waits before failing with a `store` error. Default 15 000 ms. */
  lockTimeoutMs?: number | undefined
}

/** A `LicenseStore` backed by one JSON file. */
export interface FileStore extends LicenseStore {
  /** The record's absolute path, e.g. `~/.local/share/MyApp/license.json`. */
  readonly path: string
  /** The folder holding the record, its lock and anything quarantined. */
  readonly dir: string
  read(): Promise<string | null>
  writeQuick(text: string): Promise<void>
  quarantine(reason: string): Promise<string | null>
  /** `<dir>/<name>.pacing.json`: when this machine last asked Polar (times only). */
  pacing: PacingLog
}

/**
 * A crash-safe, locked file store: `<dir>/<name>.json`, written atomically with mode
 * 0600 in a 0700 folder, locked across processes with proper-lockfile. It never reads or
 * writes through a symbolic link: a link at the record's path is a damaged record.
 */
export function createFileStore(options: FileStoreOptions): FileStore {
  const name = options.name ?? 'license'
  assertSafeName(name, 'name')
  const dir = resolveDir(options, 'createFileStore')
  const path = join(dir, `${name}.json`)
  const pacingPath = join(dir, `${name}.pacing.json`)
  const staleMs = options.lockStaleMs ?? DEFAULT_STALE_MS
  const timeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  if (!Number.isFinite(staleMs) || staleMs < MIN_STALE_MS) {
    throw new KeygateError('invalid_input', `lockStaleMs must be at least ${MIN_STALE_MS} ms.`)
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new KeygateError('invalid_input', 'lockTimeoutMs must be a number of ms, 0 or more.')
  }
  // What `createFileLock({ file: path, staleMs, timeoutMs })` would hold, checked above.
  const lock = lockSettings(path, staleMs, timeoutMs)

  // The file this store last read or wrote: quarantine only moves that one, never a
  // fresh record another instance wrote in the meantime.
  let known: FileIdentity | undefined
  let swept = false

  return {
    path,
    dir,

    async read() {
      // Identity first: if the file is replaced while we read, quarantine then sees a
      // different file and leaves it alone (the safe direction).
      known = identityIfAny(path)
      // Checked here as well as by O_NOFOLLOW: Windows has no such flag.
      if (known?.link === true) throw unreadable(path, LINK_REFUSED)
      try {
        return readRecordSync(path)
      } catch (error) {
        throw await readFailure(path, error)
      }
    },

    async write(text) {
      checkText(text)
      const writes = await loadWrites()
      loadedWrites = writes
      await writes.writeRecord(path, dir, text)
      known = identityIfAny(path)
      if (!swept) {
        swept = true
        await writes.sweepLeftovers(path)
      }
    },

    async writeQuick(text) {
      checkText(text)
      // Synchronous once the writer is loaded (`prepare`): nothing runs between the call
      // and the rename, so a kill right after the caller's answer finds the note there.
      loadedWrites ??= await loadWrites()
      loadedWrites.writeRecordQuick(path, dir, text, known)
      known = identityIfAny(path)
    },

    async clear() {
      if (await (await loadWrites()).clearRecord(path, dir)) known = undefined
    },

    async prepare() {
      loadedWrites = await loadWrites()
    },

    lock: (fn) => withLock(lock, fn),

    pacing: {
      read: async () => readRecordSync(pacingPath),
      write: async (text) => (await loadWrites()).writePacing(pacingPath, dir, text),
    },

    async quarantine(reason) {
      let current: FileIdentity | undefined
      try {
        current = identityOf(path)
      } catch (error) {
        throw await readFailure(path, error)
      }
      if (current === undefined) return null
      if (known !== undefined && !sameFile(known, current)) return null
      const moved = await (await loadWrites()).moveAside(path, dir, reason)
      if (moved !== null) known = undefined
      return moved
    },
  }
}

function checkText(text: unknown): void {
  if (typeof text !== 'string') {
    throw new KeygateError('invalid_input', 'store.write() takes the record as a string.')
  }
  if (Buffer.byteLength(text) > MAX_RECORD_BYTES) {
    throw new KeygateError('invalid_input', 'The license record is too large to store.')
  }
}

function identityIfAny(path: string): FileIdentity | undefined {
  try {
    return identityOf(path)
  } catch {
    return undefined
  }
}

/** A failed read as a `store` error; the wording helpers load only when one happens. */
async function readFailure(path: string, error: unknown): Promise<KeygateError> {
  if (error instanceof KeygateError) return error
  const { describeFsError } = await import('./errno.js')
  return unreadable(path, describeFsError(error), error)
}

// The start-up check only reads: writing, clearing, quarantining and locking live in
// modules loaded on first use, so an app's start neither loads nor bundles them eagerly
// (and none of them imports the read side, so node-store's dist keeps that in one file).
// One promise, so callers waiting for the first load resume in the order they called.
let writesModule: Promise<typeof import('./record-writes.js')> | undefined
const loadWrites = () => {
  writesModule ??= import('./record-writes.js')
  return writesModule
}
/** The writer once loaded, for `writeQuick` to use without an await. */
let loadedWrites: typeof import('./record-writes.js') | undefined
