import type { Stats } from 'node:fs'
import { lstat, mkdir, rmdir } from 'node:fs/promises'
import { KeygateError } from '@keygate/core'
import { renameAside } from './aside-copies.js'
import { ensureDir, writeHint } from './durable-fs.js'
import { describeFsError, errnoCode } from './errno.js'

export interface FileLockSettings {
  /** The file the lock protects (it may not exist yet). */
  file: string
  /** The lock itself: a folder proper-lockfile creates next to `file`. */
  lockPath: string
  /** Folder holding both, created when missing. */
  dir: string
  /** A lock not refreshed for this long belongs to a dead process and is taken over. */
  staleMs: number
  /** Longest wait for the lock, in-process queue included. */
  timeoutMs: number
}

// proper-lockfile (with graceful-fs, which patches fs on load) is slow to import:
// loaded on the first lock, so the read-only start-up check never pays for it.
const importLockfile = () => import('proper-lockfile')
let lockfileModule: ReturnType<typeof importLockfile> | undefined
const loadLockfile = () => {
  lockfileModule ??= importLockfile()
  return lockfileModule
}

// proper-lockfile refuses a second acquire of the same lock from one process (it sees
// its own folder and answers ELOCKED), so holders in this process queue here first.
const queues = new Map<string, Promise<void>>()

/** Runs `fn` holding the lock, exclusive across processes and within this one. */
export async function withFileLock<T>(
  settings: FileLockSettings,
  fn: () => Promise<T>,
): Promise<T> {
  // On the monotonic clock: setting the wall clock back must not stretch the wait.
  const deadline = performance.now() + settings.timeoutMs
  const previous = queues.get(settings.lockPath) ?? Promise.resolve()
  let endTurn = (): void => undefined
  const turn = new Promise<void>((resolve) => {
    endTurn = resolve
  })
  const tail = previous.then(() => turn)
  queues.set(settings.lockPath, tail)
  try {
    await beforeDeadline(previous, deadline, () => busyInProcess(settings))
    const held = await acquire(settings, deadline)
    let outcome: { ok: true; value: T } | { ok: false; error: unknown }
    try {
      outcome = { ok: true, value: await fn() }
    } catch (error) {
      outcome = { ok: false, error }
    }
    await held.release()
    const compromised = held.compromised()
    if (compromised !== undefined) throw compromisedError(settings, compromised)
    if (!outcome.ok) throw outcome.error
    return outcome.value
  } finally {
    endTurn()
    if (queues.get(settings.lockPath) === tail) queues.delete(settings.lockPath)
  }
}

interface HeldLock {
  release(): Promise<void>
  /** Set when proper-lockfile found the lock taken over or removed while held. */
  compromised(): Error | undefined
}

async function acquire(settings: FileLockSettings, deadline: number): Promise<HeldLock> {
  const { lock: lockFile } = await loadLockfile()
  await ensureDir(settings.dir).catch((error: unknown) => {
    throw new KeygateError(
      'store',
      `Could not create the license folder ${settings.dir} (${describeFsError(error)}). ${writeHint(errnoCode(error), settings.dir)}`,
      { cause: error },
    )
  })
  let compromised: Error | undefined
  const onCompromised = (error: Error) => {
    compromised = error
  }
  let delay = 25
  const watched: Watched = {}
  for (;;) {
    // Why the next wait may end in failure: a held lock, or something that is not one.
    let waitingOn: () => KeygateError = () => heldElsewhere(settings)
    const obstacle = await obstacleAt(settings)
    if (obstacle === 'cleared') continue
    if (obstacle === undefined) {
      const stale = await staleLock(settings, watched)
      const release =
        stale === undefined
          ? await tryLock(lockFile, settings, onCompromised)
          : await takeOver(lockFile, settings, stale, onCompromised)
      if (release !== undefined) {
        return {
          release: () => release().catch(() => undefined), // a compromised lock is already gone
          compromised: () => compromised,
        }
      }
    } else if (obstacle.wait) {
      waitingOn = () => obstacle.error
    } else {
      throw obstacle.error
    }
    const remaining = deadline - performance.now()
    if (remaining <= 0) throw waitingOn()
    // Jittered backoff so processes that collided do not retry in lockstep.
    await sleep(Math.min(delay * (0.5 + Math.random()), remaining))
    delay = Math.min(delay * 2, 500)
  }
}

type LockFn = Awaited<ReturnType<typeof loadLockfile>>['lock']

/**
 * proper-lockfile takes over a stale lock by stat, then rmdir, then mkdir: two processes
 * that both saw it stale can both hold it, the second removing the first's fresh lock. So
 * keygate never lets it take over (it is given a stale time nothing reaches, and only
 * makes the folder): a stale lock is removed here, by whoever holds the takeover folder
 * (`<lock>.takeover`, made with mkdir), so one process at a time, and while it holds that,
 * nobody else removes the lock.
 */
const NEVER_STALE = Number.MAX_SAFE_INTEGER

/** The lock folder as last seen, and when (monotonic ms) it was first seen so. */
interface Watched {
  seen?: { ino: number; mtimeMs: number; since: number }
}

/**
 * The lock folder's identity when it is stale: not refreshed for `staleMs`. Judged by its
 * time against the clock, or, for a time the clock cannot judge (stamped in the future: the
 * clock was set back since), by watching it stay unchanged for `staleMs` on the monotonic
 * clock. A live holder refreshes it every quarter of that.
 */
async function staleLock(
  settings: FileLockSettings,
  watched: Watched,
): Promise<{ ino: number; mtimeMs: number } | undefined> {
  let info: Stats
  try {
    info = await lstat(settings.lockPath)
  } catch {
    return undefined
  }
  if (!info.isDirectory()) return undefined
  const { ino, mtimeMs } = info
  const now = performance.now()
  const seen = watched.seen
  if (seen === undefined || seen.ino !== ino || seen.mtimeMs !== mtimeMs) {
    watched.seen = { ino, mtimeMs, since: now }
  }
  const unchanged = now - (watched.seen?.since ?? now)
  return Date.now() - mtimeMs > settings.staleMs || unchanged > settings.staleMs
    ? { ino, mtimeMs }
    : undefined
}

async function takeOver(
  lockFile: LockFn,
  settings: FileLockSettings,
  stale: { ino: number; mtimeMs: number },
  onCompromised: (error: Error) => void,
): Promise<(() => Promise<void>) | undefined> {
  const takeover = `${settings.lockPath}.takeover`
  try {
    await mkdir(takeover)
  } catch (error) {
    // Not creatable (a read-only folder): an attempt that can only mkdir says what is wrong.
    if (errnoCode(error) !== 'EEXIST') return tryLock(lockFile, settings, onCompromised)
    // Held for a few milliseconds only: one this old was left by a taker that crashed.
    const info = await lstat(takeover).catch(() => undefined)
    if (info !== undefined && Math.abs(Date.now() - info.mtimeMs) > settings.staleMs) {
      await rmdir(takeover).catch(() => undefined)
    }
    return undefined
  }
  try {
    // Still the lock judged stale (not one made since by a holder that just released it)?
    const now = await lstat(settings.lockPath).catch(() => undefined)
    if (now?.ino === stale.ino && now.mtimeMs === stale.mtimeMs) {
      await rmdir(settings.lockPath).catch(() => undefined)
    }
    return await tryLock(lockFile, settings, onCompromised)
  } finally {
    await rmdir(takeover).catch(() => undefined)
  }
}

/** One attempt: the release function, or undefined when the lock is busy (try again). */
async function tryLock(
  lockFile: LockFn,
  settings: FileLockSettings,
  onCompromised: (error: Error) => void,
): Promise<(() => Promise<void>) | undefined> {
  try {
    return await lockFile(settings.file, {
      realpath: false, // the record may not exist yet
      lockfilePath: settings.lockPath,
      stale: NEVER_STALE, // stale locks are taken over by takeOver, one process at a time
      // Refresh at a quarter of the stale window, so a busy event loop or a short
      // system sleep can miss two refreshes before another process may take over.
      update: Math.max(1000, Math.floor(settings.staleMs / 4)),
      retries: 0, // the caller's loop, bounded by the deadline
      // The default throws from a timer and would crash the app: record it instead.
      onCompromised,
    })
  } catch (error) {
    const code = errnoCode(error)
    // ENOTDIR, EEXIST: something other than a folder appeared at the lock path since it
    // was looked at; the next round looks again.
    if (code === 'ELOCKED' || code === 'ENOTDIR' || code === 'EEXIST') return undefined
    if (code === 'ENOENT') {
      // The folder vanished between ensureDir and the lock: recreate it and try again.
      await ensureDir(settings.dir).catch(() => undefined)
      return undefined
    }
    throw new KeygateError(
      'store',
      `Could not take the license lock ${settings.lockPath} (${describeFsError(error)}). ${writeHint(code, settings.dir)}`,
      { cause: error },
    )
  }
}

type Obstacle = { wait: boolean; error: KeygateError }

/**
 * What stands at the lock path when it is not a lock folder. proper-lockfile only ever
 * makes a folder there, so anything else (a file, a symbolic link, a FIFO) is held by no
 * instance of the app; left alone it would refuse every lock for good. A link is moved
 * aside at once (the link itself: nothing is done to what it points to), and so is
 * anything else of this user's that nothing has changed for the stale window, the rule
 * that frees a crashed instance's lock. A young one is waited on like a held lock;
 * another user's is left alone. `undefined`: nothing there, or a real lock folder.
 */
async function obstacleAt(settings: FileLockSettings): Promise<Obstacle | 'cleared' | undefined> {
  let info: Stats
  try {
    info = await lstat(settings.lockPath)
  } catch {
    return undefined // missing; any other failure, proper-lockfile reports in its words
  }
  if (info.isDirectory()) return undefined
  const what = kindOf(info)
  const uid = process.getuid?.()
  if (!info.isSymbolicLink() && uid !== undefined && info.uid !== uid) {
    return {
      wait: false,
      error: new KeygateError(
        'store',
        `${settings.lockPath} should be the license lock, a folder, but it is ${what} that belongs to another user account, so keygate leaves it alone. Delete it (this may need an administrator), then try again.`,
      ),
    }
  }
  const age = Date.now() - info.mtimeMs
  if (info.isSymbolicLink() || age > settings.staleMs) {
    try {
      await renameAside(settings.lockPath)
      return 'cleared'
    } catch (error) {
      return {
        wait: false,
        error: new KeygateError(
          'store',
          `${settings.lockPath} should be the license lock, a folder, but it is ${what}, and it could not be moved aside (${describeFsError(error)}). Delete it, then try again.`,
          { cause: error },
        ),
      }
    }
  }
  return {
    wait: true,
    error: new KeygateError(
      'store',
      `${settings.lockPath} should be the license lock, a folder, but it is ${what}, changed ${seconds(Math.max(0, age))} ago. No instance of the app holds it, but another program may be using it: keygate moves it aside by itself once nothing has changed it for ${seconds(settings.staleMs)}. To go on now, delete it and try again.`,
    ),
  }
}

function kindOf(info: Stats): string {
  if (info.isSymbolicLink()) return 'a symbolic link'
  if (info.isFile()) return 'a file'
  if (info.isFIFO()) return 'a named pipe'
  if (info.isSocket()) return 'a socket'
  return 'a special file'
}

async function beforeDeadline(
  promise: Promise<void>,
  deadline: number,
  onTimeout: () => KeygateError,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - performance.now()))
  })
  try {
    await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`

function heldElsewhere(settings: FileLockSettings): KeygateError {
  return new KeygateError(
    'store',
    `Another instance of the app is holding the license lock (${settings.lockPath}); gave up after ${seconds(settings.timeoutMs)}. Close other instances and try again. A lock left by a crashed instance is taken over once it is ${seconds(settings.staleMs)} old.`,
  )
}

function busyInProcess(settings: FileLockSettings): KeygateError {
  return new KeygateError(
    'store',
    `Another license operation in this process held the license lock (${settings.lockPath}) for over ${seconds(settings.timeoutMs)}. lock() is not reentrant: never call it from inside its own callback.`,
  )
}

function compromisedError(settings: FileLockSettings, cause: Error): KeygateError {
  return new KeygateError(
    'store',
    `The license lock (${settings.lockPath}) was lost while this operation held it: it was not refreshed within ${seconds(settings.staleMs)} (a frozen process or a system sleep?) and another instance may have taken it over. The operation may have raced that instance; check the license again.`,
    { cause },
  )
}
