import { describe, expect, it } from 'vitest'
import { describe as words } from '../../src/describe.js'
import { inspectRecord } from '../../src/offline/inspect.js'
import type { Keychain } from '../../src/offline/integrity.js'
import type { LicenseState } from '../../src/offline/state.js'
import { memoryStore } from '../../src/store.js'
import { DAY, HOUR, setup, T0 } from './licensing-fixture.js'

/**
 * Trials: the first check of a machine without a license starts one, days count down on
 * the injected clock, and it ends in `trial_expired`; a key activated meanwhile wins. The
 * start is kept tamper-evidently: a MAC and a keychain copy where a keychain exists.
 */

/** A keychain with the optional second slot, in memory. */
function keychain(seed = 7) {
  const secret = new Uint8Array(32).map((_, i) => (i * 31 + seed) & 0xff)
  const kept = new Map<string, Uint8Array>()
  const chain = {
    kind: 'keychain' as const,
    kept,
    calls: 0,
    async key() {
      chain.calls += 1
      return secret
    },
    async remember(name: string, bytes: Uint8Array) {
      chain.calls += 1
      kept.set(name, bytes)
    },
    async recall(name: string) {
      chain.calls += 1
      return kept.get(name) ?? null
    },
  } satisfies Keychain & Record<string, unknown>
  return chain
}

const summary = (state: LicenseState) =>
  state.status === 'inactive'
    ? `inactive:${state.reason}`
    : state.status === 'trial'
      ? `trial:${state.trial.daysLeft}`
      : state.status

describe("a keychain whose trial copy can no longer be read ('unreadable': its keyring was reset)", () => {
  it('refuses the trial as tampered, never starts a fresh one, and carries no error', async () => {
    const t = setup()
    const chain = keychain()
    const licensing = t.make({ trial: { days: 14 }, keychain: chain })
    expect(await licensing.check({ online: 'never' })).toMatchObject({ status: 'trial' })
    const reset: Keychain = {
      ...chain,
      recall: async (name) => (name === 'trial' ? 'unreadable' : chain.recall(name)),
    }
    await t.store.clear()
    const state = await t.make({ trial: { days: 14 }, keychain: reset }).check({ online: 'never' })
    expect(state).toMatchObject({ status: 'inactive', reason: 'tampered', note: { kind: 'trial' } })
    expect(state).not.toHaveProperty('error')
  })
})

describe('a trial on a machine without a license', () => {
  it('starts at the first check, counts down each day, then is trial_expired', async () => {
    const t = setup()
    const licensing = t.make({ trial: { days: 14 } })
    const first = await licensing.check({ online: 'never' })
    expect(first).toMatchObject({
      status: 'trial',
      trial: { startedAt: T0, endsAt: T0 + 14 * DAY, daysLeft: 14 },
      integrity: 'none',
    })
    const seen: string[] = []
    for (let day = 1; day <= 14; day++) {
      t.advance(DAY)
      seen.push(summary(await licensing.check()))
      await licensing.settled()
    }
    expect(seen).toEqual([
      ...Array.from({ length: 13 }, (_, i) => `trial:${13 - i}`),
      'inactive:trial_expired',
    ])
    const ended = await licensing.check()
    expect(ended).toMatchObject({ trial: { endsAt: T0 + 14 * DAY, daysLeft: 0 } })
    // No network for a trial: Polar never heard of this machine.
    expect(t.emulator.requests).toHaveLength(0)
    expect(words(ended, { locale: 'en-US' }).title).toBe('Trial ended')
    expect(words(first, { locale: 'en-US', now: T0 })).toMatchObject({
      title: 'Trial: 14 days left',
      detail: 'You are trying this app until March 15, 2026.',
    })
  })

  it('is started once: instances racing on one store converge on one start', async () => {
    const t = setup()
    const a = t.make({ trial: { days: 7 } })
    const b = t.make({ trial: { days: 7 }, now: () => t.clock.now + 5000 })
    const [sa, sb] = await Promise.all([a.check(), b.check()])
    expect(sa.status === 'trial' && sb.status === 'trial').toBe(true)
    if (sa.status !== 'trial' || sb.status !== 'trial') return
    expect(sa.trial.startedAt).toBe(sb.trial.startedAt)
    expect(t.counted.writes).toBe(1)
  })

  it('refuses trial.days that is not a positive whole number', () => {
    const t = setup()
    for (const days of [0, -1, 1.5, Number.NaN, '14', undefined]) {
      expect(() => t.make({ trial: { days } as never })).toThrow(
        expect.objectContaining({ code: 'invalid_input' }),
      )
    }
  })

  it('a machine with a grant does no trial work at start: no extra read, no keychain call', async () => {
    const t = setup()
    const chain = keychain()
    await t.make({ keychain: chain }).activate(t.key.key)
    const reads = { n: 0 }
    const inner = t.store
    const counting = {
      ...inner,
      read: () => {
        reads.n += 1
        return inner.read()
      },
    }
    const licensing = t.make({ store: counting, keychain: chain, trial: { days: 14 } })
    const before = chain.calls
    expect(await licensing.check({ online: 'never' })).toMatchObject({ status: 'active' })
    expect(reads.n).toBe(1)
    // The record's key, once: as without trials.
    expect(chain.calls - before).toBe(1)
  })
})

describe('activating during a trial', () => {
  it('is active, and deactivating afterwards starts no new trial', async () => {
    const t = setup()
    const licensing = t.make({ trial: { days: 14 } })
    await licensing.check()
    t.advance(3 * DAY)
    expect(await licensing.activate(t.key.key)).toMatchObject({ status: 'active' })
    t.advance(HOUR)
    expect(await licensing.check({ online: 'never' })).toMatchObject({ status: 'active' })
    const told: string[] = []
    licensing.subscribe((state) => told.push(summary(state)))
    await licensing.deactivate()
    expect(told).toEqual(['inactive:trial_expired'])
    const after = await licensing.check({ online: 'never' })
    // The trial ended with the activation, whatever days it had left.
    expect(after).toMatchObject({
      status: 'inactive',
      reason: 'trial_expired',
      trial: { startedAt: T0, endsAt: T0 + 3 * DAY },
    })
  })

  it('a refused activation keeps the trial running', async () => {
    const t = setup()
    const licensing = t.make({ trial: { days: 14 } })
    await licensing.check()
    t.emulator.revoke(t.key)
    await expect(licensing.activate(t.key.key)).rejects.toMatchObject({ code: 'revoked' })
    expect(summary(await licensing.check())).toBe('trial:14')
  })
})

describe('a trial kept with a keychain', () => {
  it('deleting the record mid-trial continues the trial, not restarted', async () => {
    const t = setup()
    const chain = keychain()
    const licensing = t.make({ keychain: chain, trial: { days: 14 } })
    expect(await licensing.check()).toMatchObject({ status: 'trial', integrity: 'keychain' })
    t.advance(5 * DAY)
    await t.store.clear()
    // A reinstall: a new instance, the same keychain.
    const again = t.make({ keychain: chain, trial: { days: 14 } })
    expect(await again.check()).toMatchObject({
      status: 'trial',
      trial: { startedAt: T0, daysLeft: 9 },
      integrity: 'keychain',
    })
    t.advance(10 * DAY)
    await t.store.clear()
    expect(summary(await again.check())).toBe('inactive:trial_expired')
  })

  it('an edited trial record (start moved later) is refused, not a longer trial', async () => {
    const t = setup()
    const chain = keychain()
    const licensing = t.make({ keychain: chain, trial: { days: 14 } })
    await licensing.check()
    t.advance(13 * DAY)
    const record = JSON.parse((await t.store.read()) ?? '') as { trial: Record<string, number> }
    record.trial.startedAt = T0 + 12 * DAY
    record.trial.endsAt = T0 + 26 * DAY
    await t.store.write(JSON.stringify(record))
    const state = await t.make({ keychain: chain, trial: { days: 14 } }).check()
    expect(state).toMatchObject({ status: 'inactive', reason: 'tampered', note: { kind: 'trial' } })
    expect(words(state).title).toBe('Trial record changed')
  })

  it('a hand-written plain grant carrying a forged trial gets no MAC on it (key unknown to Polar)', async () => {
    const t = setup()
    const chain = keychain()
    await t.make({ keychain: chain, trial: { days: 14 } }).check()
    t.advance(15 * DAY)
    const now = t.clock.now
    // A plain grant for a key Polar never issued, its clock mark a year ahead (so check()
    // goes online at once), carrying a trial that ends in a year and has not ended.
    const plain = memoryStore()
    await t.make({ store: plain }).activate(t.key.key)
    const grant = JSON.parse((await plain.read()) ?? '') as Record<string, unknown>
    delete grant.localValidatedAt
    grant.encodedKey = Buffer.from('NOT-A-REAL-KEY').toString('base64url')
    grant.clockHighWater = now + 365 * DAY
    grant.trial = { startedAt: now, endsAt: now + 366 * DAY, clockHighWater: now }
    await t.store.write(JSON.stringify(grant))
    await t.make({ keychain: chain, trial: { days: 14 } }).check()
    // The trial cut out of the record Polar's verdict was written into, as a trial record.
    const after = JSON.parse((await t.store.read()) ?? '') as { trial: unknown }
    await t.store.write(JSON.stringify({ v: 1, trial: after.trial }))
    expect(await t.make({ keychain: chain, trial: { days: 14 } }).check()).not.toMatchObject({
      status: 'trial',
    })
    // Nor does the keychain's copy of the trial (what a deleted record falls back to).
    await t.store.clear()
    expect(await t.make({ keychain: chain, trial: { days: 14 } }).check()).not.toMatchObject({
      status: 'trial',
    })
  })

  it('an edited keychain copy is refused once the record is gone', async () => {
    const t = setup()
    const chain = keychain()
    await t.make({ keychain: chain, trial: { days: 14 } }).check()
    const copy = JSON.parse(new TextDecoder().decode(chain.kept.get('trial'))) as Record<
      string,
      number
    >
    copy.startedAt = T0 + DAY
    chain.kept.set('trial', new TextEncoder().encode(JSON.stringify(copy)))
    await t.store.clear()
    expect(summary(await t.make({ keychain: chain, trial: { days: 14 } }).check())).toBe(
      'inactive:tampered',
    )
  })

  it('a clock set back beyond the tolerance is clock_tampered', async () => {
    const t = setup()
    const chain = keychain()
    const licensing = t.make({ keychain: chain, trial: { days: 14 } })
    await licensing.check()
    t.advance(10 * DAY)
    // The hourly mark moves with the checks.
    expect(summary(await licensing.check())).toBe('trial:4')
    await licensing.settled()
    t.advance(-5 * DAY)
    expect(await licensing.check()).toMatchObject({
      status: 'inactive',
      reason: 'clock_tampered',
      note: { kind: 'trial' },
    })
    // Within the tolerance it runs on, counted from the latest instant seen.
    t.advance(5 * DAY - 30 * 60 * 1000)
    expect(summary(await licensing.check())).toBe('trial:4')
  })

  it('a start recorded after the local clock (the clock since set back) is clock_tampered', async () => {
    const t = setup()
    const chain = keychain()
    await t.make({ keychain: chain, trial: { days: 14 }, now: () => T0 + 30 * DAY }).check()
    expect(summary(await t.make({ keychain: chain, trial: { days: 14 } }).check())).toBe(
      'inactive:clock_tampered',
    )
  })
})

describe('a trial without a keychain (a courtesy trial)', () => {
  it('deleting the record restarts it, as documented', async () => {
    const t = setup()
    const licensing = t.make({ trial: { days: 14 } })
    await licensing.check()
    t.advance(10 * DAY)
    await t.store.clear()
    expect(await licensing.check()).toMatchObject({
      status: 'trial',
      trial: { startedAt: T0 + 10 * DAY, daysLeft: 14 },
      integrity: 'none',
    })
  })

  it('refuses a trial start in the future of the local clock', async () => {
    const t = setup()
    const licensing = t.make({ trial: { days: 14 } })
    await licensing.check()
    const record = JSON.parse((await t.store.read()) ?? '') as { trial: Record<string, number> }
    record.trial.startedAt = T0 + 30 * DAY
    record.trial.endsAt = T0 + 44 * DAY
    await t.store.write(JSON.stringify(record))
    expect(summary(await licensing.check())).toBe('inactive:tampered')
  })

  it('still refuses a clock set back beyond the tolerance', async () => {
    const t = setup()
    const licensing = t.make({ trial: { days: 14 } })
    await licensing.check()
    t.advance(2 * DAY)
    await licensing.check()
    await licensing.settled()
    t.advance(-2 * DAY)
    expect(summary(await licensing.check())).toBe('inactive:clock_tampered')
  })
})

describe('inspectRecord and a trial record', () => {
  it('says kind trial with its times', async () => {
    const store = memoryStore()
    const t = setup()
    await t.make({ store, trial: { days: 14 } }).check()
    const seen = await inspectRecord(store, { now: T0 + 2 * DAY })
    expect(seen).toMatchObject({
      kind: 'trial',
      state: { status: 'trial', trial: { daysLeft: 12 } },
      trial: { startedAt: T0, endsAt: T0 + 14 * DAY, signed: false },
    })
  })
})
