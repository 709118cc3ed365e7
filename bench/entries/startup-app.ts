// What an app bundles to decide, at start-up, whether it may run.
import { createLicensing } from '@keygate/core'
import { createFileStore, nodeMachine } from '@keygate/node-store'

export function licenseAtStartup(organizationId: string, appName: string) {
  const licensing = createLicensing({
    organizationId,
    store: createFileStore({ appName }),
    machine: nodeMachine({ salt: appName }),
  })
  return licensing.check({ online: 'never' })
}
