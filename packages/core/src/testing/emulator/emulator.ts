import * as admin from './admin.js'
import { type AccessTokenOptions, createAuth } from './auth.js'
import { createFaultQueue } from './faults.js'
import { listen } from './http-server.js'
import { createRateLimiter, DEFAULT_RATE_LIMIT, POLAR_BLOCK_SECONDS } from './rate-limit.js'
import { type Answer, type Arrival, route } from './router.js'
import { createState } from './state.js'
import type {
  CreateKeyOptions,
  EmulatedActivation,
  EmulatedKey,
  EmulatorRequestLog,
  EmulatorServer,
  FaultKind,
  KeyRef,
  PolarBlockZone,
  PolarEmulatorOptions,
  TimeInput,
} from './types.js'

/** The client IP every in-process call (`fetch`, `handler`) counts as. */
export const IN_PROCESS_IP = '127.0.0.1'

/** Polar's API versions (server/polar/version.py), the default first. */
export const POLAR_API_VERSIONS: readonly string[] = Object.freeze(['2026-04', '2026-10'])

export interface HandleOptions {
  /** The client IP the rate limit counts this request against. Default `127.0.0.1`. */
  clientIp?: string | undefined
}

export interface PolarEmulator {
  /** Your organization's id in the emulator (pass it as `organizationId`). */
  readonly organizationId: string
  /** The benefit keys belong to unless `createKey` says otherwise. */
  readonly benefitId: string
  /** A `fetch` that answers Polar's routes in-process (the host is ignored). */
  readonly fetch: typeof fetch
  /** For msw: `http.all('*', ({ request }) => emulator.handler(request))`. */
  handler(request: Request, options?: HandleOptions): Promise<Response>
  /** Serves the emulator over real HTTP on 127.0.0.1 (port 0 = any free port). */
  listen(port?: number): Promise<EmulatorServer>

  createKey(options?: CreateKeyOptions): EmulatedKey
  /** The key as it is now (deleted keys included). Throws for an unknown key. */
  getKey(ref: KeyRef): EmulatedKey
  updateKey(ref: KeyRef, patch: admin.KeyPatch): EmulatedKey
  /** The seller revokes the key: activate 403, validate 404 "no longer active". */
  revoke(ref: KeyRef): EmulatedKey
  /** The seller disables the key (answers like revoked). */
  disable(ref: KeyRef): EmulatedKey
  /** Re-enables a revoked or disabled key. */
  grant(ref: KeyRef): EmulatedKey
  /** Sets `expires_at` (default: now, so the key is expired at once). */
  expire(ref: KeyRef, at?: TimeInput): EmulatedKey
  /**
   * The customer rotates the key: returns the new string (the benefit's current prefix);
   * the old one answers 404, activations stay valid. Throws for a revoked or deleted key,
   * which Polar refuses (400 RotateNotPermitted, 404).
   */
  rotate(ref: KeyRef): string
  /** The seller changes the benefit's prefix: new and rotated keys get it. */
  updateBenefit(benefitId: string, patch: { prefix: string | null }): void
  /** A subscription key's subscription ends: Polar revokes the grant and the key. */
  endSubscription(ref: KeyRef): EmulatedKey
  /** The customer subscribes again: the same key string, re-granted, activations intact. */
  resubscribe(ref: KeyRef): EmulatedKey
  /** Deletes the key: every endpoint answers 404 "Not found". */
  remove(ref: KeyRef): void
  /** Frees a seat as the customer portal does. False when it was not live. */
  removeActivation(activationId: string): boolean
  /** Takes a seat without a request, e.g. to fill a key's seats in setup. */
  addActivation(ref: KeyRef, options?: admin.AddActivationOptions): EmulatedActivation
  /** Live (not deactivated) activations of a key, oldest first. */
  listActivations(ref: KeyRef): EmulatedActivation[]

  /** The emulator's clock, epoch ms. */
  now(): number
  /** Moves the emulator's clock forward (negative moves it back). */
  advance(ms: number): void
  /** Sets the emulator's clock to a moment. */
  setClock(at: TimeInput): void

  /** Every request seen, oldest first, keys masked. */
  readonly requests: ReadonlyArray<EmulatorRequestLog>
  clearRequests(): void
  /** While offline, every request fails as a dropped connection. */
  setOffline(offline: boolean): void
  /** The next `count` requests fail this way, then Polar answers again. */
  failNext(count: number, kind: FaultKind): void
  /** Forgets rate-limit counters and blocks. */
  resetRateLimit(): void
  /**
   * How far Polar's read replica trails its primary, in ms (default 0): the organization
   * API's GETs (a key with its activations, one activation) do not yet see activations
   * taken, and still list ones freed, within that time. Writes and the customer-portal
   * routes read the primary.
   */
  setReplicaLag(ms: number): void
  /**
   * Blocks a client as a refusal in another Polar zone does (`login-code` 900 s,
   * `checkout-confirm` 1800 s, …, or a number of seconds): the block is keyed by the client
   * alone, so the license routes answer 429 with that block's Retry-After until it ends.
   * `client` is an IP (default 127.0.0.1) or `{ organizationId }` for the organization API.
   */
  blockClient(zone: PolarBlockZone | number, client?: string | { organizationId: string }): void

  /**
   * An organization access token for the seller API (`/v1/license-keys/…`), sent as
   * `Authorization: Bearer <token>`. Default scopes `license_keys:read` and `:write`.
   */
  createAccessToken(options?: AccessTokenOptions): string
  /** The token is refused (401) from now on. False when it was not live. */
  revokeAccessToken(token: string): boolean
  /**
   * A customer-portal session (`polar_cst_…`) for the key's customer, as Bearer token of
   * `POST /v1/customer-portal/license-keys/{id}/rotate`.
   */
  createCustomerSession(ref: KeyRef): string
}

export function createPolarEmulator(options: PolarEmulatorOptions = {}): PolarEmulator {
  const base = options.now ?? Date.now
  let offset = 0
  const now = () => base() + offset
  const state = createState()
  const sandbox = options.sandbox === true
  const limiter = createRateLimiter({
    license: options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit,
    sandbox,
  })
  const auth = createAuth(options.organizationRateLimit ?? 'default')
  const faults = createFaultQueue()
  const requests: EmulatorRequestLog[] = []
  let replicaLag = checkReplicaLag(options.replicaLagMs ?? 0)
  const ctx: admin.AdminContext = {
    state,
    now,
    organizationId: (options.organizationId ?? crypto.randomUUID()).toLowerCase(),
    benefitId: crypto.randomUUID(),
  }
  const deps = {
    state,
    now,
    sandbox,
    polarVersions: checkVersions(options.polarVersions ?? POLAR_API_VERSIONS),
    limiter,
    auth,
    faults,
    replicaLag: () => replicaLag,
    log: (entry: EmulatorRequestLog) => requests.push(Object.freeze(entry)),
  }
  const answer = (request: Request, arrival: Arrival): Promise<Answer> =>
    route(deps, request, arrival)

  const emulatorFetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = toRequest(input, init)
    const streamed = init?.body instanceof ReadableStream
    const arrival = { ip: IN_PROCESS_IP, contentLength: await contentLength(request, streamed) }
    const result = await answer(request, arrival)
    if (result.kind === 'response') return result.response
    if (result.kind === 'reset') throw connectionReset()
    return hangUntilAborted(request.signal)
  }

  const setStatus = (status: EmulatedKey['status']) => (ref: KeyRef) =>
    admin.setStatus(ctx, ref, status)

  const emulator: PolarEmulator = {
    organizationId: ctx.organizationId,
    benefitId: ctx.benefitId,
    fetch: emulatorFetch as typeof fetch,
    async handler(request, handleOptions) {
      const ip = handleOptions?.clientIp ?? IN_PROCESS_IP
      const result = await answer(request, {
        ip,
        contentLength: await contentLength(request, false),
      })
      if (result.kind === 'response') return result.response
      // msw turns Response.error() into a network error for the caller.
      if (result.kind === 'reset') return Response.error()
      return hangUntilAborted(request.signal)
    },
    listen: (port = 0) => listen(answer, port),

    createKey: (createOptions) => admin.createKey(ctx, createOptions),
    getKey: (ref) => admin.snapshotKey(admin.resolveKey(ctx, ref)),
    updateKey: (ref, patch) => admin.updateKey(ctx, ref, patch),
    revoke: setStatus('revoked'),
    disable: setStatus('disabled'),
    grant: setStatus('granted'),
    expire: (ref, at) => admin.updateKey(ctx, ref, { expiresAt: at ?? now() }),
    rotate: (ref) => admin.rotateKey(ctx, ref),
    updateBenefit: (benefitId, patch) => admin.updateBenefit(ctx, benefitId, patch),
    endSubscription: (ref) => admin.endSubscription(ctx, ref),
    resubscribe: (ref) => admin.resubscribe(ctx, ref),
    remove: (ref) => admin.removeKey(ctx, ref),
    removeActivation: (id) => admin.removeActivation(ctx, id),
    addActivation: (ref, activationOptions) => admin.addActivation(ctx, ref, activationOptions),
    listActivations: (ref) => admin.listActivations(ctx, ref),

    now,
    advance(ms) {
      offset += ms
    },
    setClock(at) {
      offset = admin.toTime(at, 'setClock') - base()
    },

    requests,
    clearRequests() {
      requests.length = 0
    },
    setOffline: (offline) => faults.setOffline(offline),
    failNext: (count, kind) => faults.failNext(count, kind),
    resetRateLimit: () => limiter.reset(),
    setReplicaLag(ms) {
      replicaLag = checkReplicaLag(ms)
    },
    blockClient(zone, client = IN_PROCESS_IP) {
      const seconds = typeof zone === 'number' ? zone : POLAR_BLOCK_SECONDS[zone]
      if (!Number.isFinite(seconds) || seconds <= 0) {
        throw new RangeError(`blockClient: a zone or a positive number of seconds, got ${zone}`)
      }
      const user =
        typeof client === 'string' ? client : `organization:${client.organizationId.toLowerCase()}`
      limiter.block(user, seconds, now())
    },

    createAccessToken: (tokenOptions = {}) =>
      auth.createAccessToken(tokenOptions, ctx.organizationId),
    revokeAccessToken: (token) => auth.revoke(token),
    createCustomerSession(ref) {
      const key = admin.resolveKey(ctx, ref)
      return auth.createCustomerSession(key.customerId, key.organizationId)
    },
  }
  return emulator
}

function checkReplicaLag(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`replicaLagMs: a number of ms, 0 or more; got ${ms}`)
  }
  return ms
}

/** Polar's versions are `YYYY-MM`; any other value could never be served. */
function checkVersions(versions: readonly string[]): readonly string[] {
  const bad = versions.find((version) => !/^\d{4}-\d{2}$/.test(version))
  if (versions.length === 0 || bad !== undefined) {
    throw new RangeError(
      `polarVersions: Polar's versions look like 2026-04; got ${bad ?? 'an empty list'}`,
    )
  }
  return versions
}

/**
 * The Content-Length a fetch client sends: the header when set, else the body's byte
 * length (POST and PUT without a body send 0); a streamed body is sent chunked, without one.
 */
async function contentLength(request: Request, streamed: boolean): Promise<string | null> {
  const header = request.headers.get('content-length')
  if (header !== null) return header
  if (streamed) return null
  if (request.body === null) {
    return request.method === 'POST' || request.method === 'PUT' ? '0' : null
  }
  return String((await request.clone().arrayBuffer()).byteLength)
}

function toRequest(input: RequestInfo | URL, init?: RequestInit): Request {
  // A bare path is fine: the emulator routes by path and ignores the host.
  if (typeof input === 'string' && input.startsWith('/')) {
    return new Request(`http://polar.emulator${input}`, init)
  }
  return new Request(input, init)
}

/** What undici's fetch throws when the peer drops the connection. */
function connectionReset(): TypeError {
  const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
  return new TypeError('fetch failed', { cause })
}

/** Never settles, except when the caller aborts: then rejects with the abort reason. */
function hangUntilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}
