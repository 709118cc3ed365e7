import { describe, expect, it } from 'vitest'
import type { LicenseState } from '../../src/offline/state.js'
import type { LicenseStore } from '../../src/store.js'
import { setup } from './licensing-fixture.js'

/**
 * A store whose next unlocked read is answered late (a slow disk, a busy event loop):
 * the check that made it reports what the record said before a write that finished
 * meanwhile. Subscribers (a UI, the Electron gate) must not be left on that old state.
 */
function slowNextRead(inner: LicenseStore) {
  let hold: Promise<void> | undefined
  let release = () => {}
  const store: LicenseStore = {
    ...inner,
    async read() {
      const text = await inner.read()
      const held = hold
      hold = undefined
      if (held) await held
      return text
    },
  }
  return {
    store,
    holdNextRead() {
      hold = new Promise<void>((resolve) => {
        release = resolve
      })
    },
    release: () => release(),
  }
}

const label = (s: LicenseState) => (s.status === 'inactive' ? s.reason : s.status)

describe('subscribe, with a check that overlaps a write', () => {
  it('does not tell listeners a state older than one they already heard (activate)', async () => {
    const t = setup()
    const slow = slowNextRead(t.store)
    const licensing = t.make({ store: slow.store })
    const seen: string[] = []
    licensing.subscribe((state) => seen.push(label(state)))
    slow.holdNextRead()
    const checked = licensing.check({ online: 'never' }) // reads the empty store, then stalls
    expect((await licensing.activate(t.key.key)).status).toBe('active')
    slow.release()
    // The caller still gets what it read; listeners stay on the newer state.
    expect(label(await checked)).toBe('not_activated')
    expect(seen.at(-1)).toBe('active')
    expect((await licensing.check({ online: 'never' })).status).toBe('active')
    expect(seen).toEqual(['active'])
  })

  it('does not tell listeners a state older than one they already heard (deactivate)', async () => {
    const t = setup()
    const slow = slowNextRead(t.store)
    const licensing = t.make({ store: slow.store })
    await licensing.activate(t.key.key)
    const seen: string[] = []
    licensing.subscribe((state) => seen.push(label(state)))
    slow.holdNextRead()
    const checked = licensing.check({ online: 'never' })
    await licensing.deactivate()
    slow.release()
    expect((await checked).status).toBe('active')
    expect(seen).toEqual(['not_activated'])
  })
})
