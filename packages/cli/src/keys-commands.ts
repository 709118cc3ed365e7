import {
  type AdminLicenseKey,
  type AdminLicenseKeyWithActivations,
  LICENSE_KEY_STATUSES,
  type LicenseKeyStatus,
  type LicenseKeyUpdate,
  MAX_PAGE_SIZE,
} from '@keygate/core/admin'
import { ACTIVATION_HEADERS, activationRows } from './activations-commands.js'
import type { Context } from './context.js'
import { fields, formatExpiry, formatTime, json, seats, table } from './format.js'
import { publicKey, resolveKeyId, shownKey } from './key-ref.js'
import { EXIT, intValue, limitValue, UsageError } from './usage.js'

const DAY = 24 * 60 * 60 * 1000
/** Seat counts need one request per key; a few at a time, still paced by the client. */
const SEAT_LOOKUPS_AT_ONCE = 4

const KEY_HEADERS = ['ID', 'KEY', 'STATUS', 'SEATS', 'USAGE', 'EXPIRES', 'CUSTOMER']

/** A listed key with its seats in use (the list itself does not carry activations). */
type Listed = AdminLicenseKey & { seats_in_use: number }

function keyRow(key: Listed, now: number): string[] {
  const expiresAt = key.expires_at === null ? null : Date.parse(key.expires_at)
  const expires =
    expiresAt === null
      ? 'never'
      : `${formatTime(expiresAt).slice(0, 10)}${expiresAt <= now ? ' (expired)' : ''}`
  return [
    key.id,
    shownKey(key),
    key.status,
    seats(key.limit_activations, key.seats_in_use),
    key.limit_usage === null ? String(key.usage) : `${key.usage} of ${key.limit_usage}`,
    expires,
    key.customer?.email ?? key.customer_id,
  ]
}

export interface KeysListOptions {
  org?: string[] | undefined
  benefit?: string[] | undefined
  status?: string[] | undefined
  limit?: string | undefined
  page?: string | undefined
  all?: boolean | undefined
  search?: string | undefined
}

function statuses(values: readonly string[] = []): LicenseKeyStatus[] {
  return values.map((status) => {
    if (!(LICENSE_KEY_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--status must be one of ${LICENSE_KEY_STATUSES.join(', ')}.`)
    }
    return status as LicenseKeyStatus
  })
}

async function withSeats(ctx: Context, keys: readonly AdminLicenseKey[]): Promise<Listed[]> {
  const admin = ctx.admin()
  const listed: Listed[] = []
  for (let i = 0; i < keys.length; i += SEAT_LOOKUPS_AT_ONCE) {
    const batch = keys.slice(i, i + SEAT_LOOKUPS_AT_ONCE)
    const found = await Promise.all(batch.map((key) => admin.get(key.id)))
    found.forEach(({ data }, j) => {
      const key = batch[j]
      if (key !== undefined) listed.push({ ...key, seats_in_use: data.activations.length })
    })
  }
  return listed
}

/** `keys list`: one page by default; `--all` or `--search` walk every page. */
export async function keysList(ctx: Context, options: KeysListOptions): Promise<number> {
  const admin = ctx.admin()
  const filter = {
    organizationId: options.org ?? [],
    benefitId: options.benefit ?? [],
    status: statuses(options.status),
  }
  const limit = intValue('limit', options.limit, 1, MAX_PAGE_SIZE)
  const search = options.search?.trim().toLowerCase()
  const now = ctx.io.now()
  if (options.all === true || search !== undefined) {
    if (options.page !== undefined) {
      throw new UsageError('--page lists one page; it cannot go with --all or --search.')
    }
    const found: AdminLicenseKey[] = []
    for await (const key of admin.listAll({ ...filter, pageSize: limit ?? MAX_PAGE_SIZE })) {
      ctx.secret(key.key)
      if (search === undefined || matches(key, search)) found.push(key)
    }
    const items = await withSeats(ctx, found)
    if (ctx.json) ctx.io.out(json({ items: items.map(publicKey), total: items.length }))
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
  const page = intValue('page', options.page, 1) ?? 1
  const { data } = await admin.list({ ...filter, page, limit: limit ?? 20 })
  for (const key of data.items) ctx.secret(key.key)
  const items = await withSeats(ctx, data.items)
  if (ctx.json) {
    ctx.io.out(json({ items: items.map(publicKey), pagination: data.pagination }))
    return EXIT.ok
  }
  const { total_count: total, max_page: pages } = data.pagination
  if (items.length === 0)
    ctx.io.out(total === 0 ? 'No license keys.' : `Page ${page} is empty (${pages} pages).`)
  else {
    ctx.io.out(
      table(
        KEY_HEADERS,
        items.map((k) => keyRow(k, now)),
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

function describeKey(key: AdminLicenseKeyWithActivations, now: number): string {
  const customer = key.customer
  const who = customer?.email
    ? `${customer.name ? `${customer.name} ` : ''}<${customer.email}> (id ${key.customer_id})`
    : key.customer_id
  const lastValidated =
    key.last_validated_at === null ? 'never' : formatTime(Date.parse(key.last_validated_at))
  return fields([
    ['License key', `${shownKey(key)} (id ${key.id})`],
    ['Status', key.status],
    ['Customer', who],
    ['Seats', seats(key.limit_activations, key.activations.length)],
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

export async function keysShow(ctx: Context, ref: string): Promise<number> {
  const { data } = await ctx.admin().get(await resolveKeyId(ctx, ref))
  ctx.secret(data.key)
  if (ctx.json) {
    ctx.io.out(json(publicKey(data)))
    return EXIT.ok
  }
  const list =
    data.activations.length === 0
      ? 'No activations.'
      : table(ACTIVATION_HEADERS, activationRows(data.activations))
  ctx.io.out(`${describeKey(data, ctx.io.now())}\n\nActivations\n${list}`)
  return EXIT.ok
}

async function update(
  ctx: Context,
  id: string,
  patch: LicenseKeyUpdate,
  summary: (key: AdminLicenseKey) => string,
): Promise<number> {
  const { data } = await ctx.admin().update(id, patch)
  ctx.secret(data.key)
  ctx.io.out(ctx.json ? json(publicKey(data)) : summary(data))
  return EXIT.ok
}

export async function keysRevoke(ctx: Context, ref: string): Promise<number> {
  return update(
    ctx,
    await resolveKeyId(ctx, ref),
    { status: 'revoked' },
    (key) =>
      `Revoked ${shownKey(key)} (id ${key.id}). It can no longer be activated, and apps using ` +
      'it stop at their next online check (offline ones when their grace period ends). ' +
      `Undo with: keygate keys enable ${key.id}`,
  )
}

export async function keysEnable(ctx: Context, ref: string): Promise<number> {
  return update(
    ctx,
    await resolveKeyId(ctx, ref),
    { status: 'granted' },
    (key) =>
      `Enabled ${shownKey(key)} (id ${key.id}): status granted. Apps accept it again at their ` +
      'next online check.',
  )
}

export interface ExtendOptions {
  days?: string | undefined
  until?: string | undefined
  never?: boolean | undefined
}

export async function keysExtend(
  ctx: Context,
  ref: string,
  options: ExtendOptions,
): Promise<number> {
  const days = intValue('days', options.days, 1, 36_500)
  const { until } = options
  const never = options.never === true
  if ([days !== undefined, until !== undefined, never].filter(Boolean).length !== 1) {
    throw new UsageError('keys extend takes exactly one of --days N, --until DATE, --never.')
  }
  let expiresAt: number | null = null
  if (until !== undefined) {
    expiresAt = Date.parse(until)
    if (Number.isNaN(expiresAt) || !/^\d{4}-\d{2}-\d{2}/.test(until)) {
      throw new UsageError(
        '--until takes a date such as 2027-01-31 (UTC), or 2027-01-31T18:00:00Z.',
      )
    }
  }
  const id = await resolveKeyId(ctx, ref)
  const now = ctx.io.now()
  if (days !== undefined) {
    // From the current expiry when it is still ahead, so extending early loses nothing.
    const { data } = await ctx.admin().get(id)
    ctx.secret(data.key)
    if (data.expires_at === null) return neverExpires(ctx, data, days)
    expiresAt = Math.max(Date.parse(data.expires_at), now) + days * DAY
  }
  return update(
    ctx,
    id,
    { expiresAt },
    (key) =>
      `${shownKey(key)} (id ${key.id}) now expires: ${formatExpiry(key.expires_at, now)}. ` +
      'Apps pick up the new date at their next online check.',
  )
}

/**
 * `--days N` on a key without expiry: it already runs longer than any extension, so
 * nothing is changed and that is success (exit 0), said plainly.
 */
function neverExpires(ctx: Context, key: AdminLicenseKey, days: number): number {
  if (ctx.json) {
    ctx.io.out(
      json({ license_key_id: key.id, changed: false, reason: 'never_expires', expires_at: null }),
    )
  } else {
    ctx.io.out(
      `${shownKey(key)} (id ${key.id}) never expires, so it already runs longer than ` +
        `${days} more day${days === 1 ? '' : 's'}: nothing was changed. To give it an ` +
        `expiry date, use: keygate keys extend ${key.id} --until DATE`,
    )
  }
  return EXIT.ok
}

export interface SetLimitOptions {
  activations?: string | undefined
  usage?: string | undefined
}

export async function keysSetLimit(
  ctx: Context,
  ref: string,
  options: SetLimitOptions,
): Promise<number> {
  const limitActivations = limitValue('activations', options.activations)
  const limitUsage = limitValue('usage', options.usage)
  if (limitActivations === undefined && limitUsage === undefined) {
    throw new UsageError('keys set-limit takes --activations N|none and/or --usage N|none.')
  }
  const patch: LicenseKeyUpdate = {
    ...(limitActivations === undefined ? {} : { limitActivations }),
    ...(limitUsage === undefined ? {} : { limitUsage }),
  }
  return update(ctx, await resolveKeyId(ctx, ref), patch, (key) => {
    const limit =
      key.limit_activations === null
        ? 'none (Polar then refuses new activations; keygate apps fall back to validating ' +
          'the key alone)'
        : String(key.limit_activations)
    const usage = key.limit_usage === null ? 'none' : String(key.limit_usage)
    return (
      `${shownKey(key)} (id ${key.id}): activation limit ${limit}; usage limit ${usage}. ` +
      'Lowering a limit does not remove activations already made.'
    )
  })
}

export interface RotateOptions {
  showNewKey?: boolean | undefined
}

/** Printed to stderr beside a full key, the one time keygate prints one. */
const NEW_KEY_WARNING =
  'This is the full new license key: anyone who has it can activate the app. keygate shows ' +
  'it only now; pass it to the customer privately (it is also in their Polar customer portal).'

/**
 * `keys rotate`: Polar gives the key a new string (the benefit's current prefix); the old
 * string stops working at once. The new key is shown masked, like every key keygate
 * prints; `--show-new-key` prints it in full once, alone on stdout, with a warning on stderr.
 */
export async function keysRotate(
  ctx: Context,
  ref: string,
  options: RotateOptions,
): Promise<number> {
  const id = await resolveKeyId(ctx, ref)
  const { data } = await ctx.admin().rotate(id)
  const show = options.showNewKey === true && data.key !== undefined
  // Without --show-new-key the new string is a secret like any other: masked everywhere.
  if (!show) ctx.secret(data.key)
  if (ctx.json) {
    ctx.io.out(json({ ...publicKey(data), rotated: true, ...(show ? { new_key: data.key } : {}) }))
  } else {
    ctx.io.out(
      `Rotated license key ${data.id}: the new key is ${shownKey(data)}. The old key stops ` +
        'working at once; apps using it stop at their next online check and ask for the new ' +
        "one, which the customer finds in Polar's customer portal.",
    )
    if (show) ctx.io.out(data.key ?? '')
  }
  if (show) ctx.io.err(`keygate: ${NEW_KEY_WARNING}`)
  return EXIT.ok
}
