import { isKeygateError, type KeygateError } from './errors.js'
import { needsRevalidation, withTransientFailure } from './evaluate.js'
import type { Grant } from './grant.js'
import { type GrantOrigin, sameMachine, sameSeat, verdictReason } from './grant-from-polar.js'
import type { ActivateOptions, LicensingOptions } from './licensing-types.js'
import type { Machine } from './machine.js'
import { createPolarClient } from './polar-client.js'
import { pauseOnRateLimit } from './polar-pause.js'
import type { PolarClient } from './polar-types.js'
import { checkMetadata, normalizeKey, normalizeLabel, truncateLabel } from './request-rules.js'
import { createRevalidator } from './revalidate.js'
import { createSeats } from './seats.js'
import type { InactiveState, LicenseState, Policy } from './state.js'
import type { StateEmitter } from './state-emitter.js'
import type { LicenseStore } from './store.js'
import { asStoreError, readRecord, type StoredRecord } from './stored-record.js'

/**
 * Everything `createLicensing` does online: activate, revalidate (refresh, check's
 * `auto` and `always`) and deactivate. licensing.ts loads this module on the first of
 * those calls, so the offline start-up check neither loads nor parses any of it.
 *
 * The HTTP client is imported directly, not through the lazy `createPolarClient` that
 * index.ts exports: what loads this module is about to send a request, and a module
 * both exported by index.ts and used here would be bundled into an app's start-up chunk
 * (esbuild splits chunks by file, and index.ts reaches it statically).
 */

const DEFAULT_LABEL = 'Desktop'

/**
 * After a transient failure, `check()` (`auto`) answers from the cache for this long while
 * that cache lets the app run: an app calling it on every focus or click must not send a
 * request each time while Polar's edge keeps failing. A locked app still asks at once (its
 * user is waiting to get back in); a 429 is left to the Retry-After pause; `refresh()`
 * always asks.
 */
const AUTO_QUIET_MS = 60_000

/** What the offline part of a licensing instance shares with its online part. */
export interface LicensingCore {
  organizationId: string
  server: string
  store: LicenseStore
  machine: Machine
  policy: Readonly<Policy>
  now: () => number
  options: LicensingOptions
  emitter: StateEmitter
  /** True when the grant was activated with this organization and server. */
  ours(grant: Grant): boolean
  otherOrigin(grant: Grant): InactiveState
  evaluateRecord(record: StoredRecord): Promise<LicenseState>
  /** Emits a state of check() or refresh(), with a background write's failure beside it. */
  report(state: LicenseState, ticket?: number): LicenseState
  /** The cached state with `error` beside it, read without the lock; never throws. */
  cachedWith(error: unknown, unreachable?: boolean): Promise<LicenseState>
}

export interface OnlineLicensing {
  /**
   * Validates the stored grant online, under the lock. `onlyIfDue` (check's `auto`) asks
   * Polar only if the grant re-read inside the lock is still due. Never throws.
   */
  revalidateStored(onlyIfDue: boolean): Promise<LicenseState>
  activate(key: string, options?: ActivateOptions): Promise<LicenseState>
  deactivate(): Promise<void>
}

export function createOnlineLicensing(core: LicensingCore): OnlineLicensing {
  const { organizationId, server, store, machine, policy, now, options, emitter } = core
  const { ours, otherOrigin, evaluateRecord, report } = core

  // Created on the first request (ofetch itself loads on the first request too).
  let client: Promise<PolarClient> | undefined
  const getClient = (): Promise<PolarClient> => {
    client ??= (
      options.client
        ? Promise.resolve(options.client)
        : Promise.resolve().then(() =>
            createPolarClient({
              server,
              fetch: options.fetch,
              timeoutMs: options.timeoutMs,
              retry: options.retry,
            }),
          )
    ).then((polar) => pauseOnRateLimit(polar, now))
    client.catch(() => {
      client = undefined
    })
    return client
  }

  const revalidate = createRevalidator({ store, machine, policy, now, getClient })
  const seats = createSeats({ store, policy, now, getClient, revalidate })

  /**
   * Instances started together send one request between them, not one each (Polar's
   * limit is per IP): the grant re-read inside the lock is often no longer due.
   */
  let quiet: { since: number; error: KeygateError } | undefined

  async function revalidateStored(onlyIfDue: boolean): Promise<LicenseState> {
    if (onlyIfDue && quiet !== undefined) {
      const left = quiet.since + AUTO_QUIET_MS - now()
      // A clock set back (left beyond the whole span) ends the quiet minute, not stretches it.
      const state = left > 0 && left <= AUTO_QUIET_MS ? await quietState(quiet.error) : undefined
      if (state !== undefined) return state
    }
    let ticket: number | undefined
    try {
      const state = await store.lock(async () => {
        ticket = emitter.ticket()
        const record = await readRecord(store)
        if (record.kind !== 'grant') return evaluateRecord(record)
        if (!ours(record.grant)) return otherOrigin(record.grant)
        if (onlyIfDue) {
          const cached = await evaluateRecord(record)
          if (!needsRevalidation(cached, now())) return cached
        }
        const { state, failure } = await revalidate(record.grant)
        const transient =
          failure !== undefined &&
          verdictReason(failure) === null &&
          failure.code !== 'rate_limited'
        quiet = transient ? { since: now(), error: failure } : undefined
        return state
      })
      return report(state, ticket)
    } catch (error) {
      // The lock (or the machine) failed: report the cached state with the error beside it.
      return core.cachedWith(asStoreError(error, 'The license store failed'))
    }
  }

  /**
   * The cached state during the quiet minute, with the last failure beside it while still
   * due; undefined when it does not let the app run (then Polar is asked as usual).
   */
  async function quietState(error: KeygateError): Promise<LicenseState | undefined> {
    const ticket = emitter.ticket()
    try {
      const record = await readRecord(store)
      if (record.kind !== 'grant') return undefined
      const cached = await evaluateRecord(record)
      if (cached.status === 'inactive') return undefined
      if (!needsRevalidation(cached, now())) return report(cached, ticket)
      return report(withTransientFailure(cached, error), ticket)
    } catch {
      return undefined
    }
  }

  async function activate(
    key: string,
    activateOptions: ActivateOptions = {},
  ): Promise<LicenseState> {
    const licenseKey = normalizeKey(key)
    const meta =
      activateOptions.meta === undefined ? undefined : checkMetadata('meta', activateOptions.meta)
    const label =
      activateOptions.label === undefined
        ? await machineLabel()
        : normalizeLabel(activateOptions.label)
    const fingerprint = await machine.fingerprint()
    const origin: GrantOrigin = { key: licenseKey, organizationId, server, fingerprint }

    let locked = false
    const activated = store.lock(async () => {
      locked = true
      // Re-read inside the lock: another process (or call) may have activated meanwhile.
      const record = await readRecord(store)
      if (record.kind === 'grant' && sameSeat(record.grant, origin)) {
        const reused = await seats.reuse(record.grant)
        if (reused) return reused
      } else if (record.kind === 'grant' && sameMachine(record.grant, origin)) {
        // Another key on this machine: the same seat if the customer rotated the key.
        const rekeyed = await seats.rekey(record.grant, origin)
        if (rekeyed) return rekeyed
      }
      return seats.take({ origin, label, meta }, record)
    })
    try {
      return emitter.emit(await activated)
    } catch (error) {
      // The lock itself failed (say another instance held it too long): a seat this
      // machine already holds still stands, with the error beside it.
      if (locked) throw error
      const held = await seats.held(origin)
      if (held === undefined) throw error
      return emitter.emit({ ...held, error: asStoreError(error, 'The license store failed') })
    }
  }

  async function deactivate(): Promise<void> {
    await store.lock(async () => {
      const record = await readRecord(store)
      if (record.kind === 'empty') return
      if (record.kind !== 'grant') {
        // Nothing we can free; moved aside (not deleted) so the next check starts clean.
        await store.quarantine(
          record.kind === 'damaged' ? record.reason : `deactivated: ${record.error.message}`,
        )
        return
      }
      const grant = record.grant
      const fingerprint = await machine.fingerprint()
      // A copied record's seat belongs to the machine it came from: only forget it here.
      if (grant.activation !== null && grant.fingerprint === fingerprint && ours(grant)) {
        try {
          await (await getClient()).deactivate({
            key: grant.key,
            organizationId: grant.organizationId,
            activationId: grant.activation.id,
          })
        } catch (error) {
          const gone =
            isKeygateError(error) &&
            (error.code === 'activation_not_found' || error.code === 'key_not_found')
          if (!gone) throw error
        }
      }
      await store.clear()
    })
  }

  async function machineLabel(): Promise<string> {
    const label = (await machine.label()).trim()
    return label === '' ? DEFAULT_LABEL : normalizeLabel(truncateLabel(label))
  }

  return { revalidateStored, activate, deactivate }
}
