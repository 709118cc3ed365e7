import type { ConditionValue, EmulatedKeyStatus } from './types.js'

/** The emulator's mutable records. Admin helpers hand out frozen snapshots of these. */
export interface KeyRecord {
  id: string
  key: string
  organizationId: string
  customerId: string
  benefitId: string
  status: EmulatedKeyStatus
  limitActivations: number | null
  limitUsage: number | null
  usage: number
  validations: number
  lastValidatedAt: number | null
  expiresAt: number | null
  availableAfter: number | null
  createdAt: number
  modifiedAt: number | null
  deleted: boolean
  memberId: string | null
  /** The benefit grant behind the key: what a re-grant restores, and whether it is revoked. */
  grant: {
    subscription: boolean
    revoked: boolean
    limitActivations: number | null
    limitUsage: number | null
    expiresAt: number | null
  }
}

/** The license-key benefit's properties that matter after creation. */
export interface BenefitRecord {
  id: string
  /** The prefix new and rotated keys get (`PREFIX-`). */
  prefix: string | null
}

export interface ActivationRecord {
  id: string
  licenseKeyId: string
  label: string
  conditions: Record<string, ConditionValue>
  meta: Record<string, ConditionValue>
  createdAt: number
  modifiedAt: number | null
  deleted: boolean
  /** When it was deactivated: Polar's read replica may still list it for a while. */
  deletedAt: number | null
}

export interface CustomerRecord {
  id: string
  organizationId: string
  type: 'individual' | 'team'
  email: string | null
  name: string | null
  createdAt: number
}

export interface EmulatorState {
  keys: Map<string, KeyRecord>
  activations: Map<string, ActivationRecord>
  customers: Map<string, CustomerRecord>
  benefits: Map<string, BenefitRecord>
}

export function createState(): EmulatorState {
  return { keys: new Map(), activations: new Map(), customers: new Map(), benefits: new Map() }
}

/** `****-` and the last 6 characters, as Polar builds `display_key`. */
export function displayKey(key: string): string {
  // Python's key[-6:]: the last 6 code points.
  return `****-${Array.from(key).slice(-6).join('')}`
}

/** An uppercase UUID, with `PREFIX-` first when the benefit has a prefix (as Polar generates). */
export function generateKey(prefix: string | null): string {
  const key = crypto.randomUUID().toUpperCase()
  const clean = prefix?.trim().toUpperCase()
  return clean ? `${clean}-${key}` : key
}

/** The key the endpoints can see: exact, case-sensitive, same organization, not deleted, available. */
export function findKey(
  state: EmulatorState,
  organizationId: string,
  key: string,
  now: number,
): KeyRecord | undefined {
  for (const record of state.keys.values()) {
    if (record.deleted || record.key !== key || record.organizationId !== organizationId) continue
    if (record.availableAfter !== null && now < record.availableAfter) return undefined
    return record
  }
  return undefined
}

export function liveActivations(state: EmulatorState, keyId: string): ActivationRecord[] {
  return [...state.activations.values()].filter((a) => a.licenseKeyId === keyId && !a.deleted)
}

/**
 * Whether Polar's read replica, which is `asOf` behind the primary's writes, sees the
 * activation as live: the organization API's GETs read there (`get_db_read_session`).
 */
export function liveOnReplica(activation: ActivationRecord, asOf: number): boolean {
  if (activation.createdAt > asOf) return false
  return activation.deletedAt === null || activation.deletedAt > asOf
}

/** Polar's datetime form: microseconds when there is a fraction, `Z` for UTC. */
function polarTime(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.endsWith('.000Z') ? iso.replace('.000Z', 'Z') : iso.replace(/\.(\d{3})Z$/, '.$1000Z')
}

function nullableTime(ms: number | null): string | null {
  return ms === null ? null : polarTime(ms)
}

/**
 * `LicenseKeyCustomer` as Polar sends it to anyone holding the key: fake, but PII-shaped,
 * so a client can be tested for dropping it.
 */
function customerJson(customer: CustomerRecord) {
  return {
    id: customer.id,
    created_at: polarTime(customer.createdAt),
    modified_at: null,
    metadata: {},
    external_id: null,
    email: customer.email,
    email_verified: customer.email !== null,
    type: customer.type,
    name: customer.name,
    billing_name: customer.name,
    billing_address:
      customer.type === 'team'
        ? null
        : {
            line1: '12 Example Street',
            line2: null,
            postal_code: '11122',
            city: 'Stockholm',
            state: null,
            country: 'SE',
          },
    tax_id: null,
    locale: null,
    organization_id: customer.organizationId,
    default_payment_method_id: null,
    deleted_at: null,
    first_user_event_at: null,
    avatar_url: null,
  }
}

/**
 * The deprecated `user` (`LicenseKeyUser`): hidden from the OpenAPI by `SkipJsonSchema`
 * but still sent in every API version, built from the customer.
 */
function userJson(customer: CustomerRecord) {
  const initial = Array.from(customer.name || customer.email || '?')[0]
  return { id: customer.id, email: customer.email, public_name: initial, avatar_url: null }
}

/** `LicenseKeyRead`, the same in 2026-04 and 2026-10 (`user_id`, `user` included). */
export function licenseKeyJson(state: EmulatorState, key: KeyRecord) {
  const customer = state.customers.get(key.customerId)
  return {
    id: key.id,
    created_at: polarTime(key.createdAt),
    modified_at: nullableTime(key.modifiedAt),
    organization_id: key.organizationId,
    user_id: key.customerId,
    customer_id: key.customerId,
    user: customer === undefined ? null : userJson(customer),
    customer: customer === undefined ? null : customerJson(customer),
    ...(key.memberId === null ? {} : { member_id: key.memberId }),
    benefit_id: key.benefitId,
    key: key.key,
    display_key: displayKey(key.key),
    status: key.status,
    limit_activations: key.limitActivations,
    usage: key.usage,
    limit_usage: key.limitUsage,
    validations: key.validations,
    last_validated_at: nullableTime(key.lastValidatedAt),
    expires_at: nullableTime(key.expiresAt),
  }
}

/** `LicenseKeyActivationBase`: stored conditions are never echoed. */
export function activationJson(activation: ActivationRecord) {
  return {
    id: activation.id,
    license_key_id: activation.licenseKeyId,
    label: activation.label,
    meta: { ...activation.meta },
    created_at: polarTime(activation.createdAt),
    modified_at: nullableTime(activation.modifiedAt),
  }
}
