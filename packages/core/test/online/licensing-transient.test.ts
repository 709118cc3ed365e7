import { describe, expect, it } from 'vitest'
import { KeygateError, type KeygateErrorCode } from '../../src/errors.js'
import type { LicenseState } from '../../src/offline/state.js'
import type { LicenseStore } from '../../src/store.js'
import type { FaultKind } from '../../src/testing/index.js'
import type { Licensing } from '../../src/types.js'
import { DAY, HOUR, setup } from './licensing-fixture.js'

// "Transient failures never downgrade a grant": for every way the network or Polar's edge
// fails, on every path that goes online, the record stays byte-for-byte and the state is
// what the cached record says, with the error beside it.

type Fault = FaultKind | 429

const FAULTS: Array<[Fault, KeygateErrorCode]> = [
  ['reset', 'network'],
  [500, 'server'],
  [502, 'server'],
  [503, 'server'],
  ['html', 'bad_response'],
  ['invalid_json', 'bad_response'],
  ['timeout', 'timeout'],
  [429, 'rate_limited'],
]

type Op = 'check always' | 'check auto' | 'refresh' | 'activate'

const AGES: Array<{ name: string; ms: number; ops: Op[] }> = [
  { name: 'fresh (1 h)', ms: HOUR, ops: ['check always', 'refresh'] },
  {
    name: 'in grace (2 days)',
    ms: 2 * DAY,
    ops: ['check always', 'check auto', 'refresh', 'activate'],
  },
  { name: 'past grace (8 days)', ms: 8 * DAY, ops: ['check always', 'check auto', 'refresh'] },
]

const CASES = AGES.flatMap((age) =>
  age.ops.flatMap((op) => FAULTS.map(([fault, code]) => ({ age, op, fault, code }))),
)

/**
 * An activated machine, `ms` later, with the hourly clock mark already written, so any
 * write from here on would come from the failed request.
 */
const PER_SECOND = 2

async function activatedAndAged(ms: number, fault?: Fault) {
  // As many requests per second as an activation sends (validate, then activate): a 429 is
  // one extra request away. A hang needs a short timeout.
  const t = setup(
    {},
    {
      rateLimit: { requests: PER_SECOND, perMs: 1000, blockMs: 60_000 },
      ...(fault === 'timeout' ? { timeoutMs: 100 } : {}),
    },
  )
  await t.licensing.activate(t.key.key)
  t.advance(ms)
  const cached = await t.licensing.check({ online: 'never' })
  await t.licensing.settled()
  return { ...t, cached, bytes: await t.store.read(), writes: t.counted.writes }
}

async function inject(t: Awaited<ReturnType<typeof activatedAndAged>>, fault: Fault) {
  if (fault === 429) {
    // Other apps behind the same IP used this second's requests.
    for (let n = 0; n < PER_SECOND; n++) {
      await t.emulator.fetch('/v1/customer-portal/license-keys/validate', { method: 'POST' })
    }
  } else {
    t.emulator.failNext(1, fault)
  }
}

function run(licensing: Licensing, op: Op, key: string): Promise<LicenseState> {
  switch (op) {
    case 'check always':
      return licensing.check({ online: 'always' })
    case 'check auto':
      return licensing.check()
    case 'refresh':
      return licensing.refresh()
    case 'activate':
      return licensing.activate(key)
  }
}

/** The cached state with the error beside it; grace then says Polar was unreachable. */
function expectCached(state: LicenseState, cached: LicenseState, code: KeygateErrorCode) {
  const { error, ...rest } = state
  expect(error).toBeInstanceOf(KeygateError)
  expect(error).toMatchObject({ code, transient: true })
  expect(rest).toEqual(cached.status === 'grace' ? { ...cached, why: 'unreachable' } : cached)
}

describe('a transient failure leaves the record and the state as cached', () => {
  it.each(CASES)('$age.name, $op, $fault → $code', async ({ age, op, fault, code }) => {
    const t = await activatedAndAged(age.ms, fault)
    await inject(t, fault)
    const before = t.emulator.requests.length
    const state = await run(t.licensing, op, t.key.key)
    expect(t.endpoints(before)).toEqual(['validate'])
    expectCached(state, t.cached, code)
    expect(await t.store.read()).toBe(t.bytes)
    expect(t.counted.writes).toBe(t.writes)
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it.each(FAULTS)(
    'activate past grace, %s: throws %s (the app may not run) and writes nothing',
    async (fault, code) => {
      const t = await activatedAndAged(8 * DAY, fault)
      await inject(t, fault)
      await expect(t.licensing.activate(t.key.key)).rejects.toMatchObject({ code })
      expect(await t.store.read()).toBe(t.bytes)
      expect(t.counted.writes).toBe(t.writes)
      expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    },
  )

  it.each(FAULTS)(
    'deactivate, %s: throws %s and keeps the grant, so it can be retried',
    async (fault, code) => {
      const t = await activatedAndAged(HOUR, fault)
      await inject(t, fault)
      await expect(t.licensing.deactivate()).rejects.toMatchObject({ code })
      expect(await t.store.read()).toBe(t.bytes)
      expect((await t.licensing.check({ online: 'never' })).status).toBe('active')
    },
  )
})

describe('a store lock that times out', () => {
  const timedOut = () => new KeygateError('store', 'Another instance is holding the license lock.')

  it.each<{ age: string; ms: number; op: Op }>([
    { age: 'fresh', ms: HOUR, op: 'check always' },
    { age: 'fresh', ms: HOUR, op: 'refresh' },
    { age: 'fresh', ms: HOUR, op: 'activate' },
    { age: 'in grace', ms: 2 * DAY, op: 'check always' },
    { age: 'in grace', ms: 2 * DAY, op: 'check auto' },
    { age: 'in grace', ms: 2 * DAY, op: 'refresh' },
    { age: 'in grace', ms: 2 * DAY, op: 'activate' },
    { age: 'past grace', ms: 8 * DAY, op: 'check auto' },
  ])('$age, $op: reports the cached state with the error', async ({ ms, op }) => {
    const t = await activatedAndAged(ms)
    const error = timedOut()
    const busy: LicenseStore = { ...t.store, lock: () => Promise.reject(error) }
    const before = t.emulator.requests.length
    const state = await run(t.make({ store: busy }), op, t.key.key)
    expect(state).toEqual({ ...t.cached, error })
    expect(t.endpoints(before)).toEqual([])
    expect(await t.store.read()).toBe(t.bytes)
  })

  it('on the hourly clock mark: the check stands; the next one reports the error', async () => {
    const t = await activatedAndAged(HOUR)
    const error = timedOut()
    const busy: LicenseStore = { ...t.store, lock: () => Promise.reject(error) }
    t.advance(2 * HOUR)
    const licensing = t.make({ store: busy })
    const state = await licensing.check({ online: 'never' })
    expect(state).toMatchObject({ status: 'active' })
    expect(state.error).toBeUndefined()
    await licensing.settled() // the mark is written in the background
    expect(await licensing.check({ online: 'never' })).toMatchObject({ status: 'active', error })
    expect(await t.store.read()).toBe(t.bytes)
  })

  it('on deactivate: throws, and the grant stays', async () => {
    const t = await activatedAndAged(HOUR)
    const busy: LicenseStore = { ...t.store, lock: () => Promise.reject(timedOut()) }
    await expect(t.make({ store: busy }).deactivate()).rejects.toMatchObject({ code: 'store' })
    expect(await t.store.read()).toBe(t.bytes)
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })
})
