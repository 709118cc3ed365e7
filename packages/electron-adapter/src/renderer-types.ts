import type {
  ActivationInfo,
  GraceWhy,
  InactiveReason,
  Integrity,
  KeygateError,
  LicenseInfo,
  Words,
} from '@keygate/core'

/**
 * Whether the grant on disk is encrypted: `os` (the OS keyring, through `safeStorage`),
 * `store` (a custom store marked `encrypts: true` encrypts it itself), or `unavailable`
 * (no keyring, e.g. Linux falling back to `basic_text`).
 */
export type EncryptionStatus = 'os' | 'store' | 'unavailable'

/** A `KeygateError` as it crosses IPC: `error.toJSON()`, no stack, no cause, no key. */
export type KeygateErrorData = ReturnType<KeygateError['toJSON']>

/**
 * An error as a renderer gets it: the data, plus `words` from core's `describe()` in the
 * user's locale (a renderer cannot import core). Show `words`, never `message`: the
 * message is for developers.
 */
export type RendererErrorData = KeygateErrorData & { words: Words }

interface RendererLicensed {
  /** What the app may show: Polar's `displayKey` (`****-` + last 6), never the key. */
  license: LicenseInfo
  activation: ActivationInfo | null
  /** Last successful online validation, epoch ms. */
  validatedAt: number
  /** The key's own expiry, epoch ms, or null. */
  expiresAt: number | null
  /** The last background check's failure, when it failed transiently. */
  error?: RendererErrorData
  encryption: EncryptionStatus
  /** What to tell the user about this state: core's `describe()`, in the user's locale. */
  words: Words
  /** What the record behind the state rests on: `signed`, `keychain` or `none`. */
  integrity?: Integrity
  /** Features the license unlocks (`entitlements`), when the app maps them. */
  features?: readonly string[]
}

export interface RendererActiveState extends RendererLicensed {
  status: 'active'
  nextCheckAt: number
}

export interface RendererGraceState extends RendererLicensed {
  status: 'grace'
  /** When the app stops running without a successful validation, epoch ms. */
  graceEndsAt: number
  why: GraceWhy
}

export interface RendererInactiveState {
  status: 'inactive'
  reason: InactiveReason
  detail?: string
  license?: LicenseInfo
  activation?: ActivationInfo | null
  error?: RendererErrorData
  encryption: EncryptionStatus
  /** What to tell the user about this state: core's `describe()`, in the user's locale. */
  words: Words
  /** What the record behind the state rests on: `signed`, `keychain` or `none`. */
  integrity?: Integrity
  /** Features the license unlocks (`entitlements`), when the app maps them. */
  features?: readonly string[]
  /** The trial's times, when the state is about the trial (`trial_expired`). */
  trial?: { startedAt: number; endsAt: number; daysLeft: number }
}

/** A trial runs (`createLicensing({ trial })`): no key yet, the app may run until `trial.endsAt`. */
export interface RendererTrialState {
  status: 'trial'
  /** Epoch ms; `daysLeft` whole days, rounded up. */
  trial: { startedAt: number; endsAt: number; daysLeft: number }
  error?: RendererErrorData
  encryption: EncryptionStatus
  /** What to tell the user about this state: core's `describe()`, in the user's locale. */
  words: Words
  /** What the trial's start rests on: `signed`, `keychain` or `none`. */
  integrity?: Integrity
  /** Features the trial unlocks (`trial.features`). */
  features?: readonly string[]
}

/** The license state as a renderer sees it: plain data, safe to structured-clone. */
export type RendererLicenseState =
  | RendererActiveState
  | RendererGraceState
  | RendererTrialState
  | RendererInactiveState

/** What `activate` and `deactivate` answer: they never reject for a license failure. */
export type RendererActionResult =
  | { ok: true; state: RendererLicenseState }
  | { ok: false; error: RendererErrorData; state: RendererLicenseState }

/** A device (activation) of the key, as the lease server lists it; `createdAt` epoch ms. */
export interface RendererDevice {
  id: string
  label: string
  createdAt: number
  /** `createdAt` as a date in the user's locale, as the state's words write dates. */
  activatedOn: string
  current: boolean
}

/** What `devices` and `freeDevice` answer: they never reject for a license failure. */
export type RendererDevicesResult =
  | { ok: true; devices: RendererDevice[] }
  | { ok: false; error: RendererErrorData }

/** What `exposeLicenseApi()` (read-only, the default) puts on `window.keygate`. */
export interface KeygateReadApi {
  /** The current state, from the cache: no network. */
  status(): Promise<RendererLicenseState>
  /** Called with every change of the state. Returns a function that unsubscribes. */
  onChange(listener: (state: RendererLicenseState) => void): () => void
}

/** What `exposeLicenseApi({ mode: 'full' })` puts on `window.keygate`: the activation window's. */
export interface KeygateRendererApi extends KeygateReadApi {
  /** Activates the key on this machine. A failure comes back as `{ ok: false, error }`. */
  activate(key: string): Promise<RendererActionResult>
  /** Frees this machine's seat and forgets the license. */
  deactivate(): Promise<RendererActionResult>
  /** Validates online now (throttled by main); failures are in the state's `error`. */
  refresh(): Promise<RendererLicenseState>
  /** With a lease server: the key's devices (the key typed, as activation needs it). */
  devices?(key: string): Promise<RendererDevicesResult>
  /** With a lease server: frees one of the key's devices; answers the devices left. */
  freeDevice?(activationId: string, key: string): Promise<RendererDevicesResult>
}
