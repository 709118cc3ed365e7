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
