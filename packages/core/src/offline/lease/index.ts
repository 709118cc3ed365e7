// The lease code, one chunk loaded on demand (`loadLeaseCode` in ../lease.ts): what only
// a lease server's leases and trial tokens need.
export { evaluateLeased, type LeaseOutcome, leasedGrant } from './leased.js'
export {
  loadCurve,
  verifyLease,
  verifyLeaseAhead,
  verifyTrialAhead,
  verifyTrialToken,
} from './verify.js'
