// Everything that changes the record on disk: write, clear, move aside. Loaded by the
// file store on first use, so the start-up check (a read) never loads or parses it.
import { constants, mkdirSync } from 'node:fs'
import { lstat, open, readdir, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { KeygateError, maskKey } from '@keygate/core'
import { pruneAside, renameAside } from './aside-copies.js'
import { overwriteInPlace, replaceFile, replaceFileQuick } from './atomic-file.js'
import { ensureDir, syncDir, writeHint } from './durable-fs.js'
import { describeFsError, errnoCode } from './errno.js'

/** Temp files older than this are leftovers of a killed writer, not a write in progress. */
const TEMP_LEFTOVER_MS = 60_000

/**
 * Replaces the record atomically and durably (see `replaceFile`). A symbolic link at the
 * path is moved aside first, as a damaged record would be: the link itself, never what it
 * points to, so neither the write nor the move reaches outside the folder.
 */
export async function writeRecord(path: string, dir: string, text: string): Promise<void> {
  try {
    await ensureDir(dir)
    if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) await renameAside(path)
    await replaceFile(path, text)
    await syncDir(dir)
  } catch (error) {
    throw writeError(path, error)
  }
}

/**
 * Replaces the record so that it survives the process being killed, without waiting for
 * the disk: synchronous, no fsync. In place when the file is the one
 * `known` names and the text no shorter (`overwriteInPlace`: one write), else a temp file
 * and a rename (`replaceFileQuick`), which replaces a link at the path, never follows it.
 */
export function writeRecordQuick(
  path: string,
  dir: string,
  text: string,
  known: { dev: number; ino: number; link: boolean } | undefined,
): void {
  try {
    if (known !== undefined && !known.link && overwriteInPlace(path, text, known)) return
    try {
      replaceFileQuick(path, text)
    } catch (error) {
      // The folder is not there yet (no write before this one): made as `ensureDir` makes it.
      if (errnoCode(error) !== 'ENOENT') throw error
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      replaceFileQuick(path, text)
    }
  } catch (error) {
    throw writeError(path, error)
  }
}

// In place, never through a link (O_NOFOLLOW; Windows has none, so an lstat first), never
// blocking on a FIFO planted at the path (O_NONBLOCK).
const PACING_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)

/**
 * Replaces the pacing log's text (`LicenseStore.pacing`) in place: it needs no durability,
 * and a write cut short leaves text core reads as none. Mode 0600, in the record's folder.
 */
export async function writePacing(path: string, dir: string, text: string): Promise<void> {
  await ensureDir(dir)
  if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) {
    throw new KeygateError('store', `${path} is a symbolic link, which the store never follows.`)
  }
  const handle = await open(path, PACING_FLAGS, 0o600)
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new KeygateError('store', `${path} is not a regular file.`)
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) await handle.chmod(0o600)
    await handle.truncate(0)
    await handle.write(text, 0, 'utf8')
  } finally {
    await handle.close().catch(() => undefined)
  }
}

/** Removes the record; no error when there is none. True when a file was removed. */
export async function clearRecord(path: string, dir: string): Promise<boolean> {
  try {
    await unlink(path)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false
    throw new KeygateError(
      'store',
      `Could not remove the license record ${path} (${describeFsError(error)}).`,
      { cause: error },
    )
  }
  await syncDir(dir).catch(() => undefined)
  return true
}

/**
 * Renames the record (file or folder) to `<path>.unreadable-<time>` next to it; the new
 * path, or null when it was gone already. Whether it may be moved is the caller's call.
 * A record holding the license key verbatim (keygate's first format) has it masked first.
 */
export async function moveAside(path: string, dir: string, reason: string): Promise<string | null> {
  let target: string | null
  try {
    // Best effort: a disk that refuses the masked copy must not keep the record in place.
    await maskPlainKey(path).catch(() => undefined)
    target = await renameAside(path)
  } catch (error) {
    if (error instanceof KeygateError) throw error
    throw new KeygateError(
      'store',
      `The license record ${path} cannot be used (${reason}) and could not be moved aside (${describeFsError(error)}). Move or delete it by hand, then activate again.`,
      { cause: error },
    )
  }
  if (target !== null) await syncDir(dir).catch(() => undefined)
  return target
}

// A `"key": "…"` member, its string possibly cut short by the damage.
const KEY_MEMBER = /"key"\s*:\s*"((?:[^"\\]|\\.)*)/g
const MIN_ECHOED_KEY = 8
/** Larger than any record: not read for masking (nor by the store). */
const MAX_MASKED_BYTES = 1024 * 1024

/**
 * The copy kept aside is for support, which needs no working key: a key stored verbatim is
 * replaced, in place and atomically, by its masked form (`****-ABC123`), wherever it occurs
 * in the text. Done before the rename, so a crash in between leaves no plain copy aside.
 * Anything that is not a readable regular file (a link, a folder) is moved as it is.
 */
async function maskPlainKey(path: string): Promise<void> {
  const text = await regularFileText(path)
  if (text === null) return
  const keys = new Set<string>()
  let masked = text.replace(KEY_MEMBER, (member: string, raw: string) => {
    const key = jsonString(raw).trim()
    if (key === '' || key.startsWith('****-')) return member
    keys.add(key)
    return member.slice(0, member.length - raw.length) + JSON.stringify(maskKey(key)).slice(1, -1)
  })
  if (keys.size === 0) return
  // Elsewhere too (a message quoting it); a key this short would mask ordinary words.
  for (const key of keys) {
    if (key.length < MIN_ECHOED_KEY) continue
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    masked = masked.replace(new RegExp(escaped, 'gi'), () => maskKey(key))
  }
  await replaceFile(path, masked)
}

/** The text of the regular file at `path`, never through a link; null for anything else. */
async function regularFileText(path: string): Promise<string | null> {
  const flags = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0)
  const file = await open(path, flags).catch(() => null)
  if (file === null) return null
  try {
    const info = await file.stat()
    if (!info.isFile() || info.size > MAX_MASKED_BYTES) return null
    return await file.readFile('utf8')
  } catch {
    return null
  } finally {
    await file.close().catch(() => undefined)
  }
}

/** A JSON string literal's value; the raw text when it does not parse (cut short). */
function jsonString(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string
  } catch {
    return raw
  }
}

/**
 * The writer's temp files (`license.json.<digits>`) survive a SIGKILL or a power
 * cut. Old ones are removed once per store; young ones may be another writer's. Records
 * an older keygate moved aside with their key verbatim have it masked, as `moveAside` does,
 * and only the newest moved-aside copies are kept (of the lock's too), as `renameAside` keeps.
 */
export async function sweepLeftovers(path: string): Promise<void> {
  const dir = dirname(path)
  const prefix = `${basename(path)}.`
  // First, so that copies about to go are not masked for nothing. Never throws.
  await pruneAside(path)
  await pruneAside(`${path}.lock`)
  try {
    const now = Date.now()
    for (const entry of await readdir(dir)) {
      if (!entry.startsWith(prefix)) continue
      if (entry.startsWith(`${prefix}unreadable-`)) {
        await maskPlainKey(join(dir, entry)).catch(() => undefined)
        continue
      }
      if (!/^\d+$/.test(entry.slice(prefix.length))) continue
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

function writeError(path: string, error: unknown): KeygateError {
  const code = errnoCode(error)
  const hint =
    code === 'EISDIR' || code === 'ENOTEMPTY'
      ? 'A folder stands where the file should be: move it away.'
      : writeHint(code, dirname(path))
  return new KeygateError(
    'store',
    `Could not save the license record ${path} (${describeFsError(error)}). ${hint}`,
    { cause: error },
  )
}
