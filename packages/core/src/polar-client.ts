import { type ClientSettings, resolveClientSettings } from './client-options.js'
import { activateBody, assertDeactivated, deactivateBody, validateBody } from './polar-bodies.js'
import type { RequestContext } from './polar-errors.js'
import { PolarActivationSchema, PolarValidatedKeySchema } from './polar-schemas.js'
import { type Body, createTransport, meta, parseResponse } from './polar-transport.js'
import type {
  ActivateRequest,
  DeactivateRequest,
  PolarClient,
  PolarClientOptions,
  ValidateRequest,
} from './polar-types.js'
import { defaultSleep, type Endpoint } from './retry.js'

const PATH = '/v1/customer-portal/license-keys/'

/**
 * The customer-portal license-key client, loaded at once. Apps get it through
 * `createPolarClient` from lazy-polar-client.ts, which loads this module on the first
 * request; tests and tools that want it eagerly import it here.
 */
export function createPolarClient(options: PolarClientOptions = {}): PolarClient {
  return clientFromSettings(resolveClientSettings(options))
}

/**
 * The customer-portal license-key client: no secret, safe to ship in an app.
 *
 * Every request is checked against Polar's field rules first (`invalid_input`, nothing
 * sent), gets a fresh timeout per attempt, and is retried only where that cannot cost
 * the customer a seat: see retry.ts. Every failure is a KeygateError.
 */
export function clientFromSettings(settings: ClientSettings): PolarClient {
  const { baseURL, headers, timeoutMs, retry } = settings
  const sleep = settings.sleep ?? defaultSleep
  // Resolved per call so a fetch patched later (msw, an Electron net.fetch swap) is used.
  const fetchImpl: typeof fetch = settings.fetch ?? ((input, init) => globalThis.fetch(input, init))

  const transport = createTransport({ baseURL, headers, fetch: fetchImpl, timeoutMs, retry, sleep })
  const send = (ctx: RequestContext, body: Body) =>
    transport({ ctx, method: 'POST', path: PATH + ctx.endpoint, body })

  function context(endpoint: Endpoint, key: string, withActivation = false): RequestContext {
    return { endpoint, label: `[POST] ${PATH}${endpoint}`, baseURL, key, withActivation }
  }

  return {
    baseURL,
    async activate(request: ActivateRequest) {
      const { key, body } = activateBody(request)
      const ctx = context('activate', key)
      return parseResponse(ctx, await send(ctx, body), PolarActivationSchema)
    },
    async validate(request: ValidateRequest) {
      const { key, body, withActivation } = validateBody(request)
      const ctx = context('validate', key, withActivation)
      return parseResponse(ctx, await send(ctx, body), PolarValidatedKeySchema)
    },
    async deactivate(request: DeactivateRequest) {
      const { key, body } = deactivateBody(request)
      const ctx = context('deactivate', key, true)
      const response = await send(ctx, body)
      assertDeactivated(ctx, response)
      return meta(response, null)
    },
  }
}
