import { activateBody, assertDeactivated, deactivateBody, validateBody } from './bodies.js'
import type { ClientSettings } from './client-options.js'
import type { RequestContext } from './error-mapping.js'
import { defaultSleep, type Endpoint } from './retry.js'
import { PolarActivationSchema, PolarValidatedKeySchema } from './schemas.js'
import { type Body, createTransport, meta, parseResponse } from './transport.js'
import type { ActivateRequest, DeactivateRequest, PolarClient, ValidateRequest } from './types.js'

const PATH = '/v1/customer-portal/license-keys/'

/**
 * The customer-portal license-key client from checked settings: no secret, safe to ship in
 * an app. `createPolarClient` (client.ts) is the public way in; it loads this module on
 * the first request, and the online code imports it directly.
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
