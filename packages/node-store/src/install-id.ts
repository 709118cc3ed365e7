import { randomBytes } from 'node:crypto'
import { link, open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { KeygateError } from '@keygate/core'
import { pruneAside } from './aside-copies.js'
import { ensureDir, syncDir } from './durable-fs.js'
import { describeFsError, errnoCode, isErrno } from './errno.js'

/** The fallback id's file name inside its folder. */
const INSTALL_ID_FILE = 'install-id'

const ID_PATTERN = /^[0-9a-f]{32}$/

/**
 * A random id for this install, created once and kept in `dir`: the machine id of
 * last resort when the OS has none we can read. Safe when several processes start
 * at once: exactly one id wins and everyone reads it.
 */
export async function installId(dir: string): Promise<string> {
  const file = join(dir, INSTALL_ID_FILE)
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await readId(file)
      if (existing !== null && existing !== 'invalid') return existing
      if (existing === 'invalid') {
        // Maybe a writer on a filesystem without hard links is halfway through: look again.
        await new Promise((resolve) => setTimeout(resolve, 50))
        if ((await readId(file)) === 'invalid') {
          // Damaged for good. Nothing can recover the old id, so start a new one, but
          // keep the damaged file for diagnosis rather than overwrite it (the newest few).
          const aside = `${file}.unreadable-${Date.now()}`
          await rename(file, aside).catch(() => undefined)
          await pruneAside(file, aside)
        }
        continue
      }
      await create(dir, file)
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

async function readId(file: string): Promise<string | 'invalid' | null> {
  try {
    const text = (await readFile(file, 'utf8')).trim()
    return ID_PATTERN.test(text) ? text : 'invalid'
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw error
  }
}

/** Publishes a fully written id under `file` unless one is already there. */
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
