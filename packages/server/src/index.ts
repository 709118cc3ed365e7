export {
  createKeyPair,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  type KeyPair,
  LEASE_TYPE,
  TRIAL_TYPE,
} from './lease.js'
export {
  createLeaseServer,
  DEFAULT_LEASE_TTL,
  type LeaseServer,
  type LeaseServerOptions,
  type TrialStore,
} from './lease-server.js'
export type {
  ActivateRequestBody,
  Device,
  DevicesRequestBody,
  DevicesResponseBody,
  ErrorResponseBody,
  FreeDeviceRequestBody,
  FreeDeviceResponseBody,
  LeaseActivation,
  LeaseClaims,
  LeaseLicenseKey,
  LeaseResponseBody,
  MetaValue,
  RenewRequestBody,
  TrialClaims,
  TrialRequestBody,
  TrialResponseBody,
} from './protocol.js'
export { ROUTES } from './protocol.js'
