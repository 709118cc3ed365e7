import {
  createLicensing,
  DEFAULT_POLICY,
  describe,
  type InactiveReason,
  type Integrity,
  inspectRecord,
  type KeyStatus,
  type LicenseState,
  type Policy,
  type RecordInspection,
  type Words,
} from '@keygate/core'
import { type FileStore, nodeMachine } from '@keygate/node-store'
import type { Context } from './context.js'
import { duration, fields, json, relative } from './format.js'
import { leaseKeyFrom } from './status-lease-key.js'
import { findStore } from './status-record.js'
import { EXIT, intValue, UsageError } from './usage.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

/** `keygate status`'s options. */
export interface StatusOptions {
  dir?: string | undefined
  appName?: string | undefined
  name?: string | undefined
  salt?: string | undefined
  online?: boolean | undefined
  graceDays?: string | undefined
  revalidateHours?: string | undefined
  locale?: string | undefined
  /** The app's lease public key (`leaseServer.publicKey`): a JSON file's path, or the JSON. */
  leaseKey?: string | undefined
}

/**
 * `keygate status`: the app's own decision, explained. Core reads the record and decides
 * (`inspectRecord`, the same rules as the app's start-up check: offline, without writing
 * anything), and core says it in words (`describe`); this file lays both out. `--online`
 * validates with Polar as the app would (that updates the record, under its lock).
 */
export async function status(ctx: Context, options: StatusOptions): Promise<number> {
  if (ctx.global.sandbox === true || ctx.global.server !== undefined) {
    throw new UsageError(
      'keygate status uses the Polar server stored in the record; --sandbox and --server do not apply.',
    )
  }
  const policy = policyFrom(options)
  const locale = localeFrom(options.locale)
  const leasePublicKey = await leaseKeyFrom(options.leaseKey)
  const found = await findStore(options, ctx.io.env)
  const { store } = found
  // The same fingerprint the app computes: @keygate/electron-adapter salts with the
  // organization id unless the app chose its own salt.
  const machineFor = (organizationId: string) =>
    nodeMachine({ salt: options.salt ?? organizationId, dir: store.dir })
  const inspect = () =>
    inspectRecord(found.readable, {
      machine: (origin) => machineFor(origin.organizationId),
      policy,
      leasePublicKey,
      now: ctx.io.now(),
    })
  let seen = await inspect()
  let state = seen.state
  let online = false
  // Never go online with a record that is not this machine's (or a wrong --salt): Polar
  // would answer "conditions mismatch" and the app's own record would be marked so.
  if (options.online === true && seen.kind === 'grant' && !isReason(state, 'machine_mismatch')) {
    const refreshed = await refresh(store, seen, policy, machineFor)
    online = true
    // The record as the online check left it, for its facts (validated, key status).
    seen = await inspect()
    // This check went to Polar directly: for a leased record the lease rules still decide
    // (as the app judges it), with the check's failure beside them.
    state =
      seen.leased === true
        ? { ...seen.state, ...(refreshed.error === undefined ? {} : { error: refreshed.error }) }
        : refreshed
  }
  const now = ctx.io.now()
  const words = describe(state, { now, locale })
  const readable = seen.kind === 'grant' || seen.kind === 'empty' || seen.kind === 'trial'
  if (ctx.json) {
    const { kind, state: _state, problem, leaseVerified, ...facts } = seen
    ctx.io.out(
      json({
        record: store.path,
        readable,
        kind,
        ...(problem === undefined ? {} : { problem }),
        ...(readable ? { online } : {}),
        ...(seen.keyStatus === undefined ? {} : { keyStatus: keyStatusWords(seen.keyStatus) }),
        state,
        leaseVerified: leaseVerified === true,
        // A foreign record (sealed by the app's keyring) has no words here: see `problem`.
        ...(kind === 'foreign' ? {} : { words }),
        ...(kind === 'grant' || kind === 'trial' ? { facts } : {}),
        ...(kind === 'empty' ? { searched: found.searched } : {}),
      }),
    )
  } else {
    const layout = {
      now,
      locale,
      policy,
      store,
      searched: found.searched,
      leaseKeyGiven: leasePublicKey !== undefined,
    }
    ctx.io.out(fields(rows(seen, state, words, layout)))
  }
  if (!readable) return EXIT.unreadable
  return state.status === 'inactive' ? EXIT.inactive : EXIT.ok
}

async function refresh(
  store: FileStore,
  seen: RecordInspection,
  policy: Policy,
  machineFor: (organizationId: string) => ReturnType<typeof nodeMachine>,
): Promise<LicenseState> {
  const organizationId = seen.organizationId ?? ''
  const licensing = createLicensing({
    organizationId,
    server: seen.server,
    store,
    machine: machineFor(organizationId),
    policy,
  })
  return licensing.refresh()
}

function isReason(state: LicenseState, reason: InactiveReason): boolean {
  return state.status === 'inactive' && state.reason === reason
}

/** The key's status in a few words (the record's snapshot corrected by Polar's verdict). */
function keyStatusWords(status: KeyStatus): string {
  if (status === 'revoked_or_disabled') return 'revoked or disabled'
  if (status === 'not_found') return 'unknown to Polar'
  return status
}

interface Layout {
  now: number
  locale: string | undefined
  policy: Policy
  store: FileStore
  searched: readonly string[]
  leaseKeyGiven: boolean
}

/**
 * Core's words first (each sentence once), then the facts a support person reads out:
 * times as dates in the reader's locale and durations, never raw timestamps.
 */
function rows(
  seen: RecordInspection,
  state: LicenseState,
  words: Words,
  { now, locale, policy, store, searched, leaseKeyGiven }: Layout,
): Array<[string, string]> {
  const date = dateFormat(locale)
  const when = (ms: number) => `${date(ms)} (${relative(ms, now)})`
  const out: Array<[string, string]> = [
    [
      'License',
      seen.kind === 'grant' || seen.kind === 'empty' || seen.kind === 'trial'
        ? stateCode(state)
        : 'unknown',
    ],
  ]
  if (seen.kind === 'foreign') {
    // No state can be read here (e.g. sealed by the app's safeStorage): the store's own
    // explanation is the fact, not the words for a record of another machine.
    out.push(['Why', seen.problem ?? ''])
  } else {
    out.push(['Summary', words.title], ['Detail', words.detail])
    if (words.action !== undefined) out.push(['What to do', words.action])
  }
  if (state.status === 'inactive' && state.note?.kind === 'interrupted_activation') {
    // The app's words are for its user; the seller reading this can free the seat here.
    const seat = state.note.activationId
    out.push([
      'Seller',
      seat === undefined
        ? `keygate activations prune '${state.note.displayKey}' frees a duplicate seat`
        : `the seat is activation ${seat}; activating again with the key resumes it (no duplicate)`,
    ])
  }
  if (seen.verdict?.detail !== undefined) out.push(['Polar said', `"${seen.verdict.detail}"`])

  if (state.status === 'active') {
    out.push(['Next check', relative(state.nextCheckAt, now)])
    const graceEnd = state.validatedAt + policy.gracePeriod
    const until = state.expiresAt === null ? graceEnd : Math.min(graceEnd, state.expiresAt)
    out.push(['Offline until', when(until)])
  } else if (state.status === 'grace') {
    out.push([
      'Grace',
      `${duration(state.graceEndsAt - now)} left (ends ${date(state.graceEndsAt)})`,
    ])
  } else if (state.status === 'trial') {
    const { daysLeft, endsAt } = state.trial
    out.push([
      'Trial',
      `${daysLeft === 1 ? '1 day' : `${daysLeft} days`} left, ends ${date(endsAt)}`,
    ])
  } else if (state.nextCheckAt !== undefined) {
    out.push([
      'Next check',
      state.nextCheckAt <= now ? 'due now' : relative(state.nextCheckAt, now),
    ])
  }

  const trial = seen.trial
  if (trial !== undefined && state.status !== 'trial') {
    out.push([
      'Trial',
      'refused' in trial
        ? `refused: ${trial.refused}`
        : trial.endedAt !== undefined && trial.endedAt < trial.endsAt
          ? `ended ${date(trial.endedAt)}, when a license key was activated`
          : `ended ${date(trial.endsAt)}`,
    ])
  }
  if (seen.kind === 'trial') {
    // A MAC keyed from the app's keychain cannot be checked here: say so, not `none`.
    const sealed = trial !== undefined && 'sealed' in trial && trial.sealed
    out.push([
      'Integrity',
      sealed && !(trial && 'signed' in trial && trial.signed)
        ? "keychain: the trial's start carries a MAC keyed from the app's keychain (verified by the app, not here)"
        : INTEGRITY[state.integrity ?? 'none'],
    ])
  }
  if (seen.kind === 'grant') {
    const expires = seen.expiresAt == null ? 'never expires' : `expires ${when(seen.expiresAt)}`
    out.push([
      'Key',
      `${seen.displayKey} (id ${seen.licenseId}; status ${keyStatusWords(seen.keyStatus ?? 'unknown')}; ${expires})`,
    ])
    const activation = seen.activation
    out.push([
      'Activation',
      activation
        ? `${activation.id} "${activation.label}", activated ${date(activation.createdAt)}`
        : 'none (the key is validated alone)',
    ])
    if (seen.validatedAt !== undefined) {
      // Polar's time for the date; "how long ago" on this machine's clock, which may differ.
      out.push([
        'Validated',
        `${date(seen.validatedAt.polar)} (${relative(seen.validatedAt.local, now)})`,
      ])
    }
    out.push(['Organization', `${seen.organizationId} on ${seen.server}`])
    out.push(['Integrity', integrityWords(seen, state, leaseKeyGiven)])
  }
  const where =
    seen.kind === 'damaged' ? ' (damaged)' : seen.kind === 'foreign' ? ' (not readable here)' : ''
  out.push(['Record', `${store.path}${where}`])
  if (seen.kind === 'empty' && searched.length > 1) out.push(['Looked in', searched.join(', ')])
  if (state.error !== undefined) {
    const failed = describe(state.error, { now, locale })
    out.push(['Online check', `${failed.title}. ${failed.detail}`])
  }
  return out
}

/**
 * What the record's protection resists (see core's README, "Trust"). A lease is only
 * called signed when it was verified here, with the app's lease public key.
 */
function integrityWords(seen: RecordInspection, state: LicenseState, keyGiven: boolean): string {
  if (!keyGiven) {
    if (seen.leased !== true) return INTEGRITY[state.integrity ?? 'none']
    return "signed (not verified here: pass --lease-key); until then the record's own, unchecked times decide what is shown"
  }
  if (seen.leaseVerified === true) {
    return 'signed: the lease verified with the given key and decides offline; an edited record is refused'
  }
  if (seen.leased !== true) {
    return 'signed expected, but the record carries no lease: an app with this lease server refuses it until it renews the lease'
  }
  return 'signed, but the lease does not verify with the given key: the record was edited, or signed by another lease server'
}

/** What the record's protection resists (see core's README, "Trust"). */
const INTEGRITY: Readonly<Record<Integrity, string>> = {
  signed:
    "signed: a lease from the seller's lease server decides offline; an edited record is refused",
  keychain: 'keychain: a MAC keyed from the OS keychain; an edited record is moved aside',
  none: 'none: tamper-evident only (times that cannot be true are refused, nothing is signed); an app whose keychain signed a record on this machine refuses it as tampered',
}

function stateCode(state: LicenseState): string {
  return state.status === 'inactive' ? `inactive (${state.reason})` : state.status
}

/** `March 1, 2026 at 11:00 AM` in the reader's locale. */
function dateFormat(locale: string | undefined): (ms: number) => string {
  const format = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short' })
  return (ms) => format.format(ms)
}

/** `--locale`: a BCP 47 tag (`de-CH`); default the system's. */
function localeFrom(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  try {
    const [canonical] = Intl.getCanonicalLocales(raw)
    if (canonical !== undefined) return canonical
  } catch {
    // A RangeError: not a language tag.
  }
  throw new UsageError('--locale takes a language tag such as en-GB or de-CH.', 'status')
}

function policyFrom(options: StatusOptions): Policy {
  const graceDays = intValue('grace-days', options.graceDays, 0, 3650)
  const revalidateHours = intValue('revalidate-hours', options.revalidateHours, 0, 87_600)
  return {
    ...DEFAULT_POLICY,
    ...(graceDays === undefined ? {} : { gracePeriod: graceDays * DAY }),
    ...(revalidateHours === undefined ? {} : { revalidateAfter: revalidateHours * HOUR }),
  }
}
