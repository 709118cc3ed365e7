import { resolveClientSettings } from '../client-options.js'
import { KeygateError } from '../errors.js'
import { createPacer, registerPacer } from './pacer.js'
import type { PolarClient, PolarClientOptions } from './types.js'

/**
 * `createPolarClient` as `@keygate/core` exports it: the options are checked now, the
 * client itself (transport, error mapping, response schemas, ofetch) is loaded on the
 * first request. Importing `@keygate/core` for the offline start-up check therefore
 * loads none of the HTTP code, and bundlers keep it in a chunk of its own.
 *
 * No secret, safe to ship in an app. Every request is checked against Polar's field
 * rules first (`invalid_input`, nothing sent), gets a fresh timeout per attempt, and is
 * retried only where that cannot cost the customer a seat. Every failure is a
 * KeygateError.
 */
export function createPolarClient(options: PolarClientOptions = {}): PolarClient {
  const settings = resolveClientSettings(options)
  // Made now, not with the HTTP code: a licensing that is handed this client asks it for
  // its pacer (the quiet minute) before any request.
  const pacer = createPacer({
    now: settings.now ?? Date.now,
    sleep: settings.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  })

  let client: Promise<PolarClient> | undefined
  const load = (): Promise<PolarClient> => {
    client ??= import('./http-client.js').then(
      ({ clientFromSettings }) => clientFromSettings(settings, pacer),
      (cause: unknown) => {
        // Not cached: a chunk that failed to load (a file being replaced by an update)
        // is tried again on the next request.
        client = undefined
        throw new KeygateError(
          'network',
          "Could not load keygate's HTTP client (a chunk of @keygate/core); check that the app ships all of the package's files.",
          { cause },
        )
      },
    )
    return client
  }

  const polar: PolarClient = {
    baseURL: settings.baseURL,
    activate: async (request, options) => (await load()).activate(request, options),
    validate: async (request) => (await load()).validate(request),
    deactivate: async (request) => (await load()).deactivate(request),
  }
  registerPacer(polar, pacer)
  return polar
}
