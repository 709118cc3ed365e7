import { describe, expect, it } from 'vitest'
import {
  createRequestPacer,
  defaultRateLimit,
  PRODUCTION_RATE_LIMIT,
  SANDBOX_RATE_LIMIT,
} from '../src/admin/request-pacer.js'

describe('request pacer', () => {
  it('lets concurrent callers through in order, never more than the limit per window and its margin', async () => {
    let now = 0
    const pace = createRequestPacer(
      { requests: 2, perMs: 1000 },
      () => now,
      async (ms) => {
        now += ms
      },
    )
    const passed: number[] = []
    await Promise.all(Array.from({ length: 7 }, () => pace().then(() => passed.push(now))))
    // Polar's fixed window includes its end instant and the network delays each request
    // differently: the pacer leaves a tenth of the window (at most 1 s) as margin.
    expect(passed).toEqual([0, 0, 1100, 1100, 2200, 2200, 3300])
  })

  it('does not wait when requests are already spread out', async () => {
    let now = 0
    const sleeps: number[] = []
    const pace = createRequestPacer(
      { requests: 2, perMs: 1000 },
      () => now,
      async (ms) => {
        sleeps.push(ms)
      },
    )
    for (let i = 0; i < 6; i++) {
      await pace()
      now += 600
    }
    expect(sleeps).toEqual([])
  })

  it("follows Polar's per-organization limits: 500 a minute in production, 100 in sandbox", () => {
    expect(defaultRateLimit('https://api.polar.sh')).toBe(PRODUCTION_RATE_LIMIT)
    expect(defaultRateLimit('https://sandbox-api.polar.sh')).toBe(SANDBOX_RATE_LIMIT)
    expect(PRODUCTION_RATE_LIMIT).toEqual({ requests: 500, perMs: 60_000 })
  })
})
