// `@keygate/core/lease`: a lease server's leases and trial tokens verified directly (seller
// tools, tests). A subpath of its own, so that an app's start-up code never carries the
// verifier: `createLicensing` loads it only under a lease server.
export {
  type LeaseClaims,
  type LeasePublicKey,
  loadLeaseVerifier,
  type TrialClaims,
} from '../lease.js'
export { verifyLease, verifyLeaseAhead, verifyTrialToken } from './verify.js'
