import type { Stats } from 'node:fs'
import { constants } from 'node:fs'
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { KeygateError, type LicenseStore } from '@keygate/core'
import { ensureDir, errnoCode, isErrno, syncDir, writeHint } from './durable-fs.js'
import { MIN_STALE_MS, withFileLock } from './file-lock.js'
import { assertSafeName, type LocationOptions, resolveDir } from './paths.js'

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
}

/** A grant is about 2 KB; anything this large is not one, and reading it is not worth the memory. */
const MAX_RECORD_BYTES = 1024 * 1024
/** Temp files older than this are leftovers of a killed writer, not a write in progress. */
const TEMP_LEFTOVER_MS = 60_000
const DEFAULT_STALE_MS = 10_000
const DEFAULT_LOCK_TIMEOUT_MS = 15_000

/**
 * A crash-safe, locked file store: `<dir>/<name>.json`, written atomically with mode
 * 0600 in a 0700 folder, locked across processes with proper-lockfile.
 */
export function createFileStore(options: FileStoreOptions): FileStore {
  const name = options.name ?? 'license'
  assertSafeName(name, 'name')
  const dir = resolveDir(options, 'createFileStore')
  const path = join(dir, `${name}.json`)
  const staleMs = options.lockStaleMs ?? DEFAULT_STALE_MS
  const timeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  if (!Number.isFinite(staleMs) || staleMs < MIN_STALE_MS) {
    throw new KeygateError('invalid_input', `lockStaleMs must be at least ${MIN_STALE_MS} ms.`)
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new KeygateError('invalid_input', 'lockTimeoutMs must be a number of ms, 0 or more.')
  }
  const lockSettings = { file: path, lockPath: `${path}.lock`, dir, staleMs, timeoutMs }

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
      known = await identityOf(path).catch(() => undefined)
      return readRecord(path)
    },

    async write(text) {
      if (typeof text !== 'string') {
        throw new KeygateError('invalid_input', 'store.write() takes the record as a string.')
      }
      if (Buffer.byteLength(text) > MAX_RECORD_BYTES) {
        throw new KeygateError('invalid_input', 'The license record is too large to store.')
      }
      try {
        await ensureDir(dir)
        await writeReplacing(path, text)
        await syncDir(dir)
      } catch (error) {
        throw writeError(path, error)
      }
      known = await identityOf(path).catch(() => undefined)
      if (!swept) {
        swept = true
        await sweepLeftovers(path)
      }
    },

    async clear() {
      try {
        await unlink(path)
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return
        throw new KeygateError(
          'store',
          `Could not remove the license record ${path} (${describe(error)}).`,
          { cause: error },
        )
      }
      known = undefined
      await syncDir(dir).catch(() => undefined)
    },

    lock(fn) {
      return withFileLock(lockSettings, fn)
    },

    async quarantine(reason) {
      const current = await identityOf(path)
      if (current === undefined) return null
      if (known !== undefined && !sameFile(known, current)) return null
      const target = await freeName(`${path}.unreadable-${timestamp()}`)
      try {
        await rename(path, target)
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return null
        throw new KeygateError(
          'store',
          `The license record ${path} cannot be used (${reason}) and could not be moved aside (${describe(error)}). Move or delete it by hand, then activate again.`,
          { cause: error },
        )
      }
      known = undefined
      await syncDir(dir).catch(() => undefined)
      return target
    },
  }
}

// Loaded on the first write: the start-up check only reads (write-file-atomic and
// signal-exit cost a few ms to import).
const importWriter = () => import('write-file-atomic')
let writerModule: ReturnType<typeof importWriter> | undefined
const loadWriter = () => {
  writerModule ??= importWriter()
  return writerModule
}

/**
 * Temp file in the same folder, fsync, chmod 0600, rename: a crash leaves old or new.
 * On Windows the rename fails while another process (an antivirus scan, a second
 * instance reading) has the file open; that clears within moments, so retry briefly.
 */
async function writeReplacing(path: string, text: string): Promise<void> {
  const { default: writeFileAtomic } = await loadWriter()
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeFileAtomic(path, text, { mode: 0o600, fsync: true })
    } catch (error) {
      const busy = process.platform === 'win32' && isErrno(error, 'EPERM', 'EBUSY', 'EACCES')
      if (!busy || attempt >= 5) throw error
      await new Promise((resolve) => setTimeout(resolve, attempt * 40))
    }
  }
}

/** The record's text, null when there is none; a `store` error when something else is there. */
async function readRecord(path: string): Promise<string | null> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    // O_NONBLOCK: a FIFO planted at the path must not hang the start-up check.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw unreadable(path, describe(error), error)
  }
  try {
    const info = await handle.stat()
    if (info.isDirectory()) throw unreadable(path, 'it is a folder, not a file')
    if (!info.isFile()) throw unreadable(path, 'it is not a regular file')
    if (info.size > MAX_RECORD_BYTES) throw unreadable(path, `it is ${info.size} bytes long`)
    // One read sized by the fstat above (plus a byte, to notice a file still growing)
    // instead of readFile's own fstat and read-until-EOF loop: each is a thread-pool
    // round trip, and they were most of the start-up check's time.
    const buffer = Buffer.allocUnsafe(info.size + 1)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    if (bytesRead <= info.size) return buffer.toString('utf8', 0, bytesRead)
    return await handle.readFile('utf8')
  } catch (error) {
    if (error instanceof KeygateError) throw error
    throw unreadable(path, describe(error), error)
  } finally {
    await handle.close().catch(() => undefined)
  }
}

interface FileIdentity {
  dev: number
  ino: number
}

/** The directory entry's identity (lstat: a symlink is judged as itself), or undefined when absent. */
async function identityOf(path: string): Promise<FileIdentity | undefined> {
  let info: Stats
  try {
    info = await lstat(path)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    throw unreadable(path, describe(error), error)
  }
  return { dev: info.dev, ino: info.ino }
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino
}

async function freeName(base: string): Promise<string> {
  for (let n = 0; n < 100; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`
    if ((await identityOf(candidate)) === undefined) return candidate
  }
  throw new KeygateError('store', `Too many quarantined license records next to ${base}.`)
}

/** ISO time without colons, which Windows forbids in file names. */
function timestamp(): string {
  return new Date().toISOString().replace(/:/g, '-')
}

/**
 * write-file-atomic's temp files (`license.json.<digits>`) survive a SIGKILL or a power
 * cut. Old ones are removed once per store; young ones may be another writer's.
 */
async function sweepLeftovers(path: string): Promise<void> {
  const dir = dirname(path)
  const prefix = `${basename(path)}.`
  try {
    const now = Date.now()
    for (const entry of await readdir(dir)) {
      if (!entry.startsWith(prefix) || !/^\d+$/.test(entry.slice(prefix.length))) continue
      const file = join(dir, entry)
      const info = await lstat(file).catch(() => undefined)
      if (info?.isFile() && now - info.mtimeMs > TEMP_LEFTOVER_MS) {
        await unlink(file).catch(() => undefined)
      }
    }
  } catch {
    // Tidying up is best effort; the record itself is already safe.
  }
}

function describe(error: unknown): string {
  const code = errnoCode(error)
  if (code === 'EACCES' || code === 'EPERM') return `${code}: permission denied`
  if (code === 'EISDIR') return 'EISDIR: it is a folder, not a file'
  if (code === 'ENOTDIR') return 'ENOTDIR: a file stands where a folder should be'
  return code ?? (error instanceof Error ? error.message : String(error))
}

function unreadable(path: string, why: string, cause?: unknown): KeygateError {
  return new KeygateError('store', `Cannot read the license record ${path}: ${why}.`, { cause })
}

function writeError(path: string, error: unknown): KeygateError {
  const code = errnoCode(error)
  const hint =
    code === 'EISDIR' || code === 'ENOTEMPTY'
      ? 'A folder stands where the file should be: move it away.'
      : writeHint(code, dirname(path))
  return new KeygateError(
    'store',
    `Could not save the license record ${path} (${describe(error)}). ${hint}`,
    { cause: error },
  )
}
