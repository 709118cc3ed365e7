import { rotateRecord } from './admin.js'
import type { ActivateBody, DeactivateBody, Flat, ValidateBody } from './request-validation.js'
import {
  activationJson,
  type EmulatorState,
  findKey,
  type KeyRecord,
  licenseKeyJson,
  liveActivations,
} from './state.js'

/**
 * Polar's server rules for the three customer-portal endpoints, checked in Polar's
 * order (polarsource/polar server/polar/license_key/service.py). Each returns the
 * status and JSON body Polar would send.
 */
export interface RuleOutcome {
  status: number
  body: unknown
}

export const notFound = (detail = 'Not found'): RuleOutcome => ({
  status: 404,
  body: { error: 'ResourceNotFound', detail },
})
const notPermitted = (detail: string): RuleOutcome => ({
  status: 403,
  body: { error: 'NotPermitted', detail },
})

const isExpired = (key: KeyRecord, now: number) => key.expiresAt !== null && now >= key.expiresAt

export function activate(state: EmulatorState, body: ActivateBody, now: number): RuleOutcome {
  const key = findKey(state, body.organization_id, body.key, now)
  if (key === undefined) return notFound()
  if (key.status !== 'granted') {
    return notPermitted('License key is no longer active. This license key can not be activated.')
  }
  if (isExpired(key, now)) return notPermitted('License key has expired.')
  // Polar tests truthiness: a limit of 0 behaves like no limit at all.
  if (!key.limitActivations) {
    return notPermitted(
      'This license key does not support activations. Use the /validate endpoint instead to check license validity.',
    )
  }
  if (liveActivations(state, key.id).length >= key.limitActivations) {
    return notPermitted('License key activation limit already reached')
  }
  // Nothing deduplicates: the same label and conditions take another seat.
  const activation = {
    id: crypto.randomUUID(),
    licenseKeyId: key.id,
    label: body.label,
    conditions: { ...body.conditions },
    meta: { ...body.meta },
    createdAt: now,
    modifiedAt: null,
    deleted: false,
    deletedAt: null,
  }
  state.activations.set(activation.id, activation)
  return {
    status: 200,
    body: { ...activationJson(activation), license_key: licenseKeyJson(state, key) },
  }
}

export function validate(state: EmulatorState, body: ValidateBody, now: number): RuleOutcome {
  const key = findKey(state, body.organization_id, body.key, now)
  if (key === undefined) return notFound()
  if (key.status !== 'granted') return notFound('License key is no longer active.')
  if (isExpired(key, now)) return notFound('License key has expired.')
  let activation = null
  if (body.activation_id !== null) {
    const found = state.activations.get(body.activation_id)
    if (found === undefined || found.deleted || found.licenseKeyId !== key.id) return notFound()
    // Whole-object equality, only when the activation stored conditions.
    if (Object.keys(found.conditions).length > 0 && !sameFlat(body.conditions, found.conditions)) {
      return notFound('License key does not match required conditions')
    }
    activation = found
  }
  if (body.benefit_id !== null && body.benefit_id !== key.benefitId) {
    return notFound('License key does not match given benefit.')
  }
  if (body.customer_id !== null && body.customer_id !== key.customerId) {
    return notFound('License key does not match given user.')
  }
  const increment = body.increment_usage ?? 0
  if (increment > 0 && key.limitUsage) {
    const remaining = key.limitUsage - key.usage
    if (increment > remaining) {
      return {
        status: 400,
        body: { error: 'BadRequest', detail: `License key only has ${remaining} more usages.` },
      }
    }
  }
  key.usage += increment
  key.validations += 1
  key.lastValidatedAt = now
  return {
    status: 200,
    body: {
      ...licenseKeyJson(state, key),
      activation: activation === null ? null : activationJson(activation),
    },
  }
}

export function deactivate(state: EmulatorState, body: DeactivateBody, now: number): RuleOutcome {
  const key = findKey(state, body.organization_id, body.key, now)
  if (key === undefined) return notFound()
  // Status and expiry are not checked: a revoked key can still free its seats.
  const activation = state.activations.get(body.activation_id)
  if (activation === undefined || activation.deleted || activation.licenseKeyId !== key.id) {
    return notFound()
  }
  activation.deleted = true
  activation.modifiedAt = now
  activation.deletedAt = now
  return { status: 204, body: null }
}

/** Python dict equality: same keys, equal values (`1 == 1.0 == True` in Python). */
function sameFlat(a: Flat, b: Flat): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((k) => Object.hasOwn(b, k) && pyEqual(a[k], b[k]))
}

function pyEqual(a: unknown, b: unknown): boolean {
  const num = (x: unknown) => (typeof x === 'boolean' ? Number(x) : x)
  return num(a) === num(b)
}

/** Polar's rotate answer for a key the caller may see: LicenseKeyRead, 400 or 404. */
export function rotate(state: EmulatorState, key: KeyRecord, now: number): RuleOutcome {
  const result = rotateRecord(state, key, now)
  if (result.ok) return { status: 200, body: licenseKeyJson(state, key) }
  if (result.status === 404) return notFound()
  return { status: 400, body: { error: 'RotateNotPermitted', detail: result.detail } }
}
