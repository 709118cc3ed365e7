import { rm } from 'node:fs/promises'
import { createLicensing, type LicenseState, staticMachine } from '@keygate/core'
import { createFileStore, nodeKeychain } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { fakeKeyring } from './fake-keyring.js'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

const DAY = 24 * 60 * 60 * 1000
const T0 = Date.parse('2026-03-01T12:00:00.000Z')
const ORG = '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f'

const summary = (state: LicenseState) =>
  state.status === 'trial' ? `trial:${state.trial.daysLeft}` : state.status

describe('a trial with nodeKeychain and the file store', () => {
  it('keeps the start in a second keyring entry: deleting license.json does not restart it', async () => {
    const dir = await tempDir()
    const keyring = fakeKeyring()
    let now = T0
    const app = () =>
      createLicensing({
        organizationId: ORG,
        store: createFileStore({ dir }),
        machine: staticMachine('fp'),
        keychain: nodeKeychain({ service: 'Acme', load: keyring.load }),
        trial: { days: 14 },
        now: () => now,
      })
    const first = app()
    expect(await first.check({ online: 'never' })).toMatchObject({
      status: 'trial',
      integrity: 'keychain',
    })
    await first.settled()
    expect([...keyring.slots.keys()].sort()).toEqual([
      'Acme/keygate-record-key',
      'Acme/keygate-record-key:trial',
    ])
    now += 6 * DAY
    await rm(createFileStore({ dir }).path, { force: true })
    const later = app()
    expect(summary(await later.check({ online: 'never' }))).toBe('trial:8')
    // Its background writes (the clock mark) finish before the folder is removed.
    await later.settled()
  })
})
