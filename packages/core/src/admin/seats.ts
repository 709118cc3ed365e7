import { KeygateError } from '../errors.js'
import { MACHINE_CONDITION } from '../machine.js'
import type { PolarResult, PolarValidatedKey } from '../polar/types.js'
import type { PolarAdminClient } from './admin-types.js'

/** What the rules here read of a listed activation. */
interface ListedSeat {
  id: string
  created_at: string
  meta: Readonly<Record<string, string | number | boolean>>
}

/**
 * A key's seats as the organization API shows them, and the two requests that settle what
 * the list cannot. Polar serves `GET /v1/license-keys/{id}` from a read replica that trails
 * its writes: a seat just taken may be missing, one just freed may still be listed. Only
 * the primary (validate or deactivate with the activation's id) says whether a listed seat
 * is live, so whatever frees or keeps a seat by the list asks there first.
 */

/** Oldest first; the id breaks ties so every reader picks the same one. */
function byAge(a: ListedSeat, b: ListedSeat): number {
  const ta = Date.parse(a.created_at)
  const tb = Date.parse(b.created_at)
  if (ta !== tb && Number.isFinite(ta) && Number.isFinite(tb)) return ta - tb
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** Polar lists a key's activations in no set order (its query has no ORDER BY). */
export function oldestFirst<A extends ListedSeat>(activations: readonly A[]): A[] {
  return [...activations].sort(byAge)
}

/** The listed activations keygate took for one machine (its fingerprint in `meta`), oldest first. */
export function machineSeats<A extends ListedSeat>(
  activations: readonly A[],
  fingerprint: string,
): A[] {
  return oldestFirst(activations.filter((a) => a.meta[MACHINE_CONDITION] === fingerprint))
}

export interface SeatRef {
  /** The full license key: Polar's organization API validates and deactivates with it. */
  key: string
  organizationId: string
  activationId: string
}

/**
 * The seat as Polar's primary sees it; null when it is gone. `conditions` are sent as the
 * app sends them, so a seat of another machine does not pass.
 */
export async function liveSeat(
  admin: PolarAdminClient,
  seat: SeatRef,
  conditions?: Record<string, string>,
): Promise<PolarResult<PolarValidatedKey> | null> {
  try {
    return await admin.validate({ ...seat, ...(conditions ? { conditions } : {}) })
  } catch (error) {
    if (error instanceof KeygateError && error.code === 'activation_not_found') return null
    throw error
  }
}

/**
 * A listed seat carrying a machine's fingerprint in `meta`, as Polar's primary sees it when
 * validated with that machine's conditions: `live` (validate passed: the machine's seat),
 * `gone` (already freed), or `mismatched` (it exists but its stored conditions are not
 * this machine's, so the machine cannot use it and freeing it would kick its holder).
 */
export type MachineSeatCheck =
  | { kind: 'live'; validated: PolarResult<PolarValidatedKey> }
  | { kind: 'gone' }
  | { kind: 'mismatched' }

export async function checkMachineSeat(
  admin: PolarAdminClient,
  seat: SeatRef,
  fingerprint: string,
): Promise<MachineSeatCheck> {
  try {
    const validated = await liveSeat(admin, seat, { [MACHINE_CONDITION]: fingerprint })
    return validated === null ? { kind: 'gone' } : { kind: 'live', validated }
  } catch (error) {
    if (error instanceof KeygateError && error.code === 'conditions_mismatch') {
      return { kind: 'mismatched' }
    }
    throw error
  }
}

export interface SettledMachineSeats<A> {
  /** The machine's seat: its oldest live one; null when none is live. */
  kept: A | null
  /** Polar's validate of `kept`; undefined when `kept` is the seat just created (or null). */
  confirmed: PolarResult<PolarValidatedKey> | undefined
  /** Live duplicates this call deactivated. */
  freed: A[]
  /** Listed seats already free on the primary (or freed by a racer before this call could). */
  gone: A[]
  /** Seats refused with this machine's conditions: neither kept nor freed. */
  mismatched: A[]
}

/**
 * Applies the one rule to one machine's listed seats (oldest first, as `machineSeats`
 * gives them): each is checked on the primary; the oldest live one is kept and the other
 * live ones are deactivated. `createdId` names a seat this caller's activate just took: it
 * is live without asking. Requests: one validate per seat checked, plus one deactivate per
 * live duplicate.
 */
export async function settleMachineSeats<A extends ListedSeat>(
  admin: PolarAdminClient,
  key: Omit<SeatRef, 'activationId'>,
  seats: readonly A[],
  fingerprint: string,
  createdId?: string,
): Promise<SettledMachineSeats<A>> {
  const settled: SettledMachineSeats<A> = {
    kept: null,
    confirmed: undefined,
    freed: [],
    gone: [],
    mismatched: [],
  }
  for (const activation of seats) {
    const ref = { ...key, activationId: activation.id }
    if (activation.id === createdId) {
      if (settled.kept === null) settled.kept = activation
      else if (await freeSeat(admin, ref)) settled.freed.push(activation)
      else settled.gone.push(activation)
      continue
    }
    const check = await checkMachineSeat(admin, ref, fingerprint)
    if (check.kind === 'gone') settled.gone.push(activation)
    else if (check.kind === 'mismatched') settled.mismatched.push(activation)
    else if (settled.kept === null) {
      settled.kept = activation
      settled.confirmed = check.validated
    } else if (await freeSeat(admin, ref)) settled.freed.push(activation)
    else settled.gone.push(activation)
  }
  return settled
}

/** Deactivates; false when the seat was already free (freed by someone else, or never live). */
export async function freeSeat(admin: PolarAdminClient, seat: SeatRef): Promise<boolean> {
  try {
    await admin.deactivate(seat)
    return true
  } catch (error) {
    if (error instanceof KeygateError && error.code === 'activation_not_found') return false
    throw error
  }
}
