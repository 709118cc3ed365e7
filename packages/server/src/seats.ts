import { KeygateError, MACHINE_CONDITION, type PolarLicenseKey } from '@keygate/core'
import {
  type AdminLicenseKeyWithActivations,
  checkMachineSeat,
  machineSeats,
  oldestFirst,
  type PolarAdminClient,
  settleMachineSeats,
} from '@keygate/core/admin'
import type { LeaseActivation, LeaseLicenseKey } from './protocol.js'
import type { ActivateInput } from './request-input.js'

/**
 * Idempotent activation by machine fingerprint, without shared state between server
 * instances. Polar deduplicates nothing, so the rule (core's `settleMachineSeats`) is: a
 * machine's seat is its oldest activation carrying the fingerprint in `meta` that Polar
 * validates with the machine's conditions. Every instance reads the same list from Polar
 * and applies the same rule, so racing requests agree on one survivor and each frees the
 * rest before it answers.
 *
 * Polar serves that list (`GET /v1/license-keys/{id}`) from a read replica that trails
 * its writes: a seat just taken may be missing, one just freed may still be listed. So
 * the seat Polar's activate just answered counts even when the list lacks it, and a
 * listed seat is reused or freed only once Polar's primary (validate with its id and this
 * machine's conditions) confirms it is live and this machine's.
 */

type Activation = AdminLicenseKeyWithActivations['activations'][number]

export interface Seat {
  licenseKey: LeaseLicenseKey
  activation: LeaseActivation | null
  /** Polar's clock from the last response, epoch ms, when it sent a Date header. */
  serverTime: number | undefined
  reused: boolean
}

export function publicLicenseKey(key: PolarLicenseKey, organizationId: string): LeaseLicenseKey {
  // Field by field: the organization API also returns the full key and the customer's PII.
  return {
    id: key.id,
    organization_id: key.organization_id ?? organizationId,
    customer_id: key.customer_id,
    benefit_id: key.benefit_id,
    display_key: key.display_key,
    status: key.status,
    limit_activations: key.limit_activations,
    usage: key.usage,
    limit_usage: key.limit_usage,
    validations: key.validations,
    last_validated_at: key.last_validated_at,
    expires_at: key.expires_at,
  }
}

export function publicActivation(activation: Activation): LeaseActivation {
  return {
    id: activation.id,
    label: activation.label,
    meta: { ...activation.meta },
    created_at: activation.created_at,
    modified_at: activation.modified_at,
  }
}

export interface SeatContext {
  admin: PolarAdminClient
  organizationId: string
}

/**
 * validate → (no activation limit: done) → get → reuse a confirmed seat, or activate → get
 * → free duplicates. Requests to Polar: 3 on reuse, 4 on a new seat, plus two per duplicate
 * freed (a validate, then its deactivate) and one per listed seat found already gone or
 * stored with another machine's conditions (each is asked once per request).
 */
export async function takeSeat(ctx: SeatContext, input: ActivateInput): Promise<Seat> {
  const { admin, organizationId } = ctx
  const { key, fingerprint } = input
  // The authenticated validate also proves the caller holds a live key of this organization.
  const validated = await admin.validate({ key, organizationId })
  const licenseKey = validated.data
  // Polar tests truthiness: 0 behaves as no limit, and such keys cannot be activated.
  if (!licenseKey.limit_activations) {
    return {
      licenseKey: publicLicenseKey(licenseKey, organizationId),
      activation: null,
      serverTime: validated.serverTime,
      reused: false,
    }
  }
  // Seats found gone or mismatched stay so (a freed seat never comes back, stored
  // conditions never change): a later look in this request need not ask again.
  const settled = new Set<string>()
  const before = await admin.get(licenseKey.id)
  const reused = await converge(ctx, key, before, fingerprint, undefined, settled)
  if (reused !== null) return reused
  let created: Activation
  try {
    const activated = await admin.activate({
      key,
      organizationId,
      label: input.label,
      conditions: { [MACHINE_CONDITION]: fingerprint },
      meta: input.meta,
    })
    created = activated.data
  } catch (error) {
    // The limit may be full of our own racers' seats, or a lost answer may have taken one:
    // look again before giving up. Other verdicts (revoked, expired…) are final.
    if (!(error instanceof KeygateError) || !(error.transient || isLimit(error))) throw error
    const after = await admin.get(licenseKey.id)
    const found = await converge(ctx, key, after, fingerprint, undefined, settled)
    if (found === null) throw error
    return found
  }
  const after = await admin.get(licenseKey.id)
  const seat = await converge(ctx, key, after, fingerprint, created, settled)
  if (seat === null) throw new Error('unreachable: the created activation is a candidate')
  return seat
}

const isLimit = (error: KeygateError) => error.code === 'activation_limit_reached'

/**
 * This machine's seat among the listed ones (and the one this request just created, which
 * a lagging replica may not list yet), by core's rule: the oldest that passes this
 * machine's conditions; the other live ones are freed. A seat whose stored conditions are
 * another machine's is neither reused nor freed: freeing it would kick whoever holds it.
 * Null when no live seat is left.
 */
async function converge(
  ctx: SeatContext,
  key: string,
  listed: Awaited<ReturnType<PolarAdminClient['get']>>,
  fingerprint: string,
  /** The activation this request created, if it created one. */
  created: Activation | undefined,
  /** Ids already found gone or mismatched in this request; grows with this call's finds. */
  settled: Set<string>,
): Promise<Seat | null> {
  const listedSeats = machineSeats(listed.data.activations, fingerprint)
  const candidates = (
    created === undefined || listedSeats.some((a) => a.id === created.id)
      ? listedSeats
      : oldestFirst([...listedSeats, created])
  ).filter((a) => !settled.has(a.id))
  const seats = await settleMachineSeats(
    ctx.admin,
    { key, organizationId: ctx.organizationId },
    candidates,
    fingerprint,
    created?.id,
  )
  for (const a of [...seats.gone, ...seats.mismatched]) settled.add(a.id)
  const survivor = seats.kept
  if (survivor === null) return null
  const confirmed = seats.confirmed
  return {
    licenseKey: publicLicenseKey(confirmed?.data ?? listed.data, ctx.organizationId),
    activation: publicActivation(survivor),
    serverTime: confirmed === undefined ? listed.serverTime : confirmed.serverTime,
    reused: survivor.id !== created?.id,
  }
}

export interface CurrentSeats {
  /** The seats that are this machine's. */
  current: Set<string>
  /** Listed seats Polar's primary says are already freed (the list trails its writes). */
  gone: Set<string>
}

/**
 * This machine's seats among the listed ones, for `/v1/devices`. The list carries `meta`,
 * never the stored conditions, so a seat with this fingerprint in `meta` may still be
 * another machine's (one the user must be able to see and free). The caller's own
 * activation id (the one its lease names) settles it without asking Polar; without it,
 * each seat carrying the fingerprint is validated once with this machine's conditions.
 */
export async function currentSeats(
  ctx: SeatContext,
  key: string,
  activations: readonly Activation[],
  fingerprint: string | undefined,
  activationId: string | undefined,
): Promise<CurrentSeats> {
  const found: CurrentSeats = { current: new Set(), gone: new Set() }
  if (fingerprint === undefined) return found
  for (const seat of machineSeats(activations, fingerprint)) {
    if (activationId !== undefined) {
      if (seat.id === activationId) found.current.add(seat.id)
      continue
    }
    const ref = { key, organizationId: ctx.organizationId, activationId: seat.id }
    const check = await checkMachineSeat(ctx.admin, ref, fingerprint)
    if (check.kind === 'live') found.current.add(seat.id)
    else if (check.kind === 'gone') found.gone.add(seat.id)
  }
  return found
}
