import type { Machine } from '../machine.js'
import type { LicenseStore } from '../store.js'
import { type Session, stateOf } from './check.js'
import { createHighWaterMark } from './clock-mark.js'
import { createStateEmitter } from './emitter.js'
import type { Grant } from './grant.js'
import { type LeasePublicKey, leaseCode } from './lease.js'
import { type PolarServer, resolveServer } from './origin.js'
import { type Policy, resolvePolicy } from './policy.js'
import type { InactiveReason } from './reasons.js'
import { recordAccess } from './record.js'
import type { LicenseState } from './state.js'
import type { TrialMemory } from './trial.js'

/**
 * A store's record as support tools see it (`keygate status`): the state `check({ online:
 * 'never' })` would give, through the same rules (origin, foreign and damaged records),
 * plus the facts behind it. Read-only: no lock, no quarantine, no write, no network.
 */

/** Where the record came from; only what `inspectRecord` knows when the caller does not. */
export interface RecordOrigin {
  organizationId: string
  server: string
}

export interface InspectOptions {
  /** The app's organization id. Default: the record's own (a tool may not know the app's). */
  organizationId?: string | undefined
  /** The app's Polar server (`production`, `sandbox` or a URL). Default: the record's own. */
  server?: PolarServer | undefined
  /**
   * This machine, or a function of the record's origin that makes it (the default salt of
   * a fingerprint is often the organization id). Without one the record is taken to be
   * this machine's: the machine rule is then not applied (`machineChecked: false`).
   */
  machine?: Machine | ((origin: RecordOrigin) => Machine) | undefined
  policy?: Partial<Policy> | undefined
  /**
   * The app's `leaseServer.publicKey` (as `keygate lease keygen` prints it). Given, the
   * record is judged as that app judges it: only a verified lease decides (an edited lease
   * is `tampered`, a lease for another machine `machine_mismatch`). Without it a lease is
   * not verified, and the record's own times decide (`leaseVerified: false`).
   */
  leasePublicKey?: LeasePublicKey | undefined
  /** Epoch ms. Default `Date.now()`. */
  now?: number | undefined
}

/**
 * The key's status as the record knows it. A verdict from Polar is newer than the
 * record's snapshot of the key: Polar answers "no longer active" both for a revoked and a
 * disabled key (`revoked_or_disabled`), and "not found" for a deleted or rotated one.
 */
export type KeyStatus =
  | 'granted'
  | 'revoked'
  | 'disabled'
  | 'revoked_or_disabled'
  | 'not_found'
  | (string & {})

export type RecordKind = 'empty' | 'trial' | 'grant' | 'foreign' | 'damaged'

export interface RecordInspection {
  kind: RecordKind
  /** The state `check({ online: 'never' })` gives now for this record. */
  state: LicenseState
  /** Damaged: what is wrong, short, for a person. Foreign: the store's explanation. */
  problem?: string | undefined
  /** The rest is known only for a grant. */
  organizationId?: string | undefined
  server?: string | undefined
  /** False when the record belongs to another organization or server than the one given. */
  sameOrigin?: boolean | undefined
  /** Whether the machine rule was applied (a machine was given). */
  machineChecked?: boolean | undefined
  /** The record carries a lease from a lease server (`@keygate/server`). */
  leased?: boolean | undefined
  /**
   * The lease verified with `leasePublicKey` and names this record: its signed times, key
   * status and expiry are the facts below, and they decided the state. False without the
   * key (nothing was verified) and for a lease that does not verify.
   */
  leaseVerified?: boolean | undefined
  keyStatus?: KeyStatus | undefined
  /** Polar's masked key (`****-ABC123`); the full key is never part of an inspection. */
  displayKey?: string | undefined
  licenseId?: string | undefined
  /** Polar's `expires_at`, epoch ms (Polar's clock), null for a key that never expires. */
  expiresAt?: number | null | undefined
  activation?: { id: string; label: string; createdAt: number } | null | undefined
  /** The last successful online validation on both clocks, epoch ms. */
  validatedAt?: { polar: number; local: number } | undefined
  /** The latest local time this record has seen, epoch ms. */
  clockHighWater?: number | undefined
  /** A definitive answer from Polar kept in the record, with Polar's own words. */
  verdict?: { reason: InactiveReason; at: number; detail?: string | undefined } | undefined
  /**
   * The trial this machine ran (a `trial` record, or a grant activated after one), local
   * clock, epoch ms. `signed`: it rests on a lease server's token (not verified here);
   * `sealed`: it carries a keychain MAC (verified only by the app, which holds the keychain).
   * `refused`: a trial record whose MAC did not verify (only with a keychain).
   */
  trial?:
    | {
        startedAt: number
        endsAt: number
        endedAt?: number | undefined
        signed: boolean
        sealed: boolean
      }
    | { refused: string }
    | undefined
}

/**
 * Reads a store's record and says what it implies now. Never writes; throws only for an
 * invalid `policy` (`invalid_input`).
 */
export async function inspectRecord(
  store: LicenseStore,
  options: InspectOptions = {},
): Promise<RecordInspection> {
  // With the lease key, a lease is verified as the record is read (as check() does).
  const records = recordAccess(store, undefined, options.leasePublicKey)
  const record = await records.read()
  const now = options.now ?? Date.now()
  const grant = record.kind === 'grant' ? record.grant : undefined
  const origin: RecordOrigin = {
    organizationId: options.organizationId ?? grant?.organizationId ?? '',
    server: options.server === undefined ? (grant?.server ?? '') : resolveServer(options.server),
  }
  // Only a grant is evaluated against the machine: no origin to make one from otherwise.
  const given =
    typeof options.machine === 'function'
      ? grant === undefined
        ? undefined
        : options.machine(origin)
      : options.machine
  // Without a machine, the record's own fingerprint: every other rule still applies.
  const machine: Machine = given ?? {
    fingerprint: async () => grant?.fingerprint ?? '',
    label: async () => '',
  }
  // The same session check() builds, so stateOf applies the same rules; nothing here
  // emits, locks or advances the clock mark.
  const session: Session = {
    ...origin,
    records,
    machine,
    policy: resolvePolicy(options.policy),
    now: () => now,
    emitter: createStateEmitter(),
    mark: createHighWaterMark(records),
    lease: options.leasePublicKey,
    // A trial record's end is kept in it: evaluated whatever the app's trial length.
    trial: { days: 1, features: [] },
  }
  const state = await stateOf(session, record)
  switch (record.kind) {
    case 'empty':
      if (record.trial === undefined) return { kind: 'empty', state }
      return {
        kind: 'trial',
        state,
        trial: record.trial.ok
          ? trialFacts(record.trial.memory)
          : { refused: record.trial.problem },
      }
    case 'foreign':
      return { kind: 'foreign', state, problem: record.why }
    case 'damaged':
      return { kind: 'damaged', state, problem: record.problem }
    case 'grant': {
      const signed = verifiedLease(record.grant, options.leasePublicKey)
      const lease = {
        leased: record.grant.lease !== undefined,
        leaseVerified: signed !== undefined,
      }
      // A verified lease's facts are its signed ones, as they decided the state.
      const grant = signed ?? record.grant
      return {
        kind: 'grant',
        state,
        ...facts(grant, origin, given !== undefined),
        ...lease,
        ...(record.grant.trial === undefined ? {} : { trial: trialFacts(record.grant.trial) }),
      }
    }
  }
}

function trialFacts(memory: TrialMemory) {
  return {
    startedAt: memory.startedAt,
    endsAt: memory.endsAt,
    ...(memory.endedAt === undefined ? {} : { endedAt: memory.endedAt }),
    signed: memory.token !== undefined,
    sealed: memory.mac !== undefined,
  }
}

/**
 * The grant as its verified lease has it, when the lease's signature holds and it names
 * this record (its machine is the state's business: judged here against the record's own).
 * The record's reader loaded the lease code and verified the lease as it read it.
 */
function verifiedLease(grant: Grant, publicKey: LeasePublicKey | undefined): Grant | undefined {
  if (publicKey === undefined || grant.lease === undefined) return undefined
  const leased = leaseCode().leasedGrant(grant, publicKey, grant.fingerprint)
  return leased.ok ? leased.grant : undefined
}

function facts(grant: Grant, origin: RecordOrigin, machineChecked: boolean) {
  const { license, activation, verdict } = grant
  const detail = verdict?.detail === undefined ? undefined : polarWords(verdict.detail)
  return {
    organizationId: grant.organizationId,
    server: grant.server,
    sameOrigin: grant.organizationId === origin.organizationId && grant.server === origin.server,
    machineChecked,
    keyStatus: keyStatusOf(grant),
    displayKey: license.displayKey,
    licenseId: license.id,
    expiresAt: license.expiresAt === null ? null : Date.parse(license.expiresAt),
    activation:
      activation === null
        ? null
        : {
            id: activation.id,
            label: activation.label,
            createdAt: Date.parse(activation.createdAt),
          },
    validatedAt: { polar: grant.validatedAt, local: grant.localValidatedAt ?? grant.validatedAt },
    clockHighWater: grant.clockHighWater,
    ...(verdict === undefined
      ? {}
      : {
          verdict: {
            reason: verdict.reason,
            at: verdict.at,
            ...(detail === undefined ? {} : { detail }),
          },
        }),
  }
}

function keyStatusOf(grant: Grant): KeyStatus {
  const status = grant.license.status
  switch (grant.verdict?.reason) {
    case 'revoked':
      return status === 'granted' ? 'revoked_or_disabled' : status
    case 'key_not_found':
      return 'not_found'
    default:
      return status
  }
}

/**
 * Polar's own words from a verdict's detail. Records of older keygate versions kept a
 * sentence of their own before them (`… (Polar: "…")`): only Polar's part is returned.
 */
function polarWords(detail: string): string | undefined {
  const quoted = /\(Polar: "(.*)"\)\s*$/s.exec(detail)?.[1]
  const words = (quoted ?? detail).trim()
  return words === '' ? undefined : words
}
