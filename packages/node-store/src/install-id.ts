import { randomBytes } from 'node:crypto'
import { link, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { KeygateError } from '@keygate/core'
import { renameAside } from './aside-copies.js'
import { ensureDir, syncDir } from './durable-fs.js'
import { describeFsError, isErrno } from './errno.js'
import { readOwnedFile, UNUSABLE } from './owned-file.js'

/** The fallback id's file name inside its folder. */
const INSTALL_ID_FILE = 'install-id'

const ID_PATTERN = /^[0-9a-f]{32}$/
/** An id is 33 bytes; a file much larger is not one, and not worth reading. */
const MAX_ID_BYTES = 1024

/**
 * A random id for this install, created once and kept in `dir`: the machine id of
 * last resort when the OS has none we can read. Safe when several processes start
 * at once: exactly one id wins and everyone reads it.
 */
export async function installId(dir: string): Promise<string> {
  const file = join(dir, INSTALL_ID_FILE)
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      let existing = await readId(file)
      if (existing === 'invalid') {
        // Maybe a writer on a filesystem without hard links is halfway through: look again.
        await new Promise((resolve) => setTimeout(resolve, 50))
        existing = await readId(file)
      }
      if (existing === null) {
        await create(dir, file)
      } else if (existing === 'invalid' || existing === UNUSABLE) {
        // Damaged for good, or never ours (a link, read through, would lend this install
        // another's id). Nothing can recover the old id, so start a new one, but keep what
        // was there for diagnosis rather than overwrite it: a link moved as a link.
        await renameAside(file)
      } else {
        return existing
      }
    }
  } catch (error) {
    throw new KeygateError(
      'store',
      `No OS machine id could be read and the install id in ${dir} could not be kept (${describeFsError(error)}). Check that this user may write there.`,
      { cause: error },
    )
  }
  throw new KeygateError('store', `The install id in ${dir} keeps changing under us; try again.`)
}

async function readId(file: string): Promise<string | 'invalid' | typeof UNUSABLE | null> {
  const bytes = await readOwnedFile(file, MAX_ID_BYTES)
  if (bytes === null || bytes === UNUSABLE) return bytes
  const text = bytes.toString('utf8').trim()
  return ID_PATTERN.test(text) ? text : 'invalid'
}

/**
 * Publishes a fully written id under `file` unless one is already there. Never through a
 * link: link() and an exclusive create both fail on one (EEXIST), as on any entry.
 */
async function create(dir: string, file: string): Promise<void> {
  await ensureDir(dir)
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
  await writeDurably(temp, 'wx')
  try {
    // link() is create-if-absent and atomic: the id appears complete or not at all,
    // and a second process's link fails with EEXIST instead of replacing the winner's.
    await link(temp, file)
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) {
      // No hard links here (FAT, some network shares): exclusive create instead.
      await writeDurably(file, 'wx').catch((inner: unknown) => {
        if (!isErrno(inner, 'EEXIST')) throw inner
      })
    }
  } finally {
    await unlink(temp).catch(() => undefined)
  }
  await syncDir(dir).catch(() => undefined)
}

async function writeDurably(file: string, flag: 'wx'): Promise<void> {
  const handle = await open(file, flag, 0o600)
  try {
    await handle.writeFile(`${randomBytes(16).toString('hex')}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
}
