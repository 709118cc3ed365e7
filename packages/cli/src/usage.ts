/** A mistake in how keygate was called: exit code 2, with a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  constructor(
    message: string,
    /** The command whose help to point at, e.g. `keys extend`; the current one if unset. */
    readonly command?: string,
  ) {
    super(message)
  }
}

/** Documented in the README; scripts rely on them. */
export const EXIT = {
  ok: 0,
  /** Polar or the network failed, or Polar said no (unknown key, missing scope, …). */
  failure: 1,
  /** keygate was called wrongly: unknown command or option, bad value, no token. */
  usage: 2,
  /** `status`: the license does not allow the app to run. */
  inactive: 3,
  /** `status`: the local record exists but cannot be read. */
  unreadable: 4,
} as const

/**
 * Words a person typed are echoed only when they are plainly a command or option name;
 * anything else is shown as its length, since it may be a license key or a token.
 */
export function printable(word: string): string {
  return /^-{0,2}[a-z][a-z-]{0,29}$/i.test(word) ? word : `(${word.length} characters)`
}

/** An option value that must be a whole number within bounds; the message names the option. */
export function intValue(
  name: string,
  raw: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}.`)
  }
  return Number(raw)
}

/** `N`, or `none` for no limit (null). */
export function limitValue(name: string, raw: string | undefined): number | null | undefined {
  if (raw === undefined) return undefined
  if (raw.trim().toLowerCase() === 'none') return null
  return intValue(name, raw, 1, 2147483647)
}

export const TOKEN_REFUSED =
  'keygate never takes the access token as an argument: arguments land in your shell ' +
  'history and in the process list, where other users of this machine can read them. ' +
  'Put it in the POLAR_ACCESS_TOKEN environment variable instead, e.g. ' +
  '`read -rs POLAR_ACCESS_TOKEN && export POLAR_ACCESS_TOKEN` (bash, zsh), ' +
  'then paste the token and press Enter.'
