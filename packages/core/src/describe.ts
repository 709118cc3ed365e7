import type { KeygateError, KeygateErrorCode } from './errors.js'
import type { LicenseState } from './offline/state.js'
import { ENGLISH, type Facts, type Vocabulary, type Words } from './words.js'

export type { Facts, Vocabulary, Words } from './words.js'

/** An error as `describe()` reads it: a KeygateError or its `toJSON()` (e.g. over IPC). */
export interface DescribableError {
  code: KeygateErrorCode
  retryAfter?: number | undefined
}

export interface DescribeOptions {
  /** BCP 47 locale(s) for dates and durations. Default: the runtime's. */
  locale?: string | readonly string[] | undefined
  /** The time "now" for relative durations, epoch ms. Default `Date.now()`. */
  now?: number | undefined
  /** Your own sentences (a translation), all or some; English fills the rest. */
  words?: Partial<Vocabulary> | undefined
  /** The masked key to name when the subject carries none (errors carry none). */
  displayKey?: string | undefined
}

/**
 * The one plain-words vocabulary: a title, a sentence and an action for every license
 * state, inactive reason and error code, with dates and durations formatted for the
 * reader's locale. Pure. Nothing it returns holds a full key, an HTTP route, an error
 * number or a raw timestamp.
 */
export function describe(
  subject: LicenseState | KeygateError | DescribableError,
  options: DescribeOptions = {},
): Words {
  const words: Vocabulary = { ...ENGLISH, ...options.words }
  const now = options.now ?? Date.now()
  const locale = options.locale === undefined ? undefined : [...[options.locale].flat()]
  const dates = new Intl.DateTimeFormat(locale, { dateStyle: 'long' })
  const relativeTime = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
  const base: Facts = {
    key: options.displayKey,
    date: (ms) => dates.format(ms),
    relative: (at) => relative(relativeTime, at - now),
    after: (ms) => relative(relativeTime, ms),
    expiresAt: undefined,
    graceEndsAt: undefined,
    validatedAt: undefined,
    retryAfter: undefined,
    note: undefined,
    updatesUntil: undefined,
    trial: undefined,
  }
  if (!('status' in subject) || typeof subject.status !== 'string') {
    const error = subject as DescribableError
    return words.errors[error.code]({ ...base, retryAfter: error.retryAfter })
  }
  const state = subject as LicenseState
  const key = state.license?.displayKey ?? options.displayKey
  const expiresAt = state.license?.expiresAt ?? undefined
  switch (state.status) {
    case 'active':
      return words.active({
        ...base,
        key,
        expiresAt,
        validatedAt: state.validatedAt,
        updatesUntil: state.updatesUntil,
      })
    case 'grace':
      return words.grace[state.why]({
        ...base,
        key,
        expiresAt,
        graceEndsAt: state.graceEndsAt,
        validatedAt: state.validatedAt,
      })
    case 'trial':
      return words.trial({ ...base, trial: state.trial })
    case 'inactive':
      return words.reasons[state.reason]({
        ...base,
        key,
        expiresAt,
        validatedAt: state.validatedAt,
        note: state.note,
        trial: state.trial,
      })
  }
}

const UNITS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
]

/** `in 3 days`, `2 hours ago`: the largest unit that fits, rounded. */
function relative(format: Intl.RelativeTimeFormat, deltaMs: number): string {
  for (const [unit, size] of UNITS) {
    if (Math.abs(deltaMs) >= size || unit === 'second') {
      return format.format(Math.round(deltaMs / size), unit)
    }
  }
  return format.format(0, 'second')
}
