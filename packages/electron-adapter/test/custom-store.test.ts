import { memoryStore, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { createElectronLicensing } from '../src/electron-licensing.js'
import { ENCRYPTED_HEADER } from '../src/encrypted-store.js'
import { fakeApp, fakeNet, fakeSafeStorage } from './fakes.js'

// Issue 9.7: a store that encrypts by itself is not wrapped in safeStorage again.

function setup(store: ReturnType<typeof memoryStore> & { encrypts?: boolean }) {
  const polar = createPolarEmulator({ rateLimit: false })
  const key = polar.createKey({ prefix: 'ACME', limitActivations: 2 })
  const safeStorage = fakeSafeStorage()
  const licensing = createElectronLicensing({
    organizationId: polar.organizationId,
    electron: { app: fakeApp('/nonexistent'), safeStorage, net: fakeNet(polar) },
    store,
    machine: staticMachine('fingerprint-of-this-machine'),
  })
  return { licensing, key }
}

describe('a custom store', () => {
  it('marked `encrypts: true` is used as is, and its states say `store`', async () => {
    const inner = memoryStore()
    const store = Object.assign(inner, { encrypts: true as const })
    const { licensing, key } = setup(store)
    expect(await licensing.start()).toMatchObject({ encryption: 'store' })
    expect(await licensing.activate(key.key)).toMatchObject({
      status: 'active',
      encryption: 'store',
    })
    // What the store got is the record itself: its own encryption is the only layer.
    expect((await inner.read())?.startsWith('{')).toBe(true)
    expect(await licensing.check({ online: 'never' })).toMatchObject({ status: 'active' })
    licensing.stop()
  })

  it('without the marker is wrapped in safeStorage encryption', async () => {
    const inner = memoryStore()
    const { licensing, key } = setup(inner)
    expect(await licensing.start()).toMatchObject({ encryption: 'os' })
    await licensing.activate(key.key)
    expect((await inner.read())?.startsWith(ENCRYPTED_HEADER)).toBe(true)
    licensing.stop()
  })
})
