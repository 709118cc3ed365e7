import { badResponse, parseBody, type RawResponse, type RequestContext } from './error-mapping.js'
import {
  validateActivateRequest,
  validateDeactivateRequest,
  validateValidateRequest,
} from './rules.js'
import { type Body, compact } from './transport.js'
import type { ActivateRequest, DeactivateRequest, ValidateRequest } from './types.js'

/**
 * The three license-key bodies in Polar's snake_case, checked against its field rules
 * first. Shared by the customer-portal client and the organization (admin) client,
 * whose activate/validate/deactivate take the same bodies.
 */
export interface CheckedBody {
  /** The trimmed key, so errors can be kept free of it. */
  key: string
  body: Body
  withActivation: boolean
}

export function activateBody(request: ActivateRequest): CheckedBody {
  const r = validateActivateRequest(request)
  const body = compact({
    key: r.key,
    organization_id: r.organizationId,
    label: r.label,
    conditions: r.conditions,
    meta: r.meta,
  })
  return { key: r.key, body, withActivation: false }
}

export function validateBody(request: ValidateRequest): CheckedBody {
  const r = validateValidateRequest(request)
  const body = compact({
    key: r.key,
    organization_id: r.organizationId,
    activation_id: r.activationId,
    benefit_id: r.benefitId,
    customer_id: r.customerId,
    increment_usage: r.incrementUsage,
    conditions: r.conditions,
  })
  return { key: r.key, body, withActivation: r.activationId !== undefined }
}

export function deactivateBody(request: DeactivateRequest): CheckedBody {
  const r = validateDeactivateRequest(request)
  const body = { key: r.key, organization_id: r.organizationId, activation_id: r.activationId }
  return { key: r.key, body, withActivation: true }
}

/**
 * Polar answers deactivate with 204 and no body. A 2xx carrying an HTML page or broken
 * JSON is a captive portal or a proxy, not Polar: taking it as success would forget a
 * seat Polar still counts.
 */
export function assertDeactivated(ctx: RequestContext, response: RawResponse): void {
  if (!response.body?.trim()) return
  const parsed = parseBody(response.body)
  if (!parsed.ok || typeof parsed.json !== 'object' || parsed.json === null) {
    throw badResponse(ctx, response.status, parsed.ok ? "a body that is not Polar's" : parsed.what)
  }
}
