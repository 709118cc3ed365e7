// The SDK's tree-shakable form: the core client and the one function.
import { PolarCore } from '@polar-sh/sdk/core.js'
import { customerPortalLicenseKeysValidate } from '@polar-sh/sdk/funcs/customerPortalLicenseKeysValidate.js'

export function validateWithSdkFunction(serverURL: string, key: string, organizationId: string) {
  return customerPortalLicenseKeysValidate(new PolarCore({ serverURL }), { key, organizationId })
}
