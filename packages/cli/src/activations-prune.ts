import { KeygateError, MACHINE_CONDITION } from '@keygate/core'
import {
  freeSeat,
  liveSeat,
  machineSeats,
  type PolarAdminClient,
  type SeatRef,
} from '@keygate/core/admin'
import type { Context } from './context.js'
import { json, seats } from './format.js'
import { resolveKeyId, shownKey } from './key-ref.js'
import { EXIT } from './usage.js'

/**
 * `activations prune KEY`: frees the duplicate seats one machine holds. An activation
 * cut short (the app killed before Polar's answer was stored) leaves a seat the app never
 * learned of; keygate writes the machine's fingerprint into each activation's `meta`, so
 * several live activations with one fingerprint are one machine. The oldest live one stays
 * (the app may hold it); the others are deactivated. Activations without a fingerprint in
 * `meta` (made by other clients) are never touched.
 */
export async function activationsPrune(ctx: Context, ref: string): Promise<number> {
  const admin = ctx.admin()
  const { data } = await admin.get(await resolveKeyId(ctx, ref))
  ctx.secret(data.key)
  const fingerprints = new Set<string>()
  for (const activation of data.activations) {
    const fingerprint = activation.meta[MACHINE_CONDITION]
    if (typeof fingerprint === 'string' && fingerprint !== '') fingerprints.add(fingerprint)
  }
  const groups = [...fingerprints]
    .map((fingerprint) => ({ fingerprint, seats: machineSeats(data.activations, fingerprint) }))
    .filter((group) => group.seats.length > 1)
  if (groups.length > 0 && data.key === undefined) {
    throw new KeygateError(
      'bad_response',
      'Polar did not include the key in its answer, and deactivating needs it. Remove the ' +
        "duplicate activations in Polar's dashboard instead.",
    )
  }
  const seat = (activationId: string) => ({
    key: data.key ?? '',
    organizationId: data.organization_id,
    activationId,
  })
  const removed: typeof data.activations = []
  let gone = 0
  for (const { fingerprint, seats: listed } of groups) {
    // The list may trail Polar's writes: the machine keeps its oldest seat that Polar
    // confirms live, so a seat freed a moment ago is never the one kept.
    let kept = false
    for (const activation of listed) {
      if (!kept) {
        kept = await isLive(admin, seat(activation.id), fingerprint)
        if (!kept) gone += 1
      } else if (await freeSeat(admin, seat(activation.id))) removed.push(activation)
      else gone += 1
    }
  }
  const left = data.activations.length - removed.length - gone
  if (ctx.json) {
    ctx.io.out(json({ license_key_id: data.id, removed, seats_in_use: left }))
    return EXIT.ok
  }
  if (removed.length === 0) {
    ctx.io.out(
      `${shownKey(data)} (id ${data.id}): no machine holds more than one seat. Seats: ${seats(data.limit_activations, left)}.`,
    )
    return EXIT.ok
  }
  const ids = removed.map((a) => `${a.id} ("${a.label}")`).join(', ')
  ctx.io.out(
    `Removed ${removed.length} duplicate activation${removed.length === 1 ? '' : 's'} ` +
      `of ${shownKey(data)}: ${ids}. Each machine keeps its oldest live seat. ` +
      `Seats: ${seats(data.limit_activations, left)}.`,
  )
  return EXIT.ok
}

/**
 * Whether Polar's primary holds the seat. It is asked with the machine's conditions, as
 * keygate activates; a seat stored with other conditions exists all the same, so it counts.
 */
async function isLive(
  admin: PolarAdminClient,
  seat: SeatRef,
  fingerprint: string,
): Promise<boolean> {
  try {
    return (await liveSeat(admin, seat, { [MACHINE_CONDITION]: fingerprint })) !== null
  } catch (error) {
    if (error instanceof KeygateError && error.code === 'conditions_mismatch') return true
    throw error
  }
}
