import { isKeygateError } from './errors.js'
import { evaluate, needsRevalidation } from './evaluate.js'
import { type Grant, serializeGrant } from './grant.js'
import {
  type GrantOrigin,
  grantFromActivation,
  grantFromValidation,
  machineConditions,
  sameSeat,
} from './grant-from-polar.js'
import type {
  ActivateOptions,
  CheckOptions,
  Licensing,
  LicensingOptions,
} from './licensing-types.js'
import { type PolarClient, resolveServer } from './polar-types.js'
import { resolvePolicy } from './policy.js'
import { checkMetadata, checkUuid4, normalizeKey, normalizeLabel } from './request-rules.js'
import { createRevalidator } from './revalidate.js'
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

/** `check()` advances the clock high-water mark at most once per this much observed time. */
const HIGH_WATER_STEP = 60 * 60 * 1000
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
    client ??= options.client
      ? Promise.resolve(options.client)
      : import('./polar-client.js').then(({ createPolarClient }) =>
          createPolarClient({
            server,
            fetch: options.fetch,
            timeoutMs: options.timeoutMs,
            retry: options.retry,
          }),
        )
    client.catch(() => {
      client = undefined
    })
    return client
  }

  const revalidate = createRevalidator({ store, machine, policy, now, getClient })

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

  /** One small write at most per hour of observed time, so a clock set back is noticed. */
  async function advanceHighWater(seenAt: number): Promise<void> {
    await store.lock(async () => {
      const record = await readRecord(store)
      if (record.kind !== 'grant' || seenAt <= record.grant.clockHighWater + HIGH_WATER_STEP) return
      await store.write(serializeGrant({ ...record.grant, clockHighWater: seenAt }))
    })
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
        if (state) return emitter.emit(state)
      } catch (error) {
        return emitter.emit({
          ...NOT_ACTIVATED,
          error: asStoreError(error, 'The license store failed'),
        })
      }
    }
    if (record.kind !== 'grant') return emitter.emit(await evaluateRecord(record))
    const grant = record.grant
    if (!ours(grant)) return emitter.emit(otherOrigin(grant))

    const at = now()
    const fingerprint = await machine.fingerprint()
    let state = evaluate(grant, { now: at, policy, fingerprint })
    if (
      fingerprint === grant.fingerprint &&
      grant.verdict === undefined &&
      at > grant.clockHighWater + HIGH_WATER_STEP
    ) {
      try {
        await advanceHighWater(at)
      } catch (error) {
        // The check itself still stands; the mark is tried again on the next start.
        state = { ...state, error: asStoreError(error, 'The license record could not be updated') }
      }
    }
    if (online === 'always' || (online === 'auto' && needsRevalidation(state, at))) return refresh()
    return emitter.emit(state)
  }

  async function refresh(): Promise<LicenseState> {
    try {
      const state = await store.lock(async () => {
        const record = await readRecord(store)
        if (record.kind !== 'grant') return evaluateRecord(record)
        if (!ours(record.grant)) return otherOrigin(record.grant)
        return (await revalidate(record.grant)).state
      })
      return emitter.emit(state)
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
        return emitter.emit({ ...cached, error: failure })
      } catch {
        return emitter.emit({ ...NOT_ACTIVATED, error: failure })
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
    const conditions = machineConditions(fingerprint)

    const state = await store.lock(async () => {
      // Re-read inside the lock: another process (or call) may have activated meanwhile.
      const record = await readRecord(store)
      if (record.kind === 'grant' && sameSeat(record.grant, origin)) {
        const reused = await reuseSeat(record.grant)
        if (reused) return reused
      }
      const polar = await getClient()
      let grant: Grant
      try {
        const result = await polar.activate({
          key: licenseKey,
          organizationId,
          label,
          conditions,
          meta,
        })
        grant = grantFromActivation(origin, conditions, result, now())
      } catch (error) {
        if (!isKeygateError(error) || error.code !== 'activation_not_supported') throw error
        // The benefit has no activation limit: the key alone is validated from now on.
        const result = await polar.validate({ key: licenseKey, organizationId })
        grant = grantFromValidation(origin, conditions, result, now())
      }
      // Never silently overwrite a record we could not read: move it aside first.
      if (record.kind === 'damaged') await store.quarantine(record.reason)
      if (record.kind === 'foreign') {
        await store.quarantine(`replaced by a new activation: ${record.error.message}`)
      }
      await store.write(serializeGrant(grant))
      return evaluate(grant, { now: now(), policy, fingerprint })
    })
    return emitter.emit(state)
  }

  /**
   * This machine already holds a seat for the key: confirm it instead of taking another.
   * Returns undefined when Polar no longer knows the seat, so a new one is taken.
   */
  async function reuseSeat(grant: Grant): Promise<LicenseState | undefined> {
    const { state, failure } = await revalidate(grant)
    if (failure === undefined) return state
    const gone = failure.code === 'activation_not_found' || failure.code === 'key_not_found'
    if (gone && state.status === 'inactive') return undefined
    throw failure
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
    return label === '' ? DEFAULT_LABEL : normalizeLabel(label.slice(0, 255))
  }

  return {
    activate,
    check,
    refresh,
    deactivate,
    subscribe: emitter.subscribe,
    policy,
  }
}
