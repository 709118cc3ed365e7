import { isKeygateError, KeygateError } from '../errors.js'
import { isForeignRecord, type LicenseStore } from '../store.js'
import { type Grant, parseRecord, recordBody, serializeGrant } from './grant.js'
import {
  deriveKeys,
  type Integrity,
  type Keychain,
  macOf,
  openKey,
  type RecordKeys,
  sameMac,
  sealKey,
  tagIntegrity,
} from './integrity.js'
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
  | {
      kind: 'grant'
      grant: Grant
      /** What the record's trust rests on (`keychain`: its MAC verified). */
      integrity: Integrity
      /**
       * True for a record without a MAC read where a keychain exists (an older record, or
       * one whose MAC was removed): it is revalidated at the next online check.
       */
      unsigned?: boolean
    }
  /** Intact but not readable here (e.g. encrypted by another machine): reported, kept. */
  | { kind: 'foreign'; why: string }
  /** Damaged, unknown, edited outside keygate, or written by a newer keygate: moved aside, never overwritten. */
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
  /**
   * Writes the grant, sealed and signed with the keychain key where there is one. A grant
   * read without a MAC keeps none until it carries a new validation: a write of the clock
   * mark or a verdict must not sign what nobody verified.
   */
  write(grant: Grant): Promise<void>
  /** Writes a record holding only the note of an activation about to be sent. */
  writePending(pending: PendingActivation): Promise<void>
  /**
   * Writes the note of a seat Polar has just given (see pending.ts) with the store's
   * `writeQuick`, which only has to survive a killed process, and resolves true. Resolves
   * false, writing nothing, for a store without `writeQuick`: its durable write of the
   * grant, which comes next, would be no later than a second durable write of the note.
   */
  writeQuickNote(pending: PendingActivation): Promise<boolean>
  clear(): Promise<void>
  /**
   * Moves the stored record aside (the store's quarantine). Returns where it went, or null
   * when nothing was moved (no record, or a store without quarantine: then the record
   * stays until the next write replaces it).
   */
  moveAside(reason: string): Promise<string | null>
}

export interface RecordAccess {
  /**
   * Loads what the store's next write needs (`LicenseStore.prepare`): called right before
   * an activation is sent, so the seat Polar gives is on disk as soon as possible after its
   * answer. Never rejects.
   */
  prepare(): Promise<void>
  /** Reads and parses the record without the lock. Never throws. */
  read(): Promise<StoredRecord>
  /** Runs `fn` inside the store's lock (exclusive across processes; not reentrant). */
  locked<T>(fn: (record: LockedRecord) => Promise<T>): Promise<T>
  /** What a record written now rests on: `keychain` once its key was reached, else `none`. */
  integrity(): Integrity
}

export function recordAccess(store: LicenseStore, keychain?: Keychain): RecordAccess {
  let keys: Promise<RecordKeys | null> | undefined
  let level: Integrity = 'none'
  /** The keychain's keys, null without one. Rejects when it exists but cannot be reached. */
  function recordKeys(): Promise<RecordKeys | null> {
    if (keychain === undefined) return Promise.resolve(null)
    keys ??= keychain.key().then(
      async (secret) => {
        if (secret === null) return null
        if (secret.length < 16) throw new Error('the keychain returned a key shorter than 16 bytes')
        const derived = await deriveKeys(secret)
        level = 'keychain'
        return derived
      },
      (error: unknown) => {
        keys = undefined
        throw error
      },
    )
    return keys
  }

  // The last record whose MAC verified, by its exact text: the same bytes read again (every
  // check of a running app) are not hashed again.
  const verified: VerifiedMemo = {}
  const read = () => readRecord(store, recordKeys, verified)
  return {
    read,
    prepare: async () => {
      await store.prepare?.().catch(() => undefined)
    },
    integrity: () => level,
    locked: (fn) =>
      store.lock(() => {
        // What this holder read last: a write that carries no new validation keeps its level.
        let seen: StoredRecord | undefined
        return fn({
          async read() {
            seen = await read()
            return seen
          },
          async write(grant) {
            const unverified =
              seen?.kind === 'grant' &&
              seen.integrity === 'none' &&
              seen.grant.localValidatedAt === grant.localValidatedAt
            await store.write(unverified ? serializeGrant(grant) : await sealed(grant))
            seen = undefined
          },
          writePending: (pending) => store.write(serializePendingRecord(pending)),
          async writeQuickNote(pending) {
            if (store.writeQuick === undefined) return false
            await store.writeQuick(serializePendingRecord(pending))
            return true
          },
          clear: () => store.clear(),
          moveAside: (reason) =>
            store.quarantine ? store.quarantine(reason) : Promise.resolve(null),
        })
      }),
  }

  async function sealed(grant: Grant): Promise<string> {
    let k: RecordKeys | null
    try {
      k = await recordKeys()
    } catch {
      // The keychain is out of reach now: the grant is kept without a MAC rather than lost
      // (its states say `integrity: 'none'`), and is signed on a later write.
      k = null
    }
    if (k === null) return serializeGrant(grant)
    const body = recordBody(grant, { sealedKey: sealKey(k, grant.key) })
    const mac = macOf(k, JSON.stringify(body))
    return `${JSON.stringify({ ...body, mac }, null, 2)}\n`
  }
}

interface VerifiedMemo {
  text?: string
  record?: StoredRecord
}

/** Reads and parses a store's record, checking its MAC with the keychain's keys. Never throws. */
export async function readRecord(
  store: LicenseStore,
  recordKeys: () => Promise<RecordKeys | null> = () => Promise.resolve(null),
  verified: VerifiedMemo = {},
): Promise<StoredRecord> {
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
  if (verified.text === text && verified.record !== undefined) return verified.record
  const parsed = parseRecord(text)
  if (!parsed.ok) {
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
  let keys: RecordKeys | null
  try {
    keys = await recordKeys()
  } catch (error) {
    keys = null
    if (parsed.format === 'sealed') {
      return {
        kind: 'foreign',
        why: `the license record is sealed with a key from this computer's keychain, which cannot be reached now (${messageOf(error)})`,
      }
    }
  }
  if (parsed.format !== 'sealed') {
    const grant = tagIntegrity(parsed.grant, 'none')
    return keys === null
      ? { kind: 'grant', grant, integrity: 'none' }
      : { kind: 'grant', grant, integrity: 'none', unsigned: true }
  }
  if (keys === null) {
    return {
      kind: 'foreign',
      why: 'the license record is sealed with a keychain key, and this app has no keychain to open it with',
    }
  }
  const key = sameMac(macOf(keys, parsed.body), parsed.mac) ? openKey(keys, parsed.sealedKey) : null
  if (key === null || key === '') {
    return {
      kind: 'damaged',
      problem:
        'its integrity check failed: it was changed outside keygate, or sealed on another computer',
      reason: 'the MAC of the stored license record does not match its contents (keychain key)',
    }
  }
  const grant = tagIntegrity({ ...parsed.grant, key }, 'keychain')
  const record: StoredRecord = { kind: 'grant', grant, integrity: 'keychain' }
  verified.text = text
  verified.record = record
  return record
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
