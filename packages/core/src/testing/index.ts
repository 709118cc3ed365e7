export type { AddActivationOptions, KeyPatch } from './emulator/admin.js'
export {
  createPolarEmulator,
  type HandleOptions,
  IN_PROCESS_IP,
  type PolarEmulator,
} from './emulator/emulator.js'
export type { AccessTokenOptions, LicenseKeyScope } from './emulator/org-api.js'
export { DEFAULT_RATE_LIMIT } from './emulator/rate-limit.js'
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
} from './emulator/types.js'
export {
  type ContractAssertion,
  type ContractTestApi,
  type StoreContractOptions,
  storeContract,
} from './store-contract.js'
