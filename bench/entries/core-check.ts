// core's share of the start-up path: the store and machine come from elsewhere.
import { createLicensing, type LicenseStore, type Machine } from '@keygate/core'

export function coreCheck(organizationId: string, store: LicenseStore, machine: Machine) {
  return createLicensing({ organizationId, store, machine }).check({ online: 'never' })
}
