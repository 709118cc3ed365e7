// The one way node-store replaces a file: loaded on the first write, never at start-up.
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { open, rename, unlink } from 'node:fs/promises'
import { isErrno } from './errno.js'

// O_EXCL never opens an existing entry (a symlink included), so a link planted at the
// temp name cannot redirect the write; O_NOFOLLOW says the same where the OS has it.
const TEMP_FLAGS =
  constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0)

/**
 * Writes `text` to a new temp file next to `path` (`<path>.<digits>`), fsyncs it, sets
 * it to 0600 and renames it over `path`. A rename replaces the directory entry itself:
 * whatever stood at `path` (a symlink too) is replaced, never written through, and a
 * crash at any instant leaves the old file or the new one. The temp file is removed when
 * anything fails. On Windows a rename fails while another program has the file open
 * (a virus scanner, a second instance reading); that clears within moments, so it is
 * retried briefly.
 */
export async function replaceFile(path: string, text: string): Promise<void> {
  const temp = await writeTemp(path, text)
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await rename(temp, path)
        return
      } catch (error) {
        const busy = process.platform === 'win32' && isErrno(error, 'EPERM', 'EBUSY', 'EACCES')
        if (!busy || attempt >= 5) throw error
        await new Promise((resolve) => setTimeout(resolve, attempt * 40))
      }
    }
  } catch (error) {
    await unlink(temp).catch(() => undefined)
    throw error
  }
}

/**
 * As `replaceFile` without the fsync, and synchronous: the new text is in the kernel's
 * hands when this returns, so it survives the process being killed at any instant (the
 * old file or the new one), but a power cut right after may lose it. For a note that must
 * be on disk before anything else happens and is followed at once by a `replaceFile`.
 * No retry on Windows' busy renames: the caller's durable write follows anyway.
 */
export function replaceFileQuick(path: string, text: string): void {
  const temp = tempName(path)
  const fd = openSync(temp, TEMP_FLAGS, 0o600)
  try {
    try {
      if (process.platform !== 'win32') fchmodSync(fd, 0o600)
      writeFileSync(fd, text, 'utf8')
    } finally {
      closeSync(fd)
    }
    renameSync(temp, path)
  } catch (error) {
    try {
      unlinkSync(temp)
    } catch {
      // Gone already, or left for `sweepLeftovers`.
    }
    throw error
  }
}

/** What one write(2) at offset 0 replaces whole, even when the process is killed during it. */
const ONE_PAGE = 4096

/**
 * Overwrites the file at `path` in place with one write at offset 0, when it is still the
 * file `identity` names (the one its store last wrote) and no longer than `text`: then
 * that single write replaces every byte, so a killed process leaves the old text or the
 * new one, and nothing but the file's data changes (no new entry, no rename for the
 * filesystem to order). False, having changed nothing, when that does not hold. A reader
 * outside the lock may see a torn page for a moment (it then re-reads under the lock).
 */
export function overwriteInPlace(
  path: string,
  text: string,
  identity: { dev: number; ino: number },
): boolean {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length > ONE_PAGE) return false
  let fd: number
  try {
    fd = openSync(path, constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0))
  } catch {
    return false
  }
  try {
    const info = fstatSync(fd)
    const ours = info.isFile() && info.dev === identity.dev && info.ino === identity.ino
    if (!ours || info.nlink !== 1 || info.size > bytes.length) return false
    // A file left readable by others is replaced (and so set to 0600), not reused.
    if (process.platform !== 'win32' && (info.mode & 0o777) !== 0o600) return false
    return writeSync(fd, bytes, 0, bytes.length, 0) === bytes.length
  } finally {
    closeSync(fd)
  }
}

// Digits only: `sweepLeftovers` recognises a killed writer's temp file by them. Not
// node:crypto: the name needs no secrecy (O_EXCL settles a collision), and loading it costs.
const tempName = (path: string) => `${path}.${Math.floor(1e9 + Math.random() * 9e9)}`

async function writeTemp(path: string, text: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const temp = tempName(path)
    let handle: Awaited<ReturnType<typeof open>>
    try {
      handle = await open(temp, TEMP_FLAGS, 0o600)
    } catch (error) {
      if (isErrno(error, 'EEXIST') && attempt < 5) continue
      throw error
    }
    try {
      // The umask may have taken bits off 0600 (a 0400 file could not be replaced later).
      if (process.platform !== 'win32') await handle.chmod(0o600)
      await handle.writeFile(text, 'utf8')
      await handle.sync()
      await handle.close()
      return temp
    } catch (error) {
      await handle.close().catch(() => undefined)
      await unlink(temp).catch(() => undefined)
      throw error
    }
  }
}
