import { KeygateError } from '@keygate/core'
import { expectArgs, UsageError } from './args.js'
import { type Context, EXIT } from './context.js'
import { formatTime, json, table } from './format.js'
import { resolveKeyId } from './key-ref.js'

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
export async function activationsList(ctx: Context): Promise<number> {
  const [ref = ''] = expectArgs(ctx.parsed, ['KEY'])
  const { data } = await ctx.admin().get(await resolveKeyId(ctx, ref))
  if (ctx.json) {
    ctx.io.out(json({ license_key_id: data.id, activations: data.activations }))
    return EXIT.ok
  }
  const limit = data.limit_activations === null ? 'no limit' : `limit ${data.limit_activations}`
  ctx.io.out(`${data.display_key} (id ${data.id}): ${data.activations.length} in use, ${limit}.`)
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
export async function activationsRemove(ctx: Context): Promise<number> {
  const [ref = '', wanted = ''] = expectArgs(ctx.parsed, ['KEY', 'ACTIVATION'])
  const admin = ctx.admin()
  const { data } = await admin.get(await resolveKeyId(ctx, ref))
  const prefix = wanted.trim().toLowerCase()
  if (prefix.length < 4) {
    throw new UsageError(
      'Give the activation id, or at least its first 4 characters.',
      ctx.parsed.command,
    )
  }
  const found = data.activations.filter((a) => a.id.toLowerCase().startsWith(prefix))
  const [activation] = found
  if (activation === undefined) {
    throw new KeygateError(
      'activation_not_found',
      `${data.display_key} (id ${data.id}) has no live activation ${prefix}: it was already ` +
        `removed, or belongs to another key. See: keygate activations list ${data.id}`,
    )
  }
  if (found.length > 1) {
    throw new UsageError(
      `${found.length} activations start with ${prefix}: ${found.map((a) => a.id).join(', ')}.`,
      ctx.parsed.command,
    )
  }
  if (data.key === undefined) {
    throw new KeygateError(
      'bad_response',
      'Polar did not include the key in its answer, and deactivating needs it. Remove the ' +
        "activation in Polar's dashboard instead.",
    )
  }
  await admin.deactivate({
    key: data.key,
    organizationId: data.organization_id,
    activationId: activation.id,
  })
  if (ctx.json) {
    ctx.io.out(json({ license_key_id: data.id, removed: activation }))
    return EXIT.ok
  }
  const inUse = data.activations.length - 1
  const limit = data.limit_activations === null ? '' : ` of ${data.limit_activations}`
  ctx.io.out(
    `Removed activation ${activation.id} ("${activation.label}") from ${data.display_key}. ` +
      `Seats in use: ${inUse}${limit}. The app on that machine stops at its next online ` +
      'check; if it stays offline, it runs until its grace period ends (7 days by default).',
  )
  return EXIT.ok
}
