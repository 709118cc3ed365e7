import type { LicenseStore } from '../store.js'

/**
 * The part of a test runner the contract needs. Vitest's and Jest's globals fit, and so
 * does `node:test` with an assertion adapter: the runner is passed in, so it is never a
 * runtime dependency of `@keygate/core`.
 */
export interface ContractTestApi {
  describe(name: string, fn: () => void): unknown
  it(name: string, fn: () => Promise<void>): unknown
  expect(actual: unknown): ContractAssertion
  afterEach?: ((fn: () => Promise<void>) => unknown) | undefined
}

export interface ContractAssertion {
  toBe(expected: unknown): void
  toEqual(expected: unknown): void
  toBeNull(): void
  readonly not: { toBe(expected: unknown): void; toBeNull(): void }
}

export interface StoreContractOptions {
  /** The suite's name in the report. Default `LicenseStore contract`. */
  name?: string | undefined
  /** Called after each case with the store it used (close handles, remove temp dirs). */
  cleanup?: ((store: LicenseStore) => Promise<void> | void) | undefined
}

/**
 * The cases every `LicenseStore` must pass. Each case gets a fresh, empty store from
 * `makeStore`. Usage with vitest:
 *
 * ```ts
 * import { describe, expect, it } from 'vitest'
 * storeContract({ describe, it, expect }, () => memoryStore())
 * ```
 */
export function storeContract(
  api: ContractTestApi,
  makeStore: () => LicenseStore | Promise<LicenseStore>,
  options: StoreContractOptions = {},
): void {
  const { describe, it, expect } = api
  const made: LicenseStore[] = []
  const fresh = async (): Promise<LicenseStore> => {
    const store = await makeStore()
    made.push(store)
    return store
  }
  api.afterEach?.(async () => {
    const stores = made.splice(0)
    for (const store of stores) await options.cleanup?.(store)
  })

  describe(options.name ?? 'LicenseStore contract', () => {
    it('reads null from a new store', async () => {
      expect(await (await fresh()).read()).toBeNull()
    })

    it('reads back exactly what was written', async () => {
      const store = await fresh()
      const text = '{"v":1,"key":"x"}\n'
      await store.write(text)
      expect(await store.read()).toBe(text)
    })

    it('keeps unicode text intact', async () => {
      const store = await fresh()
      const text = 'Läufer 🚀 ライセンス e\u0301 \u2028 "quoted" \\ back\r\nnext'
      await store.write(text)
      expect(await store.read()).toBe(text)
    })

    it('keeps a large record (about 100 KB) intact', async () => {
      const store = await fresh()
      const text = JSON.stringify({ pad: 'abcdefghij'.repeat(10_000), end: 'ß' })
      await store.write(text)
      expect(await store.read()).toBe(text)
    })

    it('replaces the whole text on overwrite, also with a shorter one', async () => {
      const store = await fresh()
      await store.write('a much longer first record')
      await store.write('short')
      expect(await store.read()).toBe('short')
    })

    // `writeQuick` is optional too; where a store has it, it replaces the text as `write` does.
    it('writeQuick replaces the whole text, longer or shorter, and write follows it', async () => {
      const store = await fresh()
      if (store.writeQuick === undefined) return
      await store.writeQuick('first, quick')
      expect(await store.read()).toBe('first, quick')
      await store.write('a note')
      await store.writeQuick('a longer note, quick')
      expect(await store.read()).toBe('a longer note, quick')
      await store.writeQuick('short')
      expect(await store.read()).toBe('short')
      await store.write('durable')
      expect(await store.read()).toBe('durable')
    })

    // `pacing` is optional; where a store has it, it keeps its own text beside the record's.
    it('pacing keeps its text apart from the record, through write, clear and quarantine', async () => {
      const store = await fresh()
      if (store.pacing === undefined) return
      expect(await store.pacing.read()).toBeNull()
      await store.pacing.write('{"v":1,"sent":[{"s":1,"a":2}]}')
      await store.pacing.write('{"v":1}')
      expect(await store.pacing.read()).toBe('{"v":1}')
      expect(await store.read()).toBeNull()
      await store.write('record')
      await store.clear()
      await store.quarantine?.('damaged')
      expect(await store.pacing.read()).toBe('{"v":1}')
      expect(await store.read()).toBeNull()
    })

    it('reads null after clear, and can be written again', async () => {
      const store = await fresh()
      await store.write('record')
      await store.clear()
      expect(await store.read()).toBeNull()
      await store.write('again')
      expect(await store.read()).toBe('again')
    })

    it('clears an empty store without an error, twice', async () => {
      const store = await fresh()
      await store.clear()
      await store.clear()
      expect(await store.read()).toBeNull()
    })

    it("returns the function's value from lock", async () => {
      const store = await fresh()
      expect(await store.lock(async () => 42)).toBe(42)
    })

    it('rethrows what the function threw and releases the lock', async () => {
      const store = await fresh()
      const failure = new Error('inside the lock')
      let caught: unknown
      try {
        await store.lock(async () => {
          throw failure
        })
      } catch (error) {
        caught = error
      }
      expect(caught).toBe(failure)
      // Still usable: a lock left held would never run this.
      expect(await store.lock(async () => 'next')).toBe('next')
    })

    it('never lets two holders overlap, and runs them in the order they asked', async () => {
      const store = await fresh()
      const events: string[] = []
      let inside = 0
      let overlapped = false
      const hold = (name: string) =>
        store.lock(async () => {
          inside += 1
          if (inside > 1) overlapped = true
          events.push(`${name}:start`)
          await pause()
          events.push(`${name}:end`)
          inside -= 1
        })
      await Promise.all([hold('a'), hold('b'), hold('c')])
      expect(overlapped).toBe(false)
      expect(events).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end'])
    })

    it('loses no update when holders read, modify and write concurrently', async () => {
      const store = await fresh()
      await store.write('0')
      const increment = () =>
        store.lock(async () => {
          const value = Number(await store.read())
          await pause()
          await store.write(String(value + 1))
        })
      await Promise.all(Array.from({ length: 5 }, increment))
      expect(await store.read()).toBe('5')
    })

    it('shows a write made inside the lock to readers after it', async () => {
      const store = await fresh()
      await store.lock(async () => {
        await store.write('from inside')
        expect(await store.read()).toBe('from inside')
      })
      expect(await store.read()).toBe('from inside')
    })

    // Moving aside is optional: a store without it keeps an unreadable record until the
    // next activation replaces it. A store that has it must do it right.
    it('quarantine moves the record aside, says where, and then reads null', async () => {
      const store = await fresh()
      if (store.quarantine === undefined) return
      await store.write('{ damaged')
      const where = await store.quarantine?.('not valid JSON')
      expect(typeof where).toBe('string')
      expect(where).not.toBe('')
      expect(await store.read()).toBeNull()
      await store.write('fresh')
      expect(await store.read()).toBe('fresh')
    })

    it('quarantine on an empty store returns null', async () => {
      const store = await fresh()
      if (store.quarantine === undefined) return
      expect(await store.quarantine?.('nothing there')).toBeNull()
      expect(await store.read()).toBeNull()
    })

    it('quarantines two records without one replacing the other', async () => {
      const store = await fresh()
      if (store.quarantine === undefined) return
      await store.write('first')
      const first = await store.quarantine?.('first damaged record')
      await store.write('second')
      const second = await store.quarantine?.('second damaged record')
      expect(first).not.toBeNull()
      expect(second).not.toBeNull()
      expect(second).not.toBe(first)
    })
  })
}

/** Yields to the event loop long enough for a competing lock attempt to get going. */
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 15))
}
