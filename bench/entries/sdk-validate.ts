// The alternative: Polar's SDK client, to validate on every start.
import { Polar } from '@polar-sh/sdk'

export function validateWithSdk(serverURL: string, key: string, organizationId: string) {
  return new Polar({ serverURL }).customerPortal.licenseKeys.validate({ key, organizationId })
}
