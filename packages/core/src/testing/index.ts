export type { AddActivationOptions, KeyPatch } from './emulator/admin.js'
export type { AccessTokenOptions, LicenseKeyScope } from './emulator/auth.js'
export {
  createPolarEmulator,
  type HandleOptions,
  IN_PROCESS_IP,
  POLAR_API_VERSIONS,
  type PolarEmulator,
} from './emulator/emulator.js'
export { DEFAULT_RATE_LIMIT, POLAR_BLOCK_SECONDS } from './emulator/rate-limit.js'
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
  OrganizationRateLimitGroup,
  PolarBlockZone,
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
