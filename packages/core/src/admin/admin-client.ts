import {
  checkBaseURL,
  checkHeaderValue,
  checkNumber,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT_MS,
} from '../client-options.js'
import { KeygateError } from '../errors.js'
import { activateBody, assertDeactivated, deactivateBody, validateBody } from '../polar/bodies.js'
import type { RequestContext } from '../polar/error-mapping.js'
import { defaultSleep } from '../polar/retry.js'
import { checkUuid4 } from '../polar/rules.js'
import { PolarActivationSchema, PolarValidatedKeySchema } from '../polar/schemas.js'
import { type Body, createTransport, meta, parseResponse } from '../polar/transport.js'
import { type PolarResult, resolveServer } from '../polar/types.js'
import { type AdminTarget, adminFailure } from './admin-errors.js'
import { assertOutsideApp, checkToken, checkTransport } from './admin-guards.js'
import { checkPage, listQuery, updateBody } from './admin-input.js'
import {
  AdminActivationSchema,
  AdminLicenseKeyPageSchema,
  AdminLicenseKeySchema,
  AdminLicenseKeyWithActivationsSchema,
  type ListLicenseKeysParams,
  type PolarAdminClient,
  type PolarAdminClientOptions,
} from './admin-types.js'
import { checkRateLimit, createRequestPacer, defaultRateLimit } from './request-pacer.js'

const PATH = '/v1/license-keys/'
const MAX_RETRY = 10

/**
 * The organization-token client for seller tooling (support scripts, the `keygate`
 * CLI, a server). It holds a secret: it refuses to start in a browser page or an
 * Electron renderer, and to send the token over plain http to anything but loopback.
 *
 * Same transport, retry rules, error model and lenient parsing as the customer client;
 * requests are paced under Polar's per-organization limit (see request-pacer.ts).
 */
export function createPolarAdminClient(options: PolarAdminClientOptions): PolarAdminClient {
  assertOutsideApp()
  if (typeof options !== 'object' || options === null) {
    throw new KeygateError('invalid_input', 'createPolarAdminClient needs { token, server? }.')
  }
  const token = checkToken(options.token)
  const baseURL = checkTransport(checkBaseURL(resolveServer(options.server)))
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 600_000)
  const retry = checkNumber('retry', options.retry ?? DEFAULT_RETRY, 0, MAX_RETRY)
  const sleep = options.sleep ?? defaultSleep
  const now = options.now ?? Date.now
  const headers: Record<string, string> = {
    accept: 'application/json',
    authorization: `Bearer ${token}`,
  }
  if (options.polarVersion !== undefined) {
    headers['polar-version'] = checkHeaderValue('polarVersion', options.polarVersion)
  }
  const limit = options.rateLimit ?? defaultRateLimit(baseURL)
  const pace = limit === false ? undefined : createRequestPacer(checkRateLimit(limit), now, sleep)
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const transport = createTransport({
    baseURL,
    headers,
    fetch: fetchImpl,
    timeoutMs,
    retry,
    sleep,
    beforeAttempt: pace,
  })

  interface Send {
    method: 'GET' | 'POST' | 'PATCH'
    path: string
    target: AdminTarget
    body?: Body | undefined
    /** The license key in the body, masked in messages and scrubbed from details. */
    key?: string | undefined
    /** validate only: an activation id was sent (it makes "Not found" ambiguous). */
    withActivation?: boolean | undefined
  }

  function send({ method, path, target, body, key = '', withActivation = false }: Send) {
    const { operation } = target
    // The customer client's rules key on its three endpoints: activate (and rotate, which
    // would rotate twice) is unsafe to repeat after a lost answer; reads and PATCH are
    // idempotent, like validate.
    const endpoint =
      operation === 'activate' || operation === 'rotate'
        ? 'activate'
        : operation === 'deactivate'
          ? 'deactivate'
          : 'validate'
    const ctx: RequestContext = {
      endpoint,
      label: `[${method}] ${path.split('?')[0]}`,
      baseURL,
      key,
      withActivation: operation === 'deactivate' || withActivation,
    }
    const request = transport({
      ctx,
      method,
      path,
      body,
      mapFailure: (response) => adminFailure(ctx, target, response),
    })
    return { ctx, request }
  }

  async function list(params: ListLicenseKeysParams = {}) {
    const path = `${PATH}?${listQuery(params)}`
    const { ctx, request } = send({ method: 'GET', path, target: { operation: 'list' } })
    return parseResponse(ctx, await request, AdminLicenseKeyPageSchema)
  }

  return {
    baseURL,
    list,
    async *listAll(params = {}) {
      const { pageSize = 100, ...filter } = params
      checkPage('pageSize', pageSize, 100)
      // Bounded by Polar's own max_page; an empty page also ends it (keys removed meanwhile).
      for (let page = 1; ; page++) {
        const { data } = await list({ ...filter, page, limit: pageSize })
        yield* data.items
        if (data.items.length === 0 || page >= data.pagination.max_page) return
      }
    },
    async get(id) {
      const keyId = checkUuid4('id', id)
      const target = { operation: 'get', keyId } as const
      const { ctx, request } = send({ method: 'GET', path: PATH + keyId, target })
      return parseResponse(ctx, await request, AdminLicenseKeyWithActivationsSchema)
    },
    async update(id, update) {
      const keyId = checkUuid4('id', id)
      const body = updateBody(update)
      const target = { operation: 'update', keyId } as const
      const { ctx, request } = send({ method: 'PATCH', path: PATH + keyId, target, body })
      return parseResponse(ctx, await request, AdminLicenseKeySchema)
    },
    async rotate(id) {
      const keyId = checkUuid4('id', id)
      const target = { operation: 'rotate', keyId } as const
      const path = `${PATH}${keyId}/rotate`
      const { ctx, request } = send({ method: 'POST', path, target })
      return parseResponse(ctx, await request, AdminLicenseKeySchema)
    },
    async getActivation(id, activationId) {
      const keyId = checkUuid4('id', id)
      const actId = checkUuid4('activationId', activationId)
      const path = `${PATH}${keyId}/activations/${actId}`
      const target = { operation: 'get_activation', keyId, activationId: actId } as const
      const { ctx, request } = send({ method: 'GET', path, target })
      return parseResponse(ctx, await request, AdminActivationSchema)
    },
    async activate(input) {
      const { key, body } = activateBody(input)
      const target = { operation: 'activate' } as const
      const { ctx, request } = send({ method: 'POST', path: `${PATH}activate`, target, body, key })
      return parseResponse(ctx, await request, PolarActivationSchema)
    },
    async validate(input) {
      const { key, body, withActivation } = validateBody(input)
      const target = { operation: 'validate' } as const
      const path = `${PATH}validate`
      const { ctx, request } = send({ method: 'POST', path, target, body, key, withActivation })
      return parseResponse(ctx, await request, PolarValidatedKeySchema)
    },
    async deactivate(input): Promise<PolarResult<null>> {
      const { key, body } = deactivateBody(input)
      const target = { operation: 'deactivate' } as const
      const path = `${PATH}deactivate`
      const { ctx, request } = send({ method: 'POST', path, target, body, key })
      const response = await request
      assertDeactivated(ctx, response)
      return meta(response, null)
    },
  }
}
