import type { Machine } from '../machine.js'
import { type HighWaterMark, trialMarkDue } from './clock-mark.js'
import type { StateEmitter } from './emitter.js'
import { evaluate } from './evaluate.js'
import type { Grant } from './grant.js'
import type { LeasePublicKey } from './lease.js'
import type { PendingActivation } from './pending.js'
import type { Policy } from './policy.js'
import {
  asStoreError,
  foreignState,
  type LockedRecord,
  NOT_ACTIVATED,
  quarantineDamaged,
  type RecordAccess,
  type StoredRecord,
} from './record.js'
import type { InactiveState, LicenseState } from './state.js'
import { loadTrialCode, type TrialSettings } from './trial.js'

/**
 * What every licensing operation works with: plain values and the injected edges (the
 * record, the machine, the clock). `createLicensing` builds one per instance; the online
 * functions take it (extended) as their first argument.
 */
export interface Session {
  organizationId: string
  /** Base URL of the Polar API (or lease server) grants come from. */
  server: string
  records: RecordAccess
  machine: Machine
  policy: Readonly<Policy>
  now: () => number
  emitter: StateEmitter
  mark: HighWaterMark
  /** The lease server's public key, when there is one: only a verified lease decides. */
  lease?: LeasePublicKey | undefined
  /** `createLicensing({ trial })`: a machine without a license starts a trial. */
  trial?: TrialSettings | undefined
}

/** True when the grant was activated with this organization and server. */
export function ours(session: Session, grant: Grant): boolean {
  return grant.organizationId === session.organizationId && grant.server === session.server
}

export function otherOrigin(grant: Grant): InactiveState {
  return {
    status: 'inactive',
    reason: 'not_activated',
    note: { kind: 'other_origin', server: grant.server },
  }
}

/** The state a record implies now, read anywhere: a damaged record is reported, not moved. */
export async function stateOf(session: Session, record: StoredRecord): Promise<LicenseState> {
  switch (record.kind) {
    case 'empty':
      if (record.trial !== undefined && session.trial !== undefined) {
        return (await loadTrialCode()).trialStateOf(session, record.trial)
      }
      return record.pending === undefined ? NOT_ACTIVATED : interrupted(record.pending)
    case 'foreign':
      return foreignState(record.why)
    case 'damaged':
      return { ...NOT_ACTIVATED, note: { kind: 'unreadable', problem: record.problem } }
    case 'grant':
      if (!ours(session, record.grant)) return otherOrigin(record.grant)
      return grantState(session, record, session.now(), await session.machine.fingerprint())
  }
}

/**
 * True when a check should start this machine's trial: trials are on and the record holds
 * nothing (no grant, no interrupted activation, no trial; with a lease server, no token).
 */
export function trialDue(session: Session, record: StoredRecord): boolean {
  if (session.trial === undefined || record.kind !== 'empty' || record.pending !== undefined) {
    return false
  }
  if (record.trial === undefined) return true
  return session.lease !== undefined && record.trial.ok && record.trial.memory.token === undefined
}

/** A read grant's state at `at` on the machine with `fingerprint`, on what it rests on. */
function grantState(
  session: Session,
  record: StoredRecord & { kind: 'grant' },
  at: number,
  fingerprint: string,
): LicenseState {
  return evaluate(record.grant, {
    now: at,
    policy: session.policy,
    fingerprint,
    integrity: record.integrity,
    revalidateNow: record.unsigned === true,
    lease: session.lease,
  })
}

/** As `stateOf`, inside the lock: a damaged record is moved aside. */
export async function lockedStateOf(
  session: Session,
  locked: LockedRecord,
  record: StoredRecord,
): Promise<LicenseState> {
  return record.kind === 'damaged' ? quarantineDamaged(locked, record) : stateOf(session, record)
}

/**
 * Emits a state of check() or refresh(), with a background write's failure beside it.
 * `ticket`: taken before the record was read (see emitter.ts).
 */
export function report(session: Session, state: LicenseState, ticket?: number): LicenseState {
  const failure = session.mark.takeError()
  if (failure === undefined || state.error !== undefined) {
    return session.emitter.emit(state, ticket)
  }
  return session.emitter.emit({ ...state, error: failure }, ticket)
}

/**
 * The cached state, read without the lock, with `error` beside it. Never throws.
 * `unreachable`: going online failed, so a grace state says why.
 */
export async function cachedWith(
  session: Session,
  error: unknown,
  unreachable = false,
): Promise<LicenseState> {
  const failure = asStoreError(error, 'The license store failed')
  const ticket = session.emitter.ticket()
  try {
    const record = await session.records.read()
    const cached =
      record.kind === 'grant' ||
      record.kind === 'foreign' ||
      (record.kind === 'empty' && record.trial !== undefined)
        ? await stateOf(session, record)
        : NOT_ACTIVATED
    const state =
      unreachable && cached.status === 'grace'
        ? { ...cached, why: 'unreachable' as const, error: failure }
        : { ...cached, error: failure }
    return report(session, state, ticket)
  } catch {
    return report(session, { ...NOT_ACTIVATED, error: failure }, ticket)
  }
}

/**
 * The start-up check: the record read without the lock (a damaged one is moved aside
 * under it), evaluated on the local clock. No network. Returns the grant it evaluated so
 * the caller can decide whether to go online.
 */
export async function checkOffline(session: Session): Promise<{
  state: LicenseState
  ticket: number
  grant?: Grant
  at?: number
  fingerprint?: string
  /** With a lease server: the trial is due and needs the server's token (online). */
  trialDue?: boolean
  /** The record is the note of a seat Polar gave, with its key: online, it is resumed. */
  resumable?: boolean
}> {
  const ticket = session.emitter.ticket()
  let record = await session.records.read()
  if (record.kind === 'damaged') {
    try {
      const moved = await session.records.locked(async (locked) => {
        record = await locked.read()
        return record.kind === 'damaged' ? quarantineDamaged(locked, record) : undefined
      })
      if (moved) return { state: moved, ticket }
    } catch (error) {
      const failure = asStoreError(error, 'The license store failed')
      return { state: { ...NOT_ACTIVATED, error: failure }, ticket }
    }
  }
  if (session.trial !== undefined && trialDue(session, record)) {
    if (session.lease !== undefined) return { state: NOT_ACTIVATED, ticket, trialDue: true }
    try {
      record = await (await loadTrialCode()).startTrial(session, session.trial.days)
    } catch (error) {
      const failure = asStoreError(error, 'The trial could not be started')
      return { state: { ...NOT_ACTIVATED, error: failure }, ticket }
    }
  }
  if (record.kind !== 'grant') {
    const state = await stateOf(session, record)
    const trial = record.kind === 'empty' && record.trial?.ok ? record.trial.memory : undefined
    // Never on a trial refused as edited or a clock set back (as for grants below).
    const runs =
      state.status === 'trial' || (state.status === 'inactive' && state.reason === 'trial_expired')
    const at = session.now()
    if (trial !== undefined && runs && trialMarkDue(trial, at)) session.mark.advance(at, '')
    const resumable =
      record.kind === 'empty' &&
      record.pending?.activationId !== undefined &&
      record.pendingKey !== undefined &&
      session.lease === undefined
    return resumable ? { state, ticket, resumable } : { state, ticket }
  }
  const grant = record.grant
  if (!ours(session, grant)) return { state: otherOrigin(grant), ticket }
  const at = session.now()
  const fingerprint = await session.machine.fingerprint()
  const state = grantState(session, record, at, fingerprint)
  // Never on a record refused as edited: moving its mark up to meet the edited times would
  // make them look genuine once the clock reaches them.
  const refused = state.status === 'inactive' && state.reason === 'tampered'
  if (!refused && session.mark.due(grant, at, fingerprint)) session.mark.advance(at, fingerprint)
  return { state, ticket, grant, at, fingerprint }
}

/** No grant, but an activation was cut short: it may hold a seat (pending.ts). */
function interrupted(pending: PendingActivation): InactiveState {
  const { at, displayKey, activationId } = pending
  const seat = activationId === undefined ? {} : { activationId }
  return { ...NOT_ACTIVATED, note: { kind: 'interrupted_activation', at, displayKey, ...seat } }
}
