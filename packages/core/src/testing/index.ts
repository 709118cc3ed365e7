export {
  createPolarEmulator,
  type HandleOptions,
  IN_PROCESS_IP,
  type PolarEmulator,
} from './emulator.js'
export type { AddActivationOptions, KeyPatch } from './emulator-admin.js'
export type { AccessTokenOptions, LicenseKeyScope } from './emulator-org-api.js'
export type {
  CreateKeyOptions,
  EmulatedActivation,
  EmulatedKey,
  EmulatedKeyStatus,
  EmulatorEndpoint,
  EmulatorRequestLog,
  EmulatorServer,
  FaultKind,
  KeyRef,
  PolarEmulatorOptions,
  RateLimitOptions,
  TimeInput,
} from './emulator-types.js'
export { DEFAULT_RATE_LIMIT } from './rate-limit.js'
export {
  type ContractAssertion,
  type ContractTestApi,
  type StoreContractOptions,
  storeContract,
} from './store-contract.js'
