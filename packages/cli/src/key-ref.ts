import { isUuid4, KeygateError, maskKey } from '@keygate/core'
import type { AdminLicenseKey } from '@keygate/core/admin'
import type { Context } from './context.js'
import { UsageError } from './usage.js'

/**
 * What a support person has at hand: the key's id (from `keys list`), the full key the
 * customer pasted into an email, or the masked key the app shows (`****-ABC123`, or just
 * `ABC123`). The answer is always an id read from Polar's list, so a key string never
 * becomes a URL path segment.
 *
 * A UUID-shaped argument may be either: Polar prints ids as lowercase UUIDs, but it also
 * generates keys as uppercase UUIDs, and imported keys can be anything. Polar's list has
 * no key filter, so the organization's keys are walked (paced) until one matches.
 */
export async function resolveKeyId(ctx: Context, ref: string): Promise<string> {
  const trimmed = ref.trim()
  if (trimmed === '') throw new UsageError('The license key reference is empty.')
  const uuid = isUuid4(trimmed)
  const id = trimmed.toLowerCase()
  const tail = uuid ? undefined : displayTail(trimmed)
  const matches: AdminLicenseKey[] = []
  for await (const key of ctx.admin().listAll()) {
    ctx.secret(key.key)
    if (key.key !== undefined && key.key === trimmed) {
      ctx.secret(trimmed)
      return key.id
    }
    // An id is not secret: once it is known to be one, it may be shown.
    if (uuid && key.id === id) return key.id
    if (tail !== undefined && key.display_key.toUpperCase().endsWith(`-${tail}`)) matches.push(key)
  }
  const shown = tail === undefined ? maskKey(trimmed) : `****-${tail}`
  // Not found: it may still be a key (of another organization); never show it again.
  if (tail === undefined) ctx.secret(trimmed)
  const [only] = matches
  if (only !== undefined && matches.length === 1) return only.id
  if (matches.length === 0) {
    const what = uuid ? 'license key or key id' : 'license key'
    throw new KeygateError(
      'key_not_found',
      `No ${what} of this token's organization matches ${shown}. Check it, or list the ` +
        'keys with `keygate keys list --search TEXT` (customer email, name or key id).',
    )
  }
  throw new UsageError(
    `${matches.length} license keys end in ${shown}: ${matches.map((k) => k.id).join(', ')}. ` +
      'Use the id of the one you mean.',
  )
}

/** The 6 visible characters of `****-ABC123` or `ABC123`, upper-cased; undefined otherwise. */
function displayTail(ref: string): string | undefined {
  const match = /^(?:\*+-?)?([A-Za-z0-9]{6})$/.exec(ref)
  return match?.[1]?.toUpperCase()
}

/**
 * The key as it may be shown: Polar's `display_key` (`****-` + the last 6 characters),
 * unless the key is so short that those 6 are most or all of it.
 */
export function shownKey(key: Pick<AdminLicenseKey, 'key' | 'display_key'>): string {
  return key.key !== undefined && key.key.length < 12 ? maskKey(key.key) : key.display_key
}

/** A copy fit for --json: no full key, and a display key that does not give it away. */
export function publicKey<T extends AdminLicenseKey>(key: T): Omit<T, 'key'> {
  const { key: _key, ...rest } = key
  return { ...rest, display_key: shownKey(key) }
}
