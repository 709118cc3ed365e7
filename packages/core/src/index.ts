export { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS } from './client-options.js'
export {
  type DescribableError,
  type DescribeOptions,
  describe,
  type Facts,
  type Vocabulary,
  type Words,
} from './describe.js'
export { isKeygateError, KeygateError, type KeygateErrorCode, maskKey } from './errors.js'
export { createLicensing } from './licensing.js'
export { MACHINE_CONDITION, type Machine, staticMachine } from './machine.js'
export {
  allowsUpdate,
  can,
  type Entitlements,
  type ExpiryBehaviour,
} from './offline/entitlements.js'
export { type EvaluateContext, evaluate } from './offline/evaluate.js'
export { GRANT_VERSION, type Grant, parseGrant, serializeGrant } from './offline/grant.js'
export {
  type InspectOptions,
  inspectRecord,
  type KeyStatus,
  type RecordInspection,
  type RecordKind,
  type RecordOrigin,
} from './offline/inspect.js'
export type { Integrity, Keychain } from './offline/integrity.js'
// verifyLease and the other verifiers are `@keygate/core/lease`: the start-up check loads the
// lease code only under a lease server, so an app's start-up bundle need not carry it.
export {
  type LeaseClaims,
  type LeasePublicKey,
  leasePublicKeyProblem,
  loadLeaseVerifier,
  type TrialClaims,
} from './offline/lease.js'
export { checkUuid4, isUuid4, type PolarServer, resolveServer } from './offline/origin.js'
export { type PendingActivation, parsePendingRecord } from './offline/pending.js'
export { DEFAULT_POLICY, type Policy } from './offline/policy.js'
export { type InactiveReason, isInactiveReason, REASONS } from './offline/reasons.js'
export type {
  ActivationInfo,
  ActiveState,
  GraceState,
  GraceWhy,
  InactiveNote,
  InactiveState,
  LicenseInfo,
  LicenseState,
  TrialInfo,
  TrialState,
} from './offline/state.js'
export type { LeaseServerOptions } from './online/lease-client.js'
export type { RevalidationTiming } from './online/schedule.js'
// The HTTP client loads on its first request: importing core stays cheap.
export { createPolarClient } from './polar/client.js'
// Polar's field rules (normalizeKey, checkMetadata, the limits…) are `@keygate/core/rules`:
// the start-up check never runs them, so an app's start-up bundle need not carry them.
export type {
  ActivateRequest,
  Conditions,
  DeactivateRequest,
  PolarActivation,
  PolarClient,
  PolarClientOptions,
  PolarLicenseKey,
  PolarResult,
  PolarValidatedKey,
  ValidateRequest,
} from './polar/types.js'
export {
  type ForeignRecord,
  isForeignRecord,
  type LicenseStore,
  type MemoryStore,
  memoryStore,
  type PacingLog,
} from './store.js'
export type {
  ActivateOptions,
  CheckOptions,
  Device,
  DevicesOptions,
  Licensing,
  LicensingOptions,
  StateListener,
  TrialOptions,
  WatchEvent,
  WatchOptions,
} from './types.js'
