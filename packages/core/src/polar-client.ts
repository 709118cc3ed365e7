import { type ClientSettings, resolveClientSettings } from './client-options.js'
import { badResponse, parseBody, type RequestContext } from './polar-errors.js'
import { PolarActivationSchema, PolarValidatedKeySchema } from './polar-schemas.js'
import { type Body, compact, createTransport, meta, parseResponse } from './polar-transport.js'
import type {
  ActivateRequest,
  DeactivateRequest,
  PolarClient,
  PolarClientOptions,
  ValidateRequest,
} from './polar-types.js'
import {
  validateActivateRequest,
  validateDeactivateRequest,
  validateValidateRequest,
} from './request-rules.js'
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
      const r = validateActivateRequest(request)
      const body = compact({
        key: r.key,
        organization_id: r.organizationId,
        label: r.label,
        conditions: r.conditions,
        meta: r.meta,
      })
      const ctx = context('activate', r.key)
      return parseResponse(ctx, await send(ctx, body), PolarActivationSchema)
    },
    async validate(request: ValidateRequest) {
      const r = validateValidateRequest(request)
      const body = compact({
        key: r.key,
        organization_id: r.organizationId,
        activation_id: r.activationId,
        benefit_id: r.benefitId,
        customer_id: r.customerId,
        increment_usage: r.incrementUsage,
        conditions: r.conditions,
      })
      const ctx = context('validate', r.key, r.activationId !== undefined)
      return parseResponse(ctx, await send(ctx, body), PolarValidatedKeySchema)
    },
    async deactivate(request: DeactivateRequest) {
      const r = validateDeactivateRequest(request)
      const body = {
        key: r.key,
        organization_id: r.organizationId,
        activation_id: r.activationId,
      }
      const ctx = context('deactivate', r.key, true)
      const response = await send(ctx, body)
      // Polar answers 204 with no body. A 2xx carrying an HTML page or broken JSON is a
      // captive portal or a proxy, not Polar: taking it as success would forget a seat
      // Polar still counts.
      if (response.body?.trim()) {
        const parsed = parseBody(response.body)
        if (!parsed.ok || typeof parsed.json !== 'object' || parsed.json === null) {
          throw badResponse(
            ctx,
            response.status,
            parsed.ok ? "a body that is not Polar's" : parsed.what,
          )
        }
      }
      return meta(response, null)
    },
  }
}
