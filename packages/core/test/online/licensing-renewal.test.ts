import { describe, expect, it } from 'vitest'
import { DAY, HOUR, setup, T0 } from './licensing-fixture.js'

const PERIOD = 30 * DAY

/** A subscription key: its expires_at is the end of the paid period. */
async function subscribed() {
  const t = setup({ expiresAt: T0 + PERIOD })
  await t.licensing.activate(t.key.key)
  return t
}

describe('a subscription renewal (Polar extends expires_at)', () => {
  it('unlocks on the next auto check once the cached expiry has passed', async () => {
    const t = await subscribed()
    t.advance(PERIOD)
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({ reason: 'expired' })
    t.emulator.updateKey(t.key, { expiresAt: T0 + 2 * PERIOD })
    const state = await t.licensing.check()
    expect(state).toMatchObject({
      status: 'active',
      validatedAt: T0 + PERIOD,
      expiresAt: T0 + 2 * PERIOD,
    })
    expect((await t.make().check({ online: 'never' })).status).toBe('active')
  })

  it('asks Polar at most once per revalidateAfter while it still says expired', async () => {
    const t = await subscribed()
    t.advance(PERIOD)
    const before = t.emulator.requests.length
    expect(await t.licensing.check()).toMatchObject({ status: 'inactive', reason: 'expired' })
    expect(t.endpoints(before)).toEqual(['validate'])
    for (let i = 0; i < 5; i++) {
      t.advance(4 * HOUR)
      expect(await t.licensing.check()).toMatchObject({ reason: 'expired' })
    }
    expect(t.endpoints(before)).toEqual(['validate'])
    // The renewal came late: picked up by the first auto check a day after Polar's answer.
    t.emulator.updateKey(t.key, { expiresAt: T0 + 2 * PERIOD })
    t.advance(4 * HOUR)
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
    expect(t.endpoints(before)).toEqual(['validate', 'validate'])
  })

  it('stays expired, with the error and the record untouched, while Polar is unreachable', async () => {
    const t = await subscribed()
    t.advance(PERIOD)
    await t.licensing.check({ online: 'never' }) // the hourly clock mark…
    await t.licensing.settled() // …written in the background
    const bytes = await t.store.read()
    t.emulator.setOffline(true)
    expect(await t.licensing.check()).toMatchObject({
      status: 'inactive',
      reason: 'expired',
      error: { code: 'network' },
    })
    expect(await t.store.read()).toBe(bytes)
  })

  it('does not go online for an expiry still ahead (active, fresh)', async () => {
    const t = await subscribed()
    const before = t.emulator.requests.length
    t.advance(HOUR)
    expect((await t.licensing.check()).status).toBe('active')
    expect(t.endpoints(before)).toEqual([])
  })
})

describe('a definitive verdict is asked again, at most once per revalidateAfter', () => {
  it('a key the seller re-enables recovers within a day, without hammering Polar', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.emulator.disable(t.key)
    expect(await t.licensing.refresh()).toMatchObject({ reason: 'revoked' })
    const before = t.emulator.requests.length
    t.emulator.grant(t.key)
    for (let hours = 0; hours < 24; hours += 6) {
      expect(await t.make().check()).toMatchObject({ reason: 'revoked' })
      t.advance(6 * HOUR)
    }
    expect(t.endpoints(before)).toEqual([])
    // A day after the verdict: one request, and the key runs again.
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
    expect(t.endpoints(before)).toEqual(['validate'])
  })

  it('a verdict Polar repeats is renewed, so the next question is a day later again', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.emulator.removeActivation(t.emulator.listActivations(t.key)[0]?.id ?? '')
    expect(await t.licensing.refresh()).toMatchObject({ reason: 'activation_not_found' })
    const before = t.emulator.requests.length
    t.advance(DAY)
    expect(await t.licensing.check()).toMatchObject({ reason: 'activation_not_found' })
    // The removed activation, then the key alone to tell "seat removed" from "key gone".
    expect(t.endpoints(before)).toEqual(['validate', 'validate'])
    t.advance(DAY - 1)
    expect(await t.licensing.check()).toMatchObject({ reason: 'activation_not_found' })
    expect(t.endpoints(before)).toHaveLength(2)
  })

  it("online: 'never' still never asks", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.emulator.revoke(t.key)
    await t.licensing.refresh()
    const before = t.emulator.requests.length
    t.advance(3 * DAY)
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({ reason: 'revoked' })
    expect(t.endpoints(before)).toEqual([])
  })
})
