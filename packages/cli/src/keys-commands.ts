import {
  type AdminLicenseKey,
  type AdminLicenseKeyWithActivations,
  LICENSE_KEY_STATUSES,
  type LicenseKeyStatus,
  type LicenseKeyUpdate,
  MAX_PAGE_SIZE,
} from '@keygate/core/admin'
import { ACTIVATION_HEADERS, activationRows } from './activations-commands.js'
import { expectArgs, flag, intOption, listOption, stringOption, UsageError } from './args.js'
import { type Context, EXIT } from './context.js'
import { fields, formatExpiry, formatTime, json, table, withoutKey } from './format.js'
import { resolveKeyId } from './key-ref.js'

const DAY = 24 * 60 * 60 * 1000

const KEY_HEADERS = ['ID', 'KEY', 'STATUS', 'SEATS', 'USAGE', 'EXPIRES', 'CUSTOMER']

function keyRow(key: AdminLicenseKey, now: number): string[] {
  const expiresAt = key.expires_at === null ? null : Date.parse(key.expires_at)
  const expires =
    expiresAt === null
      ? 'never'
      : `${formatTime(expiresAt).slice(0, 10)}${expiresAt <= now ? ' (expired)' : ''}`
  return [
    key.id,
    key.display_key,
    key.status,
    key.limit_activations === null ? 'no limit' : String(key.limit_activations),
    key.limit_usage === null ? String(key.usage) : `${key.usage}/${key.limit_usage}`,
    expires,
    key.customer?.email ?? key.customer_id,
  ]
}

function statuses(ctx: Context): LicenseKeyStatus[] {
  return listOption(ctx.parsed, 'status').map((status) => {
    if (!(LICENSE_KEY_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(
        `--status must be one of ${LICENSE_KEY_STATUSES.join(', ')}.`,
        'keys list',
      )
    }
    return status as LicenseKeyStatus
  })
}

/** `keys list`: one page by default; `--all` or `--search` walk every page. */
export async function keysList(ctx: Context): Promise<number> {
  expectArgs(ctx.parsed, [])
  const admin = ctx.admin()
  const filter = {
    organizationId: listOption(ctx.parsed, 'org'),
    benefitId: listOption(ctx.parsed, 'benefit'),
    status: statuses(ctx),
  }
  const limit = intOption(ctx.parsed, 'limit', 1, MAX_PAGE_SIZE)
  const search = stringOption(ctx.parsed, 'search')?.trim().toLowerCase()
  const now = ctx.io.now()
  if (flag(ctx.parsed, 'all') || search !== undefined) {
    if (stringOption(ctx.parsed, 'page') !== undefined) {
      throw new UsageError(
        '--page lists one page; it cannot go with --all or --search.',
        'keys list',
      )
    }
    const items: AdminLicenseKey[] = []
    for await (const key of admin.listAll({ ...filter, pageSize: limit ?? MAX_PAGE_SIZE })) {
      if (search === undefined || matches(key, search)) items.push(key)
    }
    if (ctx.json) ctx.io.out(json({ items: items.map(withoutKey), total: items.length }))
    else {
      ctx.io.out(
        items.length === 0
          ? 'No license keys match.'
          : table(
              KEY_HEADERS,
              items.map((k) => keyRow(k, now)),
            ),
      )
    }
    return EXIT.ok
  }
  const page = intOption(ctx.parsed, 'page', 1) ?? 1
  const { data } = await admin.list({ ...filter, page, limit: limit ?? 20 })
  if (ctx.json) {
    ctx.io.out(json({ items: data.items.map(withoutKey), pagination: data.pagination }))
    return EXIT.ok
  }
  const { total_count: total, max_page: pages } = data.pagination
  if (data.items.length === 0)
    ctx.io.out(total === 0 ? 'No license keys.' : `Page ${page} is empty (${pages} pages).`)
  else {
    ctx.io.out(
      table(
        KEY_HEADERS,
        data.items.map((k) => keyRow(k, now)),
      ),
    )
    const more = page < pages ? ` Next: --page ${page + 1}, or --all.` : ''
    ctx.io.out(`\nPage ${page} of ${pages}, ${total} license key${total === 1 ? '' : 's'}.${more}`)
  }
  return EXIT.ok
}

/** A search term matches the key id, the customer's email or name, or (part of) the key. */
function matches(key: AdminLicenseKey, term: string): boolean {
  const haystack = [
    key.id,
    key.display_key,
    key.key,
    key.customer?.email,
    key.customer?.name,
    key.customer_id,
  ]
  return haystack.some((value) => value?.toLowerCase().includes(term))
}

function describeKey(key: AdminLicenseKey, now: number, activations?: number): string {
  const customer = key.customer
  const who = customer?.email
    ? `${customer.name ? `${customer.name} ` : ''}<${customer.email}> (id ${key.customer_id})`
    : key.customer_id
  const seats =
    key.limit_activations === null
      ? 'no activation limit (the app validates the key without activating)'
      : activations === undefined
        ? `limit ${key.limit_activations}`
        : `${activations} of ${key.limit_activations} in use`
  const lastValidated =
    key.last_validated_at === null ? 'never' : formatTime(Date.parse(key.last_validated_at))
  return fields([
    ['License key', `${key.display_key} (id ${key.id})`],
    ['Status', key.status],
    ['Customer', who],
    ['Seats', seats],
    [
      'Usage',
      key.limit_usage === null ? `${key.usage} (no limit)` : `${key.usage} of ${key.limit_usage}`,
    ],
    ['Expires', formatExpiry(key.expires_at, now)],
    ['Validations', `${key.validations}, last ${lastValidated}`],
    ['Benefit', key.benefit_id],
    ['Created', formatTime(Date.parse(key.created_at))],
  ])
}

export async function keysShow(ctx: Context): Promise<number> {
  const [ref = ''] = expectArgs(ctx.parsed, ['KEY'])
  const { data } = await ctx.admin().get(await resolveKeyId(ctx, ref))
  if (ctx.json) {
    ctx.io.out(json(withoutKey(data)))
    return EXIT.ok
  }
  ctx.io.out(showKey(data, ctx.io.now()))
  return EXIT.ok
}

function showKey(data: AdminLicenseKeyWithActivations, now: number): string {
  const list =
    data.activations.length === 0
      ? 'No activations.'
      : table(ACTIVATION_HEADERS, activationRows(data.activations))
  return `${describeKey(data, now, data.activations.length)}\n\nActivations\n${list}`
}

async function update(
  ctx: Context,
  ref: string,
  patch: LicenseKeyUpdate,
  summary: (key: AdminLicenseKey) => string,
): Promise<number> {
  const { data } = await ctx.admin().update(await resolveKeyId(ctx, ref), patch)
  ctx.io.out(ctx.json ? json(withoutKey(data)) : summary(data))
  return EXIT.ok
}

export async function keysRevoke(ctx: Context): Promise<number> {
  const [ref = ''] = expectArgs(ctx.parsed, ['KEY'])
  return update(
    ctx,
    ref,
    { status: 'revoked' },
    (key) =>
      `Revoked ${key.display_key} (id ${key.id}). It can no longer be activated, and apps using ` +
      'it stop at their next online check (offline ones when their grace period ends). ' +
      `Undo with: keygate keys enable ${key.id}`,
  )
}

export async function keysEnable(ctx: Context): Promise<number> {
  const [ref = ''] = expectArgs(ctx.parsed, ['KEY'])
  return update(
    ctx,
    ref,
    { status: 'granted' },
    (key) =>
      `Enabled ${key.display_key} (id ${key.id}): status granted. Apps accept it again at their ` +
      'next online check.',
  )
}

export async function keysExtend(ctx: Context): Promise<number> {
  const [ref = ''] = expectArgs(ctx.parsed, ['KEY'])
  const days = intOption(ctx.parsed, 'days', 1, 36_500)
  const until = stringOption(ctx.parsed, 'until')
  const never = flag(ctx.parsed, 'never')
  if ([days !== undefined, until !== undefined, never].filter(Boolean).length !== 1) {
    throw new UsageError(
      'keys extend takes exactly one of --days N, --until DATE, --never.',
      'keys extend',
    )
  }
  const id = await resolveKeyId(ctx, ref)
  const now = ctx.io.now()
  let expiresAt: number | null = null
  if (until !== undefined) {
    expiresAt = Date.parse(until)
    if (Number.isNaN(expiresAt) || !/^\d{4}-\d{2}-\d{2}/.test(until)) {
      throw new UsageError(
        '--until takes a date such as 2027-01-31 (UTC), or 2027-01-31T18:00:00Z.',
        'keys extend',
      )
    }
  } else if (days !== undefined) {
    // From the current expiry when it is still ahead, so extending early loses nothing.
    const { data } = await ctx.admin().get(id)
    const current = data.expires_at === null ? null : Date.parse(data.expires_at)
    if (current === null) {
      throw new UsageError(
        `${data.display_key} never expires; nothing to extend. Use --until DATE to set an expiry.`,
        'keys extend',
      )
    }
    expiresAt = Math.max(current, now) + days * DAY
  }
  return update(
    ctx,
    id,
    { expiresAt },
    (key) =>
      `${key.display_key} (id ${key.id}) now expires: ${formatExpiry(key.expires_at, now)}. ` +
      'Apps pick up the new date at their next online check.',
  )
}

function limitValue(ctx: Context, name: 'activations' | 'usage'): number | null | undefined {
  const raw = stringOption(ctx.parsed, name)
  if (raw === undefined) return undefined
  if (raw.trim().toLowerCase() === 'none') return null
  return intOption(ctx.parsed, name, 1, 2147483647)
}

export async function keysSetLimit(ctx: Context): Promise<number> {
  const [ref = ''] = expectArgs(ctx.parsed, ['KEY'])
  const limitActivations = limitValue(ctx, 'activations')
  const limitUsage = limitValue(ctx, 'usage')
  if (limitActivations === undefined && limitUsage === undefined) {
    throw new UsageError(
      'keys set-limit takes --activations N|none and/or --usage N|none.',
      'keys set-limit',
    )
  }
  const patch: LicenseKeyUpdate = {
    ...(limitActivations === undefined ? {} : { limitActivations }),
    ...(limitUsage === undefined ? {} : { limitUsage }),
  }
  return update(ctx, ref, patch, (key) => {
    const seats =
      key.limit_activations === null
        ? 'none (Polar then refuses new activations; keygate apps fall back to validating ' +
          'the key alone)'
        : String(key.limit_activations)
    const usage = key.limit_usage === null ? 'none' : String(key.limit_usage)
    return (
      `${key.display_key} (id ${key.id}): activation limit ${seats}; usage limit ${usage}. ` +
      'Lowering a limit does not remove activations already made.'
    )
  })
}
