import { hostname } from 'node:os'
import { KeygateError, type Machine } from '@keygate/core'
import envPaths from 'env-paths'
import {
  type CachedFingerprint,
  readCachedFingerprint,
  writeCachedFingerprint,
} from './fingerprint-cache.js'
import { defaultMachineIdSources, type MachineIdSource } from './machine-id-sources.js'
import { type LocationOptions, resolveDir } from './paths.js'

export interface NodeMachineOptions extends LocationOptions {
  /**
   * Mixed into the hash so the fingerprint is yours alone: another app (or a leaked
   * record) cannot link it to the raw machine id or to other apps' fingerprints.
   * Any constant string, e.g. your app id. Changing it changes every fingerprint.
   */
  salt: string
  /** The activation label shown in Polar. Default: the host name. */
  label?: string | undefined
  /** Where to look for the OS machine id, in order. Default: the platform's own sources. */
  sources?: readonly MachineIdSource[] | undefined
  /** Longest wait for one source, in ms. Default 3000. */
  timeoutMs?: number | undefined
  /**
   * Keep the fingerprint in `dir` so later starts answer `fingerprint()` without reading
   * the sources or hashing; `verify()` re-derives it in the background. Default: on.
   */
  cache?: boolean | undefined
}

/** A `Machine` that also says which source its fingerprint came from. */
export interface NodeMachine extends Machine {
  /** The source used: e.g. `/etc/machine-id`, `MachineGuid`, or `install-id` for the fallback. */
  source(): Promise<string>
  /**
   * The fingerprint derived from the id sources now, whatever the cache said (it may run
   * `ioreg` / `reg.exe`: never on the start-up path). When it differs from what
   * `fingerprint()` answered, the cache is replaced and later calls answer the new value.
   * Rejects with a `store` error when no OS source can be read now although the cached
   * value came from one: that says nothing about the machine, so it is not a mismatch.
   */
  verify(): Promise<string>
}

const DEFAULT_LABEL = 'This device'
/** `source()` for the fallback id: the name of the file it is kept in. */
const INSTALL_ID_SOURCE = 'install-id'
const DEFAULT_TIMEOUT_MS = 3000

/**
 * The machine as Node sees it: the fingerprint is a salted SHA-256 of the OS machine
 * id, falling back to a random install id kept in `dir` (or `appName`'s data folder;
 * default: a `keygate` data folder shared by apps, harmless since ids are salted).
 */
export function nodeMachine(options: NodeMachineOptions): NodeMachine {
  const { salt } = options
  if (typeof salt !== 'string' || salt.length === 0) {
    throw new KeygateError('invalid_input', 'nodeMachine needs a non-empty salt, e.g. your app id.')
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new KeygateError(
      'invalid_input',
      'nodeMachine timeoutMs must be a positive number of ms.',
    )
  }
  const fallbackDir =
    options.dir !== undefined || options.appName !== undefined
      ? resolveDir(options, 'nodeMachine')
      : envPaths('keygate', { suffix: '' }).data
  const label = sanitizeLabel(options.label ?? safeHostname())

  // On every OS: a hit answers without a command (macOS, Windows) and without a SHA-256,
  // whose builtins cost a fresh process more than the rest of the check.
  const useCache = options.cache ?? true

  /**
   * Reads the sources and hashes the id. The raw id lives only in here. The reader and
   * the hash load on the first miss (or verify()): a start that hits the cache loads neither.
   */
  const derive = async (): Promise<Found> => {
    // Chosen now, not at construction: the cache decides most starts without them.
    const sources = options.sources ?? defaultMachineIdSources()
    const [{ id, source }, { sha256Hex }] = await Promise.all([
      machineId(sources, timeoutMs, fallbackDir),
      import('./sha256-hex.js'),
    ])
    return { fingerprint: await sha256Hex(`${salt}:${id}`), source, derived: true }
  }
  const remember = (value: CachedFingerprint) =>
    writeCachedFingerprint(fallbackDir, salt, value).catch(() => undefined) // a miss next time

  let found: Promise<Found> | undefined
  const find = () => {
    if (found !== undefined) return found
    const pending = (async (): Promise<Found> => {
      const cached = useCache ? readCachedFingerprint(fallbackDir, salt) : undefined
      if (cached !== undefined) return { ...cached, derived: false }
      const fresh = await derive()
      if (useCache) await remember(fresh)
      return fresh
    })()
    found = pending
    // A failure (e.g. a read-only disk for the install id) is retried on the next call.
    pending.catch(() => {
      if (found === pending) found = undefined
    })
    return pending
  }

  let verifying: Promise<string> | undefined
  const verify = async (): Promise<string> => {
    const current = await find().catch(() => undefined)
    if (current?.derived === true) return current.fingerprint // read from the sources already
    const fresh = await derive()
    if (
      current !== undefined &&
      current.source !== INSTALL_ID_SOURCE &&
      fresh.source === INSTALL_ID_SOURCE
    ) {
      throw new KeygateError(
        'store',
        "This machine's id could not be read to confirm the remembered fingerprint; it is confirmed on a later start.",
      )
    }
    found = Promise.resolve(fresh)
    if (useCache && fresh.fingerprint !== current?.fingerprint) await remember(fresh)
    return fresh.fingerprint
  }

  return {
    fingerprint: async () => (await find()).fingerprint,
    label: async () => label,
    source: async () => (await find()).source,
    verify: () => {
      verifying ??= verify().finally(() => {
        verifying = undefined
      })
      return verifying
    },
  }
}

interface Found extends CachedFingerprint {
  /** Read from the sources by this instance, rather than from the cache. */
  derived: boolean
}

/** The OS machine id, else the install id kept in `fallbackDir`. */
async function machineId(
  sources: readonly MachineIdSource[],
  timeoutMs: number,
  fallbackDir: string,
): Promise<{ id: string; source: string }> {
  const { readMachineId } = await import('./machine-id.js')
  const found = await readMachineId(sources, timeoutMs)
  if (found !== null) return found
  // Loaded only here: creating the id needs node:crypto and the write helpers, which a
  // machine with a readable OS id never uses.
  const { installId } = await import('./install-id.js')
  return { id: `install:${await installId(fallbackDir)}`, source: INSTALL_ID_SOURCE }
}

function safeHostname(): string {
  try {
    return hostname()
  } catch {
    return DEFAULT_LABEL
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it strips
const CONTROL_CHARS = /[\u0000-\u001f\u007f]+/g
/**
 * core's LABEL_MAX_LENGTH (a test holds them equal). Not imported: core's label rules
 * share a module with its request checks, which a bundler would then load at start.
 */
const LABEL_MAX_LENGTH = 255

/** Printable, single-line, no NUL (Polar refuses it), at most LABEL_MAX_LENGTH characters. */
function sanitizeLabel(raw: string): string {
  const clean = raw.replace(CONTROL_CHARS, ' ').replace(/\s+/g, ' ').trim()
  // Cut between code points, as Polar counts them: never inside a surrogate pair.
  const cut = (
    clean.length <= LABEL_MAX_LENGTH ? clean : Array.from(clean).slice(0, LABEL_MAX_LENGTH).join('')
  ).trim()
  return cut.length > 0 ? cut : DEFAULT_LABEL
}
