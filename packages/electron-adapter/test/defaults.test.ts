import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPolarEmulator } from '@keygate/core/testing'
import { afterEach, expect, it } from 'vitest'
import { createElectronLicensing, netFetch } from '../src/electron-licensing.js'
import { ENCRYPTED_HEADER } from '../src/encrypted-store.js'
import { fakeApp, fakeNet, fakeSafeStorage } from './fakes.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

it("fills in Electron's defaults: userData, net.fetch, safeStorage, the host name", async () => {
  const userData = await mkdtemp(join(tmpdir(), 'keygate-electron-'))
  dirs.push(userData)
  const polar = createPolarEmulator({ rateLimit: false })
  const key = polar.createKey({ prefix: 'ACME' })
  const net = fakeNet(polar)
  const seen: string[] = []
  const fetch = net.fetch
  net.fetch = (input, init) => {
    seen.push(typeof input === 'string' ? input : input.url)
    return fetch(input, init)
  }
  const licensing = createElectronLicensing({
    organizationId: polar.organizationId,
    electron: { app: fakeApp(userData), safeStorage: fakeSafeStorage(), net },
  })
  try {
    expect(await licensing.start()).toMatchObject({ status: 'inactive', reason: 'not_activated' })
    expect(await licensing.activate(key.key)).toMatchObject({ status: 'active', encryption: 'os' })

    // Every request went through Electron's net (system proxy, PAC, proxy auth).
    expect(seen).toEqual([
      'https://api.polar.sh/v1/customer-portal/license-keys/validate',
      'https://api.polar.sh/v1/customer-portal/license-keys/activate',
    ])
    // The grant is a file in userData, encrypted.
    const onDisk = await readFile(join(userData, 'license.json'), 'utf8')
    expect(onDisk.startsWith(ENCRYPTED_HEADER)).toBe(true)
    expect(onDisk).not.toContain(key.key)
    // The activation is labelled with this computer's name.
    const [activation] = polar.listActivations(key)
    expect(activation?.label).toBe(hostname().trim().slice(0, 64))
    expect(activation?.conditions).not.toEqual({})
  } finally {
    licensing.stop()
  }
})

it('hands net.fetch a string when given a URL object (it takes no URL)', async () => {
  const calls: unknown[] = []
  const fetch = netFetch({
    fetch: async (input) => {
      calls.push(input)
      return new Response('ok')
    },
  })
  await fetch(new URL('https://api.polar.sh/v1/x'))
  await fetch('https://api.polar.sh/v1/y')
  expect(calls).toEqual(['https://api.polar.sh/v1/x', 'https://api.polar.sh/v1/y'])
})
