import { KeygateError } from '../errors.js'

/**
 * The organization token is a secret that can revoke every customer's key. These checks
 * keep it where it belongs: on the seller's machine or server, sent only over TLS.
 */

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** Where the code runs when it can tell it is inside an app's UI; undefined otherwise. */
function appContext(): string | undefined {
  const g = globalThis as {
    window?: unknown
    document?: unknown
    importScripts?: unknown
    process?: { type?: unknown }
  }
  if (g.process?.type === 'renderer') return 'an Electron renderer'
  if (typeof g.window !== 'undefined' && typeof g.document !== 'undefined') return 'a web page'
  if (typeof g.importScripts === 'function') return 'a web worker'
  return undefined
}

export function assertOutsideApp(): void {
  const where = appContext()
  if (where === undefined) return
  throw new KeygateError(
    'invalid_input',
    `@keygate/core/admin refuses to run in ${where}: an organization access token must ` +
      'never ship in an app, where anyone can read it and revoke every key. Desktop apps ' +
      "use createLicensing (Polar's public customer-portal endpoints, no token); keep the " +
      'admin client in seller tooling, such as the keygate CLI or your server.',
  )
}

export function checkToken(token: unknown): string {
  if (typeof token !== 'string' || token.trim() === '') {
    throw new KeygateError(
      'invalid_input',
      'createPolarAdminClient needs { token }: an Organization Access Token from Polar ' +
        "(your organization's Settings → Developers) with the license_keys scopes.",
    )
  }
  const trimmed = token.trim()
  // A header value: printable ASCII, no spaces (it would break or smuggle headers).
  if (!/^[\x21-\x7e]+$/.test(trimmed)) {
    throw new KeygateError(
      'invalid_input',
      'The access token contains spaces or characters a token never has; paste only the token.',
    )
  }
  return trimmed
}

/** Refuses to send the token in clear text anywhere but this machine (the emulator). */
export function checkTransport(baseURL: string): string {
  const url = new URL(baseURL)
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    throw new KeygateError(
      'invalid_input',
      `Refusing to send the access token unencrypted to ${url.host}: use an https:// server ` +
        '(plain http is allowed only for 127.0.0.1 and localhost, e.g. the Polar emulator).',
    )
  }
  return baseURL
}
