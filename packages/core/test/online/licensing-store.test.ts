import { describe, expect, it } from 'vitest'
import { describe as describeWords } from '../../src/describe.js'
import { GRANT_VERSION } from '../../src/offline/grant.js'
import { type LicenseStore, memoryStore } from '../../src/store.js'
import { offlineOnlyClient, setup } from './licensing-fixture.js'

/** A store whose record was encrypted for another machine, as the Electron adapter reports it. */
function foreignStore() {
  const inner = memoryStore('ciphertext from another machine')
  let quarantines = 0
  let foreign = true
  const store: LicenseStore = {
    ...inner,
    async read() {
      if (foreign) {
        return {
          foreign: true,
          why: 'The license record was encrypted on another machine or user account.',
        } as const
      }
      return inner.read()
    },
    async quarantine(reason) {
      quarantines += 1
      foreign = false
      return inner.quarantine(reason)
    },
  }
  return { store, inner, quarantines: () => quarantines }
}

describe('an unreadable record', () => {
  it.each([
    ['not JSON', '{ damaged'],
    ['the wrong shape', '{"v":1,"hello":"world"}'],
    ['a newer version', JSON.stringify({ v: GRANT_VERSION + 1 })],
  ])('(%s) is moved aside on check, never thrown, and reported', async (_name, text) => {
    const t = setup()
    const store = memoryStore(text)
    const state = await t.make({ store, client: offlineOnlyClient }).check({ online: 'never' })
    expect(state).toMatchObject({ status: 'inactive', reason: 'not_activated' })
    expect(state).toMatchObject({ note: { kind: 'unreadable', movedTo: 'memory:quarantined/0' } })
    expect(store.quarantined).toEqual([{ text, reason: expect.any(String) }])
    expect(await store.read()).toBeNull()
  })

  it('(the store cannot read it) is moved aside by the store', async () => {
    const t = setup()
    const inner = memoryStore('whatever')
    let broken = true
    const store: LicenseStore = {
      ...inner,
      async read() {
        if (broken) throw new Error('EIO: i/o error')
        return inner.read()
      },
      async quarantine(reason) {
        broken = false
        return inner.quarantine(reason)
      },
    }
    const state = await t.make({ store }).check()
    expect(state).toMatchObject({ status: 'inactive', reason: 'not_activated' })
    expect(state.status === 'inactive' && state.note).toMatchObject({
      kind: 'unreadable',
      problem: expect.stringMatching(/EIO/),
    })
    expect(inner.quarantined).toHaveLength(1)
  })

  it('is kept aside when a new activation is written', async () => {
    const t = setup()
    const store = memoryStore('{ damaged')
    expect((await t.make({ store }).activate(t.key.key)).status).toBe('active')
    expect(store.quarantined.map((q) => q.text)).toEqual(['{ damaged'])
  })

  it('still never throws when moving it aside fails', async () => {
    const t = setup()
    const store = {
      ...memoryStore('{ damaged'),
      quarantine: () => Promise.reject(new Error('EACCES')),
    }
    const state = await t.make({ store }).check({ online: 'never' })
    expect(state).toMatchObject({ reason: 'not_activated', error: { code: 'store' } })
  })
})

describe('a record that belongs to another machine (foreign store record)', () => {
  it('is reported as machine_mismatch on check, and left where it is', async () => {
    const t = setup()
    const foreign = foreignStore()
    const state = await t.make({ store: foreign.store }).check()
    expect(state).toMatchObject({
      status: 'inactive',
      reason: 'machine_mismatch',
      note: {
        kind: 'foreign',
        why: 'The license record was encrypted on another machine or user account.',
      },
    })
    expect(foreign.quarantines()).toBe(0)
    expect(await t.make({ store: foreign.store }).refresh()).toMatchObject({
      reason: 'machine_mismatch',
    })
    expect(foreign.quarantines()).toBe(0)
    expect(t.emulator.requests).toHaveLength(0)
  })

  it('is moved aside when this machine activates, then replaced by the new grant', async () => {
    const t = setup()
    const foreign = foreignStore()
    const licensing = t.make({ store: foreign.store })
    expect((await licensing.activate(t.key.key)).status).toBe('active')
    expect(foreign.inner.quarantined.map((q) => q.text)).toEqual([
      'ciphertext from another machine',
    ])
    expect((await licensing.check({ online: 'never' })).status).toBe('active')
  })

  it('is left untouched when the activation fails', async () => {
    const t = setup()
    t.emulator.revoke(t.key)
    const foreign = foreignStore()
    await expect(t.make({ store: foreign.store }).activate(t.key.key)).rejects.toMatchObject({
      code: 'revoked',
    })
    expect(foreign.quarantines()).toBe(0)
  })
})

describe('a record for another organization or server', () => {
  it('is not trusted: not_activated, with a detail saying why', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const elsewhere = t.make({ client: { ...offlineOnlyClient, baseURL: 'https://api.polar.sh' } })
    const state = await elsewhere.check()
    expect(state).toMatchObject({ status: 'inactive', reason: 'not_activated' })
    expect(state).toMatchObject({ note: { kind: 'other_origin', server: 'http://emulator.local' } })
    expect(describeWords(state).detail).toMatch(/another Polar organization or server/)
  })

  it("is never reused by activate: the same key string in another organization takes that organization's seat", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const otherOrg = '6b1f3c2e-8d4a-4f5b-9c7e-2a1d3e4f5a6b'
    const twin = t.emulator.createKey({ organizationId: otherOrg, key: t.key.key })
    const before = t.emulator.requests.length
    const state = await t.make({ organizationId: otherOrg }).activate(t.key.key)
    expect(state).toMatchObject({ status: 'active' })
    expect(t.endpoints(before)).toEqual(['validate', 'activate'])
    expect(t.emulator.listActivations(twin)).toHaveLength(1)
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })
})

describe('concurrency inside one process', () => {
  it('two activations racing on one store take one seat', async () => {
    const t = setup()
    const [a, b] = await Promise.all([
      t.licensing.activate(t.key.key),
      t.make().activate(t.key.key),
    ])
    expect([a.status, b.status]).toEqual(['active', 'active'])
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    // The second finds the first one's fresh grant inside the lock: no request at all.
    expect(t.endpoints()).toEqual(['validate', 'activate'])
  })

  it('a check racing an activation sees either nothing or the whole grant', async () => {
    const t = setup()
    const [, state] = await Promise.all([
      t.licensing.activate(t.key.key),
      t.make({ client: offlineOnlyClient }).check({ online: 'never' }),
    ])
    expect(['not_activated', 'active']).toContain(
      state.status === 'inactive' ? state.reason : state.status,
    )
  })
})

describe('deactivate with a record that cannot be read', () => {
  it('moves a foreign record aside, so the next check starts clean', async () => {
    const t = setup()
    const foreign = foreignStore()
    const licensing = t.make({ store: foreign.store })
    await licensing.deactivate()
    expect(foreign.quarantines()).toBe(1)
    expect(await licensing.check()).toEqual({ status: 'inactive', reason: 'not_activated' })
    expect(t.emulator.requests).toHaveLength(0)
  })
})

describe('a deactivation cut short after Polar freed the seat', () => {
  // The process dies between Polar's answer and forgetting the grant (here: the clear
  // fails). The seat is free in Polar, so this machine must not run on offline.
  function dyingAtClear(t: ReturnType<typeof setup>): LicenseStore {
    return { ...t.store, clear: () => Promise.reject(new Error('killed')) }
  }

  it('the next start offline is not active, and says the seat was freed', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    await expect(t.make({ store: dyingAtClear(t) }).deactivate()).rejects.toThrow()
    expect(t.emulator.listActivations(t.key)).toHaveLength(0)
    t.emulator.setOffline(true)
    t.advance(60_000)
    expect(await t.make().check()).toMatchObject({
      status: 'inactive',
      reason: 'activation_not_found',
    })
  })

  it('a deactivation Polar did not answer keeps the grant as it was', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const before = await t.store.read()
    t.emulator.setOffline(true)
    await expect(t.licensing.deactivate()).rejects.toMatchObject({ code: 'network' })
    expect(await t.store.read()).toBe(before)
    expect(await t.make().check()).toMatchObject({ status: 'active' })
  })
})

describe('activate when the new grant cannot be saved', () => {
  it('gives the new seat back, so retrying on a full disk does not burn seats', async () => {
    const t = setup()
    let full = true
    const store: LicenseStore = {
      ...t.store,
      async write(text) {
        if (full) throw new Error('ENOSPC: no space left on device')
        await t.store.write(text)
      },
    }
    const licensing = t.make({ store })
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(licensing.activate(t.key.key)).rejects.toMatchObject({
        code: 'store',
        message: expect.stringMatching(/ENOSPC/),
      })
    }
    expect(t.emulator.listActivations(t.key)).toHaveLength(0)
    expect(await t.store.read()).toBeNull()
    full = false
    expect((await licensing.activate(t.key.key)).status).toBe('active')
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })
})
