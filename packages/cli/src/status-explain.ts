import type { Grant, InactiveReason, LicenseState, Policy } from '@keygate/core'
import { duration, fields, formatExpiry, formatTime, relative } from './format.js'
import type { Unreadable } from './status-record.js'

/**
 * `keygate status` in words: the state, why, and what the user or support can do about
 * it. Written for the person on the phone with a locked-out customer.
 */

const REASONS: Readonly<Record<InactiveReason, { why: string; fix: string }>> = {
  not_activated: {
    why: 'no license is activated on this machine',
    fix: 'Enter the license key in the app.',
  },
  grace_expired: {
    why: 'Polar could not be reached for longer than the grace period',
    fix: 'Connect to the internet and open the app (or run keygate status --online).',
  },
  revoked: {
    why: 'the seller revoked or disabled the license key',
    fix: 'The seller can restore it: keygate keys enable <KEY>.',
  },
  expired: {
    why: 'the license key has expired',
    fix: 'The seller can extend it: keygate keys extend <KEY> --days N; then open the app.',
  },
  key_not_found: {
    why: 'Polar no longer knows this license key (deleted, or replaced by a new key)',
    fix: 'Enter the current key in the app.',
  },
  activation_not_found: {
    why: "this machine's activation was removed (customer portal or keygate activations remove)",
    fix: 'Enter the license key in the app again to activate this machine.',
  },
  machine_mismatch: {
    why: 'the record was activated on another machine (a copied profile or disk)',
    fix:
      'Activate the key on this machine. If the app sets its own machine salt, pass it with ' +
      '--salt: the default is the organization id, as in @keygate/electron-adapter.',
  },
  tampered: {
    why: 'the license record was changed outside the app',
    fix: 'Connect to the internet and open the app so the license is checked again.',
  },
  clock_tampered: {
    why: 'the system clock is set earlier than a time this machine already saw',
    fix: 'Set the clock to the correct time, then open the app again.',
  },
  conditions_mismatch: {
    why: 'Polar says the activation belongs to another machine',
    fix: 'Enter the license key in the app again to activate this machine.',
  },
  usage_exhausted: {
    why: "the license key's usage limit is used up",
    fix: 'The seller can raise it: keygate keys set-limit <KEY> --usage N.',
  },
}

/**
 * The Why line and Polar's own words, each said once. Apps store a verdict's detail as
 * their own sentence plus `(Polar: "…")`; when the sentence is there it is the Why, and
 * Polar's words get their own line. Older records hold Polar's words alone.
 */
function verdictRows(why: string, detail: string | undefined): Array<[string, string]> {
  if (detail === undefined || detail.trim() === '') return [['Why', why]]
  const quoted = /^(.*?)\s*\(Polar: "(.*)"\)\s*$/s.exec(detail)
  if (quoted !== null) {
    const [, sentence = '', polar = ''] = quoted
    return [
      ['Why', sentence.trim() === '' ? why : sentence.trim()],
      ['Polar said', `"${polar}"`],
    ]
  }
  if (sameWords(why, detail)) return [['Why', why]]
  return [
    ['Why', why],
    ['Polar said', `"${detail}"`],
  ]
}

/** Equal but for case, punctuation and articles. */
function sameWords(a: string, b: string): boolean {
  const words = (text: string) =>
    text
      .toLowerCase()
      .replace(/[^a-z0-9 ]+/g, ' ')
      .split(/\s+/)
      .filter((w) => w !== '' && w !== 'the' && w !== 'this' && w !== 'a')
      .join(' ')
  return words(a) === words(b)
}

/**
 * The key's status as the state knows it. The record's snapshot keeps the status of the
 * last successful validation; a later verdict (revoked) is newer than that snapshot.
 */
export function keyStatus(state: LicenseState): string {
  const status = state.license?.status ?? 'unknown'
  if (state.status !== 'inactive') return status
  if (state.reason === 'revoked') return status === 'granted' ? 'revoked or disabled' : status
  if (state.reason === 'key_not_found') return 'unknown to Polar'
  return status
}

function stateHeadline(state: LicenseState): string {
  return state.status === 'inactive' ? `inactive (${state.reason})` : state.status
}

export function explainState(
  state: LicenseState,
  grant: Grant | undefined,
  now: number,
  policy: Policy,
  recordPath: string,
): string {
  const rows: Array<[string, string]> = [['License', stateHeadline(state)]]
  if (state.status === 'active') {
    rows.push([
      'Why',
      `validated online ${relative(state.validatedAt, now)}; next online check ${relative(state.nextCheckAt, now)}`,
    ])
    const offlineUntil = state.validatedAt + policy.gracePeriod
    rows.push([
      'Grace',
      `not needed; offline, the app keeps running until ${formatTime(offlineUntil)}`,
    ])
  } else if (state.status === 'grace') {
    const why =
      state.why === 'unreachable'
        ? 'Polar could not be reached just now'
        : `the last online validation was ${relative(state.validatedAt, now)}, so a new one is due`
    rows.push(['Why', `${why}; the app keeps running meanwhile`])
    rows.push([
      'Grace',
      `${duration(state.graceEndsAt - now)} left (ends ${formatTime(state.graceEndsAt)})`,
    ])
  } else {
    const reason = REASONS[state.reason]
    rows.push(...verdictRows(reason.why, state.detail))
    // Name the key so the seller can paste the command as it is.
    const keyId = state.license?.id
    rows.push(['What to do', keyId ? reason.fix.replace('<KEY>', keyId) : reason.fix])
    if (state.note?.kind === 'interrupted_activation') {
      rows.push([
        'Interrupted',
        `an activation of ${state.note.displayKey} started ${formatTime(state.note.at)} and never finished: it may hold a seat. Activating again is safe; the seller can free a duplicate with keygate activations prune KEY.`,
      ])
    }
  }
  const license = state.license
  if (license !== undefined) {
    const expires = formatExpiry(license.expiresAt, now)
    rows.push([
      'Key',
      `${license.displayKey} (id ${license.id}; status ${keyStatus(state)}; expires ${expires})`,
    ])
  }
  const activation = state.activation
  if (activation) {
    rows.push([
      'Activation',
      `${activation.id} "${activation.label}", ${formatTime(activation.createdAt)}`,
    ])
  } else if (grant !== undefined) {
    rows.push(['Activation', 'none (the key is validated without activations)'])
  }
  if (grant !== undefined) {
    rows.push([
      'Validated',
      // Polar's time for the date; "how long ago" on this machine's clock, which may differ.
      `${formatTime(grant.validatedAt)} (${relative(grant.localValidatedAt ?? grant.validatedAt, now)})`,
    ])
    rows.push(['Organization', `${grant.organizationId} on ${grant.server}`])
  }
  rows.push(['Record', recordPath])
  if (state.error !== undefined) rows.push(['Online check', `failed: ${state.error.message}`])
  return fields(rows)
}

const UNREADABLE: Readonly<Record<Unreadable, string>> = {
  encrypted:
    'Open the app itself to see the license state (its license screen), or ask the user ' +
    'to re-enter the key there. keygate status cannot decrypt it.',
  not_json:
    'The record is damaged (not JSON: a disk error, or edited by hand). On its next start ' +
    'the app moves it aside and asks for the key again. Its seat stays taken in Polar: ' +
    'free it with keygate activations list/remove if the limit is reached.',
  invalid:
    'The record is damaged (not a keygate record). On its next start the app moves it ' +
    'aside and asks for the key again. Its seat stays taken in Polar: free it with ' +
    'keygate activations list/remove if the limit is reached.',
  newer_version:
    'A newer version of the app wrote this record. Update keygate (npm i -g @keygate/cli) ' +
    'to read it; the app itself is not affected.',
  store: 'Check that this user may read the file and its folder.',
}

export function explainUnreadable(path: string, problem: Unreadable, message: string): string {
  return fields([
    ['License', 'unknown: the record cannot be read'],
    ['Why', message],
    ['What to do', UNREADABLE[problem]],
    ['Record', path],
  ])
}
