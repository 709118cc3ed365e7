import type { Readable } from 'node:stream'
import { KeygateError, maskKey } from '@keygate/core'
import { createPolarAdminClient, type PolarAdminClient } from '@keygate/core/admin'
import { UsageError } from './usage.js'

/** Where a run reads and writes: the real process in the bin, arrays in unit tests. */
export interface Io {
  env: Readonly<Record<string, string | undefined>>
  out(text: string): void
  err(text: string): void
  now(): number
  /** The prompt of `keygate emulator`; absent in unit tests. */
  stdin?: Readable | undefined
}

/** Accepted by every command, anywhere on the line. */
export interface GlobalOptions {
  sandbox?: boolean | undefined
  server?: string | undefined
  json?: boolean | undefined
}

/** What a command gets: where to write, the global options, the admin client on demand. */
export interface Context {
  io: Io
  global: GlobalOptions
  /** `--json`: machine-readable output on stdout. */
  json: boolean
  /** The organization-token client; a usage error when POLAR_ACCESS_TOKEN is not set. */
  admin(): PolarAdminClient
  /** Never print this string (a license key seen or typed): every output masks it. */
  secret(value: string | undefined): void
}

const MISSING_TOKEN =
  'Set POLAR_ACCESS_TOKEN to an Organization Access Token from Polar (your organization’s ' +
  'Settings → Developers) with the license_keys:read scope, plus license_keys:write to ' +
  'revoke, enable, extend, set limits or remove activations. In bash or zsh: ' +
  '`read -rs POLAR_ACCESS_TOKEN && export POLAR_ACCESS_TOKEN`, paste, Enter. ' +
  'Sandbox tokens work only with --sandbox.'

/** Shorter strings would mask ordinary words; such keys are masked where they are shown. */
const MIN_SCRUBBED = 8

/**
 * An Io whose output never carries a registered secret, matched case-insensitively:
 * the last line of defence behind masking at each place a key could be shown.
 */
export function scrubbingIo(io: Io): { io: Io; secret(value: string | undefined): void } {
  const secrets = new Set<string>()
  const scrub = (text: string) => {
    let result = text
    for (const secret of secrets) {
      result = result.replace(new RegExp(escapeRegExp(secret), 'gi'), maskKey(secret))
    }
    return result
  }
  return {
    io: { ...io, out: (text) => io.out(scrub(text)), err: (text) => io.err(scrub(text)) },
    secret(value) {
      const trimmed = value?.trim()
      if (trimmed !== undefined && trimmed.length >= MIN_SCRUBBED) secrets.add(trimmed)
    },
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export function createContext(
  global: GlobalOptions,
  io: Io,
  secret: (value: string | undefined) => void,
): Context {
  let client: PolarAdminClient | undefined
  return {
    io,
    global,
    json: global.json === true,
    secret,
    admin() {
      if (client !== undefined) return client
      const token = io.env.POLAR_ACCESS_TOKEN
      if (token === undefined || token.trim() === '') throw new UsageError(MISSING_TOKEN)
      secret(token)
      try {
        client = createPolarAdminClient({ token, server: server(global) })
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

function server(global: GlobalOptions): string | undefined {
  if (global.sandbox === true) {
    if (global.server !== undefined) {
      throw new UsageError('Use either --sandbox or --server URL, not both.')
    }
    return 'sandbox'
  }
  return global.server
}
