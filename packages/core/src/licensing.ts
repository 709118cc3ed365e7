import { type ClientSettings, resolveClientSettings } from './client-options.js'
import { KeygateError } from './errors.js'
import { cachedWith, checkOffline, report, type Session, stateOf } from './offline/check.js'
import { createHighWaterMark } from './offline/clock-mark.js'
import { createStateEmitter } from './offline/emitter.js'
import { allowsUpdate, applyEntitlements } from './offline/entitlements.js'
import { needsRevalidation } from './offline/evaluate.js'
import { checkLeaseServer, loadLeaseCode } from './offline/lease.js'
import { checkUuid4, resolveServer } from './offline/origin.js'
import { resolvePolicy } from './offline/policy.js'
import { NOT_ACTIVATED, recordAccess } from './offline/record.js'
import type { Integrity, LicenseState } from './offline/state.js'
import { resolveTrial } from './offline/trial.js'
import type { OnlineSession } from './online/index.js'
import type { ActivateOptions, CheckOptions, Licensing, LicensingOptions } from './types.js'

type Online = typeof import('./online/index.js').onlineCode

/**
 * The licensing facade an app uses: activate once, `check()` on every start (offline, from
 * the cached grant), revalidate in the background. The offline half is `offline/`; the
 * online half (`online/`, `polar/`) loads on the first call that needs it.
 */
export function createLicensing(options: LicensingOptions): Licensing {
  const leaseServer = checkLeaseServer(options.leaseServer)
  const records = recordAccess(options.store, options.keychain, leaseServer?.publicKey)
  const policy = resolvePolicy(options.policy)
  const trial = resolveTrial(options.trial)
  const rules = {
    entitlements: options.entitlements,
    trialFeatures: trial?.features,
    onExpiry: policy.onExpiry,
    releasedAt:
      options.releasedAt === undefined ? undefined : toTime('releasedAt', options.releasedAt),
  }
  const organizationId = checkUuid4('organizationId', options.organizationId).toLowerCase()
  const now = options.now ?? Date.now
  // Checked now, not at the first activate: a shipped app with a bad setting would tell its
  // customer to check the key for typos.
  const settings: ClientSettings | undefined =
    options.client === undefined
      ? resolveClientSettings({
          server: options.server,
          fetch: options.fetch,
          timeoutMs: options.timeoutMs,
          retry: options.retry,
          now,
        })
      : undefined
  const session: Session = {
    organizationId,
    server: options.client?.baseURL ?? resolveServer(options.server),
    records,
    machine: options.machine,
    lease: leaseServer?.publicKey,
    trial,
    policy,
    now,
    // Every state delivered says what it rests on; states of grants read carry their own.
    emitter: createStateEmitter((state) =>
      applyEntitlements(withIntegrity(state, records.integrity), rules),
    ),
    // The hourly clock mark, written in the background; its failure goes beside the next state.
    mark: createHighWaterMark(records),
  }

  // Kept per instance; a load that failed is tried again on the next call.
  let online: Promise<{ code: Online; session: OnlineSession }> | undefined
  function loadOnline(): Promise<{ code: Online; session: OnlineSession }> {
    // The online code evaluates leased grants it builds itself: the lease code comes with it.
    online ??= Promise.all([
      import('./online/index.js'),
      leaseServer === undefined ? undefined : loadLeaseCode(),
    ]).then(
      ([{ createOnlineSession, onlineCode }]) => ({
        code: onlineCode,
        session: createOnlineSession(session, options, settings),
      }),
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

  /**
   * A machine whose fingerprint comes from a cache (node-store on macOS and Windows: no
   * child process at start) is verified against the hardware once, in the background, a
   * little after the first check; a copy the cache did not catch is then reported as
   * `machine_mismatch` within seconds.
   */
  let verifying: Promise<void> | undefined
  function verifyMachine(fingerprint: string): void {
    const { machine } = options
    if (verifying !== undefined || machine.verify === undefined) return
    const verify = machine.verify.bind(machine)
    verifying = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.machineVerifyDelayMs ?? 3000)
      ;(timer as { unref?: () => void }).unref?.()
    })
      .then(verify)
      .then(async (actual) => {
        if (actual !== fingerprint) {
          const again = await checkOffline(session)
          report(session, again.state, again.ticket)
        }
      })
      .catch(() => {
        // The hardware id could not be read now: try again after the next check.
        verifying = undefined
      })
  }

  async function check(checkOptions: CheckOptions = {}): Promise<LicenseState> {
    const mode = checkOptions.online ?? 'auto'
    const { state, ticket, at, fingerprint, trialDue, resumable } = await checkOffline(session)
    if (trialDue && mode !== 'never') return startLeasedTrial()
    if (resumable && mode !== 'never') return resumeInterrupted()
    if (fingerprint !== undefined) verifyMachine(fingerprint)
    if (at !== undefined && mode === 'always') return refresh()
    if (at !== undefined && mode === 'auto' && needsRevalidation(state, at)) {
      return revalidateStored(true)
    }
    return report(session, state, ticket)
  }

  /**
   * Runs `step` with the online code. When that code cannot be loaded the cached record
   * decides, as when Polar cannot be reached, with the error beside it. Never throws.
   */
  async function withOnline(
    step: (code: Online, session: OnlineSession) => Promise<LicenseState>,
  ): Promise<LicenseState> {
    let loaded: Awaited<ReturnType<typeof loadOnline>>
    try {
      loaded = await loadOnline()
    } catch (error) {
      return cachedWith(session, error, true)
    }
    return step(loaded.code, loaded.session)
  }

  /** Finishes an activation cut short after Polar gave the seat (its note names it). */
  const resumeInterrupted = () => withOnline((code, s) => code.resumeInterrupted(s))

  /** With a lease server, a trial starts with its signed token: online, never at 'never'. */
  const startLeasedTrial = () => withOnline((code, s) => code.startLeasedTrial(s))

  function refresh(): Promise<LicenseState> {
    return revalidateStored(false)
  }

  function revalidateStored(onlyIfDue: boolean): Promise<LicenseState> {
    return withOnline((code, s) => code.revalidateStored(s, onlyIfDue))
  }

  async function activate(key: string, activateOptions?: ActivateOptions): Promise<LicenseState> {
    const { code, session: online } = await loadOnline()
    return code.activate(online, key, activateOptions)
  }

  async function deactivate(): Promise<void> {
    const { code, session: online } = await loadOnline()
    await code.deactivate(online)
    // A machine that ran a trial keeps it (ended): listeners hear that, not a fresh start.
    const after = session.trial === undefined ? undefined : await session.records.read()
    session.emitter.emit(
      after?.kind === 'empty' && after.trial !== undefined
        ? await stateOf(session, after)
        : NOT_ACTIVATED,
    )
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
    async settled() {
      await session.mark.settled()
      await verifying
    },
    policy: session.policy,
    async allowsUpdate(releaseDate) {
      const at = toTime('releaseDate', releaseDate)
      return allowsUpdate(await check({ online: 'never' }), at)
    },
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

/** Epoch ms from a number, a date string or a Date; `invalid_input` otherwise. */
function toTime(field: string, value: number | string | Date): number {
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new KeygateError(
      'invalid_input',
      `${field} must be a date (epoch ms, an ISO date string or a Date).`,
    )
  }
  return ms
}

/** States that rest on a record (they carry its `license`) say what it rests on. */
function withIntegrity(state: LicenseState, level: () => Integrity): LicenseState {
  return state.integrity === undefined && state.license !== undefined
    ? { ...state, integrity: level() }
    : state
}
