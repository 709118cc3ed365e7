// The same gate as gate.mjs, as a CommonJS script: require() of the packages' CJS builds,
// which load core's online half lazily on activate() and deactivate().
const { createLicensing } = require('@keygate/core')
const { createFileStore, nodeMachine } = require('@keygate/node-store')

/** @param {string} name */
function env(name) {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

/** @param {string | undefined} step */
async function main(step) {
  const store = createFileStore({ dir: env('KEYGATE_DIR') })
  const licensing = createLicensing({
    organizationId: env('KEYGATE_ORGANIZATION_ID'),
    server: env('KEYGATE_SERVER'),
    store,
    machine: nodeMachine({ salt: 'keygate-consumer-test', dir: store.dir }),
  })
  if (step === 'activate') return licensing.activate(env('KEYGATE_KEY'))
  if (step === 'check') return licensing.check({ online: 'never' })
  if (step === 'deactivate') {
    await licensing.deactivate()
    return licensing.check({ online: 'never' })
  }
  throw new Error(`unknown step ${step}`)
}

main(process.argv[2]).then(
  (state) => {
    console.log(
      JSON.stringify({
        module: 'cjs',
        // The CommonJS build itself, not Node's require() of the ES module build.
        entry: require.resolve('@keygate/core').split(/[\\/]/).slice(-2).join('/'),
        status: state.status,
        reason: state.status === 'inactive' ? state.reason : null,
        displayKey:
          state.status === 'active' || state.status === 'grace' ? state.license.displayKey : null,
      }),
    )
  },
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
