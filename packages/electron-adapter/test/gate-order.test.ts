import { type MemoryStore, memoryStore } from '@keygate/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { harness, START } from './harness.js'

beforeEach(() => {
  vi.useFakeTimers({ now: START })
})
afterEach(() => {
  vi.useRealTimers()
})

/** A store whose next read is answered late: a check overlapping an activate or deactivate. */
function slowNextRead() {
  const inner = memoryStore()
  let hold: Promise<void> | undefined
  let release = () => {}
  const store: MemoryStore = {
    ...inner,
    quarantined: inner.quarantined,
    async read() {
      const text = await inner.read()
      const held = hold
      hold = undefined
      if (held) await held
      return text
    },
  }
  const holdNextRead = () => {
    hold = new Promise<void>((resolve) => {
      release = resolve
    })
  }
  return { store, holdNextRead, release: () => release() }
}

const label = (s: { status: string; reason?: string }) => s.reason ?? s.status

describe('the gate, with a check that overlaps a write', () => {
  it('keeps its state and its listeners on the activation, not on the older check', async () => {
    const slow = slowNextRead()
    const h = harness({ store: slow.store })
    await h.gate.start()
    const seen: string[] = []
    h.gate.subscribe((state) => seen.push(label(state)))
    slow.holdNextRead()
    const checked = h.gate.check({ online: 'never' }) // e.g. the renderer asking over IPC
    expect((await h.gate.activate(h.key.key)).status).toBe('active')
    slow.release()
    expect(label(await checked)).toBe('not_activated')
    expect(h.gate.state?.status).toBe('active')
    expect(seen).toEqual(['active'])
    h.gate.stop()
  })

  it('keeps its state and its listeners on the deactivation, not on the older check', async () => {
    const slow = slowNextRead()
    const h = harness({ store: slow.store })
    await h.gate.start()
    await h.gate.activate(h.key.key)
    const seen: string[] = []
    h.gate.subscribe((state) => seen.push(label(state)))
    slow.holdNextRead()
    const checked = h.gate.check({ online: 'never' })
    await h.gate.deactivate()
    slow.release()
    expect((await checked).status).toBe('active')
    expect(h.gate.state).toMatchObject({ reason: 'not_activated' })
    expect(seen).toEqual(['not_activated'])
    h.gate.stop()
  })
})
