export { isKeygateError, KeygateError, type KeygateErrorCode, maskKey } from './errors.js'
export { GRANT_VERSION, type Grant, parseGrant, serializeGrant } from './grant.js'
export type {
  ActivateOptions,
  CheckOptions,
  Licensing,
  LicensingOptions,
  StateListener,
} from './licensing-types.js'
export { type Machine, staticMachine } from './machine.js'
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
