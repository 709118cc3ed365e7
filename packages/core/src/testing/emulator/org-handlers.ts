import { syncGrant } from './admin.js'
import { parseKeyUpdate, parseListQuery, uuid4 } from './org-input.js'
import { type FieldIssue, parseBody } from './request-validation.js'
import * as rules from './rules.js'
import {
  activationJson,
  type EmulatorState,
  type KeyRecord,
  licenseKeyJson,
  liveOnReplica,
} from './state.js'

/**
 * What each organization-API route does once the token is accepted: Polar's
 * license_key service, scoped to the token's organization. Each returns the status
 * and JSON body Polar would send.
 */

export interface Call {
  /** The token's organization: only its keys exist for this request. */
  org: string
  /** Path parameters, decoded. */
  params: string[]
  query: URLSearchParams
  text: string
  now: number
  /** What the read replica has caught up to: GETs see activations as of this moment. */
  readAt: number
}

export type Outcome = { status: number; body: unknown }
export type Handler = (state: EmulatorState, call: Call) => Outcome

export function list(state: EmulatorState, call: Call): Outcome {
  const parsed = parseListQuery(call.query)
  if (!parsed.ok) return invalid(parsed.issues)
  const q = parsed.value
  const keys = visibleKeys(state, call.org, call.now)
    .filter((k) => q.organizationIds === null || q.organizationIds.includes(k.organizationId))
    .filter((k) => q.benefitIds === null || q.benefitIds.includes(k.benefitId))
    .filter((k) => q.statuses === null || q.statuses.includes(k.status))
    .sort((a, b) => a.createdAt - b.createdAt)
  const start = (q.page - 1) * q.limit
  return {
    status: 200,
    body: {
      items: keys.slice(start, start + q.limit).map((k) => licenseKeyJson(state, k)),
      pagination: { total_count: keys.length, max_page: Math.ceil(keys.length / q.limit) },
    },
  }
}

export function getKey(state: EmulatorState, call: Call): Outcome {
  const found = findById(state, call, call.params[0] ?? '')
  if ('body' in found) return found
  const activations = [...state.activations.values()]
    .filter((a) => a.licenseKeyId === found.id && liveOnReplica(a, call.readAt))
    .sort((a, b) => a.createdAt - b.createdAt)
    .map(activationJson)
  return { status: 200, body: { ...licenseKeyJson(state, found), activations } }
}

export function updateKey(state: EmulatorState, call: Call): Outcome {
  const found = findById(state, call, call.params[0] ?? '')
  if ('body' in found) return found
  const parsed = parseKeyUpdate(call.text)
  if (!parsed.ok) return invalid(parsed.issues)
  const update = parsed.value
  // Polar writes an explicit `"status": null` to a NOT NULL column: the request fails.
  if (update.status === null) return { status: 500, body: null }
  const statusChanged = update.status !== undefined && update.status !== found.status
  if (update.status !== undefined) found.status = update.status
  if (update.usage !== undefined) found.usage = update.usage
  if (update.limitActivations !== undefined) found.limitActivations = update.limitActivations
  if (update.limitUsage !== undefined) found.limitUsage = update.limitUsage
  if (update.expiresAt !== undefined) found.expiresAt = update.expiresAt
  found.modifiedAt = call.now
  const body = licenseKeyJson(state, found)
  // Polar answers first; its `sync_benefit_grant` job then revokes or re-grants the grant.
  if (statusChanged) syncGrant(found)
  return { status: 200, body }
}

/** `POST /v1/license-keys/{id}/rotate`: a key of the token's organization. */
export function rotateKey(state: EmulatorState, call: Call): Outcome {
  const found = findById(state, call, call.params[0] ?? '')
  if ('body' in found) return found
  return rules.rotate(state, found, call.now)
}

export function getActivation(state: EmulatorState, call: Call): Outcome {
  const activationId = uuid4(call.params[1] ?? '', ['path', 'activation_id'])
  const found = findById(
    state,
    call,
    call.params[0] ?? '',
    activationId.ok ? [] : activationId.issues,
  )
  if ('body' in found) return found
  const activation = activationId.ok ? state.activations.get(activationId.value) : undefined
  if (
    activation === undefined ||
    !liveOnReplica(activation, call.readAt) ||
    activation.licenseKeyId !== found.id
  ) {
    return notFound
  }
  return {
    status: 200,
    body: { ...activationJson(activation), license_key: licenseKeyJson(state, found) },
  }
}

/** The server-side twins of the customer-portal endpoints: same body, same rules. */
export function serverSide(state: EmulatorState, call: Call): Outcome {
  const { text, now } = call
  // Only keys of the organizations the token can read are found at all.
  const ours = (body: { organization_id: string }) => body.organization_id === call.org
  switch (call.params[0]) {
    case 'activate': {
      const parsed = parseBody('activate', text)
      if (!parsed.ok) return invalid(parsed.issues)
      return ours(parsed.body) ? rules.activate(state, parsed.body, now) : notFound
    }
    case 'validate': {
      const parsed = parseBody('validate', text)
      if (!parsed.ok) return invalid(parsed.issues)
      return ours(parsed.body) ? rules.validate(state, parsed.body, now) : notFound
    }
    default: {
      const parsed = parseBody('deactivate', text)
      if (!parsed.ok) return invalid(parsed.issues)
      return ours(parsed.body) ? rules.deactivate(state, parsed.body, now) : notFound
    }
  }
}

const notFound: Outcome = { status: 404, body: { error: 'ResourceNotFound', detail: 'Not found' } }
const invalid = (issues: FieldIssue[]): Outcome => ({
  status: 422,
  body: { error: 'RequestValidationError', detail: issues },
})

/** Keys the token's organization can see: not deleted, already created (not pending). */
function visibleKeys(state: EmulatorState, org: string, now: number): KeyRecord[] {
  return [...state.keys.values()].filter(
    (k) =>
      !k.deleted &&
      k.organizationId === org &&
      (k.availableAfter === null || now >= k.availableAfter),
  )
}

function findById(
  state: EmulatorState,
  call: Call,
  raw: string,
  moreIssues: FieldIssue[] = [],
): KeyRecord | Outcome {
  const id = uuid4(raw, ['path', 'id'])
  const issues = [...(id.ok ? [] : id.issues), ...moreIssues]
  if (issues.length > 0) return invalid(issues)
  const key = id.ok ? state.keys.get(id.value) : undefined
  if (key === undefined || !visibleKeys(state, call.org, call.now).includes(key)) {
    return notFound
  }
  return key
}
