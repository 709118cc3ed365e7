import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createElectronLicensing } from '../src/electron-licensing.js'
import { ENCRYPTED_HEADER } from '../src/encrypted-store.js'
import { fakeApp, fakeNet, fakeSafeStorage } from './fakes.js'

/**
 * A plain-text version 1 record (the key verbatim, as keygate's first format kept it) found
 * where the OS encrypts: refused and moved aside, and no file in userData keeps the key.
 */

const dirs: string[] = []
const stops: Array<() => void> = []
afterEach(async () => {
  for (const stop of stops.splice(0)) stop()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** Every file under `dir` that holds `key` (any case). */
async function filesHolding(dir: string, key: string): Promise<string[]> {
  const hits: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    if ((await readFile(path, 'utf8')).toLowerCase().includes(key.toLowerCase())) hits.push(path)
  }
  return hits
}

describe('the encrypted Electron store and a version 1 record', () => {
  it('a plain version 1 record is moved aside without the key in any file of userData', async () => {
    const userData = await mkdtemp(join(tmpdir(), 'keygate-electron-v1-'))
    dirs.push(userData)
    const polar = createPolarEmulator({ rateLimit: false })
    const key = polar.createKey({ limitActivations: 2 })
    const safeStorage = fakeSafeStorage('alice')
    const licensing = createElectronLicensing({
      organizationId: polar.organizationId,
      electron: { app: fakeApp(userData), safeStorage, net: fakeNet(polar) },
      machine: staticMachine('fingerprint-of-this-machine', 'Alice laptop'),
      retry: 0,
    })
    stops.push(() => licensing.stop())
    await licensing.start()
    await licensing.activate(key.key)
    const path = join(userData, 'license.json')
    const text = await readFile(path, 'utf8')
    const decrypt = safeStorage.decryptString ?? (() => '')
    const sealed = Buffer.from(text.slice(ENCRYPTED_HEADER.length), 'base64')
    const { mac: _mac, sealedKey: _sealed, v: _v, ...fields } = JSON.parse(decrypt(sealed))
    await writeFile(path, JSON.stringify({ v: 1, key: key.key, ...fields }, null, 2))
    expect(await filesHolding(userData, key.key)).toEqual([path])

    const state = await licensing.check({ online: 'never' })
    expect(state).toMatchObject({ status: 'inactive', note: { kind: 'unreadable' } })
    expect(await filesHolding(userData, key.key)).toEqual([])
    const aside = (await readdir(userData)).filter((name) => name.includes('.unreadable-'))
    expect(aside).toHaveLength(1)
    expect(await readFile(join(userData, aside[0] ?? ''), 'utf8')).toContain(
      `****-${key.key.slice(-6)}`,
    )
  })
})
