import { lstat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { KeygateError, type LicenseStore } from '@keygate/core'
import {
  DEFAULT_STORE_NAME,
  ENCRYPTED_HEADER,
  electronUserDataDir,
} from '@keygate/electron-adapter'
import { appDataDir, createFileStore, type FileStore } from '@keygate/node-store'
import { UsageError } from './usage.js'

/**
 * Finds the license record an app keeps on this machine. Reading it is core's job
 * (`inspectRecord`); this file only says where to look and which store to hand over.
 */

/** Where the app keeps its record: `--dir`, or `--app-name`; `--name` of the file. */
export interface RecordLocation {
  dir?: string | undefined
  appName?: string | undefined
  name?: string | undefined
}

export interface FoundStore {
  /** The file store at the record's place, for `--online` (the app's own store). */
  store: FileStore
  /** The same, read-only as far as keygate status goes, and aware of Electron's encryption. */
  readable: LicenseStore
  /** Every record path looked at, in order. */
  searched: string[]
}

/** What the store says of a record sealed by @keygate/electron-adapter's safeStorage. */
const ENCRYPTED_WHY =
  'the record is encrypted with the OS keyring (Electron safeStorage), which only the app itself can decrypt'

function candidates(
  { dir, appName }: RecordLocation,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  if (dir !== undefined && appName !== undefined) {
    throw new UsageError('Use either --dir or --app-name, not both.', 'status')
  }
  if (dir !== undefined) return [resolve(dir)]
  if (appName !== undefined) {
    const dirs = [usage(() => appDataDir(appName)), electronUserDataDir(appName, { env })]
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

/** The first place that holds a record, else the first place looked at. Reads nothing. */
export async function findStore(
  location: RecordLocation,
  env: Readonly<Record<string, string | undefined>>,
): Promise<FoundStore> {
  const name = location.name ?? DEFAULT_STORE_NAME
  const stores = candidates(location, env).map((dir) => usage(() => createFileStore({ dir, name })))
  let store = stores[0]
  for (const candidate of stores) {
    if (await exists(candidate.path)) {
      store = candidate
      break
    }
  }
  if (store === undefined) throw new UsageError('No folder to look in.', 'status')
  return { store, readable: sealedAware(store), searched: stores.map((s) => s.path) }
}

/**
 * An encrypted record is intact but not readable here: the store says so (a foreign
 * record, in core's terms) instead of handing core text that would look damaged.
 */
function sealedAware(store: FileStore): LicenseStore {
  return {
    read: async () => {
      const text = await store.read()
      if (typeof text === 'string' && text.startsWith(ENCRYPTED_HEADER)) {
        return { foreign: true, why: ENCRYPTED_WHY }
      }
      return text
    },
    write: () => Promise.reject(new Error('keygate status never writes the record')),
    clear: () => Promise.reject(new Error('keygate status never clears the record')),
    lock: () => Promise.reject(new Error('keygate status never locks the record')),
  }
}
