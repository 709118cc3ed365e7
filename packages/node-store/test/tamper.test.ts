import { readFile, writeFile } from 'node:fs/promises'
import { type KeyringModule, nodeKeychain } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { DAY, emulatorLicensing, HOUR, T0 } from './emulator-licensing.js'
import { fakeKeyring } from './fake-keyring.js'
import { removeTempDirs } from './temp-dir.js'

afterEach(removeTempDirs)

const YEAR = 365 * DAY

const setup = emulatorLicensing

/** What the user did: a text editor on license.json. */
async function addOneYear(path: string) {
  const record = JSON.parse(await readFile(path, 'utf8')) as Record<string, number>
  record.validatedAt = (record.validatedAt ?? 0) + YEAR
  record.localValidatedAt = (record.localValidatedAt ?? 0) + YEAR
  await writeFile(path, JSON.stringify(record, null, 2))
}

describe('the +1 year edit of license.json, on a revoked key', () => {
  it('Polar reachable: check() revalidates at once and locks (revoked)', async () => {
    const t = await setup()
    await t.licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    await addOneYear(t.store.path)
    t.clock.now += 30 * DAY
    expect(await t.licensing.check()).toMatchObject({ status: 'inactive', reason: 'revoked' })
  })

  it('Polar unreachable: never active, and nothing past the real last validation + grace', async () => {
    const t = await setup()
    await t.licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    await addOneYear(t.store.path)
    t.emulator.setOffline(true)
    for (const later of [0, HOUR, 8 * DAY, 30 * DAY, 200 * DAY, YEAR, YEAR + 3 * DAY]) {
      t.clock.now = T0 + later
      const state = await t.licensing.check()
      expect(state).toMatchObject({ status: 'inactive', reason: 'tampered', integrity: 'none' })
      await t.licensing.settled()
    }
  })

  it('with the OS keyring: the edited record fails its MAC and is moved aside', async () => {
    const keyring = fakeKeyring()
    const t = await setup(nodeKeychain({ service: 'Acme Notes', load: keyring.load }))
    expect(await t.licensing.activate(t.key.key)).toMatchObject({ integrity: 'keychain' })
    // The record's key, and the note that a record was signed here (nothing else).
    expect([...keyring.slots.keys()].sort()).toEqual([
      'Acme Notes/keygate-record-key',
      'Acme Notes/keygate-record-key:signed',
    ])
    const text = await readFile(t.store.path, 'utf8')
    expect(text.toLowerCase()).not.toContain(t.key.key.toLowerCase())
    t.emulator.revoke(t.key)
    await addOneYear(t.store.path)
    const state = await t.licensing.check()
    expect(state).toMatchObject({ status: 'inactive', note: { kind: 'unreadable' } })
    expect(
      state.status === 'inactive' && state.note?.kind === 'unreadable' && state.note.movedTo,
    ).toMatch(/quarantine|\.json/)
    expect(await t.store.read()).toBeNull()
  })
})

describe('license.json rewritten without its MAC, with the OS keyring', () => {
  it('never runs offline once a record was signed here; one validation online signs it again', async () => {
    const keyring = fakeKeyring()
    const chain = () => nodeKeychain({ service: 'Acme Notes', load: keyring.load })
    const t = await setup(chain())
    await t.licensing.activate(t.key.key)
    // The keyring, not the record, remembers that a record was signed on this machine.
    expect([...keyring.slots.keys()].some((slot) => slot.endsWith(':signed'))).toBe(true)
    t.emulator.revoke(t.key)
    const record = JSON.parse(await readFile(t.store.path, 'utf8')) as Record<string, unknown>
    delete record.mac
    delete record.sealedKey
    record.v = 1
    record.key = t.key.key
    await writeFile(t.store.path, JSON.stringify(record, null, 2))
    t.clock.now += HOUR
    t.emulator.setOffline(true)
    expect(await t.restart().check()).toMatchObject({ status: 'inactive', reason: 'tampered' })
    t.emulator.setOffline(false)
    t.clock.now += 2 * 60_000
    expect(await t.restart().check()).toMatchObject({ status: 'inactive', reason: 'revoked' })
  })
})

describe('nodeKeychain', () => {
  it('creates the key on first use and returns the same one after', async () => {
    const keyring = fakeKeyring()
    const first = await nodeKeychain({ service: 'Acme', load: keyring.load }).key()
    const again = await nodeKeychain({ service: 'Acme', load: keyring.load }).key()
    expect(first?.length).toBe(32)
    expect(again).toEqual(first)
  })

  it('reports no keychain when @napi-rs/keyring is not installed', async () => {
    const missing = Object.assign(new Error('Cannot find package'), {
      code: 'ERR_MODULE_NOT_FOUND',
    })
    const chain = nodeKeychain({ service: 'Acme', load: () => Promise.reject(missing) })
    expect(await chain.key()).toBeNull()
  })

  it('passes on a keyring that exists but fails', async () => {
    const locked: KeyringModule = {
      Entry: class {
        getPassword(): string | null {
          throw new Error('the keyring is locked')
        }
        setPassword() {}
      },
    }
    const chain = nodeKeychain({ service: 'Acme', load: async () => locked })
    await expect(chain.key()).rejects.toThrow(/locked/)
  })
})
