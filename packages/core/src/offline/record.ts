import { isKeygateError, KeygateError } from '../errors.js'
import { isForeignRecord, type LicenseStore } from '../store.js'
import { type Grant, parseGrant, serializeGrant } from './grant.js'
import { type PendingActivation, parsePendingRecord, serializePendingRecord } from './pending.js'
import type { InactiveState } from './state.js'

/**
 * The one module that talks to the `LicenseStore`. Everything else reads the record
 * through `read()` (no lock) and changes it only inside `locked()`, whose callback gets
 * the `LockedRecord`: a function that takes a `LockedRecord` runs inside the lock.
 */

/** What a store holds, as far as licensing is concerned. */
export type StoredRecord =
  /** `pending`: an activation was sent and never answered (see pending.ts). */
  | { kind: 'empty'; pending?: PendingActivation | undefined }
  | { kind: 'grant'; grant: Grant }
  /** Intact but not readable here (e.g. encrypted by another machine): reported, kept. */
  | { kind: 'foreign'; why: string }
  /** Damaged, unknown, or written by a newer keygate: moved aside, never overwritten. */
  | {
      kind: 'damaged'
      /** Short, for a person. */
      problem: string
      /** Everything known, kept with the quarantined record. */
      reason: string
    }

/** The record inside the store's lock: the only place it may change. */
export interface LockedRecord {
  /** Re-reads the record: another process may have changed it before the lock was ours. */
  read(): Promise<StoredRecord>
  write(grant: Grant): Promise<void>
  /** Writes a record holding only the note of an activation about to be sent. */
  writePending(pending: PendingActivation): Promise<void>
  clear(): Promise<void>
  /**
   * Moves the stored record aside (the store's quarantine). Returns where it went, or null
   * when nothing was moved (no record, or a store without quarantine: then the record
   * stays until the next write replaces it).
   */
  moveAside(reason: string): Promise<string | null>
}

export interface RecordAccess {
  /** Reads and parses the record without the lock. Never throws. */
  read(): Promise<StoredRecord>
  /** Runs `fn` inside the store's lock (exclusive across processes; not reentrant). */
  locked<T>(fn: (record: LockedRecord) => Promise<T>): Promise<T>
}

export function recordAccess(store: LicenseStore): RecordAccess {
  const read = () => readRecord(store)
  const locked: LockedRecord = {
    read,
    write: (grant) => store.write(serializeGrant(grant)),
    writePending: (pending) => store.write(serializePendingRecord(pending)),
    clear: () => store.clear(),
    moveAside: (reason) => (store.quarantine ? store.quarantine(reason) : Promise.resolve(null)),
  }
  return { read, locked: (fn) => store.lock(() => fn(locked)) }
}

/** Reads and parses a store's record. Never throws. */
export async function readRecord(store: LicenseStore): Promise<StoredRecord> {
  let text: string | null
  try {
    const stored = await store.read()
    if (isForeignRecord(stored)) return { kind: 'foreign', why: stored.why }
    text = stored
  } catch (error) {
    const problem = `the store could not read it: ${messageOf(error)}`
    return { kind: 'damaged', problem, reason: problem }
  }
  if (text === null) return { kind: 'empty' }
  const parsed = parseGrant(text)
  if (parsed.ok) return { kind: 'grant', grant: parsed.grant }
  const pending = parsed.problem === 'invalid' ? parsePendingRecord(text) : undefined
  if (pending !== undefined) return { kind: 'empty', pending }
  const problem =
    parsed.problem === 'not_json'
      ? 'it is not valid JSON'
      : parsed.problem === 'invalid'
        ? 'it is not a keygate license record'
        : parsed.message
  return { kind: 'damaged', problem, reason: parsed.message }
}

export const NOT_ACTIVATED: InactiveState = Object.freeze({
  status: 'inactive',
  reason: 'not_activated',
})

/** The state a record that is not ours to read implies, with the store's explanation. */
export function foreignState(why: string): InactiveState {
  return { status: 'inactive', reason: 'machine_mismatch', note: { kind: 'foreign', why } }
}

/**
 * Moves a damaged record aside and says so. Never throws: if even that fails, the state
 * carries the store's error and the record stays where it was.
 */
export async function quarantineDamaged(
  record: LockedRecord,
  { problem, reason }: { problem: string; reason: string },
): Promise<InactiveState> {
  try {
    const where = await record.moveAside(reason)
    return {
      status: 'inactive',
      reason: 'not_activated',
      note: { kind: 'unreadable', problem, ...(where === null ? {} : { movedTo: where }) },
    }
  } catch (error) {
    return {
      status: 'inactive',
      reason: 'not_activated',
      note: { kind: 'unreadable', problem },
      error: asStoreError(error, 'The unreadable license record could not be moved aside'),
    }
  }
}

export function asStoreError(error: unknown, what: string): KeygateError {
  if (isKeygateError(error)) return error
  return new KeygateError('store', `${what}: ${messageOf(error)}.`, { cause: error })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.replace(/^\[keygate\] /, '') : String(error)
}
