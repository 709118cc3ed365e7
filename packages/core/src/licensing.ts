import { KeygateError } from './errors.js'
import { evaluate, needsRevalidation, withTransientFailure } from './evaluate.js'
import type { Grant } from './grant.js'
import { createHighWaterMark } from './high-water.js'
import { checkUuid4 } from './input-basics.js'
import type { LicensingCore, OnlineLicensing } from './licensing-online.js'
import type {
  ActivateOptions,
  CheckOptions,
  Licensing,
  LicensingOptions,
} from './licensing-types.js'
import { resolveServer } from './polar-types.js'
import { resolvePolicy } from './policy.js'
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

  /**
   * Emits a state of check() or refresh(), with a background write's failure beside it.
   * `ticket`: taken before the record was read (see state-emitter.ts).
   */
  function report(state: LicenseState, ticket?: number): LicenseState {
    const failure = mark.takeError()
    if (failure === undefined || state.error !== undefined) return emitter.emit(state, ticket)
    return emitter.emit({ ...state, error: failure }, ticket)
  }

  /**
   * The cached state, read without the lock, with `error` beside it. Never throws.
   * `unreachable`: going online failed, so a grace state says why (as in revalidate.ts).
   */
  async function cachedWith(error: unknown, unreachable = false): Promise<LicenseState> {
    const failure = asStoreError(error, 'The license store failed')
    const ticket = emitter.ticket()
    try {
      const record = await readRecord(store)
      const cached =
        record.kind === 'grant' && ours(record.grant)
          ? await evaluateRecord(record)
          : record.kind === 'foreign'
            ? foreignState(record.error)
            : NOT_ACTIVATED
      return report(
        unreachable ? withTransientFailure(cached, failure) : { ...cached, error: failure },
        ticket,
      )
    } catch {
      return report({ ...NOT_ACTIVATED, error: failure }, ticket)
    }
  }

  // activate, refresh, deactivate and check's online modes (seats, revalidation, the HTTP
  // client) load on the first of those calls: the offline start-up check neither loads nor
  // parses them. Kept per instance; a load that failed is tried again on the next call.
  const core: LicensingCore = {
    organizationId,
    server,
    store,
    machine,
    policy,
    now,
    options,
    emitter,
    ours,
    otherOrigin,
    evaluateRecord,
    report,
    cachedWith,
  }
  let onlinePart: Promise<OnlineLicensing> | undefined
  function loadOnline(): Promise<OnlineLicensing> {
    onlinePart ??= import('./licensing-online.js').then(
      ({ createOnlineLicensing }) => createOnlineLicensing(core),
      (cause: unknown) => {
        onlinePart = undefined
        throw new KeygateError(
          'network',
          "Could not load keygate's online licensing code (a chunk of @keygate/core); check that the app ships all of the package's files.",
          { cause },
        )
      },
    )
    return onlinePart
  }

  async function check(checkOptions: CheckOptions = {}): Promise<LicenseState> {
    const online = checkOptions.online ?? 'auto'
    // Fast path: no lock, no network; a damaged record is moved aside under the lock.
    const ticket = emitter.ticket()
    let record = await readRecord(store)
    if (record.kind === 'damaged') {
      try {
        const state = await store.lock(async () => {
          record = await readRecord(store)
          return record.kind === 'damaged' ? quarantineDamaged(store, record) : undefined
        })
        if (state) return report(state, ticket)
      } catch (error) {
        return report(
          { ...NOT_ACTIVATED, error: asStoreError(error, 'The license store failed') },
          ticket,
        )
      }
    }
    if (record.kind !== 'grant') return report(await evaluateRecord(record), ticket)
    const grant = record.grant
    if (!ours(grant)) return report(otherOrigin(grant), ticket)

    const at = now()
    const fingerprint = await machine.fingerprint()
    const state = evaluate(grant, { now: at, policy, fingerprint })
    if (mark.due(grant, at, fingerprint)) mark.advance(at, fingerprint)
    if (online === 'always') return refresh()
    if (online === 'auto' && needsRevalidation(state, at)) return revalidateStored(true)
    return report(state, ticket)
  }

  function refresh(): Promise<LicenseState> {
    return revalidateStored(false)
  }

  async function revalidateStored(onlyIfDue: boolean): Promise<LicenseState> {
    let ops: OnlineLicensing
    try {
      ops = await loadOnline()
    } catch (error) {
      // As when Polar cannot be reached: the cached record decides, the error goes beside it.
      return cachedWith(error, true)
    }
    return ops.revalidateStored(onlyIfDue)
  }

  async function activate(key: string, activateOptions?: ActivateOptions): Promise<LicenseState> {
    return (await loadOnline()).activate(key, activateOptions)
  }

  async function deactivate(): Promise<void> {
    await (await loadOnline()).deactivate()
    emitter.emit(NOT_ACTIVATED)
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
