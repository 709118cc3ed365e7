import { describe, expect, it } from 'vitest'
import { parseGrant } from '../../src/offline/grant.js'
import type { LicenseState } from '../../src/offline/state.js'
import type { LicenseStore } from '../../src/store.js'
import { DAY, HOUR, setup, T0 } from './licensing-fixture.js'

/**
 * Machines whose clock is steadily wrong (a dual-boot RTC kept in local time, a dead CMOS
 * battery, no NTP): every offline decision runs on the local clock alone, so such a
 * machine is neither locked out nor given extra offline time.
 */

/** Polar's clock (the emulator's) is `polarMinusLocal` ms ahead of this machine's. */
function skewed(polarMinusLocal: number) {
  const t = setup()
  t.emulator.advance(polarMinusLocal)
  return t
}

describe('a local clock that is steadily wrong', () => {
  it.each([
    ['3 h behind', 3 * HOUR],
    ['3 h ahead', -3 * HOUR],
  ])(
    '%s: active after activating, never tampered, and ages on the local clock',
    async (_name, skew) => {
      const t = skewed(skew)
      expect(await t.licensing.activate(t.key.key)).toMatchObject({
        status: 'active',
        validatedAt: T0,
        nextCheckAt: T0 + DAY,
      })
      const before = t.emulator.requests.length
      t.advance(DAY - 1)
      expect((await t.licensing.check()).status).toBe('active')
      expect(t.endpoints(before)).toEqual([])
      t.advance(1)
      expect(await t.licensing.check()).toMatchObject({ status: 'active', validatedAt: T0 + DAY })
      expect(t.endpoints(before)).toEqual(['validate'])
      t.emulator.setOffline(true)
      t.advance(7 * DAY)
      expect((await t.licensing.check()).status).toBe('grace')
      t.advance(1)
      expect(await t.licensing.check()).toMatchObject({ reason: 'grace_expired' })
    },
  )

  it("ends at the key's expiry as Polar counts it, read on the local clock", async () => {
    const t = skewed(3 * HOUR) // at real time E, this clock reads E - 3 h
    const expiresAt = T0 + 3 * HOUR + 2 * DAY
    t.emulator.updateKey(t.key, { expiresAt: new Date(expiresAt).toISOString() })
    expect(await t.licensing.activate(t.key.key)).toMatchObject({
      expiresAt: expiresAt - 3 * HOUR,
      license: { expiresAt },
    })
    t.emulator.setOffline(true)
    t.clock.now = expiresAt - 3 * HOUR - 1
    expect((await t.licensing.check({ online: 'never' })).status).toBe('grace')
    t.clock.now = expiresAt - 3 * HOUR
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({ reason: 'expired' })
  })
})

describe('a clock set back', () => {
  it('a year before validating: runs, but no longer offline than grace', async () => {
    const t = skewed(365 * DAY)
    expect((await t.licensing.activate(t.key.key)).status).toBe('active')
    t.emulator.setOffline(true)
    t.advance(7 * DAY)
    expect((await t.licensing.check()).status).toBe('grace')
    t.advance(1)
    expect(await t.licensing.check()).toMatchObject({ reason: 'grace_expired' })
  })

  it('after validating, beyond the tolerance: tampered, until a validation forgives it', async () => {
    const t = skewed(0)
    await t.licensing.activate(t.key.key)
    t.advance(3 * HOUR)
    await t.licensing.check({ online: 'never' }) // the high-water mark moves to T0 + 3 h
    await t.licensing.settled()
    t.clock.now = T0 + HOUR
    t.emulator.advance(2 * HOUR) // Polar's clock goes on; this one was set back 2 h
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({
      reason: 'clock_tampered',
    })
    expect(await t.licensing.check()).toMatchObject({ status: 'active', validatedAt: T0 + HOUR })
  })
})

describe("the hourly high-water mark on check({ online: 'never' })", () => {
  async function mark(store: LicenseStore): Promise<number | undefined> {
    const text = await store.read()
    const parsed = parseGrant(typeof text === 'string' ? text : '')
    return parsed.ok ? parsed.grant.clockHighWater : undefined
  }

  it('is written in the background: the start-up check does not wait for it', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    // A slow disk (or another process holding the lock) for the mark's write.
    const slow: LicenseStore = { ...t.store, lock: async (fn) => held.then(() => t.store.lock(fn)) }
    const licensing = t.make({ store: slow })
    t.advance(2 * HOUR)
    let released = false
    const checked = licensing.check({ online: 'never' }).then((state) => ({ state, released }))
    // Only lets a check that waits for the write finish at all; it must not have waited.
    setTimeout(() => {
      released = true
      release()
    }, 0)
    const result = await checked
    expect(result.released).toBe(false)
    expect(result.state.status).toBe('active')
    await licensing.settled()
    expect(released).toBe(true)
    expect(await mark(t.store)).toBe(T0 + 2 * HOUR)
  })

  it('writes once however many checks overlap, and at most once per hour', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const start = t.counted.writes
    t.advance(2 * HOUR)
    await Promise.all([1, 2, 3].map(() => t.licensing.check({ online: 'never' })))
    await t.licensing.check({ online: 'never' })
    await t.licensing.settled()
    expect(t.counted.writes).toBe(start + 1)
    t.advance(HOUR)
    await t.licensing.check({ online: 'never' })
    await t.licensing.settled()
    expect(t.counted.writes).toBe(start + 1)
    expect(await mark(t.store)).toBe(T0 + 2 * HOUR)
  })

  it("reports a failed write as the next state's error and to subscribers, never thrown", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const broken: LicenseStore = {
      ...t.store,
      write: () => Promise.reject(new Error('EROFS: read-only file system')),
    }
    const licensing = t.make({ store: broken })
    const seen: LicenseState[] = []
    licensing.subscribe((state) => seen.push(state))
    t.advance(2 * HOUR)
    const first = await licensing.check({ online: 'never' })
    expect(first).toMatchObject({ status: 'active' })
    await licensing.settled()
    const next = await licensing.check({ online: 'never' })
    expect(next).toMatchObject({ status: 'active', error: { code: 'store' } })
    expect(seen.at(-1)?.error?.code).toBe('store')
    // Reported once; the mark is tried again (and still fails) meanwhile.
    await licensing.settled()
    expect(await mark(t.store)).toBe(T0)
  })
})
