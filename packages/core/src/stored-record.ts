import { isKeygateError, KeygateError } from './errors.js'
import { type Grant, parseGrant } from './grant.js'
import type { InactiveState } from './state.js'
import type { LicenseStore } from './store.js'

/** What a store holds, as far as licensing is concerned. */
export type StoredRecord =
  | { kind: 'empty' }
  | { kind: 'grant'; grant: Grant }
  /** Intact but not readable here (e.g. encrypted by another machine): reported, kept. */
  | { kind: 'foreign'; error: KeygateError }
  /** Damaged, unknown, or written by a newer keygate: moved aside, never overwritten. */
  | {
      kind: 'damaged'
      /** Short, for a person. */
      problem: string
      /** Everything known, kept with the quarantined record. */
      reason: string
    }

/** Reads and parses the stored record. Never throws. */
export async function readRecord(store: LicenseStore): Promise<StoredRecord> {
  let text: string | null
  try {
    text = await store.read()
  } catch (error) {
    if (isKeygateError(error) && error.reason !== undefined) return { kind: 'foreign', error }
    const problem = `the store could not read it: ${describe(error)}`
    return { kind: 'damaged', problem, reason: problem }
  }
  if (text === null) return { kind: 'empty' }
  const parsed = parseGrant(text)
  if (parsed.ok) return { kind: 'grant', grant: parsed.grant }
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
export function foreignState(error: KeygateError): InactiveState {
  return {
    status: 'inactive',
    reason: error.reason ?? 'machine_mismatch',
    detail: error.message.replace(/^\[keygate\] /, ''),
  }
}

/**
 * Moves a damaged record aside and says so. Never throws: if even that fails, the state
 * carries the store's error and the record stays where it was.
 */
export async function quarantineDamaged(
  store: LicenseStore,
  { problem, reason }: { problem: string; reason: string },
): Promise<InactiveState> {
  try {
    const where = await store.quarantine(reason)
    return {
      status: 'inactive',
      reason: 'not_activated',
      detail:
        where === null
          ? `The stored license record was unreadable (${problem}). Activate the license key again.`
          : `The stored license record was unreadable (${problem}) and was moved to ${where}. Activate the license key again.`,
    }
  } catch (error) {
    return {
      status: 'inactive',
      reason: 'not_activated',
      detail: `The stored license record is unreadable (${problem}) and could not be moved aside. Activate the license key again.`,
      error: asStoreError(error, 'The unreadable license record could not be moved aside'),
    }
  }
}

export function asStoreError(error: unknown, what: string): KeygateError {
  if (isKeygateError(error)) return error
  return new KeygateError('store', `${what}: ${describe(error)}.`, { cause: error })
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.replace(/^\[keygate\] /, '') : String(error)
}
