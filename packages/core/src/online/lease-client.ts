import * as v from 'valibot'
import { KeygateError, type KeygateErrorCode } from '../errors.js'
import { GRANT_VERSION, type Grant } from '../offline/grant.js'
import { type LeasePublicKey, loadLeaseCode } from '../offline/lease.js'
import type { GrantOrigin } from '../offline/origin.js'
import type { Pacer } from '../polar/pacer.js'
import type { Conditions } from '../polar/types.js'

/**
 * The HTTP side of a lease server (packages/server, protocol version 1): activate, renew,
 * list and free devices. The key travels in the JSON body only. A lease that does not
 * verify with the app's public key is refused here, so a misconfigured pair is found at
 * activation and never stored.
 */

/** Where the lease server is and the public key its leases are checked with. */
export interface LeaseServerOptions {
  /** The server's base URL (`https://lease.example.com`, or under a prefix). */
  url: string
  /** The server's public Ed25519 JWK, as `keygate lease keygen` prints it. */
  publicKey: LeasePublicKey
}

const MetaValue = v.union([v.string(), v.number(), v.boolean()])

const ActivationSchema = v.object({
  id: v.string(),
  label: v.string(),
  meta: v.record(v.string(), MetaValue),
  created_at: v.string(),
  modified_at: v.nullable(v.string()),
})

const LeaseAnswerSchema = v.object({
  lease: v.string(),
  validated_at: v.string(),
  license_key: v.object({
    id: v.string(),
    customer_id: v.string(),
    benefit_id: v.string(),
    display_key: v.string(),
    status: v.string(),
    limit_activations: v.nullable(v.number()),
    usage: v.number(),
    limit_usage: v.nullable(v.number()),
    expires_at: v.nullable(v.string()),
  }),
  activation: v.nullable(ActivationSchema),
  reused: v.optional(v.boolean()),
})

/** `leaseKey`: the public key (`x`) the lease verified with, set once it did. */
export type LeaseAnswer = v.InferOutput<typeof LeaseAnswerSchema> & { leaseKey?: string }

const DevicesAnswerSchema = v.object({
  devices: v.array(v.object({ ...ActivationSchema.entries, current: v.boolean() })),
  limit_activations: v.nullable(v.number()),
})

const FreedAnswerSchema = v.object({ freed: v.string() })

const TrialAnswerSchema = v.object({
  token: v.string(),
  started_at: v.string(),
  ends_at: v.string(),
})

export type TrialAnswer = v.InferOutput<typeof TrialAnswerSchema>

const ErrorAnswerSchema = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    detail: v.optional(v.nullable(v.string())),
    retry_after: v.optional(v.number()),
  }),
})

const CODES = new Set<string>([
  'invalid_input',
  'key_not_found',
  'activation_not_found',
  'activation_limit_reached',
  'activation_not_supported',
  'revoked',
  'expired',
  'conditions_mismatch',
  'usage_limit',
  'rate_limited',
  'network',
  'timeout',
  'server',
  'bad_response',
])

export interface LeaseClient {
  activate(body: {
    key: string
    fingerprint: string
    label: string
    meta?: Conditions | undefined
  }): Promise<LeaseAnswer>
  renew(body: {
    key: string
    fingerprint: string
    activation_id: string | null
  }): Promise<LeaseAnswer>
  devices(body: {
    key: string
    fingerprint: string
    /** This machine's own activation, from its grant. */
    activation_id?: string | undefined
  }): Promise<v.InferOutput<typeof DevicesAnswerSchema>>
  free(body: {
    key: string
    activation_id: string
  }): Promise<v.InferOutput<typeof FreedAnswerSchema>>
  /** This machine's trial token (`POST /v1/trial`), verified with the app's public key. */
  trial(body: { fingerprint: string; days: number }): Promise<TrialAnswer>
}

/**
 * `pacer`: the licensing's (polar/pacer.ts). Every request takes a turn, so a lease server
 * that cannot be reached quiets `check()`'s optional requests for a minute, and its 429's
 * Retry-After pauses them, as Polar's would.
 */
export function createLeaseClient(
  options: LeaseServerOptions,
  fetchImpl: typeof fetch = globalThis.fetch,
  timeoutMs = 15_000,
  pacer?: Pacer,
): LeaseClient {
  const base = options.url.replace(/\/+$/, '')
  async function post<S extends v.GenericSchema>(
    path: string,
    body: object,
    schema: S,
  ): Promise<v.InferOutput<S>> {
    const turn = await pacer?.turn()
    try {
      const answer = await send(path, body, schema)
      turn?.settled()
      return answer
    } catch (error) {
      turn?.settled(error)
      throw error
    }
  }
  async function send<S extends v.GenericSchema>(
    path: string,
    body: object,
    schema: S,
  ): Promise<v.InferOutput<S>> {
    let response: Response
    try {
      response = await fetchImpl(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (cause) {
      const timedOut = cause instanceof Error && cause.name === 'TimeoutError'
      throw new KeygateError(
        timedOut ? 'timeout' : 'network',
        timedOut
          ? `The lease server did not answer within ${timeoutMs} ms.`
          : 'The lease server could not be reached. Check the connection and try again.',
        { cause },
      )
    }
    let json: unknown
    try {
      json = await response.json()
    } catch (cause) {
      throw new KeygateError(
        response.ok ? 'bad_response' : 'server',
        `The lease server answered ${response.status} without JSON.`,
        { status: response.status, cause },
      )
    }
    if (!response.ok) throw answerError(response, json)
    const parsed = v.safeParse(schema, json)
    if (!parsed.success) {
      throw new KeygateError(
        'bad_response',
        `The lease server's answer was not understood: ${v.summarize(parsed.issues)}.`,
        { status: response.status },
      )
    }
    return parsed.output
  }

  const leased = async (path: string, body: object): Promise<LeaseAnswer> => {
    const answer = await post(path, body, LeaseAnswerSchema)
    const { verifyLease, verifyLeaseAhead } = await loadLeaseCode()
    await verifyLeaseAhead(answer.lease, options.publicKey)
    if (verifyLease(answer.lease, options.publicKey) === null) {
      throw new KeygateError(
        'bad_response',
        "The lease server's lease does not verify with the public key this app embeds: is leaseServer.publicKey the public half of the server's signingKey?",
      )
    }
    return { ...answer, leaseKey: options.publicKey.x }
  }

  return {
    activate: (body) => leased('/v1/activate', body),
    renew: (body) => leased('/v1/renew', body),
    devices: (body) => post('/v1/devices', body, DevicesAnswerSchema),
    free: (body) => post('/v1/devices/free', body, FreedAnswerSchema),
    async trial(body) {
      const answer = await post('/v1/trial', body, TrialAnswerSchema)
      const { verifyTrialAhead, verifyTrialToken } = await loadLeaseCode()
      await verifyTrialAhead(answer.token, options.publicKey)
      if (verifyTrialToken(answer.token, options.publicKey) === null) {
        throw new KeygateError(
          'bad_response',
          "The lease server's trial token does not verify with the public key this app embeds: is leaseServer.publicKey the public half of the server's signingKey?",
        )
      }
      return answer
    },
  }
}

function answerError(response: Response, json: unknown): KeygateError {
  const parsed = v.safeParse(ErrorAnswerSchema, json)
  const status = response.status
  if (!parsed.success || !CODES.has(parsed.output.error.code)) {
    return new KeygateError(
      status >= 500 ? 'server' : 'bad_response',
      `The lease server answered ${status}.`,
      {
        status,
      },
    )
  }
  const { code, message, detail, retry_after } = parsed.output.error
  const header = Number(response.headers.get('retry-after'))
  const retryAfter = retry_after ?? (Number.isFinite(header) && header > 0 ? header : undefined)
  return new KeygateError(code as KeygateErrorCode, message, {
    status,
    ...(detail ? { detail } : {}),
    ...(retryAfter === undefined ? {} : { retryAfter }),
  })
}

/** The grant a lease answer gives: Polar's facts as the server relayed them, and the lease. */
export function grantFromLease(
  origin: GrantOrigin,
  conditions: Conditions,
  answer: LeaseAnswer,
  now: number,
  previous?: Grant,
): Grant {
  const k = answer.license_key
  const a = answer.activation
  const validatedAt = Date.parse(answer.validated_at)
  const { verdict: _lifted, pending: _done, ...rest } = previous ?? ({} as Partial<Grant>)
  return {
    ...rest,
    v: GRANT_VERSION,
    ...origin,
    conditions,
    activation:
      a === null ? null : { id: a.id, label: a.label, meta: a.meta, createdAt: a.created_at },
    license: {
      id: k.id,
      displayKey: k.display_key,
      status: k.status,
      expiresAt: k.expires_at,
      limitActivations: k.limit_activations,
      usage: k.usage,
      limitUsage: k.limit_usage,
      benefitId: k.benefit_id,
      customerId: k.customer_id,
    },
    validatedAt: Number.isFinite(validatedAt) ? validatedAt : now,
    localValidatedAt: now,
    clockHighWater: now,
    lease: answer.lease,
    ...(answer.leaseKey === undefined ? {} : { leaseKey: answer.leaseKey }),
  }
}
