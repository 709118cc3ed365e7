import { lstat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  type Grant,
  KeygateError,
  maskKey,
  type PendingActivation,
  parseGrant,
  parsePendingRecord,
} from '@keygate/core'
import { appDataDir, createFileStore } from '@keygate/node-store'
import { UsageError } from './usage.js'

/**
 * Finds and reads the license record an app keeps on this machine, without changing
 * anything: no lock, no quarantine, no write (the app does that on its next start).
 */

/** What @keygate/electron-adapter puts before a record encrypted with safeStorage. */
const ELECTRON_ENCRYPTED_HEADER = 'keygate-safestorage:1\n'

export type Unreadable = 'encrypted' | 'not_json' | 'newer_version' | 'invalid' | 'store'

/** Where the app keeps its record: `--dir`, or `--app-name`; `--name` of the file. */
export interface RecordLocation {
  dir?: string | undefined
  appName?: string | undefined
  name?: string | undefined
}

export type LocalRecord =
  /** `pending`: the app was cut short during an activation, which may hold a seat. */
  | { kind: 'none'; path: string; searched: string[]; pending?: PendingActivation | undefined }
  | { kind: 'grant'; path: string; dir: string; grant: Grant }
  | { kind: 'unreadable'; path: string; problem: Unreadable; message: string }

/**
 * Electron's `app.getPath('userData')` for an app name: where @keygate/electron-adapter
 * keeps the record by default. It differs from node-store's data folder on Linux and Windows.
 */
function electronUserData(
  appName: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  switch (process.platform) {
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', appName)
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), appName)
    default:
      return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), appName)
  }
}

function candidates(
  { dir, appName }: RecordLocation,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  if (dir !== undefined && appName !== undefined) {
    throw new UsageError('Use either --dir or --app-name, not both.', 'status')
  }
  if (dir !== undefined) return [resolve(dir)]
  if (appName !== undefined) {
    const dirs = [usage(() => appDataDir(appName)), electronUserData(appName, env)]
    return [...new Set(dirs)]
  }
  throw new UsageError(
    'keygate status needs --dir DIR (the folder holding the license record) or --app-name NAME.',
    'status',
  )
}

/** node-store refuses unsafe names with invalid_input; for the CLI that is a usage error. */
function usage<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (error instanceof KeygateError && error.code === 'invalid_input') {
      throw new UsageError(error.message.replace(/^\[keygate\] /, ''), 'status')
    }
    throw error
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  )
}

export async function readLocalRecord(
  location: RecordLocation,
  env: Readonly<Record<string, string | undefined>>,
): Promise<LocalRecord> {
  const name = location.name ?? 'license'
  const stores = candidates(location, env).map((dir) => usage(() => createFileStore({ dir, name })))
  let store = stores[0]
  for (const candidate of stores) {
    if (await exists(candidate.path)) {
      store = candidate
      break
    }
  }
  if (store === undefined) throw new UsageError('No folder to look in.', 'status')
  let text: string | null
  try {
    text = await store.read()
  } catch (error) {
    const message =
      error instanceof Error ? error.message.replace(/^\[keygate\] /, '') : String(error)
    return { kind: 'unreadable', path: store.path, problem: 'store', message }
  }
  if (text === null) return { kind: 'none', path: store.path, searched: stores.map((s) => s.path) }
  if (text.startsWith(ELECTRON_ENCRYPTED_HEADER)) {
    return {
      kind: 'unreadable',
      path: store.path,
      problem: 'encrypted',
      message:
        'the record is encrypted with the OS keyring (Electron safeStorage), which only the ' +
        'app itself can decrypt',
    }
  }
  const parsedGrant = parseGrant(text)
  const pending = parsedGrant.ok ? undefined : parsePendingRecord(text)
  if (pending !== undefined) return { kind: 'none', path: store.path, searched: [], pending }
  if (!parsedGrant.ok) {
    const message = scrubKey(text, parsedGrant.message)
    return { kind: 'unreadable', path: store.path, problem: parsedGrant.problem, message }
  }
  return { kind: 'grant', path: store.path, dir: store.dir, grant: parsedGrant.grant }
}

/** A validation message may quote a field's value: never let it quote the license key. */
function scrubKey(text: string, message: string): string {
  let key: unknown
  try {
    const json: unknown = JSON.parse(text)
    key = typeof json === 'object' && json !== null ? (json as { key?: unknown }).key : undefined
  } catch {
    return message
  }
  return typeof key === 'string' && key.length > 0 ? message.split(key).join(maskKey(key)) : message
}
