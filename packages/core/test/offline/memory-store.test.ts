import { afterEach, describe, expect, it } from 'vitest'
import { type LicenseStore, memoryStore } from '../../src/store.js'
import { storeContract } from '../../src/testing/store-contract.js'

storeContract({ describe, it, expect, afterEach }, () => memoryStore(), { name: 'memoryStore' })

describe('memoryStore extras', () => {
  it('starts with the initial text and lists what quarantine moved aside, with the reason', async () => {
    const store = memoryStore('{ damaged')
    expect(await store.read()).toBe('{ damaged')
    await store.quarantine('not valid JSON')
    expect(store.quarantined).toEqual([{ text: '{ damaged', reason: 'not valid JSON' }])
  })
})

describe('storeContract itself', () => {
  // Collects the cases instead of registering them, so a broken store can be run through them.
  async function failuresFor(makeStore: () => LicenseStore): Promise<string[]> {
    const cases: Array<[string, () => Promise<void>]> = []
    storeContract(
      { describe: (_name, fn) => fn(), it: (name, fn) => cases.push([name, fn]), expect },
      makeStore,
    )
    const failed: string[] = []
    for (const [name, fn] of cases) await fn().catch(() => failed.push(name))
    return failed
  }

  it('passes a correct store', async () => {
    expect(await failuresFor(() => memoryStore())).toEqual([])
  })

  it('catches a lock that does not serialize', async () => {
    const failed = await failuresFor(() => ({ ...memoryStore(), lock: (fn) => fn() }))
    expect(failed).toContain(
      'never lets two holders overlap, and runs them in the order they asked',
    )
    expect(failed).toContain('loses no update when holders read, modify and write concurrently')
  })

  it('catches a store that keeps text after clear or quarantine', async () => {
    const failed = await failuresFor(() => ({
      ...memoryStore(),
      clear: async () => {},
      quarantine: async () => 'nowhere',
    }))
    expect(failed).toContain('reads null after clear, and can be written again')
    expect(failed).toContain('quarantine moves the record aside, says where, and then reads null')
    expect(failed).toContain('quarantine on an empty store returns null')
  })
})
