// A plain Node app's gate, as an ES module: `node gate.mjs activate|check|deactivate`.
// The emulator's URL, organization id, key and the store folder come from the environment.
import { createLicensing } from '@keygate/core'
import { createFileStore, nodeMachine } from '@keygate/node-store'

/** @param {string} name */
function env(name) {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const store = createFileStore({ dir: env('KEYGATE_DIR') })
const licensing = createLicensing({
  organizationId: env('KEYGATE_ORGANIZATION_ID'),
  server: env('KEYGATE_SERVER'),
  store,
  machine: nodeMachine({ salt: 'keygate-consumer-test', dir: store.dir }),
})

const step = process.argv[2]
let state
if (step === 'activate') state = await licensing.activate(env('KEYGATE_KEY'))
else if (step === 'check') state = await licensing.check({ online: 'never' })
else if (step === 'deactivate') {
  await licensing.deactivate()
  state = await licensing.check({ online: 'never' })
} else throw new Error(`unknown step ${step}`)

// Never the key itself: Polar's display key is what an app may show.
console.log(
  JSON.stringify({
    module: 'esm',
    entry: import.meta.resolve('@keygate/core').split('/').slice(-2).join('/'),
    status: state.status,
    reason: state.status === 'inactive' ? state.reason : null,
    displayKey:
      state.status === 'active' || state.status === 'grace' ? state.license.displayKey : null,
  }),
)
