import { isKeygateError } from './errors.js'
import { evaluate, needsRevalidation } from './evaluate.js'
import type { Grant } from './grant.js'
import { type GrantOrigin, sameMachine, sameSeat } from './grant-from-polar.js'
import { createHighWaterMark } from './high-water.js'
import { createPolarClient } from './lazy-polar-client.js'
import type {
  ActivateOptions,
  CheckOptions,
  Licensing,
  LicensingOptions,
} from './licensing-types.js'
import { pauseOnRateLimit } from './polar-pause.js'
import { type PolarClient, resolveServer } from './polar-types.js'
import { resolvePolicy } from './policy.js'
import {
  checkMetadata,
  checkUuid4,
  normalizeKey,
  normalizeLabel,
  truncateLabel,
} from './request-rules.js'
import { createRevalidator } from './revalidate.js'
import { createSeats } from './seats.js'
import type { InactiveState, LicenseState } from './state.js'
import { createStateEmitter } from './state-emitter.js'
import {
  asStoreError,
  foreignState,
  NOT_ACTIVATED,
  quarantineDamaged,
  readRecord,
  type StoredRecord,
} from './stored-record.js'

const DEFAULT_LABEL = 'Desktop'

/**
 * The licensing facade an app uses: activate once, `check()` on every start (offline in
 * about a millisecond), revalidate in the background. See the README for the behaviour.
 */
export function createLicensing(options: LicensingOptions): Licensing {
  const organizationId = checkUuid4('organizationId', options.organizationId).toLowerCase()
  const policy = resolvePolicy(options.policy)
  const { store, machine } = options
  const now = options.now ?? Date.now
  const server = options.client?.baseURL ?? resolveServer(options.server)
  const emitter = createStateEmitter()

  // The HTTP client (and ofetch behind it) is loaded the first time the network is
  // needed, so the offline start-up check imports nothing heavy.
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
  // The hourly clock mark, written in the background; its failure goes beside the next state.
  const mark = createHighWaterMark(store)

  const ours = (grant: Grant) => grant.organizationId === organizationId && grant.server === server
  const otherOrigin = (grant: Grant): InactiveState => ({
    status: 'inactive',
    reason: 'not_activated',
    detail: `The stored license was activated with another Polar organization or server (${grant.server}). Activate the license key again.`,
  })

  async function evaluateRecord(record: StoredRecord): Promise<LicenseState> {
    switch (record.kind) {
      case 'empty':
        return NOT_ACTIVATED
      case 'foreign':
        return foreignState(record.error)
      case 'damaged':
        return quarantineDamaged(store, record)
      case 'grant':
        if (!ours(record.grant)) return otherOrigin(record.grant)
        return evaluate(record.grant, {
          now: now(),
          policy,
          fingerprint: await machine.fingerprint(),
        })
    }
  }

  /** Emits a state of check() or refresh(), with a background write's failure beside it. */
  function report(state: LicenseState): LicenseState {
    const failure = mark.takeError()
    if (failure === undefined || state.error !== undefined) return emitter.emit(state)
    return emitter.emit({ ...state, error: failure })
  }

  async function check(checkOptions: CheckOptions = {}): Promise<LicenseState> {
    const online = checkOptions.online ?? 'auto'
    // Fast path: no lock, no network; a damaged record is moved aside under the lock.
    let record = await readRecord(store)
    if (record.kind === 'damaged') {
      try {
        const state = await store.lock(async () => {
          record = await readRecord(store)
          return record.kind === 'damaged' ? quarantineDamaged(store, record) : undefined
        })
        if (state) return report(state)
      } catch (error) {
        return report({
          ...NOT_ACTIVATED,
          error: asStoreError(error, 'The license store failed'),
        })
      }
    }
    if (record.kind !== 'grant') return report(await evaluateRecord(record))
    const grant = record.grant
    if (!ours(grant)) return report(otherOrigin(grant))

    const at = now()
    const fingerprint = await machine.fingerprint()
    const state = evaluate(grant, { now: at, policy, fingerprint })
    if (mark.due(grant, at, fingerprint)) mark.advance(at, fingerprint)
    if (online === 'always') return refresh()
    if (online === 'auto' && needsRevalidation(state, at)) return revalidateStored(true)
    return report(state)
  }

  function refresh(): Promise<LicenseState> {
    return revalidateStored(false)
  }

  /**
   * Validates the stored grant online, under the lock. `onlyIfDue` (check's `auto`) asks
   * Polar only if the grant re-read inside the lock is still due: instances started
   * together then send one request between them, not one each (Polar's limit is per IP).
   */
  async function revalidateStored(onlyIfDue: boolean): Promise<LicenseState> {
    try {
      const state = await store.lock(async () => {
        const record = await readRecord(store)
        if (record.kind !== 'grant') return evaluateRecord(record)
        if (!ours(record.grant)) return otherOrigin(record.grant)
        if (onlyIfDue) {
          const cached = await evaluateRecord(record)
          if (!needsRevalidation(cached, now())) return cached
        }
        return (await revalidate(record.grant)).state
      })
      return report(state)
    } catch (error) {
      // The lock (or the machine) failed: report the cached state with the error beside it.
      const failure = asStoreError(error, 'The license store failed')
      try {
        const record = await readRecord(store)
        const cached =
          record.kind === 'grant' && ours(record.grant)
            ? await evaluateRecord(record)
            : record.kind === 'foreign'
              ? foreignState(record.error)
              : NOT_ACTIVATED
        return report({ ...cached, error: failure })
      } catch {
        return report({ ...NOT_ACTIVATED, error: failure })
      }
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
    emitter.emit(NOT_ACTIVATED)
  }

  async function machineLabel(): Promise<string> {
    const label = (await machine.label()).trim()
    return label === '' ? DEFAULT_LABEL : normalizeLabel(truncateLabel(label))
  }

  return {
    activate,
    check,
    refresh,
    deactivate,
    subscribe: emitter.subscribe,
    settled: mark.settled,
    policy,
  }
}
