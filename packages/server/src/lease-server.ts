import { checkUuid4, KeygateError, MACHINE_CONDITION, type PolarServer } from '@keygate/core'
import { createPolarAdminClient, oldestFirst } from '@keygate/core/admin'
import { errorAnswer, failureAnswer, json } from './http-answer.js'
import {
  checkSigningKey,
  createLeaseSigner,
  type Ed25519PrivateJwk,
  type LeaseSigner,
  leaseTimes,
} from './lease.js'
import {
  type DevicesResponseBody,
  type FreeDeviceResponseBody,
  type LeaseResponseBody,
  ROUTES,
  type TrialResponseBody,
} from './protocol.js'
import {
  activateInput,
  devicesInput,
  freeInput,
  readJson,
  renewInput,
  trialInput,
} from './request-input.js'
import {
  currentSeats,
  publicActivation,
  publicLicenseKey,
  type Seat,
  type SeatContext,
  takeSeat,
} from './seats.js'

export interface LeaseServerOptions {
  /** Your Polar organization's id (UUID). Keys of other organizations are refused. */
  organizationId: string
  /**
   * An Organization Access Token with `license_keys:read` and `license_keys:write`. A
   * secret: it never leaves the server (no answer or log contains it).
   */
  polarToken: string
  /** The Ed25519 private JWK that signs leases, or its JSON text (e.g. straight from a secret). */
  signingKey: Ed25519PrivateJwk | string
  /** `production` (default), `sandbox`, or a base URL such as the emulator's. */
  server?: PolarServer | undefined
  /** How long a lease lets the app run offline, in ms. Default 7 days; never past the key's expiry. */
  leaseTtl?: number | undefined
  /** The `iss` claim of every lease. Default `"keygate"`. */
  issuer?: string | undefined
  fetch?: typeof fetch | undefined
  /** The clock leases are dated by, epoch ms. Default `Date.now`. */
  now?: (() => number) | undefined
  /**
   * Trial length in whole days for `POST /v1/trial`; when unset, the app's `trial.days`
   * (sent with the request) is used.
   */
  trialDays?: number | undefined
  /**
   * Optional memory of trial starts by machine fingerprint (e.g. Workers KV), so a wiped
   * machine keeps its first start. Without it the server is stateless: a machine whose
   * token is lost (reinstall without a keychain copy) gets a new trial when it asks again.
   */
  trials?: TrialStore | undefined
  /** Where the seller hears about failures they must fix. Never given a full key. Default `console.error`. */
  log?: ((line: string) => void) | undefined
}

/** Trial starts by machine fingerprint, epoch ms (`createLeaseServer({ trials })`). */
export interface TrialStore {
  get(fingerprint: string): Promise<number | null>
  put(fingerprint: string, startedAt: number): Promise<void>
}

export interface LeaseServer {
  /** A Web-standard handler: the whole server. */
  fetch(request: Request): Promise<Response>
}

export const DEFAULT_LEASE_TTL = 7 * 24 * 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000
const MIN_TTL = 60_000
const MAX_TTL = 400 * 24 * 60 * 60 * 1000
/** Waits longer than this (Polar's pacing, Retry-After) answer 503 instead of holding the request. */
const MAX_WAIT_MS = 8_000

/**
 * The seller's lease server: stateless, so any number of instances (Workers isolates,
 * serverless functions) can run side by side; idempotency comes from Polar's own list
 * of activations, see seats.ts.
 */
export function createLeaseServer(options: LeaseServerOptions): LeaseServer {
  if (typeof options !== 'object' || options === null) {
    throw new KeygateError(
      'invalid_input',
      'createLeaseServer needs { organizationId, polarToken, signingKey }.',
    )
  }
  const organizationId = checkUuid4('organizationId', options.organizationId).toLowerCase()
  const signer = createLeaseSigner(checkSigningKey(options.signingKey))
  const leaseTtl = options.leaseTtl ?? DEFAULT_LEASE_TTL
  if (!Number.isInteger(leaseTtl) || leaseTtl < MIN_TTL || leaseTtl > MAX_TTL) {
    throw new KeygateError(
      'invalid_input',
      'leaseTtl must be a whole number of milliseconds from one minute to 400 days.',
    )
  }
  const issuer = options.issuer ?? 'keygate'
  const now = options.now ?? Date.now
  const log = options.log ?? ((line: string) => console.error(line))
  const admin = createPolarAdminClient({
    token: options.polarToken,
    server: options.server,
    fetch: options.fetch,
    sleep: boundedSleep,
  })
  const trialDays = options.trialDays
  if (
    trialDays !== undefined &&
    (!Number.isInteger(trialDays) || trialDays < 1 || trialDays > 3650)
  ) {
    throw new KeygateError('invalid_input', 'trialDays must be a whole number from 1 to 3650.')
  }
  const ctx: Context = {
    admin,
    organizationId,
    signer,
    leaseTtl,
    issuer,
    now,
    trialDays,
    trials: options.trials,
  }

  return {
    async fetch(request) {
      const path = new URL(request.url).pathname.replace(/\/+$/, '')
      // Matched by suffix, so the server can be mounted under a prefix (e.g. Vercel's /api).
      const name = Object.keys(HANDLERS).find((route) => path === route || path.endsWith(route))
      const route = name === undefined ? undefined : HANDLERS[name]
      if (route === undefined) {
        return errorAnswer(
          404,
          'server',
          `No such route: the lease server answers ${Object.values(ROUTES).join(', ')}.`,
        )
      }
      if (request.method !== 'POST') {
        return errorAnswer(405, 'invalid_input', `${path} takes POST.`, {}, { allow: 'POST' })
      }
      try {
        return json(200, await route(ctx, await readJson(request)))
      } catch (error) {
        return failureAnswer(error, log)
      }
    },
  }
}

/** The pacer and retries wait through this: a long wait becomes a 503 with Retry-After. */
async function boundedSleep(ms: number): Promise<void> {
  if (ms > MAX_WAIT_MS) {
    throw new KeygateError(
      'rate_limited',
      "The lease server is pacing its requests under Polar's rate limit.",
      { retryAfter: Math.ceil(ms / 1000) },
    )
  }
  await new Promise((resolve) => setTimeout(resolve, ms))
}

interface Context extends SeatContext {
  signer: LeaseSigner
  leaseTtl: number
  issuer: string
  now: () => number
  trialDays: number | undefined
  trials: TrialStore | undefined
}

type Handler = (ctx: Context, body: Record<string, unknown>) => Promise<unknown>

const HANDLERS: Readonly<Record<string, Handler>> = {
  [ROUTES.activate]: async (ctx, body) => {
    const input = activateInput(body)
    // A key that cannot sign must fail before Polar gives a seat no lease will name.
    await ctx.signer.ready()
    const seat = await takeSeat(ctx, input)
    return { ...(await leaseAnswer(ctx, seat, input.fingerprint)), reused: seat.reused }
  },

  [ROUTES.renew]: async (ctx, body) => {
    const { key, fingerprint, activationId } = renewInput(body)
    await ctx.signer.ready()
    const validated = await ctx.admin.validate({
      key,
      organizationId: ctx.organizationId,
      ...(activationId === null
        ? {}
        : { activationId, conditions: { [MACHINE_CONDITION]: fingerprint } }),
    })
    const { activation, ...licenseKey } = validated.data
    if (activationId === null && licenseKey.limit_activations) {
      throw new KeygateError(
        'invalid_input',
        'This license key uses activations: renew needs the activation_id from /v1/activate.',
      )
    }
    // Polar checks conditions only when the activation stored some; the fingerprint in
    // meta covers activations made without them.
    if (activationId !== null && (!activation || activation.id !== activationId)) {
      throw new KeygateError('bad_response', 'Polar validated the key without the activation.')
    }
    if (activation && activation.meta[MACHINE_CONDITION] !== fingerprint) {
      throw new KeygateError(
        'conditions_mismatch',
        `The activation belongs to another machine (license key ${licenseKey.display_key}). ` +
          'Activate this machine instead.',
      )
    }
    const seat: Seat = {
      licenseKey: publicLicenseKey(licenseKey, ctx.organizationId),
      activation: activation ? publicActivation(activation) : null,
      serverTime: validated.serverTime,
      reused: true,
    }
    return leaseAnswer(ctx, seat, fingerprint)
  },

  [ROUTES.devices]: async (ctx, body): Promise<DevicesResponseBody> => {
    const { key, fingerprint, activationId } = devicesInput(body)
    const validated = await ctx.admin.validate({ key, organizationId: ctx.organizationId })
    const listed = await ctx.admin.get(validated.data.id)
    const { activations } = listed.data
    const { current, gone } = await currentSeats(ctx, key, activations, fingerprint, activationId)
    return {
      devices: oldestFirst(activations)
        .filter((a) => !gone.has(a.id))
        .map((a) => ({ ...publicActivation(a), current: current.has(a.id) })),
      limit_activations: listed.data.limit_activations,
    }
  },

  [ROUTES.trial]: async (ctx, body): Promise<TrialResponseBody> => {
    const { fingerprint, days } = trialInput(body)
    const length = ctx.trialDays ?? days
    if (length === undefined) {
      throw new KeygateError('invalid_input', 'days is required: this server sets no trialDays.')
    }
    const now = ctx.now()
    // Polar is not asked: a trial involves no key. Only the optional store remembers.
    let startedAt = (await ctx.trials?.get(fingerprint)) ?? null
    if (startedAt === null || !Number.isFinite(startedAt)) {
      startedAt = now
      await ctx.trials?.put(fingerprint, startedAt)
    }
    const endsAt = startedAt + length * DAY_MS
    const token = await ctx.signer.signTrial({
      iss: ctx.issuer,
      ver: 1,
      organization_id: ctx.organizationId,
      fingerprint,
      started_at: Math.floor(startedAt / 1000),
      ends_at: Math.floor(endsAt / 1000),
      iat: Math.floor(now / 1000),
    })
    return {
      token,
      started_at: new Date(startedAt).toISOString(),
      ends_at: new Date(endsAt).toISOString(),
    }
  },

  [ROUTES.freeDevice]: async (ctx, body): Promise<FreeDeviceResponseBody> => {
    const { key, activationId } = freeInput(body)
    // Polar frees an activation only for the key it belongs to: a key cannot free another's.
    await ctx.admin.deactivate({ key, organizationId: ctx.organizationId, activationId })
    return { freed: activationId }
  },
}

async function leaseAnswer(
  ctx: Context,
  seat: Seat,
  fingerprint: string,
): Promise<LeaseResponseBody> {
  const { licenseKey, activation } = seat
  const now = ctx.now()
  const times = leaseTimes(now, ctx.leaseTtl, licenseKey.expires_at)
  const lease = await ctx.signer.sign({
    iss: ctx.issuer,
    sub: licenseKey.id,
    ver: 1,
    organization_id: ctx.organizationId,
    activation_id: activation?.id ?? null,
    fingerprint,
    status: licenseKey.status,
    key_expires_at: times.keyExpiresAt,
    benefit_id: licenseKey.benefit_id,
    iat: times.iat,
    exp: times.exp,
  })
  return {
    lease,
    lease_expires_at: new Date(times.exp * 1000).toISOString(),
    validated_at: new Date(seat.serverTime ?? now).toISOString(),
    license_key: licenseKey,
    activation,
  }
}
