import { describe, expect, it } from 'vitest'
import { describe as describeWords } from '../../src/describe.js'
import { staticMachine } from '../../src/machine.js'
import { memoryStore } from '../../src/store.js'
import type { FaultKind } from '../../src/testing/index.js'
import { DAY, HOUR, setup, T0 } from './licensing-fixture.js'

async function activated(keyOptions: Parameters<typeof setup>[0] = {}) {
  const t = setup(keyOptions)
  await t.licensing.activate(t.key.key)
  return t
}

describe('when Polar cannot be reached', () => {
  it('keeps a fresh grant active, reports the error, and writes nothing', async () => {
    const t = await activated()
    const before = await t.store.read()
    const writes = t.counted.writes
    t.emulator.setOffline(true)
    t.advance(HOUR)
    const state = await t.licensing.check({ online: 'always' })
    expect(state).toMatchObject({ status: 'active', validatedAt: T0, error: { code: 'network' } })
    expect(await t.store.read()).toBe(before)
    expect(t.counted.writes).toBe(writes)
  })

  it.each<FaultKind>(['reset', 500, 503, 'html', 'invalid_json'])(
    'enters grace (why: unreachable) on a %s, leaving the record byte-for-byte',
    async (fault) => {
      const t = await activated()
      const before = await t.store.read()
      const writes = t.counted.writes
      t.advance(2 * DAY)
      t.emulator.failNext(1, fault)
      const state = await t.licensing.refresh()
      expect(state).toMatchObject({
        status: 'grace',
        why: 'unreachable',
        graceEndsAt: T0 + 7 * DAY,
        validatedAt: T0,
      })
      expect(state.error?.transient).toBe(true)
      expect(await t.store.read()).toBe(before)
      expect(t.counted.writes).toBe(writes)
    },
  )

  it('locks once the grace period is over, and unlocks once Polar answers again', async () => {
    const t = await activated()
    t.emulator.setOffline(true)
    t.advance(7 * DAY + 1)
    expect(await t.licensing.check()).toMatchObject({
      status: 'inactive',
      reason: 'grace_expired',
      error: { code: 'network' },
    })
    t.emulator.setOffline(false)
    // Locked states are paced like grace: the next automatic check asks after the quiet minute.
    t.advance(60_000)
    expect(await t.licensing.check()).toMatchObject({
      status: 'active',
      validatedAt: T0 + 7 * DAY + 1 + 60_000,
    })
  })

  it('never throws from refresh, even when the store lock fails', async () => {
    const t = await activated()
    const broken = { ...t.store, lock: () => Promise.reject(new Error('lock timed out')) }
    const state = await t.make({ store: broken }).refresh()
    expect(state).toMatchObject({ status: 'active', error: { code: 'store' } })
  })
})

describe('definitive answers from Polar', () => {
  it('a revoked key locks on the next refresh, with the reason, across restarts', async () => {
    const t = await activated()
    t.emulator.revoke(t.key)
    const state = await t.licensing.refresh()
    expect(state).toMatchObject({
      status: 'inactive',
      reason: 'revoked',
      license: { displayKey: t.key.displayKey },
    })
    expect(state).toMatchObject({ detail: 'License key is no longer active.' })
    expect(describeWords(state).detail).toMatch(/revoked or disabled/)
    const restarted = t.make()
    expect(await restarted.check({ online: 'never' })).toMatchObject({ reason: 'revoked' })
    // Revoked is final: auto does not keep asking Polar on every start.
    const before = t.emulator.requests.length
    await restarted.check()
    expect(t.emulator.requests.length).toBe(before)
  })

  it('a re-enabled key becomes active again on an explicit refresh', async () => {
    const t = await activated()
    t.emulator.disable(t.key)
    expect(await t.licensing.refresh()).toMatchObject({ reason: 'revoked' })
    t.emulator.grant(t.key)
    expect(await t.licensing.refresh()).toMatchObject({ status: 'active' })
    expect((await t.make().check({ online: 'never' })).status).toBe('active')
  })

  it('an expired key (the seller set expires_at) locks as expired', async () => {
    const t = await activated()
    t.emulator.expire(t.key)
    expect(await t.licensing.refresh()).toMatchObject({ status: 'inactive', reason: 'expired' })
    expect(await t.make().check({ online: 'never' })).toMatchObject({ reason: 'expired' })
  })

  it("a key's own expiry locks offline too, even inside the grace period", async () => {
    const t = await activated({ expiresAt: T0 + 3 * DAY })
    t.emulator.setOffline(true)
    t.advance(3 * DAY - 1)
    expect(await t.licensing.check()).toMatchObject({ status: 'grace', graceEndsAt: T0 + 3 * DAY })
    t.advance(1)
    expect(await t.licensing.check()).toMatchObject({ status: 'inactive', reason: 'expired' })
  })

  it('a rotated key is key_not_found (the old string is gone), not a removed seat', async () => {
    const t = await activated()
    t.emulator.rotate(t.key)
    const state = await t.licensing.refresh()
    expect(state).toMatchObject({ status: 'inactive', reason: 'key_not_found' })
    expect(describeWords(state).action).toMatch(/current license key/)
  })

  it('a deleted key is key_not_found', async () => {
    const t = await activated()
    t.emulator.remove(t.key)
    expect(await t.licensing.refresh()).toMatchObject({ reason: 'key_not_found' })
  })

  it('a seat removed in the customer portal is activation_not_found', async () => {
    const t = await activated()
    t.emulator.removeActivation(t.emulator.listActivations(t.key)[0]?.id ?? '')
    const state = await t.licensing.refresh()
    expect(state).toMatchObject({ status: 'inactive', reason: 'activation_not_found' })
    expect(await t.make().check({ online: 'never' })).toMatchObject({
      reason: 'activation_not_found',
    })
  })

  it('a validate-only key that was revoked locks too', async () => {
    const t = await activated({ limitActivations: null })
    t.emulator.revoke(t.key)
    expect(await t.licensing.refresh()).toMatchObject({ reason: 'revoked' })
  })

  it('activating again after a revocation throws revoked', async () => {
    const t = await activated()
    t.emulator.revoke(t.key)
    await t.licensing.refresh()
    await expect(t.licensing.activate(t.key.key)).rejects.toMatchObject({ code: 'revoked' })
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })
})

describe('a record copied to another machine', () => {
  it('is refused offline as machine_mismatch, and never sent to Polar', async () => {
    const t = await activated()
    const copy = memoryStore(await t.store.read())
    const other = t.make({ store: copy, machine: staticMachine('fp-machine-b') })
    const before = t.emulator.requests.length
    expect(await other.check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'machine_mismatch',
    })
    expect(await other.check({ online: 'always' })).toMatchObject({ reason: 'machine_mismatch' })
    expect(t.emulator.requests.length).toBe(before)
  })

  it('is refused by Polar too: the seat is bound to the original fingerprint', async () => {
    const t = await activated()
    const seat = t.emulator.listActivations(t.key)[0]
    await expect(
      t.client.validate({
        key: t.key.key,
        organizationId: t.emulator.organizationId,
        activationId: seat?.id ?? '',
        conditions: { keygate_machine: 'fp-machine-b' },
      }),
    ).rejects.toMatchObject({ code: 'conditions_mismatch' })
  })

  it('activating the key on the new machine takes its own seat and leaves the original one', async () => {
    const t = await activated()
    const copy = memoryStore(await t.store.read())
    const other = t.make({ store: copy, machine: staticMachine('fp-machine-b') })
    expect((await other.activate(t.key.key)).status).toBe('active')
    expect(t.emulator.listActivations(t.key)).toHaveLength(2)
    expect((await t.licensing.refresh()).status).toBe('active')
  })

  it('deactivating it only forgets the copy: the original seat stays', async () => {
    const t = await activated()
    const copy = memoryStore(await t.store.read())
    await t.make({ store: copy, machine: staticMachine('fp-machine-b') }).deactivate()
    expect(await copy.read()).toBeNull()
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })
})

describe('the clock', () => {
  it('refuses a clock set back beyond the tolerance, and accepts it once corrected', async () => {
    const t = await activated()
    t.advance(5 * HOUR)
    await t.licensing.check({ online: 'never' }) // the high-water mark moves to T0 + 5 h
    await t.licensing.settled()
    t.clock.now = T0 + 4 * HOUR
    expect((await t.licensing.check({ online: 'never' })).status).toBe('active')
    t.clock.now = T0 + 3 * HOUR
    const state = await t.licensing.check({ online: 'never' })
    expect(state).toMatchObject({ status: 'inactive', reason: 'clock_tampered' })
    expect(describeWords(state).detail).toMatch(/clock/)
    t.clock.now = T0 + 5 * HOUR
    expect((await t.licensing.check({ online: 'never' })).status).toBe('active')
  })

  it('cannot stretch grace by setting the clock back within the tolerance', async () => {
    const t = await activated()
    t.emulator.setOffline(true)
    t.advance(7 * DAY + 30 * 60 * 1000)
    await t.licensing.check() // grace expired, and this time is remembered
    await t.licensing.settled()
    t.advance(-45 * 60 * 1000)
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({ reason: 'grace_expired' })
  })

  it('writes the high-water mark at most once per hour of observed time', async () => {
    const t = await activated()
    const writes = () => t.counted.writes
    const start = writes()
    for (const minutes of [10, 30, 59, 60]) {
      t.clock.now = T0 + minutes * 60_000
      await t.licensing.check({ online: 'never' })
      await t.licensing.settled()
    }
    expect(writes()).toBe(start)
    t.clock.now = T0 + 61 * 60_000
    await t.licensing.check({ online: 'never' })
    await t.licensing.settled()
    expect(writes()).toBe(start + 1)
    for (const minutes of [62, 90, 121]) {
      t.clock.now = T0 + minutes * 60_000
      await t.licensing.check({ online: 'never' })
      await t.licensing.settled()
    }
    expect(writes()).toBe(start + 1)
    t.clock.now = T0 + 122 * 60_000
    await t.licensing.check({ online: 'never' })
    await t.licensing.settled()
    expect(writes()).toBe(start + 2)
  })

  it('a successful validation forgives a clock that was once ahead', async () => {
    const t = await activated()
    t.clock.now = T0 + 30 * DAY // wrong clock, far ahead; Polar's clock follows ours here
    t.emulator.advance(-30 * DAY)
    await t.licensing.check({ online: 'never' })
    await t.licensing.settled()
    t.clock.now = T0 + HOUR // corrected
    t.emulator.advance(30 * DAY)
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({
      reason: 'clock_tampered',
    })
    expect(await t.licensing.check()).toMatchObject({ status: 'active', validatedAt: T0 + HOUR })
  })
})
