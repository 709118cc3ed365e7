import { isKeygateError, KeygateError } from '../errors.js'
import { isForeignRecord, type LicenseStore, type PacingLog } from '../store.js'
import { type Grant, parseRecord, recordBody, serializeGrant } from './grant.js'
import {
  decodeKey,
  deriveKeys,
  encodeKey,
  type Integrity,
  type Keychain,
  type RecordKeys,
  SIGNED_MARK,
  sameMac,
  tagDowngraded,
  tagIntegrity,
  UNREADABLE,
} from './integrity.js'
import { type LeasePublicKey, loadLeaseCode } from './lease.js'
import { type PendingActivation, parsePendingRecord, serializePendingRecord } from './pending.js'
import type { InactiveState } from './state.js'
import { loadTrialCode, type StoredTrial, type TrialMemory } from './trial.js'

/**
 * The one module that talks to the `LicenseStore`. Everything else reads the record
 * through `read()` (no lock) and changes it only inside `locked()`, whose callback gets
 * the `LockedRecord`: a function that takes a `LockedRecord` runs inside the lock.
 */

/** What a store holds, as far as licensing is concerned. */
export type StoredRecord =
  /**
   * No grant. `pending`: an activation was sent and never answered (see pending.ts).
   * `trial`: this machine's trial, its MAC checked (see trial.ts).
   */
  | {
      kind: 'empty'
      pending?: PendingActivation | undefined
      /** The key the note carries, opened (in memory only). */
      pendingKey?: string | undefined
      trial?: StoredTrial | undefined
    }
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
  /**
   * Writes a record holding only the note of an activation about to be sent, with `key`
   * stored in it as a grant stores its key. Resolves with the note as written: the quick
   * note naming the seat carries the same stored key (no sealing while Polar's answer waits).
   */
  writePending(pending: PendingActivation, key?: string): Promise<PendingActivation>
  /**
   * Writes the note of a seat Polar has just given (see pending.ts) with the store's
   * `writeQuick`, which only has to survive a killed process, and resolves true. Resolves
   * false, writing nothing, for a store without `writeQuick`: its durable write of the
   * grant, which comes next, would be no later than a second durable write of the note.
   */
  writeQuickNote(pending: PendingActivation): Promise<boolean>
  /**
   * Removes the grant. The trial memory read in this lock stays (a trial record), so
   * deactivating never starts a new trial.
   */
  clear(): Promise<void>
  /**
   * Writes the trial memory (MACed where a keychain exists) as the record, and its copy
   * into the keychain (`Keychain.remember`). Rejects when the keychain exists but cannot
   * be reached: an unsigned trial would be refused on the next read.
   */
  writeTrial(memory: TrialMemory): Promise<void>
  /** The trial copy the keychain keeps (`Keychain.recall`), its MAC checked; null without one. */
  recallTrial(): Promise<StoredTrial | null>
  /**
   * Moves the stored record aside (the store's quarantine). Returns where it went, or null
   * when nothing was moved (no record, or a store without quarantine: then the record
   * stays until the next write replaces it).
   */
  moveAside(reason: string): Promise<string | null>
  /** The store's shared request log (`LicenseStore.pacing`), valid while the lock is held. */
  readonly pacing: PacingLog | undefined
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

/**
 * `lease`: the lease server's public key, when there is one. A grant read then comes with
 * the lease code loaded and its lease verified (so `evaluate`, synchronous, finds the
 * answer): a record whose MAC verified and that names this key as the one its lease was
 * verified with is not verified again. Without a lease server none of that code loads.
 */
export function recordAccess(
  store: LicenseStore,
  keychain?: Keychain,
  lease?: LeasePublicKey,
): RecordAccess {
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

  // Whether the keychain remembers a record signed here (`SIGNED_MARK`), once known.
  let marked: boolean | undefined
  /** True when keygate signed a record on this machine before. Never rejects. */
  async function signedBefore(): Promise<boolean> {
    if (keychain?.recall === undefined) return false
    if (marked !== undefined) return marked
    try {
      const mark = await keychain.recall(SIGNED_MARK)
      // An unreadable mark was still written: a record was signed here.
      marked = mark === UNREADABLE || (mark !== null && mark.length > 0)
    } catch {
      // Out of reach now: the record reads as an older one would, asked about at the next
      // online check; the keychain is asked again on the next read.
      return false
    }
    return marked
  }
  /** Notes in the keychain that a record was signed here, once. Best effort. */
  async function markSigned(): Promise<void> {
    if (keychain?.remember === undefined || marked === true) return
    try {
      await keychain.remember(SIGNED_MARK, new TextEncoder().encode('{"v":1}'))
      marked = true
    } catch {
      // Tried again at the next signed write.
    }
  }

  // The last record whose MAC verified, by its exact text: the same bytes read again (every
  // check of a running app) are not hashed again.
  const verified: VerifiedMemo = {}
  const read = async (): Promise<StoredRecord> => {
    const record = await readRecord(store, recordKeys, verified, signedBefore)
    if (lease !== undefined && record.kind === 'grant') {
      // A load that fails is reported by the evaluation (`leaseCode`), never as a verdict.
      const code = await loadLeaseCode().catch(() => undefined)
      if (code !== undefined && record.grant.lease !== undefined) {
        const trusted = record.integrity === 'keychain' && record.grant.leaseKey === lease.x
        await code.verifyLeaseAhead(record.grant.lease, lease, trusted)
      }
    }
    return record
  }
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
        // The trial memory of what it read: every write keeps it, so a trial never restarts.
        let memory: TrialMemory | undefined
        /** A record holding the note (and the trial memory, when there is one). */
        const noteText = async (note: PendingActivation) =>
          memory === undefined
            ? serializePendingRecord(note)
            : (await loadTrialCode()).serializeTrialRecord(memory, note)
        return fn({
          async read() {
            seen = await read()
            memory = trialOf(seen)
            return seen
          },
          async write(written) {
            let grant = written
            const trial = grant.trial ?? memory
            if (trial !== undefined) {
              // Activating a key ends the trial, whatever days it had left.
              const ended =
                trial.endedAt === undefined
                  ? await endTrial(trial, grant.localValidatedAt ?? grant.clockHighWater)
                  : trial
              grant = { ...grant, trial: ended }
              memory = ended
            }
            const unverified =
              seen?.kind === 'grant' &&
              seen.integrity === 'none' &&
              seen.grant.localValidatedAt === grant.localValidatedAt
            // `seen` stays what was read: a later write in this lock that puts the unverified
            // grant back (a refused activation restoring it) must not sign it either.
            const text = unverified ? null : await sealed(grant)
            await store.write(text ?? serializeGrant(grant))
            // After the record, so that no mark ever speaks for a record that is not there.
            if (text !== null) await markSigned()
          },
          async writePending(pending, key) {
            const note = key === undefined ? pending : { ...pending, ...(await storedKey(key)) }
            await store.write(await noteText(note))
            return note
          },
          async writeQuickNote(pending) {
            if (store.writeQuick === undefined) return false
            await store.writeQuick(await noteText(pending))
            return true
          },
          async clear() {
            if (memory === undefined) return store.clear()
            await store.write((await loadTrialCode()).serializeTrialRecord(memory))
          },
          async writeTrial(trial) {
            const { sealTrial, serializeTrialRecord } = await loadTrialCode()
            const signed = sealTrial(await recordKeys(), trial)
            await store.write(serializeTrialRecord(signed))
            memory = signed
            await rememberTrial(signed)
          },
          async recallTrial() {
            if (keychain?.recall === undefined) return null
            const keys = await recordKeys()
            const bytes = await keychain.recall(TRIAL_COPY)
            if (keys === null || bytes === null) return null
            // Evidence of a trial that no key can check any more, as one whose MAC fails:
            // refused, never a fresh trial (resetting the keyring must not restart one).
            if (bytes === UNREADABLE) {
              return { ok: false, problem: "the keychain's trial copy can no longer be opened" }
            }
            const { checkTrial, parseTrialMemory } = await loadTrialCode()
            let parsed: TrialMemory | undefined
            try {
              parsed = parseTrialMemory(JSON.parse(new TextDecoder().decode(bytes)))
            } catch {
              parsed = undefined
            }
            if (parsed === undefined) {
              return { ok: false, problem: "the keychain's trial copy is not one keygate wrote" }
            }
            return checkTrial(keys, parsed)
          },
          moveAside: (reason) =>
            store.quarantine ? store.quarantine(reason) : Promise.resolve(null),
          pacing: store.pacing,
        })
      }),
  }

  /** The memory ended at `at`, re-signed, and its keychain copy updated. Best effort. */
  async function endTrial(trial: TrialMemory, at: number): Promise<TrialMemory> {
    const { checkTrial, sealTrial } = await loadTrialCode()
    const keys = await recordKeys().catch(() => null)
    // Only a memory whose MAC verifies is signed again: one carried by a grant read without
    // its MAC is whatever its writer said, and stays refused as a trial.
    if (keys !== null && !checkTrial(keys, trial).ok) return trial
    const ended = sealTrial(keys, { ...trial, endedAt: at })
    await rememberTrial(ended).catch(() => undefined)
    return ended
  }

  async function rememberTrial(trial: TrialMemory): Promise<void> {
    if (keychain?.remember === undefined || trial.mac === undefined) return
    await keychain.remember(TRIAL_COPY, new TextEncoder().encode(JSON.stringify(trial)))
  }

  /** The key as a note keeps it: sealed where the keychain can be reached, else encoded. */
  async function storedKey(key: string): Promise<{ sealedKey: string } | { encodedKey: string }> {
    const k = await recordKeys().catch(() => null)
    return k === null ? { encodedKey: encodeKey(key) } : { sealedKey: k.seal(key) }
  }

  /** The grant signed with the keychain's keys; null where there are none to sign with. */
  async function sealed(grant: Grant): Promise<string | null> {
    let k: RecordKeys | null
    try {
      k = await recordKeys()
    } catch {
      // The keychain is out of reach now: the grant is kept without a MAC rather than lost
      // (its states say `integrity: 'none'`; where records were signed before, `tampered`
      // until Polar is asked), and is signed on a later write.
      k = null
    }
    if (k === null) return null
    const body = recordBody(grant, { sealedKey: k.seal(grant.key) })
    const mac = k.mac(JSON.stringify(body))
    return `${JSON.stringify({ ...body, mac }, null, 2)}\n`
  }
}

interface VerifiedMemo {
  text?: string
  record?: StoredRecord
}

/**
 * Reads and parses a store's record, checking its MAC with the keychain's keys. Never throws.
 * `signedBefore`: whether the keychain remembers a record signed on this machine (a record
 * without a MAC is then one whose MAC was removed).
 */
export async function readRecord(
  store: LicenseStore,
  recordKeys: () => Promise<RecordKeys | null> = () => Promise.resolve(null),
  verified: VerifiedMemo = {},
  signedBefore: () => Promise<boolean> = () => Promise.resolve(false),
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
    // Only a record that may hold a trial loads the trial code to read it.
    let trialCode: Awaited<ReturnType<typeof loadTrialCode>> | undefined
    if (parsed.problem === 'invalid' && text.includes('"trial"')) {
      try {
        trialCode = await loadTrialCode()
      } catch (error) {
        // Kept as it is, never moved aside as unreadable: the record is fine, the app is not.
        return {
          kind: 'foreign',
          why: `keygate's trial code could not be loaded (${messageOf(error)})`,
        }
      }
    }
    const trial = trialCode?.parseTrialRecord(text)
    if (trialCode !== undefined && trial !== undefined) {
      // Only a machine without a license reads this: the keychain is reached for its MAC.
      let keys: RecordKeys | null
      let reached = true
      try {
        keys = await recordKeys()
      } catch {
        // Out of reach now: read as unsigned (`integrity: 'none'`), checked again next time.
        keys = null
        reached = false
      }
      const record: StoredRecord = {
        kind: 'empty',
        pending,
        pendingKey: openNoteKey(pending, keys),
        trial: trialCode.checkTrial(keys, trial),
      }
      if (reached) {
        verified.text = text
        verified.record = record
      }
      return record
    }
    if (pending !== undefined) {
      const keys = pending.sealedKey === undefined ? null : await recordKeys().catch(() => null)
      return { kind: 'empty', pending, pendingKey: openNoteKey(pending, keys) }
    }
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
    if (keys === null) return { kind: 'grant', grant, integrity: 'none' }
    // Where keygate signed a record before, its MAC was removed: `tampered` (evaluate.ts).
    if (await signedBefore()) tagDowngraded(grant)
    return { kind: 'grant', grant, integrity: 'none', unsigned: true }
  }
  if (keys === null) {
    return {
      kind: 'foreign',
      why: 'the license record is sealed with a keychain key, and this app has no keychain to open it with',
    }
  }
  const key = sameMac(keys.mac(parsed.body), parsed.mac) ? keys.open(parsed.sealedKey) : null
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

/** The key an activation's note carries, or undefined when it carries none it can open. */
function openNoteKey(pending: PendingActivation | undefined, keys: RecordKeys | null) {
  if (pending?.encodedKey !== undefined) return decodeKey(pending.encodedKey) ?? undefined
  if (pending?.sealedKey === undefined || keys === null) return undefined
  const key = keys.open(pending.sealedKey)
  return key === null || key === '' ? undefined : key
}

/** The keychain entry name of the trial's copy (`Keychain.remember`). */
const TRIAL_COPY = 'trial'

/** The trial memory a record holds, when it holds a valid one. */
function trialOf(record: StoredRecord): TrialMemory | undefined {
  if (record.kind === 'grant') return record.grant.trial
  if (record.kind === 'empty' && record.trial?.ok) return record.trial.memory
  return undefined
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
