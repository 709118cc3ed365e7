import { isUuid4, KeygateError, maskKey } from '@keygate/core'
import type { AdminLicenseKey } from '@keygate/core/admin'
import { UsageError } from './args.js'
import type { Context } from './context.js'

/**
 * What a support person has at hand: the key's id (from `keys list`), the full key the
 * customer pasted into an email, or the masked key the app shows (`****-ABC123`, or just
 * `ABC123`). Anything but an id is looked up by walking the organization's keys.
 */
export async function resolveKeyId(ctx: Context, ref: string): Promise<string> {
  const trimmed = ref.trim()
  if (isUuid4(trimmed)) return trimmed.toLowerCase()
  if (trimmed === '')
    throw new UsageError('The license key reference is empty.', ctx.parsed.command)
  const tail = displayTail(trimmed)
  const matches: AdminLicenseKey[] = []
  for await (const key of ctx.admin().listAll()) {
    if (key.key !== undefined && key.key === trimmed) return key.id
    if (tail !== undefined && key.display_key.toUpperCase().endsWith(`-${tail}`)) matches.push(key)
  }
  const shown = tail === undefined ? maskKey(trimmed) : `****-${tail}`
  const [only] = matches
  if (only !== undefined && matches.length === 1) return only.id
  if (matches.length === 0) {
    throw new KeygateError(
      'key_not_found',
      `No license key of this token's organization matches ${shown}. Check it, or list the ` +
        'keys with `keygate keys list --search TEXT` (customer email, name or key id).',
    )
  }
  throw new UsageError(
    `${matches.length} license keys end in ${shown}: ${matches.map((k) => k.id).join(', ')}. ` +
      'Use the id of the one you mean.',
    ctx.parsed.command,
  )
}

/** The 6 visible characters of `****-ABC123` or `ABC123`, upper-cased; undefined otherwise. */
function displayTail(ref: string): string | undefined {
  const match = /^(?:\*+-?)?([A-Za-z0-9]{6})$/.exec(ref)
  return match?.[1]?.toUpperCase()
}
