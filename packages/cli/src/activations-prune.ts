import { KeygateError, MACHINE_CONDITION } from '@keygate/core'
import type { Context } from './context.js'
import { json, seats } from './format.js'
import { resolveKeyId, shownKey } from './key-ref.js'
import { EXIT } from './usage.js'

/**
 * `activations prune KEY`: frees the duplicate seats one machine holds. An activation
 * cut short (the app killed before Polar's answer was stored) leaves a seat the app never
 * learned of; keygate writes the machine's fingerprint into each activation's `meta`, so
 * several live activations with one fingerprint are one machine. The oldest stays (the
 * app may hold it); the others are deactivated. Activations without a fingerprint in
 * `meta` (made by other clients) are never touched.
 */
export async function activationsPrune(ctx: Context, ref: string): Promise<number> {
  const admin = ctx.admin()
  const { data } = await admin.get(await resolveKeyId(ctx, ref))
  ctx.secret(data.key)
  const byMachine = new Map<string, typeof data.activations>()
  for (const activation of data.activations) {
    const fingerprint = activation.meta[MACHINE_CONDITION]
    if (typeof fingerprint !== 'string' || fingerprint === '') continue
    byMachine.set(fingerprint, [...(byMachine.get(fingerprint) ?? []), activation])
  }
  const duplicates = [...byMachine.values()].flatMap((list) =>
    [...list]
      .sort(
        (a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id.localeCompare(b.id),
      )
      .slice(1),
  )
  if (duplicates.length > 0 && data.key === undefined) {
    throw new KeygateError(
      'bad_response',
      'Polar did not include the key in its answer, and deactivating needs it. Remove the ' +
        "duplicate activations in Polar's dashboard instead.",
    )
  }
  for (const activation of duplicates) {
    await admin.deactivate({
      key: data.key ?? '',
      organizationId: data.organization_id,
      activationId: activation.id,
    })
  }
  const left = data.activations.length - duplicates.length
  if (ctx.json) {
    ctx.io.out(json({ license_key_id: data.id, removed: duplicates, seats_in_use: left }))
    return EXIT.ok
  }
  if (duplicates.length === 0) {
    ctx.io.out(
      `${shownKey(data)} (id ${data.id}): no machine holds more than one seat. Seats: ${seats(data.limit_activations, left)}.`,
    )
    return EXIT.ok
  }
  const ids = duplicates.map((a) => `${a.id} ("${a.label}")`).join(', ')
  ctx.io.out(
    `Removed ${duplicates.length} duplicate activation${duplicates.length === 1 ? '' : 's'} ` +
      `of ${shownKey(data)}: ${ids}. Each machine keeps its oldest. ` +
      `Seats: ${seats(data.limit_activations, left)}.`,
  )
  return EXIT.ok
}
