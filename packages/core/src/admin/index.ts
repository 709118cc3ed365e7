export { createPolarAdminClient } from './admin-client.js'
export { REQUIRED_SCOPE } from './admin-errors.js'
export { MAX_PAGE_SIZE } from './admin-input.js'
export {
  type AdminActivation,
  type AdminLicenseKey,
  type AdminLicenseKeyPage,
  type AdminLicenseKeyWithActivations,
  type AdminRateLimit,
  LICENSE_KEY_STATUSES,
  type LicenseKeyStatus,
  type LicenseKeyUpdate,
  type ListAllParams,
  type ListLicenseKeysFilter,
  type ListLicenseKeysParams,
  type Pagination,
  type PolarAdminClient,
  type PolarAdminClientOptions,
} from './admin-types.js'
export { PRODUCTION_RATE_LIMIT, SANDBOX_RATE_LIMIT } from './request-pacer.js'
export {
  checkMachineSeat,
  freeSeat,
  liveSeat,
  type MachineSeatCheck,
  machineSeats,
  oldestFirst,
  type SeatRef,
  type SettledMachineSeats,
  settleMachineSeats,
} from './seats.js'
