import { KeygateError, MACHINE_CONDITION } from '@keygate/core'
import { machineSeats, settleMachineSeats } from '@keygate/core/admin'
import type { Context } from './context.js'
import { json, seats } from './format.js'
import { resolveKeyId, shownKey } from './key-ref.js'
import { EXIT } from './usage.js'

/**
 * `activations prune KEY`: frees the duplicate seats one machine holds. An activation
 * cut short (the app killed before Polar's answer was stored) leaves a seat the app never
 * learned of; keygate writes the machine's fingerprint into each activation's `meta`, so
 * several live activations with one fingerprint are one machine. The oldest live one stays
 * (the app may hold it); the others are deactivated. Live means Polar validates it with the
 * machine's conditions: one stored with other conditions is left alone and reported, a
 * machine's lone seat too (the list shows no conditions, so each fingerprinted seat costs
 * one validate): it tells support that machine holds no seat it can use.
 * Activations without a fingerprint in `meta` (made by other clients) are never touched.
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
  const groups = [...fingerprints].map((fingerprint) => ({
    fingerprint,
    seats: machineSeats(data.activations, fingerprint),
  }))
  if (groups.length > 0 && data.key === undefined) {
    throw new KeygateError(
      'bad_response',
      'Polar did not include the key in its answer, and checking or deactivating a seat ' +
        "needs it. Remove duplicate activations in Polar's dashboard instead.",
    )
  }
  const removed: typeof data.activations = []
  const mismatched: typeof data.activations = []
  let gone = 0
  for (const { fingerprint, seats: listed } of groups) {
    // The list may trail Polar's writes, so each seat is asked on the primary first: the
    // machine keeps its oldest live seat (never one freed a moment ago), and a seat stored
    // with another machine's conditions is neither kept nor freed.
    const settled = await settleMachineSeats(
      admin,
      { key: data.key ?? '', organizationId: data.organization_id },
      listed,
      fingerprint,
    )
    removed.push(...settled.freed)
    mismatched.push(...settled.mismatched)
    gone += settled.gone.length
  }
  const left = data.activations.length - removed.length - gone
  if (ctx.json) {
    ctx.io.out(json({ license_key_id: data.id, removed, mismatched, seats_in_use: left }))
    return EXIT.ok
  }
  const alone =
    mismatched.length === 0
      ? ''
      : ` Left ${plural(mismatched.length, 'activation')} alone: ${list(mismatched)}; ` +
        "each carries a machine's fingerprint but was stored with other conditions, so it " +
        "is not that machine's seat (another client's or machine's seat, never freed here)."
  if (removed.length === 0) {
    ctx.io.out(
      `${shownKey(data)} (id ${data.id}): no machine holds more than one seat.${alone} ` +
        `Seats: ${seats(data.limit_activations, left)}.`,
    )
    return EXIT.ok
  }
  ctx.io.out(
    `Removed ${plural(removed.length, 'duplicate activation')} ` +
      `of ${shownKey(data)}: ${list(removed)}. Each machine keeps its oldest live seat.${alone} ` +
      `Seats: ${seats(data.limit_activations, left)}.`,
  )
  return EXIT.ok
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`

const list = (activations: readonly { id: string; label: string }[]) =>
  activations.map((a) => `${a.id} ("${a.label}")`).join(', ')
