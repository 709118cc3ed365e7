import { KeygateError } from '@keygate/core'
import { createPolarAdminClient, type PolarAdminClient } from '@keygate/core/admin'
import { flag, type Parsed, stringOption, UsageError } from './args.js'

/** What a command gets: its parsed arguments, where to write, and the admin client on demand. */
export interface Io {
  env: Readonly<Record<string, string | undefined>>
  out(text: string): void
  err(text: string): void
  now(): number
}

export interface Context {
  parsed: Parsed
  io: Io
  /** `--json`: machine-readable output on stdout. */
  json: boolean
  /** The organization-token client; a usage error when POLAR_ACCESS_TOKEN is not set. */
  admin(): PolarAdminClient
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

const MISSING_TOKEN =
  'Set POLAR_ACCESS_TOKEN to an Organization Access Token from Polar (your organization’s ' +
  'Settings → Developers) with the license_keys:read scope, plus license_keys:write to ' +
  'revoke, enable, extend, set limits or remove activations. In bash or zsh: ' +
  '`read -rs POLAR_ACCESS_TOKEN && export POLAR_ACCESS_TOKEN`, paste, Enter. ' +
  'Sandbox tokens work only with --sandbox.'

export function createContext(parsed: Parsed, io: Io): Context {
  let client: PolarAdminClient | undefined
  return {
    parsed,
    io,
    json: flag(parsed, 'json'),
    admin() {
      if (client !== undefined) return client
      const token = io.env.POLAR_ACCESS_TOKEN
      if (token === undefined || token.trim() === '') throw new UsageError(MISSING_TOKEN)
      try {
        client = createPolarAdminClient({ token, server: server(parsed) })
      } catch (error) {
        // A malformed token or server URL is a usage problem, not Polar's answer.
        if (error instanceof KeygateError && error.code === 'invalid_input') {
          throw new UsageError(error.message.replace(/^\[keygate\] /, ''))
        }
        throw error
      }
      return client
    },
  }
}

function server(parsed: Parsed): string | undefined {
  const url = stringOption(parsed, 'server')
  if (flag(parsed, 'sandbox')) {
    if (url !== undefined) throw new UsageError('Use either --sandbox or --server URL, not both.')
    return 'sandbox'
  }
  return url
}
