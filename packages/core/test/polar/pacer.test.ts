import { describe, expect, it } from 'vitest'
import { KeygateError } from '../../src/errors.js'
import { createPacer, pacedClient, pacerOf } from '../../src/polar/pacer.js'
import type { PolarClient } from '../../src/polar/types.js'

/** A pacer on a clock that only its waits (and the test) move. */
function paced() {
  const clock = { now: 1_000_000 }
  const sleeps: number[] = []
  const pacer = createPacer({
    now: () => clock.now,
    sleep: async (ms) => {
      sleeps.push(ms)
      clock.now += ms
    },
  })
  return { clock, sleeps, pacer }
}

describe('the pacer', () => {
  it('lets 3 requests through at once; the 4th waits a window after the 1st answer', async () => {
    const { clock, sleeps, pacer } = paced()
    const sent: number[] = []
    for (let i = 0; i < 4; i++) {
      const turn = await pacer.turn()
      sent.push(clock.now)
      clock.now += 50 // the answer takes 50 ms
      turn.settled()
    }
    expect(sleeps).toHaveLength(1)
    // Polar's window opened no later than the 1st answer (at +50 ms): the 4th goes after it.
    expect((sent[3] ?? 0) - (sent[0] ?? 0)).toBeGreaterThan(50 + 1000)
  })

  it('a 4th request waits while the 1st is still in flight', async () => {
    const { pacer } = paced()
    const first = await pacer.turn()
    await pacer.turn()
    await pacer.turn()
    let fourth = false
    const waiting = pacer.turn().then(() => {
      fourth = true
    })
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(fourth).toBe(false)
    first.settled()
    await waiting
    expect(fourth).toBe(true)
  })

  it("fails every turn at once during a 429's pause, and a clock set back ends it", async () => {
    const { clock, pacer } = paced()
    const turn = await pacer.turn()
    turn.settled(new KeygateError('rate_limited', 'blocked', { retryAfter: 60 }))
    clock.now += 20_000
    await expect(pacer.turn()).rejects.toMatchObject({ code: 'rate_limited', retryAfter: 40 })
    clock.now -= 3_600_000
    await expect(pacer.turn()).resolves.toBeDefined()
  })

  it('names a transient failure for a minute; a success ends the quiet minute', async () => {
    const { clock, pacer } = paced()
    ;(await pacer.turn()).settled(new KeygateError('server', 'down', { status: 503 }))
    expect(pacer.quiet()?.code).toBe('server')
    clock.now += 59_000
    expect(pacer.quiet()?.code).toBe('server')
    clock.now += 2_000
    expect(pacer.quiet()).toBeUndefined()
    ;(await pacer.turn()).settled(new KeygateError('timeout', 'slow'))
    ;(await pacer.turn()).settled()
    expect(pacer.quiet()).toBeUndefined()
    // A definitive answer is not a reason to be quiet.
    ;(await pacer.turn()).settled(new KeygateError('revoked', 'no'))
    expect(pacer.quiet()).toBeUndefined()
  })

  it('paces a client the app brought, one turn per call', async () => {
    const { sleeps, pacer } = paced()
    let calls = 0
    const inner: PolarClient = {
      baseURL: 'http://x',
      activate: () => Promise.reject(new Error('unused')),
      validate: async () => {
        calls++
        return { data: {} as never, serverTime: undefined, sandbox: false }
      },
      deactivate: () => Promise.reject(new Error('unused')),
    }
    const client = pacedClient(inner, pacer)
    expect(pacerOf(client)).toBe(pacer)
    for (let i = 0; i < 4; i++) await client.validate({ key: 'k', organizationId: 'o' })
    expect(calls).toBe(4)
    expect(sleeps).toHaveLength(1)
  })
})
