import { KeygateError } from './errors.js'
import { cachedWith, checkOffline, report, type Session } from './offline/check.js'
import { createHighWaterMark } from './offline/clock-mark.js'
import { createStateEmitter } from './offline/emitter.js'
import { needsRevalidation } from './offline/evaluate.js'
import { loadLeaseVerifier } from './offline/lease.js'
import { checkUuid4, resolveServer } from './offline/origin.js'
import { resolvePolicy } from './offline/policy.js'
import { NOT_ACTIVATED, recordAccess } from './offline/record.js'
import type { LicenseState } from './offline/state.js'
import type { OnlineSession } from './online/index.js'
import type { ActivateOptions, CheckOptions, Licensing, LicensingOptions } from './types.js'

type Online = typeof import('./online/index.js')

/**
 * The licensing facade an app uses: activate once, `check()` on every start (offline, from
 * the cached grant), revalidate in the background. The offline half is `offline/`; the
 * online half (`online/`, `polar/`) loads on the first call that needs it.
 */
export function createLicensing(options: LicensingOptions): Licensing {
  const records = recordAccess(options.store)
  const session: Session = {
    organizationId: checkUuid4('organizationId', options.organizationId).toLowerCase(),
    server: options.client?.baseURL ?? resolveServer(options.server),
    records,
    machine: options.machine,
    lease: options.leaseServer?.publicKey,
    policy: resolvePolicy(options.policy),
    now: options.now ?? Date.now,
    emitter: createStateEmitter(),
    // The hourly clock mark, written in the background; its failure goes beside the next state.
    mark: createHighWaterMark(records),
  }

  // Kept per instance; a load that failed is tried again on the next call.
  let online: Promise<{ code: Online; session: OnlineSession }> | undefined
  function loadOnline(): Promise<{ code: Online; session: OnlineSession }> {
    online ??= Promise.all([
      import('./online/index.js'),
      session.lease === undefined ? undefined : loadLeaseVerifier(),
    ]).then(
      ([code]) => ({ code, session: code.createOnlineSession(session, options) }),
      (cause: unknown) => {
        online = undefined
        throw new KeygateError(
          'network',
          "Could not load keygate's online licensing code (a chunk of @keygate/core); check that the app ships all of the package's files.",
          { cause },
        )
      },
    )
    return online
  }

  async function check(checkOptions: CheckOptions = {}): Promise<LicenseState> {
    const mode = checkOptions.online ?? 'auto'
    const { state, ticket, at } = await checkOffline(session)
    if (at !== undefined && mode === 'always') return refresh()
    if (at !== undefined && mode === 'auto' && needsRevalidation(state, at)) {
      return revalidateStored(true)
    }
    return report(session, state, ticket)
  }

  function refresh(): Promise<LicenseState> {
    return revalidateStored(false)
  }

  async function revalidateStored(onlyIfDue: boolean): Promise<LicenseState> {
    let loaded: Awaited<ReturnType<typeof loadOnline>>
    try {
      loaded = await loadOnline()
    } catch (error) {
      // As when Polar cannot be reached: the cached record decides, the error goes beside it.
      return cachedWith(session, error, true)
    }
    return loaded.code.revalidateStored(loaded.session, onlyIfDue)
  }

  async function activate(key: string, activateOptions?: ActivateOptions): Promise<LicenseState> {
    const { code, session: online } = await loadOnline()
    return code.activate(online, key, activateOptions)
  }

  async function deactivate(): Promise<void> {
    const { code, session: online } = await loadOnline()
    await code.deactivate(online)
    session.emitter.emit(NOT_ACTIVATED)
  }

  const licensing: Licensing = {
    activate,
    check,
    refresh,
    deactivate,
    async devices(devicesOptions) {
      const { code, session: online } = await loadOnline()
      return code.devices(online, devicesOptions)
    },
    async freeDevice(activationId, devicesOptions) {
      const { code, session: online } = await loadOnline()
      await code.freeDevice(online, activationId, devicesOptions)
    },
    subscribe: session.emitter.subscribe,
    settled: session.mark.settled,
    policy: session.policy,
    watch(watchOptions) {
      // The schedule is online code: it loads with it, and starts once loaded.
      let stop: (() => void) | undefined
      let stopped = false
      loadOnline().then(
        ({ code }) => {
          if (!stopped) stop = code.watch(licensing, session.now, watchOptions)
        },
        () => {
          // Nothing to schedule without the online code; the next call tries to load it again.
        },
      )
      return () => {
        stopped = true
        stop?.()
      }
    },
  }
  return licensing
}
