import * as v from 'valibot'
import { KeygateError } from '../errors.js'
import { type RecordKeys, sameMac } from './integrity.js'
import { type LeasePublicKey, verifyTrialToken } from './lease.js'
import type { Policy } from './policy.js'
import type { InactiveReason, InactiveState, TrialInfo, TrialState } from './state.js'

/**
 * Trials (`createLicensing({ trial: { days } })`): what a machine without a license
 * remembers of its trial, and what that memory allows now. The memory travels with
 * whatever the record holds (alone, beside a pending activation note, inside a grant), so
 * activating, deactivating or an interrupted activation never forget it; where a keychain
 * exists it carries its own MAC and a second copy lives in the keychain (`Keychain.remember`),
 * out of reach of the record's deletion.
 */

export const DAY_MS = 24 * 60 * 60 * 1000

/** Days a trial may last: positive whole days, at most this many. */
export const MAX_TRIAL_DAYS = 3650

export const TrialMemorySchema = v.object({
  /** Local clock, epoch ms. */
  startedAt: v.number(),
  /**
   * When the trial ends, local clock, epoch ms: `trial.days` after the start, fixed when it
   * starts (a later version with other `days` changes only trials started after it).
   */
  endsAt: v.number(),
  /** Set when a key was activated: the trial ended then, whatever its days left. */
  endedAt: v.optional(v.number()),
  /** The latest local time this trial has seen, epoch ms. */
  clockHighWater: v.number(),
  /** With a lease server: its signed trial token (compact JWS), which alone decides offline. */
  token: v.optional(v.string()),
  /** When the token was received, local clock, epoch ms. */
  receivedAt: v.optional(v.number()),
  /** HMAC over the fields above with the keychain's record key, base64url. */
  mac: v.optional(v.string()),
})

export type TrialMemory = v.InferOutput<typeof TrialMemorySchema>

/** A trial memory as read: its MAC checked where a keychain exists. */
export type StoredTrial =
  | { ok: true; memory: TrialMemory; integrity: 'keychain' | 'none' }
  | { ok: false; problem: string }

/** What the trial evaluation needs. */
export interface TrialContext {
  now: number
  policy: Readonly<Policy>
  fingerprint: string
  organizationId: string
  lease?: LeasePublicKey | undefined
}

function macInput(memory: TrialMemory): string {
  const { startedAt, endsAt, endedAt, clockHighWater, token, receivedAt } = memory
  const fields = [
    startedAt,
    endsAt,
    endedAt ?? null,
    clockHighWater,
    token ?? null,
    receivedAt ?? null,
  ]
  return `keygate trial v1 ${JSON.stringify(fields)}`
}

/** The memory with a fresh MAC under `keys`, or without one where there is no keychain. */
export function sealTrial(keys: RecordKeys | null, memory: TrialMemory): TrialMemory {
  const { mac: _old, ...fields } = memory
  return keys === null ? fields : { ...fields, mac: keys.mac(macInput(fields)) }
}

/** Checks a memory's MAC: where a keychain exists, a memory without a valid one is refused. */
export function checkTrial(keys: RecordKeys | null, memory: TrialMemory): StoredTrial {
  if (keys === null) return { ok: true, memory, integrity: 'none' }
  if (memory.mac === undefined || !sameMac(keys.mac(macInput(memory)), memory.mac)) {
    return { ok: false, problem: 'the trial record was changed outside keygate' }
  }
  return { ok: true, memory, integrity: 'keychain' }
}

/** The trial memory of a record that holds no grant (`{ v: 1, trial }`), or undefined. */
export function parseTrialRecord(text: string): TrialMemory | undefined {
  try {
    const json = JSON.parse(text) as { v?: unknown; trial?: unknown } | null
    if (json === null || typeof json !== 'object' || json.v !== 1) return undefined
    return parseTrialMemory(json.trial)
  } catch {
    return undefined
  }
}

export function parseTrialMemory(value: unknown): TrialMemory | undefined {
  const result = v.safeParse(TrialMemorySchema, value)
  return result.success ? result.output : undefined
}

/** A record holding the trial memory (and the note of an activation about to be sent). */
export function serializeTrialRecord(memory: TrialMemory, pending?: object): string {
  return `${JSON.stringify({ v: 1, ...(pending === undefined ? {} : { pending }), trial: memory }, null, 2)}\n`
}

/**
 * What a trial allows now. Pure. In order: a memory refused as edited; with a lease
 * server, the signed token (edited: `tampered`; another machine's: `machine_mismatch`);
 * a clock set back beyond the tolerance; a start after the local clock; then the days.
 * Time is measured from the latest instant seen, so setting the clock back within the
 * tolerance cannot stretch the trial.
 */
export function evaluateTrial(
  stored: StoredTrial,
  context: TrialContext,
): TrialState | InactiveState {
  const { now, policy } = context
  if (!stored.ok) return refused('tampered', 'keychain')
  const { memory } = stored
  let startedAt = memory.startedAt
  let endsAt = memory.endsAt
  let integrity: 'signed' | 'keychain' | 'none' = stored.integrity
  if (context.lease !== undefined) {
    if (memory.token === undefined) return refused('tampered', 'signed')
    const claims = verifyTrialToken(memory.token, context.lease)
    if (claims === null || claims.organization_id !== context.organizationId) {
      return refused('tampered', 'signed')
    }
    if (claims.fingerprint !== context.fingerprint) return refused('machine_mismatch', 'signed')
    // As for leases: the local time of receipt is believed only up to the signed `iat`, so
    // an edit can only move the trial earlier.
    const issuedAt = claims.iat * 1000
    const skew = issuedAt - Math.min(memory.receivedAt ?? issuedAt, issuedAt)
    startedAt = claims.started_at * 1000 - skew
    endsAt = claims.ends_at * 1000 - skew
    integrity = 'signed'
  }
  if (memory.endedAt !== undefined) endsAt = Math.min(endsAt, memory.endedAt)
  const info = (at: number): TrialInfo => ({
    startedAt,
    endsAt,
    daysLeft: Math.max(0, Math.ceil((endsAt - at) / DAY_MS)),
  })
  const tolerance = policy.clockTolerance
  if (now < memory.clockHighWater - tolerance) {
    return { ...refused('clock_tampered', integrity), trial: info(memory.clockHighWater) }
  }
  if (startedAt > now + tolerance) return refused('tampered', integrity)
  const effectiveNow = Math.max(now, memory.clockHighWater)
  if (effectiveNow >= endsAt) {
    return { ...refused('trial_expired', integrity), trial: info(effectiveNow) }
  }
  return { status: 'trial', trial: info(effectiveNow), integrity }
}

function refused(reason: InactiveReason, integrity: 'signed' | 'keychain' | 'none'): InactiveState {
  return { status: 'inactive', reason, note: { kind: 'trial' }, integrity }
}

/** What `createLicensing({ trial })` configures, checked. */
export interface TrialSettings {
  days: number
  features: readonly string[]
}

/** Checks `createLicensing({ trial })`: whole days from 1 to 3650; `invalid_input` otherwise. */
export function resolveTrial(value: unknown): TrialSettings | undefined {
  if (value === undefined) return undefined
  const { days, features } = (value ?? {}) as { days?: unknown; features?: unknown }
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_TRIAL_DAYS) {
    throw new KeygateError(
      'invalid_input',
      `trial.days must be a whole number of days from 1 to ${MAX_TRIAL_DAYS}.`,
    )
  }
  if (
    features !== undefined &&
    (!Array.isArray(features) || !features.every((name) => typeof name === 'string'))
  ) {
    throw new KeygateError('invalid_input', 'trial.features must be a list of feature names.')
  }
  return { days, features: Object.freeze([...((features as string[] | undefined) ?? [])]) }
}
