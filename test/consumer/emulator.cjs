// Polar, played by the emulator of the installed @keygate/core tarball, loaded with require():
// the CommonJS build of @keygate/core/testing, whose listen() imports node:http lazily.
const { createPolarEmulator } = require('@keygate/core/testing')

async function main() {
  const polar = createPolarEmulator()
  // One seat: a second activation succeeds only if deactivate() really freed the first.
  const key = polar.createKey({ limitActivations: 1 })
  const server = await polar.listen()
  // The test reads this line; the key goes to the gate scripts through their environment.
  process.stdout.write(
    `${JSON.stringify({ url: server.url, organizationId: polar.organizationId, key: key.key })}\n`,
  )
  process.on('SIGTERM', () => {
    server.close().then(() => process.exit(0))
  })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
