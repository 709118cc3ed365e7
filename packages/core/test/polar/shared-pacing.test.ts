import { describe, expect, it } from 'vitest'
import { KeygateError } from '../../src/errors.js'
import { createPacer } from '../../src/polar/pacer.js'
import type { PacingLog } from '../../src/store.js'

/**
 * Two processes of one store: two pacers on one clock, sharing one pacing log (as two
 * processes share `license.pacing.json`), each taking turns only while "holding the lock".
 */
function machine(initial: string | null = null) {
  const clock = { now: 1_000_000 }
  const sleeps: number[] = []
  let text = initial
  const log: PacingLog = {
    read: async () => text,
    write: async (next) => {
      text = next
    },
  }
  const process = () =>
    createPacer({
      now: () => clock.now,
      sleep: async (ms) => {
        sleeps.push(ms)
        clock.now += ms
      },
    })
  return { clock, sleeps, log, process, text: () => text }
}

/** One request under the lock: a turn, an answer `ms` later, then the lock is given up. */
async function request(
  pacer: ReturnType<typeof createPacer>,
  log: PacingLog,
  clock: { now: number },
  answer: { ms?: number; error?: unknown } = {},
): Promise<number> {
  const end = pacer.share(log)
  try {
    const turn = await pacer.turn()
    const sentAt = clock.now
    clock.now += answer.ms ?? 40
    turn.settled(answer.error)
    return sentAt
  } finally {
    await end()
  }
}

describe('pacing shared by the processes of one store', () => {
  it("a process's 4th request in a second waits a window after another process's 1st answer", async () => {
    const { clock, sleeps, log, process } = machine()
    const first = process()
    const second = process()
    const sent = [
      await request(first, log, clock),
      await request(first, log, clock),
      await request(second, log, clock),
      await request(second, log, clock),
    ]
    expect(sleeps).toHaveLength(1)
    // The window opened no later than the 1st answer (40 ms after it was sent).
    expect((sent[3] ?? 0) - (sent[0] ?? 0)).toBeGreaterThan(40 + 1000)
  })

  it("another process's 429 pauses this one without a request", async () => {
    const { clock, log, process } = machine()
    const blocked = new KeygateError('rate_limited', 'blocked', { retryAfter: 60 })
    await request(process(), log, clock, { error: blocked })
    clock.now += 10_000
    const later = process()
    const end = later.share(log)
    await expect(later.turn()).rejects.toMatchObject({ code: 'rate_limited', retryAfter: 50 })
    await end()
    // Remembered by that process too, outside the lock.
    await expect(later.turn()).rejects.toMatchObject({ code: 'rate_limited' })
    clock.now += 50_001
    await expect(later.turn()).resolves.toBeDefined()
  })

  it('a short Retry-After (waited out by the retry) pauses no other process', async () => {
    const { clock, log, process } = machine()
    const brief = new KeygateError('rate_limited', 'slow down', { retryAfter: 1 })
    await request(process(), log, clock, { error: brief })
    clock.now += 1_200
    const at = clock.now
    await expect(request(process(), log, clock)).resolves.toBe(at)
  })

  it('without share, turns ignore the log', async () => {
    const { clock, sleeps, log, process } = machine()
    const first = process()
    for (let i = 0; i < 3; i++) await request(first, log, clock)
    const other = process()
    const turn = await other.turn()
    turn.settled()
    expect(sleeps).toHaveLength(0)
  })

  it('a garbled or foreign log is read as no history', async () => {
    for (const text of ['{"sent": [', 'null', '{"sent": "x", "pausedUntil": "soon"}', '[1,2,3]']) {
      const { clock, sleeps, log, process } = machine(text)
      await request(process(), log, clock)
      expect(sleeps).toEqual([])
    }
  })

  it('times from a clock set back stall nothing: a future send or an endless pause is dropped', async () => {
    const { clock, sleeps, log, process } = machine()
    const now = clock.now
    await log.write(
      JSON.stringify({
        v: 1,
        sent: [{ s: now + 5_000 }, { s: now + 6_000 }, { s: now + 7_000 }],
        pausedUntil: now + 10 * 3_600_000,
      }),
    )
    await expect(request(process(), log, clock)).resolves.toBe(now)
    expect(sleeps).toEqual([])
  })

  it('a log that cannot be read or written costs nothing but the sharing', async () => {
    const { clock, sleeps, process } = machine()
    const broken: PacingLog = {
      read: async () => {
        throw new Error('EACCES')
      },
      write: async () => {
        throw new Error('ENOSPC')
      },
    }
    const pacer = process()
    for (let i = 0; i < 3; i++) await request(pacer, broken, clock)
    // The process's own window still holds.
    await request(pacer, broken, clock)
    expect(sleeps).toHaveLength(1)
  })

  it('the log holds times only, and only the last few', async () => {
    const { clock, log, process, text } = machine()
    const pacer = process()
    for (let i = 0; i < 12; i++) await request(pacer, log, clock)
    const saved = JSON.parse(text() ?? '{}') as { sent: Array<{ s: number; a?: number }> }
    expect(saved.sent.length).toBeLessThanOrEqual(8)
    for (const entry of saved.sent) {
      expect(Object.keys(entry).sort()).toEqual(['a', 's'])
      expect(entry.a).toBeGreaterThan(entry.s)
    }
  })
})
