import type { ConditionValue, EmulatedKeyStatus } from './types.js'

/** The emulator's mutable records. Admin helpers hand out frozen snapshots of these. */
export interface KeyRecord {
  id: string
  key: string
  /** Kept so a rotated key gets a new string with the same prefix. */
  prefix: string | null
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
}

export interface CustomerRecord {
  id: string
  organizationId: string
  email: string
  name: string
  createdAt: number
}

export interface EmulatorState {
  keys: Map<string, KeyRecord>
  activations: Map<string, ActivationRecord>
  customers: Map<string, CustomerRecord>
}

export function createState(): EmulatorState {
  return { keys: new Map(), activations: new Map(), customers: new Map() }
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
    email_verified: true,
    type: 'individual',
    name: customer.name,
    billing_name: customer.name,
    billing_address: {
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

/** `LicenseKeyRead` (2026-10 shape: no `user`). */
export function licenseKeyJson(state: EmulatorState, key: KeyRecord) {
  const customer = state.customers.get(key.customerId)
  return {
    id: key.id,
    created_at: polarTime(key.createdAt),
    modified_at: nullableTime(key.modifiedAt),
    organization_id: key.organizationId,
    customer_id: key.customerId,
    customer: customer === undefined ? null : customerJson(customer),
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
