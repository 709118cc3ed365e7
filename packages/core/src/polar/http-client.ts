import type { ClientSettings } from '../client-options.js'
import { maskKey } from '../errors.js'
import { activateBody, assertDeactivated, deactivateBody, validateBody } from './bodies.js'
import { checkPolarVersion, type RawResponse, type RequestContext } from './error-mapping.js'
import { createPacer, type Pacer, registerPacer } from './pacer.js'
import { defaultSleep, type Endpoint } from './retry.js'
import { PolarActivationSchema, type PolarLicenseKey, PolarValidatedKeySchema } from './schemas.js'
import {
  type Body,
  createTransport,
  meta,
  parseResponse,
  type TransportRequest,
} from './transport.js'
import type { ActivateRequest, DeactivateRequest, PolarClient, ValidateRequest } from './types.js'

const PATH = '/v1/customer-portal/license-keys/'

/**
 * The customer-portal license-key client from checked settings: no secret, safe to ship in
 * an app. `createPolarClient` (client.ts) is the public way in; it loads this module on
 * the first request, and the online code imports it directly.
 *
 * Every request is checked against Polar's field rules first (`invalid_input`, nothing
 * sent), takes a turn of `pacer` per attempt (pacer.ts), gets a fresh timeout per attempt,
 * and is retried only where that cannot cost the customer a seat or a usage: see
 * retry.ts. Every failure is a KeygateError.
 */
export function clientFromSettings(settings: ClientSettings, pacer?: Pacer): PolarClient {
  const { baseURL, headers, timeoutMs, retry, polarVersion } = settings
  const sleep = settings.sleep ?? defaultSleep
  // Resolved per call so a fetch patched later (msw, an Electron net.fetch swap) is used.
  const fetchImpl: typeof fetch = settings.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const paced = pacer ?? createPacer({ now: settings.now ?? Date.now, sleep })

  const transport = createTransport({
    baseURL,
    headers,
    fetch: fetchImpl,
    timeoutMs,
    retry,
    sleep,
    pacer: paced,
  })
  /** Sends one request and reads its answer with `read` (which throws on one not Polar's). */
  async function send<T>(
    ctx: RequestContext,
    body: Body,
    read: (response: RawResponse) => T,
    extra: Pick<TransportRequest, 'once' | 'afterLostAnswer' | 'onAnswer'> = {},
  ): Promise<T> {
    const check = (response: RawResponse) => {
      checkPolarVersion(ctx, response, polarVersion)
      return read(response)
    }
    // Read inside the transport, so a 200 that is not Polar's counts as the failure it is.
    let accepted: { value: T } | undefined
    const response = await transport({
      ctx,
      method: 'POST',
      path: PATH + ctx.endpoint,
      body,
      ...extra,
      accept: (answer) => {
        accepted = { value: check(answer) }
      },
    })
    // An answer `afterLostAnswer` stands in for was not read there.
    return accepted === undefined ? check(response) : accepted.value
  }

  function context(endpoint: Endpoint, key: string, withActivation = false): RequestContext {
    return {
      endpoint,
      label: `POST ${PATH}${endpoint}`,
      baseURL,
      key,
      withActivation,
      polarVersion,
    }
  }

  const client: PolarClient = {
    baseURL,
    async activate(request: ActivateRequest, options) {
      const { key, body } = activateBody(request)
      const ctx = context('activate', key)
      const result = await send(
        ctx,
        body,
        (answer) => parseResponse(ctx, answer, PolarActivationSchema),
        { onAnswer: options?.onAnswer },
      )
      const license = masked(key, result.data.license_key)
      return { ...result, data: { ...result.data, license_key: license } }
    },
    async validate(request: ValidateRequest) {
      const { key, body, withActivation } = validateBody(request)
      const ctx = context('validate', key, withActivation)
      // increment_usage counts on every arrival: never resent once it may have arrived.
      const once = body.increment_usage !== undefined && body.increment_usage !== 0
      const read = (answer: RawResponse) => parseResponse(ctx, answer, PolarValidatedKeySchema)
      const result = await send(ctx, body, read, { once })
      return { ...result, data: masked(key, result.data) }
    },
    async deactivate(request: DeactivateRequest) {
      const { key, body } = deactivateBody(request)
      const ctx = context('deactivate', key, true)
      const read = (answer: RawResponse) => {
        assertDeactivated(ctx, answer)
        return meta(answer, null)
      }
      return send(ctx, body, read, {
        // A retry after a lost 204 finds the activation gone: the seat is already free.
        afterLostAnswer: ({ error }) =>
          error.code === 'activation_not_found' || error.code === 'key_not_found'
            ? { status: 204, statusText: 'No Content', headers: new Headers(), body: undefined }
            : undefined,
      })
    },
  }
  registerPacer(client, paced)
  return client
}

/** Keys this short leave too little hidden behind Polar's `****-` + last 6. */
const SHORT_KEY = 8

/**
 * Polar's `display_key` shows the last 6 characters: the whole of a short imported key.
 * Such a key (or a display key that contains the key) is shown masked as keygate masks.
 */
function masked<T extends PolarLicenseKey>(key: string, license: T): T {
  const reveals =
    key.length <= SHORT_KEY || license.display_key.toLowerCase().includes(key.toLowerCase())
  return reveals ? { ...license, display_key: maskKey(key) } : license
}
