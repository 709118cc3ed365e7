import { describe, expect, it } from 'vitest'
import type { Machine } from '../../src/machine.js'
import type { LicenseState } from '../../src/offline/state.js'
import { setup } from './licensing-fixture.js'

/** A machine whose fast fingerprint is a cache; `verify()` reads the hardware. */
function cachedMachine(cached: string, hardware: string) {
  const calls = { verify: 0 }
  let current = cached
  const machine: Machine = {
    fingerprint: async () => current,
    label: async () => 'Mac',
    async verify() {
      calls.verify += 1
      // As node-store does: the cache is rewritten with the hardware's value.
      current = hardware
      return hardware
    },
  }
  return { machine, calls }
}

describe('a cached fingerprint is verified in the background', () => {
  it('a copy the cache did not catch becomes machine_mismatch soon after start', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const { machine, calls } = cachedMachine('fp-machine-a', 'fp-other-hardware')
    const licensing = t.make({ machine, machineVerifyDelayMs: 0 })
    const seen: LicenseState[] = []
    licensing.subscribe((state) => {
      seen.push(state)
    })
    expect((await licensing.check({ online: 'never' })).status).toBe('active')
    await licensing.settled()
    expect(calls.verify).toBe(1)
    expect(seen.at(-1)).toMatchObject({ status: 'inactive', reason: 'machine_mismatch' })
    expect(await licensing.check({ online: 'never' })).toMatchObject({
      reason: 'machine_mismatch',
    })
    // Verified once per instance, not on every check.
    expect(calls.verify).toBe(1)
  })

  it('the same hardware changes nothing and is asked once', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const { machine, calls } = cachedMachine('fp-machine-a', 'fp-machine-a')
    const licensing = t.make({ machine, machineVerifyDelayMs: 0 })
    const seen: LicenseState[] = []
    licensing.subscribe((state) => {
      seen.push(state)
    })
    await licensing.check({ online: 'never' })
    await licensing.settled()
    await licensing.check({ online: 'never' })
    expect(calls.verify).toBe(1)
    expect(seen.map((s) => s.status)).toEqual(['active'])
  })
})
