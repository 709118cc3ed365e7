import { describe, expect, it, vi } from 'vitest'
import { DAY, setup } from './licensing-fixture.js'

/**
 * An app may call `check()` (default `auto`) on every window focus or gated action. While
 * Polar's edge keeps failing (an outage's 503s, a proxy refusing the host), each of those
 * calls must not become a request: every seat behind one IP shares Polar's 3 requests/s.
 */
describe("check({ online: 'auto' }) while Polar keeps failing", () => {
  it('asks Polar at most once a minute, answering from the cache in between', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.advance(2 * DAY) // in grace: every auto check would like to revalidate
    t.emulator.failNext(100, 503)
    const before = t.emulator.requests.length
    for (let i = 0; i < 10; i++) {
      expect(await t.licensing.check()).toMatchObject({
        status: 'grace',
        why: 'unreachable',
        error: { code: 'server' },
      })
      t.advance(1000)
    }
    expect(t.endpoints(before)).toEqual(['validate'])
    t.advance(60_000)
    expect((await t.licensing.check()).status).toBe('grace')
    expect(t.endpoints(before)).toEqual(['validate', 'validate'])
  })

  it.each([
    ['a captive portal (200, its sign-in page)', 'html'],
    ['a proxy cutting the body short (200, broken JSON)', 'invalid_json'],
  ] as const)('%s: a 200 that is not Polar’s answer quiets it too', async (_, fault) => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.advance(9 * DAY) // grace is over: the app stays locked until a validation succeeds
    t.emulator.failNext(100, fault)
    const before = t.emulator.requests.length
    for (let i = 0; i < 10; i++) {
      expect(await t.licensing.check()).toMatchObject({
        status: 'inactive',
        reason: 'grace_expired',
        error: { code: 'bad_response' },
      })
      t.advance(1000)
    }
    expect(t.endpoints(before)).toEqual(['validate'])
  })

  it('still lets refresh() ask at once, and a success ends the quiet minute', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.advance(2 * DAY)
    t.emulator.failNext(1, 503)
    expect(await t.licensing.check()).toMatchObject({ error: { code: 'server' } })
    expect((await t.licensing.refresh()).status).toBe('active')
    t.advance(2 * DAY)
    const before = t.emulator.requests.length
    expect((await t.licensing.check()).status).toBe('active')
    expect(t.endpoints(before)).toEqual(['validate'])
  })
})

describe('an hour of checks once a second while every request times out', () => {
  it('sends about one request a minute, none while one is still waiting', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const t = setup({}, { timeoutMs: 10_000 })
      await t.licensing.activate(t.key.key)
      t.advance(2 * DAY)
      t.emulator.failNext(100_000, 'hang')
      const before = t.emulator.requests.length
      const pending: Promise<unknown>[] = []
      // The app's own timer: a check every second, not waiting for the last one.
      for (let second = 0; second < 3600; second++) {
        pending.push(t.licensing.check())
        t.advance(1000)
        await vi.advanceTimersByTimeAsync(1000)
      }
      await vi.advanceTimersByTimeAsync(20_000)
      const states = (await Promise.all(pending)) as Array<{ status: string }>
      expect(states.every((state) => state.status === 'grace')).toBe(true)
      const sent = t.emulator.requests.length - before
      // The quiet minute starts when a timed-out attempt ends: one per 70 s at most.
      expect(sent).toBeGreaterThanOrEqual(40)
      expect(sent).toBeLessThanOrEqual(61)
    } finally {
      vi.useRealTimers()
    }
  }, 60_000)
})
