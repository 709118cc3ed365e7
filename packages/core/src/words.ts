import type { KeygateErrorCode } from './errors.js'
import type { InactiveReason } from './offline/reasons.js'
import type { GraceWhy, InactiveNote, TrialInfo } from './offline/state.js'

/** What `describe()` returns: words for a person, in the reader's language. */
export interface Words {
  /** A few words: a heading or a status line. */
  title: string
  /** One or two sentences: what happened, in plain words. */
  detail: string
  /** What the person can do about it, when there is something. */
  action?: string | undefined
}

/**
 * The facts a sentence may use, already formatted for the reader's locale. Nothing here
 * is a full key, a route, an error number or a raw timestamp.
 */
export interface Facts {
  /** Polar's masked key (`****-ABC123`), when known. */
  key: string | undefined
  /** A date, formatted: `date(ms)`. */
  date(ms: number): string
  /** An instant relative to now, formatted: `in 3 days`, `2 hours ago`. */
  relative(at: number): string
  /** A span from now, formatted: `in 1 minute`. */
  after(ms: number): string
  expiresAt: number | undefined
  graceEndsAt: number | undefined
  validatedAt: number | undefined
  /** Seconds to wait (a rate limit). */
  retryAfter: number | undefined
  note: InactiveNote | undefined
  /** An expired key still running this build (`onExpiry: 'fallback'`): its expiry. */
  updatesUntil: number | undefined
  /** A trial's times (`status: 'trial'`, `trial_expired`). */
  trial: TrialInfo | undefined
}

type Sentence = (facts: Facts) => Words

/** Every sentence keygate shows; pass your own (all or some) to `describe()` to translate. */
export interface Vocabulary {
  active: Sentence
  /** A trial runs (`status: 'trial'`). */
  trial: Sentence
  grace: Record<GraceWhy, Sentence>
  reasons: Record<InactiveReason, Sentence>
  errors: Record<KeygateErrorCode, Sentence>
}

const daysLeft = (days: number) => (days === 1 ? '1 day left' : `${days} days left`)

const theKey = (f: Facts) => (f.key === undefined ? 'the license key' : `the license key ${f.key}`)
const TheKey = (f: Facts) => (f.key === undefined ? 'The license key' : `The license key ${f.key}`)

const elsewhere: Sentence = () => ({
  title: 'License belongs to another computer',
  detail: 'The saved license was activated on a different computer or user account.',
  action: 'Activate your license key on this computer.',
})

const notFound: Sentence = (f) => ({
  title: 'License key not recognized',
  detail: `${TheKey(f)} is not known to the license server: it may be mistyped, deleted, or replaced by a new key.`,
  action: 'Enter your current license key.',
})

const deactivated: Sentence = () => ({
  title: 'This computer was deactivated',
  detail: "This computer's activation was removed, for example from the customer portal.",
  action: 'Activate this computer again.',
})

const revoked: Sentence = (f) => ({
  title: 'License no longer active',
  detail: `The seller revoked or disabled ${theKey(f)}.`,
  action: 'Contact the seller, or enter a different license key.',
})

const expired: Sentence = (f) => ({
  title: 'License expired',
  detail:
    f.expiresAt === undefined
      ? `${TheKey(f)} has expired.`
      : `${TheKey(f)} expired on ${f.date(f.expiresAt)}.`,
  action: 'Renew your license, or enter a new license key.',
})

export const ENGLISH: Vocabulary = {
  active: (f) => ({
    title: 'Licensed',
    detail:
      f.updatesUntil !== undefined
        ? `This version is licensed for good. ${TheKey(f)} included updates until ${f.date(f.updatesUntil)}; renew it to get newer versions.`
        : f.expiresAt === undefined
          ? `This computer is activated with ${theKey(f)}.`
          : `This computer is activated with ${theKey(f)}, valid until ${f.date(f.expiresAt)}.`,
  }),
  trial: (f) => ({
    title: f.trial === undefined ? 'Trial' : `Trial: ${daysLeft(f.trial.daysLeft)}`,
    detail:
      f.trial === undefined
        ? 'You are trying this app.'
        : `You are trying this app until ${f.date(f.trial.endsAt)}.`,
    action: 'Buy a license to keep using the app after the trial, then enter its key.',
  }),
  grace: {
    revalidation_due: (f) => ({
      title: 'Licensed',
      detail:
        f.graceEndsAt === undefined
          ? 'Your license will be checked online the next time this computer is connected.'
          : `Your license will be checked online the next time this computer is connected. It keeps working offline until ${f.date(f.graceEndsAt)}.`,
    }),
    unreachable: (f) => ({
      title: 'Working offline',
      detail:
        f.graceEndsAt === undefined
          ? 'The license server could not be reached.'
          : `The license server could not be reached. The app keeps working until ${f.date(f.graceEndsAt)} (${f.relative(f.graceEndsAt)}).`,
      action: 'Connect to the internet so your license can be checked.',
    }),
  },
  reasons: {
    not_activated: (f) => {
      const note = f.note
      if (note?.kind === 'unreadable') {
        return {
          title: 'Not activated',
          detail:
            note.movedTo === undefined
              ? `The saved license on this computer could not be read (${note.problem}).`
              : `The saved license on this computer could not be read (${note.problem}), so it was set aside (kept at ${note.movedTo}).`,
          action: 'Enter your license key to activate this computer again.',
        }
      }
      if (note?.kind === 'interrupted_activation' && note.activationId !== undefined) {
        return {
          title: 'Not activated',
          detail: `An activation of ${note.displayKey} on ${f.date(note.at)} was interrupted after Polar had given this computer a seat; activating again with the same key takes that seat back instead of a new one.`,
          action:
            'Connect to the internet, or enter your license key, to finish activating this computer.',
        }
      }
      if (note?.kind === 'interrupted_activation') {
        return {
          title: 'Not activated',
          detail: `An activation of ${note.displayKey} on ${f.date(note.at)} was interrupted before it finished; it may hold one of the key's seats.`,
          action:
            'Enter your license key to activate this computer again. If the key says all its seats are taken, ask the seller to free the interrupted one.',
        }
      }
      if (note?.kind === 'other_origin') {
        return {
          title: 'Not activated',
          detail:
            'The saved license was activated for a different setup of this app (another Polar organization or server).',
          action: 'Enter your license key to activate this computer.',
        }
      }
      return {
        title: 'Not activated',
        detail: 'This computer has no license yet.',
        action: 'Enter the license key from your purchase email to activate this computer.',
      }
    },
    grace_expired: (f) => ({
      title: 'License needs to be checked',
      detail:
        f.validatedAt === undefined
          ? 'Your license could not be checked online for too long.'
          : `Your license was last confirmed online on ${f.date(f.validatedAt)} and could not be checked since.`,
      action: 'Connect to the internet, then check again.',
    }),
    revoked,
    expired,
    key_not_found: notFound,
    activation_not_found: deactivated,
    machine_mismatch: elsewhere,
    clock_tampered: (f) => ({
      title: 'Check the system clock',
      detail: 'The system clock is set earlier than a time this app has already seen.',
      action:
        f.note?.kind === 'trial'
          ? 'Set the clock to the correct time, then open the app again.'
          : 'Set the clock to the correct time, then check again.',
    }),
    tampered: (f) =>
      f.note?.kind === 'trial'
        ? {
            title: 'Trial record changed',
            detail:
              "This computer's trial record was changed outside the app, so the trial cannot continue.",
            action: 'Buy a license, then enter its key to keep using the app.',
          }
        : {
            title: 'License record changed',
            detail:
              'The saved license on this computer was changed outside the app, so it cannot be trusted offline.',
            action: 'Connect to the internet so your license can be checked again.',
          },
    conditions_mismatch: elsewhere,
    usage_exhausted: (f) => ({
      title: 'No uses left',
      detail: `${TheKey(f)} has no uses left.`,
      action: 'Contact the seller for a higher limit.',
    }),
    trial_expired: (f) => ({
      title: 'Trial ended',
      detail:
        f.trial === undefined
          ? 'Your trial of this app has ended.'
          : `Your trial of this app ended on ${f.date(f.trial.endsAt)}.`,
      action: 'Buy a license, then enter its key to keep using the app.',
    }),
  },
  errors: {
    invalid_input: () => ({
      title: 'Check the license key',
      detail: 'The license key, or a setting the app sent with it, is not in the expected form.',
      action: 'Check the key for typos and try again.',
    }),
    key_not_found: (f) => ({
      title: 'License key not recognized',
      detail: `${TheKey(f)} is not known to the license server. A key bought in the last few minutes can take up to 2 minutes to appear. If a correct key keeps failing, the app may be set up for a different Polar organization: tell its developer.`,
      action: 'Check the key for typos, or try again in a minute.',
    }),
    activation_not_found: deactivated,
    activation_limit_reached: (f) => ({
      title: 'All activations are in use',
      detail: `Every activation of ${theKey(f)} is in use on other computers.`,
      action:
        'Deactivate the app on another computer, or remove an old activation in the customer portal, then try again.',
    }),
    activation_not_supported: (f) => ({
      title: 'This key cannot be activated',
      detail: `${TheKey(f)} does not use activations.`,
      action: 'Contact the seller.',
    }),
    revoked,
    expired,
    conditions_mismatch: elsewhere,
    usage_limit: (f) => ({
      title: 'Not enough uses left',
      detail: `${TheKey(f)} has too few uses left for this.`,
      action: 'Contact the seller for a higher limit.',
    }),
    rate_limited: (f) => ({
      title: 'Too many attempts',
      // Polar's 429 and the app's own pacing of repeated clicks alike.
      detail: 'There were too many attempts from this computer or network in a short time.',
      action:
        f.retryAfter === undefined
          ? 'Try again in a minute.'
          : `Try again ${f.after(f.retryAfter * 1000)}.`,
    }),
    network: () => ({
      title: 'Cannot reach the license server',
      detail: 'This computer could not connect to the license server.',
      action: 'Check the internet connection, proxy or firewall, then try again.',
    }),
    timeout: () => ({
      title: 'The license server did not answer',
      detail: 'The license server did not answer in time.',
      action: 'Check the internet connection, then try again.',
    }),
    server: () => ({
      title: 'The license server had a problem',
      detail: 'The license server could not answer right now.',
      action: 'Try again later.',
    }),
    bad_response: () => ({
      title: 'Unexpected answer from the network',
      detail:
        'Something between this computer and the license server (a proxy, captive portal or firewall) answered instead of it.',
      action: 'Sign in to the network if it asks you to, then try again.',
    }),
    store: () => ({
      title: 'The license could not be saved or read',
      detail: 'This computer could not read or save the license file.',
      action: 'Check that the disk has free space and that the app may write to its data folder.',
    }),
    unauthorized: () => ({
      title: 'Access refused',
      detail: "The seller's access token was refused.",
      action: 'Check the organization access token.',
    }),
    forbidden: () => ({
      title: 'Not allowed',
      detail: 'The license server refused this request.',
      action: 'Contact the seller.',
    }),
    key_mismatch: (f) => ({
      title: 'License key is for something else',
      detail: `${TheKey(f)} belongs to a different product or customer than this app expects.`,
      action: 'Enter the license key you received for this app.',
    }),
    outcome_unknown: () => ({
      title: 'Result unknown',
      detail:
        'The connection was lost after the request was sent, so it is unknown whether the license server counted it. It was not sent again, so it cannot be counted twice.',
      action: 'Check your license usage before trying again.',
    }),
  },
}
