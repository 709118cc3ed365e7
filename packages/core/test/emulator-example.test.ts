// The runnable example from packages/core/TESTING.md, kept here so the docs cannot rot.
import { createLicensing, memoryStore, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { expect, test } from 'vitest'

test('my app stops when the seller revokes the key', async () => {
  let now = Date.parse('2026-03-01T12:00:00Z')
  const polar = createPolarEmulator({ now: () => now })
  const key = polar.createKey({ prefix: 'MYAPP', limitActivations: 2 })

  const licensing = createLicensing({
    organizationId: polar.organizationId,
    store: memoryStore(),
    machine: staticMachine('test-fingerprint', 'CI runner'),
    fetch: polar.fetch, // every request goes to the emulator, in-process
    now: () => now,
  })

  expect((await licensing.activate(key.key)).status).toBe('active')
  expect(polar.listActivations(key)).toHaveLength(1)

  polar.revoke(key) // the seller revokes it in Polar's dashboard
  now += 25 * 60 * 60 * 1000 // a day later the app revalidates

  const state = await licensing.check()
  expect(state).toMatchObject({ status: 'inactive', reason: 'revoked' })
})
