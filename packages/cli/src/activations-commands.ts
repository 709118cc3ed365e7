import { KeygateError } from '@keygate/core'
import { type AdminLicenseKey, freeSeat } from '@keygate/core/admin'
import type { Context } from './context.js'
import { formatTime, json, seats, table } from './format.js'
import { resolveKeyId, shownKey } from './key-ref.js'
import { EXIT, UsageError } from './usage.js'

interface ActivationView {
  id: string
  label: string
  meta: Record<string, string | number | boolean>
  created_at: string
}

export const ACTIVATION_HEADERS = ['ID', 'LABEL', 'ACTIVATED', 'META']

export function activationRows(activations: readonly ActivationView[]): string[][] {
  return activations.map((a) => [
    a.id,
    a.label,
    formatTime(Date.parse(a.created_at)),
    Object.entries(a.meta)
      .map(([name, value]) => `${name}=${String(value)}`)
      .join(' '),
  ])
}

/** `activations list KEY`: the live activations (seats in use) of one key. */
export async function activationsList(ctx: Context, ref: string): Promise<number> {
  const { data } = await ctx.admin().get(await resolveKeyId(ctx, ref))
  ctx.secret(data.key)
  if (ctx.json) {
    ctx.io.out(json({ license_key_id: data.id, activations: data.activations }))
    return EXIT.ok
  }
  const inUse = seats(data.limit_activations, data.activations.length)
  ctx.io.out(`${shownKey(data)} (id ${data.id}): seats ${inUse}.`)
  if (data.activations.length > 0) {
    ctx.io.out(`\n${table(ACTIVATION_HEADERS, activationRows(data.activations))}`)
  }
  return EXIT.ok
}

/**
 * `activations remove KEY ACTIVATION`: frees a seat (reinstall, stolen laptop). Polar's
 * organization API deactivates with the full key, read from the key itself; the
 * activation can be given by its id or an unambiguous start of it.
 */
export async function activationsRemove(
  ctx: Context,
  ref: string,
  wanted: string,
): Promise<number> {
  const prefix = wanted.trim().toLowerCase()
  if (prefix.length < 4) {
    throw new UsageError('Give the activation id, or at least its first 4 characters.')
  }
  const admin = ctx.admin()
  const { data } = await admin.get(await resolveKeyId(ctx, ref))
  ctx.secret(data.key)
  const found = data.activations.filter((a) => a.id.toLowerCase().startsWith(prefix))
  if (found.length > 1) {
    throw new UsageError(
      `${found.length} activations start with ${prefix}: ${found.map((a) => a.id).join(', ')}.`,
    )
  }
  // Polar lists from a read replica that trails its writes: a seat taken a moment ago
  // may be missing, so a whole id is tried on the primary even when the list lacks it.
  const listed = found[0]
  const activationId = listed?.id ?? (UUID.test(prefix) ? prefix : undefined)
  if (activationId === undefined) throw notLive(data, prefix)
  if (data.key === undefined) {
    throw new KeygateError(
      'bad_response',
      'Polar did not include the key in its answer, and deactivating needs it. Remove the ' +
        "activation in Polar's dashboard instead.",
    )
  }
  const freed = await freeSeat(admin, {
    key: data.key,
    organizationId: data.organization_id,
    activationId,
  })
  if (!freed && listed === undefined) throw notLive(data, prefix)
  const activation = listed ?? { id: activationId }
  const inUse = data.activations.length - (listed === undefined ? 0 : 1)
  if (ctx.json) {
    ctx.io.out(json({ license_key_id: data.id, removed: activation, already_free: !freed }))
    return EXIT.ok
  }
  const named = listed === undefined ? activationId : `${listed.id} ("${listed.label}")`
  if (!freed) {
    // The list showed it, but the seat had been freed a moment before (the replica lags).
    ctx.io.out(
      `Activation ${named} was already removed from ${shownKey(data)}: its seat is free. ` +
        `Seats: ${seats(data.limit_activations, inUse)}.`,
    )
    return EXIT.ok
  }
  ctx.io.out(
    `Removed activation ${named} from ${shownKey(data)}. ` +
      `Seats: ${seats(data.limit_activations, inUse)}. The app on that ` +
      'machine stops at its next online check; if it stays offline, it runs until its grace ' +
      'period ends (7 days by default).',
  )
  return EXIT.ok
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function notLive(data: Pick<AdminLicenseKey, 'id' | 'key' | 'display_key'>, prefix: string) {
  // The argument is echoed only when it is plainly (part of) an id.
  const shown = /^[0-9a-f-]{4,36}$/.test(prefix) ? ` ${prefix}` : ''
  return new KeygateError(
    'activation_not_found',
    `${shownKey(data)} (id ${data.id}) has no live activation${shown}: it was already ` +
      `removed, or belongs to another key. See: keygate activations list ${data.id}` +
      // A seat taken in the last moments may not be listed yet; its whole id finds it.
      (UUID.test(prefix)
        ? ''
        : ' (a seat taken a moment ago may not be listed yet: give its whole id)'),
  )
}
