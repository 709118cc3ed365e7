// The small files keygate keeps beside a record (the install id; the Electron adapter's
// sealed key and its copies) are read as the record is: never through a link.
import { constants } from 'node:fs'
import { lstat, open } from 'node:fs/promises'
import { errnoCode } from './errno.js'

/** What `readOwnedFile` answers for anything at the path that is not a file to read. */
export const UNUSABLE = 'unusable'

// O_NONBLOCK: a FIFO planted at the path must not hang the read. O_NOFOLLOW: a link is
// refused, not read through. Windows has neither; see `readOwnedFile`.
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0)
const NO_FOLLOW = constants.O_NOFOLLOW !== undefined

/**
 * The bytes of the regular file at `path`; null when nothing is there; `'unusable'` for a
 * symbolic link (dangling or not: never followed), a folder, a FIFO or a device, or a file
 * larger than `maxBytes`: nothing keygate wrote, for the caller to move aside
 * (`renameAside`, which moves a link as a link) and replace. Throws the fs error otherwise.
 */
export async function readOwnedFile(
  path: string,
  maxBytes: number,
): Promise<Buffer | null | typeof UNUSABLE> {
  // Where there is no O_NOFOLLOW (Windows), the entry is judged by lstat first and the file
  // opened must be that entry (dev and ino): a link swapped in between is then seen.
  for (let attempt = 0; attempt < 3; attempt++) {
    const entry = NO_FOLLOW ? undefined : await lstat(path).catch(missing)
    if (entry === null) return null
    if (entry?.isSymbolicLink() === true) return UNUSABLE
    const file = await open(path, FLAGS).catch((error: unknown) => {
      // O_NOFOLLOW's answer for a link: ELOOP (Linux, macOS), EMLINK (FreeBSD); Windows
      // refuses to open a folder with EISDIR.
      if (['ELOOP', 'EMLINK', 'EISDIR'].includes(errnoCode(error) ?? '')) return UNUSABLE
      return missing(error)
    })
    if (file === null || file === UNUSABLE) return file
    try {
      const info = await file.stat()
      if (entry !== undefined && (entry.dev !== info.dev || entry.ino !== info.ino)) continue
      if (!info.isFile() || info.size > maxBytes) return UNUSABLE
      const bytes = await file.readFile()
      return bytes.length > maxBytes ? UNUSABLE : bytes
    } finally {
      await file.close().catch(() => undefined)
    }
  }
  throw new Error(`${path} keeps changing while it is read`)
}

function missing(error: unknown): null {
  if (errnoCode(error) === 'ENOENT') return null
  throw error
}
