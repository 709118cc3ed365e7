import type { KeygateError } from '../errors.js'
import type { Session } from '../offline/check.js'
import { resolveClientSettings } from '../polar/client-options.js'
import { clientFromSettings } from '../polar/http-client.js'
import { pauseOnRateLimit } from '../polar/pause.js'
import type { PolarClient } from '../polar/types.js'
import type { LicensingOptions } from '../types.js'
import { createLeaseClient, type LeaseClient } from './lease-client.js'

/**
 * The session the online functions take: the offline session plus the Polar client and
 * what one licensing instance remembers between calls. Created once per instance, when
 * the online code first loads.
 */
export interface OnlineSession extends Session {
  /** The Polar client, created on the first request, behind the shared 429 pause. */
  client(): Promise<PolarClient>
  /**
   * The last transient failure of `check({ online: 'auto' })`, which then answers from
   * the cache for a while (see revalidate.ts).
   */
  quiet: { since: number; error: KeygateError } | undefined
  /** The lease server, when `leaseServer` is set: activate and renew go through it. */
  leaseServer: LeaseClient | undefined
}

export function createOnlineSession(session: Session, options: LicensingOptions): OnlineSession {
  let client: Promise<PolarClient> | undefined
  const online: OnlineSession = {
    ...session,
    quiet: undefined,
    leaseServer:
      options.leaseServer === undefined
        ? undefined
        : createLeaseClient(options.leaseServer, options.fetch, options.timeoutMs),
    client() {
      client ??= (
        options.client
          ? Promise.resolve(options.client)
          : Promise.resolve().then(() =>
              clientFromSettings(
                resolveClientSettings({
                  server: session.server,
                  fetch: options.fetch,
                  timeoutMs: options.timeoutMs,
                  retry: options.retry,
                }),
              ),
            )
      ).then((polar) => pauseOnRateLimit(polar, session.now))
      client.catch(() => {
        client = undefined
      })
      return client
    },
  }
  return online
}
