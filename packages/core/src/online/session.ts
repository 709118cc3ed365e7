import type { ClientSettings } from '../client-options.js'
import type { Session } from '../offline/check.js'
import type { RecordAccess } from '../offline/record.js'
import { clientFromSettings } from '../polar/http-client.js'
import { createPacer, type Pacer, pacedClient, pacerOf } from '../polar/pacer.js'
import { defaultSleep } from '../polar/retry.js'
import type { PolarClient } from '../polar/types.js'
import type { LicensingOptions } from '../types.js'
import { createLeaseClient, type LeaseClient } from './lease-client.js'

/**
 * The session the online functions take: the offline session plus the Polar client and
 * its pacer. Created once per instance, when the online code first loads.
 */
export interface OnlineSession extends Session {
  /** The Polar client, created on the first request; every request it sends is paced. */
  client(): Promise<PolarClient>
  /**
   * When this licensing may ask Polar (polar/pacer.ts): 3 requests in any second, nothing
   * before a 429's Retry-After, and the quiet minute after a transient failure that
   * `check({ online: 'auto' })` honours (see revalidate.ts).
   */
  pacer: Pacer
  /**
   * Loads what the store's next write needs (`LicenseStore.prepare`), called right before an
   * activation is sent: the seat Polar gives is on disk as soon after its answer as possible.
   * Never rejects.
   */
  prepareWrite(): Promise<void>
  /** The lease server, when `leaseServer` is set: activate and renew go through it. */
  leaseServer: LeaseClient | undefined
}

/** `settings`: the client options `createLicensing` checked, whenever `options.client` is unset. */
export function createOnlineSession(
  session: Session,
  options: LicensingOptions,
  settings: ClientSettings | undefined,
): OnlineSession {
  const given = options.client
  // A client from `createPolarClient` paces every attempt itself; any other is paced per call.
  const pacer = (given && pacerOf(given)) ?? createPacer({ now: session.now, sleep: defaultSleep })
  let client: Promise<PolarClient> | undefined
  const online: OnlineSession = {
    ...session,
    records: sharingPacing(session.records, pacer),
    pacer,
    prepareWrite: () => session.records.prepare(),
    leaseServer:
      options.leaseServer === undefined
        ? undefined
        : createLeaseClient(options.leaseServer, options.fetch, options.timeoutMs, pacer),
    client() {
      client ??= Promise.resolve().then(() => {
        if (given) return pacerOf(given) ? given : pacedClient(given, pacer)
        return clientFromSettings(settings as ClientSettings, pacer)
      })
      client.catch(() => {
        client = undefined
      })
      return client
    },
  }
  return online
}

/**
 * Every request to Polar is sent inside the store's lock: there, the pacer also follows the
 * store's pacing log, so the app's other processes on this machine (another instance, the
 * CLI) and this one stay within Polar's per-IP limit together.
 */
function sharingPacing(records: RecordAccess, pacer: Pacer): RecordAccess {
  return {
    ...records,
    locked: (fn) =>
      records.locked(async (record) => {
        if (record.pacing === undefined) return fn(record)
        const end = pacer.share(record.pacing)
        try {
          return await fn(record)
        } finally {
          await end()
        }
      }),
  }
}
