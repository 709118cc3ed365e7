// Copies moved aside (`<file>.unreadable-<time>`) are kept for support, but a loop of
// resets (a broken disk, a tamper loop) would otherwise pile them up without bound.
import { lstat, readdir, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** How many moved-aside copies of one file are kept: the newest. */
const KEPT_ASIDE = 5

// The time keygate puts in the name, ISO without colons (the record, the lock) or ms since
// the epoch (the install id), then the `-<n>` a second copy of the same time gets. Nothing
// else is ours, even with our prefix: a name a user gave a copy by hand is left alone.
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
