export { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS } from './client-options.js'
export { isKeygateError, KeygateError, type KeygateErrorCode, maskKey } from './errors.js'
export { type EvaluateContext, evaluate } from './evaluate.js'
export { GRANT_VERSION, type Grant, parseGrant, serializeGrant } from './grant.js'
// The UUID check runs at start (createLicensing's organizationId); the other rules only
// before a request.
export { checkUuid4, isUuid4 } from './input-basics.js'
// The HTTP client loads on its first request: importing core stays cheap.
export { createPolarClient } from './lazy-polar-client.js'
export { createLicensing } from './licensing.js'
export type {
  ActivateOptions,
  CheckOptions,
  Licensing,
  LicensingOptions,
  StateListener,
} from './licensing-types.js'
export { MACHINE_CONDITION, type Machine, staticMachine } from './machine.js'
export {
  type ActivateRequest,
  type Conditions,
  type DeactivateRequest,
  type PolarActivation,
  type PolarClient,
  type PolarClientOptions,
  type PolarLicenseKey,
  type PolarResult,
  type PolarServer,
  type PolarValidatedKey,
  resolveServer,
  type ValidateRequest,
} from './polar-types.js'
export {
  checkMetadata,
  KEY_MAX_LENGTH,
  LABEL_MAX_LENGTH,
  METADATA_KEY_MAX_LENGTH,
  METADATA_MAX_PAIRS,
  METADATA_VALUE_MAX_LENGTH,
  normalizeKey,
  normalizeLabel,
  truncateLabel,
  validateActivateRequest,
  validateDeactivateRequest,
  validateValidateRequest,
} from './request-rules.js'
export {
  type ActivationInfo,
  type ActiveState,
  DEFAULT_POLICY,
  type GraceState,
  type GraceWhy,
  type InactiveReason,
  type InactiveState,
  type LicenseInfo,
  type LicenseState,
  type Policy,
} from './state.js'
export { type LicenseStore, type MemoryStore, memoryStore } from './store.js'
