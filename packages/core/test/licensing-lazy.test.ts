import { afterEach, describe, expect, it, vi } from 'vitest'
import { staticMachine } from '../src/machine.js'
import { memoryStore } from '../src/store.js'
import { setup } from './licensing-fixture.js'

afterEach(() => {
  vi.doUnmock('../src/polar-client.js')
  vi.resetModules()
})

describe('the start-up path', () => {
  it("check({ online: 'never' }) never loads the HTTP client; going online does", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const record = await t.store.read()

    const loads: string[] = []
    vi.resetModules()
    vi.doMock('../src/polar-client.js', async (importOriginal) => {
      loads.push('polar-client')
      return importOriginal()
    })
    const { createLicensing } = await import('../src/licensing.js')
    const licensing = createLicensing({
      organizationId: t.emulator.organizationId,
      store: memoryStore(record),
      machine: staticMachine('fp-machine-a'),
      server: 'http://emulator.local',
      fetch: t.emulator.fetch,
      now: () => t.clock.now,
    })
    t.advance(3 * 24 * 60 * 60 * 1000)
    expect((await licensing.check({ online: 'never' })).status).toBe('grace')
    expect(loads).toEqual([])
    expect((await licensing.check()).status).toBe('active')
    expect(loads).toEqual(['polar-client'])
  })
})
