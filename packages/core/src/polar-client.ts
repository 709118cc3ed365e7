import type { RequestContext } from './polar-errors.js'
import {
  type Body,
  checkBaseURL,
  checkHeaderValue,
  checkNumber,
  compact,
  createTransport,
  meta,
  parseResponse,
} from './polar-transport.js'
import {
  type ActivateRequest,
  type DeactivateRequest,
  PolarActivationSchema,
  type PolarClient,
  type PolarClientOptions,
  PolarValidatedKeySchema,
  resolveServer,
  type ValidateRequest,
} from './polar-types.js'
import {
  validateActivateRequest,
  validateDeactivateRequest,
  validateValidateRequest,
} from './request-rules.js'
import { defaultSleep, type Endpoint } from './retry.js'

export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_RETRY = 2
const MAX_RETRY = 10

const PATH = '/v1/customer-portal/license-keys/'

/**
 * The customer-portal license-key client: no secret, safe to ship in an app.
 *
 * Every request is checked against Polar's field rules first (`invalid_input`, nothing
 * sent), gets a fresh timeout per attempt, and is retried only where that cannot cost
 * the customer a seat: see retry.ts. Every failure is a KeygateError.
 */
export function createPolarClient(options: PolarClientOptions = {}): PolarClient {
  const baseURL = checkBaseURL(resolveServer(options.server))
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 600_000)
  const retry = checkNumber('retry', options.retry ?? DEFAULT_RETRY, 0, MAX_RETRY)
  const sleep = options.sleep ?? defaultSleep
  // Resolved per call so a fetch patched later (msw, an Electron net.fetch swap) is used.
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.polarVersion !== undefined) {
    headers['polar-version'] = checkHeaderValue('polarVersion', options.polarVersion)
  }

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
      // 204 with no body; any other success is accepted too, its body is not needed.
      return meta(await send(context('deactivate', r.key, true), body), null)
    },
  }
}
