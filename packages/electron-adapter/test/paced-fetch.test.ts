import { describe, expect, it } from 'vitest'
import { createPacer } from '../src/paced-fetch.js'

describe('the pacer (the one throttle under net.fetch and the IPC bridge)', () => {
  it('lets at most `requests` events into any sliding window and says how long to wait', () => {
    let t = 1_000
    const pacer = createPacer({ now: () => t, requests: 3, windowMs: 1_250 })
    expect([pacer.take(), pacer.take(), pacer.take()]).toEqual([0, 0, 0])
    expect(pacer.take()).toBe(1_250)
    t += 1_249
    expect(pacer.next()).toBe(1)
    t += 1
    expect(pacer.take()).toBe(0)
  })

  it('never asks to wait longer than one window after the clock was set back', () => {
    let t = 10_000
    const pacer = createPacer({ now: () => t, requests: 1, windowMs: 5_000 })
    pacer.mark()
    t -= 60_000
    expect(pacer.next()).toBe(5_000)
  })

  it('waits in order for a slot', async () => {
    let t = 0
    const pacer = createPacer({ now: () => t, requests: 1, windowMs: 5 })
    const order: number[] = []
    const first = pacer.wait().then(() => order.push(1))
    const second = pacer.wait().then(() => order.push(2))
    await first
    t = 5
    await second
    expect(order).toEqual([1, 2])
  })
})
