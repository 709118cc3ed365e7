import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LicenseState } from '../../src/offline/state.js'
import { DAY, HOUR, setup, T0 } from './licensing-fixture.js'

// A plain Node app: no Electron, no UI. It calls watch() once and only listens; the
// schedule alone must notice what the seller changed in Polar.

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
})
afterEach(() => {
  vi.useRealTimers()
})

const PERIOD = 30 * DAY

async function watched(keyOptions: Parameters<typeof setup>[0] = {}) {
  const t = setup(keyOptions)
  await t.licensing.activate(t.key.key)
  const seen: LicenseState[] = []
  t.licensing.subscribe((state) => {
    seen.push(state)
  })
  const stop = t.licensing.watch({ random: () => 0.5 })
  /** Lets the injected clock and the timers run together, an hour at a time. */
  const pass = async (ms: number) => {
    for (let left = ms; left > 0; left -= HOUR) {
      const step = Math.min(HOUR, left)
      t.advance(step)
      await vi.advanceTimersByTimeAsync(step)
    }
  }
  await vi.advanceTimersByTimeAsync(0)
  return { ...t, seen, stop, pass }
}

describe('licensing.watch() in a plain Node app', () => {
  it('recovers a renewed subscription without the user doing anything', async () => {
    const t = await watched({ expiresAt: T0 + PERIOD })
    await t.pass(PERIOD + 2 * HOUR)
    // Polar has not renewed yet: the app learns the key expired.
    expect(t.seen.at(-1)).toMatchObject({ status: 'inactive', reason: 'expired' })
    const activations = t.emulator.requests.filter((r) => r.endpoint === 'activate').length
    t.emulator.updateKey(t.key, { expiresAt: T0 + 2 * PERIOD })
    await t.pass(DAY + 2 * HOUR)
    expect(t.seen.at(-1)).toMatchObject({ status: 'active', expiresAt: T0 + 2 * PERIOD })
    expect(t.emulator.requests.filter((r) => r.endpoint === 'activate')).toHaveLength(activations)
    t.stop()
  })

  it('recovers a key the seller re-enables, and locks one the seller revokes', async () => {
    const t = await watched()
    t.emulator.revoke(t.key)
    await t.pass(DAY + 4 * HOUR)
    expect(t.seen.at(-1)).toMatchObject({ status: 'inactive', reason: 'revoked' })
    t.emulator.grant(t.key)
    await t.pass(DAY + 4 * HOUR)
    expect(t.seen.at(-1)).toMatchObject({ status: 'active' })
    t.stop()
  })

  it('a subscription key: ended (revoked) then resubscribed, recovers with the same seat', async () => {
    const t = await watched({ subscription: true })
    expect(t.key.expiresAt).toBeNull()
    t.emulator.endSubscription(t.key)
    await t.pass(DAY + 4 * HOUR)
    expect(t.seen.at(-1)).toMatchObject({ status: 'inactive', reason: 'revoked' })
    const activations = t.emulator.requests.filter((r) => r.endpoint === 'activate').length
    t.emulator.resubscribe(t.key)
    await t.pass(DAY + 4 * HOUR)
    expect(t.seen.at(-1)).toMatchObject({ status: 'active', expiresAt: null })
    expect(t.emulator.requests.filter((r) => r.endpoint === 'activate')).toHaveLength(activations)
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    t.stop()
  })

  it('sends nothing once stopped', async () => {
    const t = await watched()
    t.stop()
    const before = t.emulator.requests.length
    await t.pass(3 * DAY)
    expect(t.emulator.requests).toHaveLength(before)
  })
})
