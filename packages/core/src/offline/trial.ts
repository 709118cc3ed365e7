import * as v from 'valibot'
import { KeygateError } from '../errors.js'

/**
 * Trials (`createLicensing({ trial: { days } })`): what a machine without a license
 * remembers of its trial, and what that memory allows now. The memory travels with
 * whatever the record holds (alone, beside a pending activation note, inside a grant), so
 * activating, deactivating or an interrupted activation never forget it; where a keychain
 * exists it carries its own MAC and a second copy lives in the keychain (`Keychain.remember`),
 * out of reach of the record's deletion.
 *
 * Here only what the start-up code needs: the memory's shape (a grant's record carries it)
 * and the settings' check. The code that runs a trial (evaluation, MAC, start) is `trial/`,
 * loaded (`loadTrialCode`) only where the record holds a trial or trials are on.
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

type TrialCode = typeof import('./trial/index.js')

let loading: Promise<TrialCode> | undefined

/** Loads the trial code (`trial/`). A load that failed is tried again on the next call. */
export function loadTrialCode(): Promise<TrialCode> {
  loading ??= import('./trial/index.js').catch((error: unknown) => {
    loading = undefined
    throw error
  })
  return loading
}
