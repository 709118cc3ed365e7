import { KeygateError } from '../errors.js'
import {
  parseBody,
  parseRetryAfter,
  type RawResponse,
  type RequestContext,
} from '../polar/error-mapping.js'
import type { AttemptFailure } from '../polar/retry.js'

/**
 * The answers only the organization API gives: a missing or refused token (401), a
 * token without the scope (403), an id that is not in the token's organization (404),
 * a key that cannot be rotated (400), and the per-organization rate limit (429). Everything else (5xx, 422, Polar's verdicts on
 * activate/validate/deactivate, bodies that are not Polar's) follows the customer
 * client's rules in polar-errors.ts.
 */

type AdminOperation =
  | 'list'
  | 'get'
  | 'update'
  | 'rotate'
  | 'get_activation'
  | 'activate'
  | 'validate'
  | 'deactivate'

/** The scope each operation needs; `license_keys:write` also grants reading. */
export const REQUIRED_SCOPE: Readonly<Record<AdminOperation, string>> = Object.freeze({
  list: 'license_keys:read',
  get: 'license_keys:read',
  get_activation: 'license_keys:read',
  update: 'license_keys:write',
  rotate: 'license_keys:write',
  activate: 'license_keys:write',
  validate: 'license_keys:write',
  deactivate: 'license_keys:write',
})

const WHAT: Readonly<Record<AdminOperation, string>> = {
  list: 'list license keys',
  get: 'read a license key',
  get_activation: 'read an activation',
  update: 'change a license key',
  rotate: 'rotate a license key',
  activate: 'activate a license key',
  validate: 'validate a license key',
  deactivate: 'deactivate an activation',
}

const TOKEN_HELP =
  "Create an Organization Access Token in Polar (your organization's Settings → " +
  'Developers) with the license_keys:read and license_keys:write scopes.'

export interface AdminTarget {
  operation: AdminOperation
  keyId?: string | undefined
  activationId?: string | undefined
}

export function adminFailure(
  ctx: RequestContext,
  target: AdminTarget,
  response: RawResponse,
): AttemptFailure | undefined {
  const { status } = response
  const parsed = parseBody(response.body)
  const body =
    parsed.ok && typeof parsed.json === 'object' && parsed.json !== null
      ? (parsed.json as Record<string, unknown>)
      : {}
  const error = typeof body.error === 'string' ? body.error : undefined
  const detail = typeof body.detail === 'string' ? body.detail : undefined
  const final = (code: KeygateError['code'], message: string): AttemptFailure => ({
    error: new KeygateError(code, `${ctx.label}: ${message}`, { status, detail }),
    kind: 'final',
  })

  if (status === 401) {
    if (error === 'invalid_token') {
      return final(
        'unauthorized',
        `Polar does not accept this access token (401): it is mistyped, expired or revoked, ` +
          `or it belongs to the other environment (sandbox and production tokens differ; ` +
          `this request went to ${ctx.baseURL}). ${TOKEN_HELP}`,
      )
    }
    return final(
      'unauthorized',
      'Polar received no access token (401). A proxy or redirect may have dropped the ' +
        `Authorization header; check the server URL (${ctx.baseURL}). ${TOKEN_HELP}`,
    )
  }
  if (status === 403 && error === 'insufficient_scope') {
    const scope = REQUIRED_SCOPE[target.operation]
    return final(
      'forbidden',
      `the access token lacks the ${scope} scope needed to ${WHAT[target.operation]} ` +
        `(403). Create a token that has it in Polar's organization settings (Developers).`,
    )
  }
  if (status === 403 && error !== undefined && target.operation !== 'activate') {
    return final(
      'forbidden',
      `Polar refused to ${WHAT[target.operation]} (403): ${detail ?? error}. Check that the ` +
        "token's organization owns this license key and that you may manage its products.",
    )
  }
  if (status === 404 && error !== undefined) {
    if (
      target.operation === 'get' ||
      target.operation === 'update' ||
      target.operation === 'rotate'
    ) {
      return final(
        'key_not_found',
        `Polar has no license key ${target.keyId} in this token's organization (404). ` +
          'Check the id (keygate keys list), and that token and server are for the same ' +
          'environment (production or sandbox).',
      )
    }
    if (target.operation === 'get_activation') {
      return final(
        'activation_not_found',
        `Polar has no live activation ${target.activationId} on license key ${target.keyId} ` +
          "(404): it was deactivated, belongs to another key, or the key is not in this token's " +
          'organization.',
      )
    }
  }
  if (status === 400 && error === 'RotateNotPermitted') {
    return final(
      'revoked',
      `Polar refuses to rotate license key ${target.keyId} (400): it is revoked, and only ` +
        'granted or disabled keys can be rotated. Re-grant it first (update it to status ' +
        'granted), then rotate it.',
    )
  }
  if (status === 429) {
    const retryAfter = parseRetryAfter(response.headers) ?? 60
    const error = new KeygateError(
      'rate_limited',
      `${ctx.label}: Polar is rate-limiting this organization (429): its API allows 500 ` +
        'requests a minute per organization, all its tokens together (100 in sandbox). ' +
        `Try again in ${retryAfter} s.`,
      { status, retryAfter },
    )
    return { error, kind: 'unsent', retryAfterMs: retryAfter * 1000 }
  }
  return undefined
}
