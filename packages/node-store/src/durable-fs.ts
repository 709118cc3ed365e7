// Loaded only by writes, the lock and the install id: the start-up check never needs it.
import { mkdir, open } from 'node:fs/promises'
import { platform } from 'node:os'
import { isErrno } from './errno.js'

/** Creates the folder (and missing parents) readable by this user only. */
export async function ensureDir(dir: string): Promise<void> {
  // `mode` applies to the folders mkdir creates; an existing folder keeps its own.
  await mkdir(dir, { recursive: true, mode: 0o700 })
}

/**
 * Makes a rename or unlink inside `dir` durable: without it, a power cut right after
 * the rename can bring back the old directory entry. Windows cannot open a folder
 * for fsync (and NTFS journals renames), so it is skipped there; filesystems that
 * refuse (EINVAL, EISDIR, EPERM on some network mounts) are tolerated for the same reason.
 */
export async function syncDir(dir: string): Promise<void> {
  if (platform() === 'win32') return
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch (error) {
    if (!isErrno(error, 'EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP', 'EBADF')) throw error
  } finally {
    await handle?.close().catch(() => undefined)
  }
}

/**
 * What a person can do about a failed write or lock in `dir`: a full or read-only disk
 * is not a permission problem, and saying so sends them looking in the wrong place.
 */
export function writeHint(code: string | undefined, dir: string): string {
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'Free some space on that disk, then try again.'
  if (code === 'EROFS') return `Keep ${dir} on a disk this user can write to.`
  return `Check that this user may write to ${dir}.`
}
