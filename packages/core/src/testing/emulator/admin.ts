import { KeygateError, maskKey } from '../../errors.js'
import {
  type ActivationRecord,
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
  const prefix = options.prefix ?? null
  const key = options.key ?? generateKey(prefix)
  if (key.length === 0) fail('createKey: an imported key must not be empty')
  const clash = [...ctx.state.keys.values()].some(
    (k) => !k.deleted && k.key === key && k.organizationId === organizationId,
  )
  if (clash) fail(`createKey: the key ${maskKey(key)} already exists in this organization`)
  const customerId = (options.customerId ?? crypto.randomUUID()).toLowerCase()
  if (!ctx.state.customers.has(customerId)) {
    const n = ctx.state.customers.size
    ctx.state.customers.set(customerId, {
      id: customerId,
      organizationId,
      email: `customer-${customerId.slice(0, 8)}@example.com`,
      name: FAKE_NAMES[n % FAKE_NAMES.length] ?? 'Test Customer',
      createdAt: now,
    })
  }
  const record: KeyRecord = {
    id: crypto.randomUUID(),
    key,
    prefix: options.key === undefined ? prefix : null,
    organizationId,
    customerId,
    benefitId: (options.benefitId ?? ctx.benefitId).toLowerCase(),
    status: options.status ?? 'granted',
    limitActivations: options.limitActivations === undefined ? 3 : options.limitActivations,
    limitUsage: options.limitUsage ?? null,
    usage: options.usage ?? 0,
    validations: 0,
    lastValidatedAt: null,
    expiresAt: optionalTime(options.expiresAt, 'expiresAt'),
    availableAfter: optionalTime(options.availableAfter, 'availableAfter'),
    createdAt: now,
    modifiedAt: null,
    deleted: false,
  }
  ctx.state.keys.set(record.id, record)
  return snapshotKey(record)
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

/** A new key string for the same record: the old one answers 404, activations stay valid. */
export function rotateKey(ctx: AdminContext, ref: KeyRef): string {
  const record = resolveKey(ctx, ref)
  record.key = generateKey(record.prefix)
  record.modifiedAt = ctx.now()
  return record.key
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
