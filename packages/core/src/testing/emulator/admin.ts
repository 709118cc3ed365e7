import { KeygateError, maskKey } from '../../errors.js'
import {
  type ActivationRecord,
  type BenefitRecord,
  displayKey,
  type EmulatorState,
  generateKey,
  type KeyRecord,
  liveActivations,
} from './state.js'
import type {
  ConditionValue,
  CreateKeyOptions,
  EmulatedActivation,
  EmulatedKey,
  KeyRef,
  TimeInput,
} from './types.js'

/**
 * The seller's and customer's side of Polar, done directly on the emulator's state:
 * creating keys, revoking, rotating, deleting, freeing seats. Synchronous, typed.
 */
export interface KeyPatch {
  status?: KeyRecord['status'] | undefined
  limitActivations?: number | null | undefined
  limitUsage?: number | null | undefined
  usage?: number | undefined
  expiresAt?: TimeInput | null | undefined
  availableAfter?: TimeInput | null | undefined
}

export interface AddActivationOptions {
  label?: string | undefined
  conditions?: Record<string, ConditionValue> | undefined
  meta?: Record<string, ConditionValue> | undefined
}

export interface AdminContext {
  state: EmulatorState
  now(): number
  organizationId: string
  benefitId: string
}

const FAKE_NAMES = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson']

export function createKey(ctx: AdminContext, options: CreateKeyOptions = {}): EmulatedKey {
  const now = ctx.now()
  const organizationId = (options.organizationId ?? ctx.organizationId).toLowerCase()
  const benefitId = (options.benefitId ?? ctx.benefitId).toLowerCase()
  const benefit = benefitFor(ctx, benefitId)
  // The seller set this prefix on the benefit: later keys and rotations use it too.
  if (options.prefix !== undefined) benefit.prefix = options.prefix
  const key = options.key ?? generateKey(benefit.prefix)
  if (key.length === 0) fail('createKey: an imported key must not be empty')
  const clash = [...ctx.state.keys.values()].some(
    (k) => !k.deleted && k.key === key && k.organizationId === organizationId,
  )
  if (clash) fail(`createKey: the key ${maskKey(key)} already exists in this organization`)
  const subscription = options.subscription === true
  if (subscription && options.expiresAt !== undefined && options.expiresAt !== null) {
    fail('createKey: a subscription key never expires (expires_at is null); drop expiresAt')
  }
  const customerId = (options.customerId ?? crypto.randomUUID()).toLowerCase()
  if (!ctx.state.customers.has(customerId)) {
    const n = ctx.state.customers.size
    const team = options.customerType === 'team'
    ctx.state.customers.set(customerId, {
      id: customerId,
      organizationId,
      type: team ? 'team' : 'individual',
      email: team ? null : `customer-${customerId.slice(0, 8)}@example.com`,
      name: team ? null : (FAKE_NAMES[n % FAKE_NAMES.length] ?? 'Test Customer'),
      createdAt: now,
    })
  }
  const limitActivations = options.limitActivations === undefined ? 3 : options.limitActivations
  const limitUsage = options.limitUsage ?? null
  const expiresAt = subscription ? null : optionalTime(options.expiresAt, 'expiresAt')
  const record: KeyRecord = {
    id: crypto.randomUUID(),
    key,
    organizationId,
    customerId,
    benefitId,
    status: options.status ?? 'granted',
    limitActivations,
    limitUsage,
    usage: options.usage ?? 0,
    validations: 0,
    lastValidatedAt: null,
    expiresAt,
    availableAfter: optionalTime(options.availableAfter, 'availableAfter'),
    createdAt: now,
    modifiedAt: null,
    deleted: false,
    memberId: options.memberId?.toLowerCase() ?? null,
    grant: {
      subscription,
      revoked: options.status === 'revoked',
      limitActivations,
      limitUsage,
      expiresAt,
    },
  }
  ctx.state.keys.set(record.id, record)
  return snapshotKey(record)
}

function benefitFor(ctx: AdminContext, benefitId: string): BenefitRecord {
  let benefit = ctx.state.benefits.get(benefitId)
  if (benefit === undefined) {
    benefit = { id: benefitId, prefix: null }
    ctx.state.benefits.set(benefitId, benefit)
  }
  return benefit
}

/** The seller edits the benefit's prefix: new and rotated keys get it. */
export function updateBenefit(
  ctx: AdminContext,
  benefitId: string,
  patch: { prefix: string | null },
): void {
  benefitFor(ctx, benefitId.toLowerCase()).prefix = patch.prefix
}

/** Finds a key by id, current key string, or record (deleted keys included). */
export function resolveKey(ctx: AdminContext, ref: KeyRef): KeyRecord {
  const wanted = typeof ref === 'string' ? ref : ref.id
  const byId = ctx.state.keys.get(wanted)
  if (byId !== undefined) return byId
  if (typeof ref === 'string') {
    for (const record of ctx.state.keys.values()) if (record.key === ref) return record
  }
  return fail(`no emulated license key matches ${maskKey(wanted)}`)
}

export function updateKey(ctx: AdminContext, ref: KeyRef, patch: KeyPatch): EmulatedKey {
  const record = resolveKey(ctx, ref)
  if (patch.status !== undefined) record.status = patch.status
  if (patch.limitActivations !== undefined) record.limitActivations = patch.limitActivations
  if (patch.limitUsage !== undefined) record.limitUsage = patch.limitUsage
  if (patch.usage !== undefined) record.usage = patch.usage
  if (patch.expiresAt !== undefined) record.expiresAt = optionalTime(patch.expiresAt, 'expiresAt')
  if (patch.availableAfter !== undefined) {
    record.availableAfter = optionalTime(patch.availableAfter, 'availableAfter')
  }
  record.modifiedAt = ctx.now()
  return snapshotKey(record)
}

/**
 * Polar's `license_key.rotate`: only a granted or disabled key, a new string with the
 * benefit's current prefix; status, usage, limits, expiry and activations are kept.
 * Returns null for a deleted key (the routes answer 404) and the refusal for a revoked one.
 */
export function rotateRecord(
  state: EmulatorState,
  record: KeyRecord,
  now: number,
): { ok: true } | { ok: false; status: 404 } | { ok: false; status: 400; detail: string } {
  if (record.deleted) return { ok: false, status: 404 }
  if (record.status !== 'granted' && record.status !== 'disabled') {
    const detail =
      'License key cannot be rotated in its current status. ' +
      `Current status: ${record.status}. Allowed statuses: disabled, granted.`
    return { ok: false, status: 400, detail }
  }
  record.key = generateKey(state.benefits.get(record.benefitId)?.prefix ?? null)
  record.modifiedAt = now
  return { ok: true }
}

/** The customer rotates the key in the portal: the new string; throws where Polar refuses. */
export function rotateKey(ctx: AdminContext, ref: KeyRef): string {
  const record = resolveKey(ctx, ref)
  const result = rotateRecord(ctx.state, record, ctx.now())
  if (!result.ok) {
    fail(
      result.status === 404
        ? 'rotate: the key is deleted (Polar answers 404)'
        : `rotate: ${result.detail} (Polar answers 400 RotateNotPermitted)`,
    )
  }
  return record.key
}

/**
 * A status change as Polar's `PATCH /v1/license-keys/{id}` applies it: the status is set,
 * then (Polar's `license_key.sync_benefit_grant` job) the benefit grant follows it: a
 * revoked key revokes the grant; another status on a revoked grant re-grants it, which
 * restores the grant's limits and expiry on the key.
 */
export function syncGrant(record: KeyRecord): void {
  const revoke = record.status === 'revoked'
  if (revoke === record.grant.revoked) return
  if (revoke) record.grant.revoked = true
  else regrant(record)
}

/** Polar's `customer_grant(regrant=True)` on an existing key: same key string and activations. */
function regrant(record: KeyRecord): void {
  const { grant } = record
  grant.revoked = false
  if (record.status === 'revoked') record.status = 'granted'
  record.limitActivations = grant.limitActivations
  record.limitUsage = grant.limitUsage
  record.expiresAt = grant.subscription ? null : grant.expiresAt
}

/** The seller changes the key's status in the dashboard (PATCH status, grant synced). */
export function setStatus(
  ctx: AdminContext,
  ref: KeyRef,
  status: KeyRecord['status'],
): EmulatedKey {
  const record = resolveKey(ctx, ref)
  record.status = status
  record.modifiedAt = ctx.now()
  syncGrant(record)
  return snapshotKey(record)
}

/** The subscription ends: Polar revokes the benefit grant, and with it the key. */
export function endSubscription(ctx: AdminContext, ref: KeyRef): EmulatedKey {
  const record = subscriptionKey(ctx, ref, 'endSubscription')
  record.grant.revoked = true
  record.status = 'revoked'
  record.modifiedAt = ctx.now()
  return snapshotKey(record)
}

/** The customer subscribes again: the same key string is re-granted, activations intact. */
export function resubscribe(ctx: AdminContext, ref: KeyRef): EmulatedKey {
  const record = subscriptionKey(ctx, ref, 'resubscribe')
  regrant(record)
  record.modifiedAt = ctx.now()
  return snapshotKey(record)
}

function subscriptionKey(ctx: AdminContext, ref: KeyRef, what: string): KeyRecord {
  const record = resolveKey(ctx, ref)
  if (!record.grant.subscription) {
    fail(`${what}: the key was not created with { subscription: true }`)
  }
  if (record.deleted) fail(`${what}: the key is deleted`)
  return record
}

export function removeKey(ctx: AdminContext, ref: KeyRef): void {
  const record = resolveKey(ctx, ref)
  record.deleted = true
  record.modifiedAt = ctx.now()
}

/** Frees a seat as the customer portal does. False when there was no such live activation. */
export function removeActivation(ctx: AdminContext, activationId: string): boolean {
  const activation = ctx.state.activations.get(activationId.toLowerCase())
  if (activation === undefined || activation.deleted) return false
  activation.deleted = true
  activation.modifiedAt = ctx.now()
  activation.deletedAt = activation.modifiedAt
  return true
}

/** Takes a seat directly, without a request (to fill seats in a test's setup). */
export function addActivation(
  ctx: AdminContext,
  ref: KeyRef,
  options: AddActivationOptions = {},
): EmulatedActivation {
  const record = resolveKey(ctx, ref)
  const activation: ActivationRecord = {
    id: crypto.randomUUID(),
    licenseKeyId: record.id,
    label: options.label ?? 'Seeded device',
    conditions: { ...options.conditions },
    meta: { ...options.meta },
    createdAt: ctx.now(),
    modifiedAt: null,
    deleted: false,
    deletedAt: null,
  }
  ctx.state.activations.set(activation.id, activation)
  return snapshotActivation(activation)
}

export function listActivations(ctx: AdminContext, ref: KeyRef): EmulatedActivation[] {
  const record = resolveKey(ctx, ref)
  return liveActivations(ctx.state, record.id).map(snapshotActivation)
}

export function snapshotKey(record: KeyRecord): EmulatedKey {
  return Object.freeze({
    id: record.id,
    key: record.key,
    displayKey: displayKey(record.key),
    organizationId: record.organizationId,
    customerId: record.customerId,
    benefitId: record.benefitId,
    status: record.status,
    limitActivations: record.limitActivations,
    limitUsage: record.limitUsage,
    usage: record.usage,
    validations: record.validations,
    lastValidatedAt: record.lastValidatedAt,
    expiresAt: record.expiresAt,
    availableAfter: record.availableAfter,
    createdAt: record.createdAt,
    deleted: record.deleted,
    subscription: record.grant.subscription,
    memberId: record.memberId,
  })
}

function snapshotActivation(record: ActivationRecord): EmulatedActivation {
  return Object.freeze({
    id: record.id,
    licenseKeyId: record.licenseKeyId,
    label: record.label,
    conditions: Object.freeze({ ...record.conditions }),
    meta: Object.freeze({ ...record.meta }),
    createdAt: record.createdAt,
    modifiedAt: record.modifiedAt,
  })
}

export function toTime(value: TimeInput, what: string): number {
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value
  if (!Number.isFinite(ms)) fail(`${what}: not a valid time: ${String(value)}`)
  return ms
}

function optionalTime(value: TimeInput | null | undefined, what: string): number | null {
  return value === undefined || value === null ? null : toTime(value, what)
}

function fail(message: string): never {
  throw new KeygateError('invalid_input', `[keygate] Polar emulator: ${message}`)
}
