// Copies moved aside (`<file>.unreadable-<time>`) are kept for support, but a loop of
// resets (a broken disk, a tamper loop) would otherwise pile them up without bound.
import { lstat, readdir, rename, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { KeygateError } from '@keygate/core'
import { describeFsError, errnoCode } from './errno.js'

/** How many moved-aside copies of one file are kept: the newest. */
const KEPT_ASIDE = 5

/**
 * Renames the entry at `path` (a file, folder or link: rename never follows a link) to a
 * free `<path>.unreadable-<time>` name; null when it was gone already. Throws the fs
 * error, or a KeygateError when no free name is left. Only the newest copies are kept
 * (`pruneAside`), the one just moved always among them.
 */
export async function renameAside(path: string): Promise<string | null> {
  const target = await freeName(`${path}.unreadable-${timestamp()}`)
  try {
    await rename(path, target)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw error
  }
  await pruneAside(path, target)
  return target
}

async function freeName(base: string): Promise<string> {
  for (let n = 0; n < 100; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`
    if (!(await exists(candidate))) return candidate
  }
  throw new KeygateError('store', `Too many copies moved aside next to ${base}.`)
}

/** Whether anything (a symlink included) is at `path`. */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false
    throw new KeygateError(
      'store',
      `Cannot check ${path} before moving a damaged file there (${describeFsError(error)}).`,
      { cause: error },
    )
  }
}

/** ISO time without colons, which Windows forbids in file names. */
function timestamp(): string {
  return new Date().toISOString().replace(/:/g, '-')
}

// The time `renameAside` puts in the name, ISO without colons, or ms since the epoch (how
// earlier releases named the install id's copies), then the `-<n>` of a second copy.
// Nothing else is ours, even with our prefix: a name a user gave a copy by hand is left alone.
const STAMP = /^(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z|\d{13})(?:-(\d{1,2}))?$/

interface Copy {
  name: string
  stamp: string
  n: number
  folder: boolean
}

/**
 * Removes all but the newest `KEPT_ASIDE` of `<path>.unreadable-<time>` beside `path`,
 * newest by the time in the name. `spare` (the copy just moved aside) is always kept, so a
 * clock set back never deletes what the caller is about to report. Links are removed as
 * links, never followed; a folder only when it is one of these copies. Best effort: it
 * never throws, so tidying can never fail a read or a write.
 */
export async function pruneAside(path: string, spare?: string | null): Promise<void> {
  try {
    const dir = dirname(path)
    const prefix = `${basename(path)}.unreadable-`
    const copies: Copy[] = []
    for (const name of await readdir(dir)) {
      if (!name.startsWith(prefix)) continue
      const match = STAMP.exec(name.slice(prefix.length))
      if (match === null) continue
      const info = await lstat(join(dir, name)).catch(() => undefined)
      if (info === undefined) continue
      const stamp = match[1] ?? ''
      copies.push({ name, stamp, n: Number(match[2] ?? 0), folder: info.isDirectory() })
    }
    if (copies.length <= KEPT_ASIDE) return
    copies.sort((a, b) => (a.stamp === b.stamp ? b.n - a.n : a.stamp < b.stamp ? 1 : -1))
    const spared = spare == null ? undefined : basename(spare)
    let kept = copies.some((copy) => copy.name === spared) ? 1 : 0
    for (const copy of copies) {
      if (copy.name === spared) continue
      if (kept < KEPT_ASIDE) {
        kept++
        continue
      }
      const entry = join(dir, copy.name)
      // rm walks a folder without following the links inside it; anything else (a file, a
      // link, even one to a folder) is one directory entry, which unlink removes as it is.
      await (copy.folder ? rm(entry, { recursive: true, force: true }) : unlink(entry)).catch(
        () => undefined,
      )
    }
  } catch {
    // Best effort: a folder we cannot list keeps its copies, and the record is unaffected.
  }
}
