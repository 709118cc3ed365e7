import { describe, expect, it } from 'vitest'
import { describe as words } from '../../src/describe.js'
import { allowsUpdate, can } from '../../src/offline/entitlements.js'
import { memoryStore } from '../../src/store.js'
import { DAY, setup, T0 } from '../online/licensing-fixture.js'

const YEAR = 365 * DAY

describe('tiers: entitlements map Polar benefits to features', () => {
  it('two benefits map to two feature sets; an unmapped benefit gets none', async () => {
    const t = setup()
    const pro = t.emulator.createKey({ limitActivations: 2, benefitId: crypto.randomUUID() })
    expect(pro.benefitId).not.toBe(t.key.benefitId)
    const entitlements = { [t.key.benefitId]: ['export'], [pro.benefitId]: ['export', 'sync'] }
    const basic = await t.make({ entitlements }).activate(t.key.key)
    expect(basic.features).toEqual(['export'])
    expect(basic.can?.('export')).toBe(true)
    expect(basic.can?.('sync')).toBe(false)
    expect(can(basic, 'sync')).toBe(false)

    const proState = await t.make({ entitlements, store: memoryStore() }).activate(pro.key)
    expect(proState.features).toEqual(['export', 'sync'])
    expect(proState.can?.('sync')).toBe(true)

    const unmapped = await t
      .make({ entitlements: { [crypto.randomUUID()]: ['x'] }, store: memoryStore() })
      .activate(t.key.key)
    expect(unmapped.status).toBe('active')
    expect(unmapped.features).toEqual([])
    expect(unmapped.can?.('x')).toBe(false)
  })

  it('features survive a restart and reach subscribers; an inactive license unlocks nothing', async () => {
    const t = setup()
    const entitlements = { [t.key.benefitId]: ['export'] }
    const licensing = t.make({ entitlements })
    const seen: Array<readonly string[] | undefined> = []
    licensing.subscribe((state) => {
      seen.push(state.features)
    })
    await licensing.activate(t.key.key)
    expect((await t.make({ entitlements }).check({ online: 'never' })).features).toEqual(['export'])
    t.emulator.revoke(t.key)
    const revoked = await licensing.refresh()
    expect(revoked).toMatchObject({ status: 'inactive', reason: 'revoked', features: [] })
    expect(revoked.can?.('export')).toBe(false)
    expect(seen).toEqual([['export'], []])
  })

  it('states stay plain data: features serialize, can() does not', async () => {
    const t = setup()
    const state = await t
      .make({ entitlements: { [t.key.benefitId]: ['export'] } })
      .activate(t.key.key)
    const copy = JSON.parse(JSON.stringify(state)) as Record<string, unknown>
    expect(copy.features).toEqual(['export'])
    expect('can' in copy).toBe(false)
  })
})

describe('updates until expiry: onExpiry fallback', () => {
  const expiresAt = T0 + YEAR
  const fallback = (releasedAt: number) => ({
    policy: { onExpiry: 'fallback' as const },
    releasedAt,
  })

  it('a build released before the expiry keeps running after it, with updatesUntil', async () => {
    const t = setup({ expiresAt })
    await t.make(fallback(T0 + 30 * DAY)).activate(t.key.key)
    t.advance(YEAR + DAY)
    const licensing = t.make(fallback(T0 + 30 * DAY))
    const offline = await licensing.check({ online: 'never' })
    expect(offline).toMatchObject({ status: 'active', updatesUntil: expiresAt })
    // Polar still says expired: the build keeps running.
    expect(await licensing.check()).toMatchObject({ status: 'active', updatesUntil: expiresAt })
    expect(await licensing.allowsUpdate(T0 + 60 * DAY)).toBe(true)
    expect(await licensing.allowsUpdate(expiresAt + DAY)).toBe(false)
    expect(words(offline, { locale: 'en-US' }).detail).toMatch(/updates until/i)
  })

  it('a build released after the expiry locks, and lock is the default', async () => {
    const t = setup({ expiresAt })
    await t.licensing.activate(t.key.key)
    t.advance(YEAR + DAY)
    expect(await t.make(fallback(expiresAt + DAY)).check({ online: 'never' })).toMatchObject({
      status: 'inactive',
      reason: 'expired',
    })
    expect(await t.make().check({ online: 'never' })).toMatchObject({ reason: 'expired' })
  })

  it('revocation still locks a fallback build', async () => {
    const t = setup({ expiresAt })
    const licensing = t.make(fallback(T0 + 30 * DAY))
    await licensing.activate(t.key.key)
    t.advance(YEAR + DAY)
    t.emulator.revoke(t.key)
    expect(await licensing.refresh()).toMatchObject({ status: 'inactive', reason: 'revoked' })
  })

  it('allowsUpdate on a running, unexpired key compares with its expiry; never-expiring allows all', async () => {
    const t = setup({ expiresAt })
    const state = await t.licensing.activate(t.key.key)
    expect(allowsUpdate(state, expiresAt - 1)).toBe(true)
    expect(allowsUpdate(state, expiresAt + 1)).toBe(false)
    const forever = setup()
    expect(allowsUpdate(await forever.licensing.activate(forever.key.key), T0 + 10 * YEAR)).toBe(
      true,
    )
    expect(allowsUpdate({ status: 'inactive', reason: 'revoked' }, T0)).toBe(false)
  })

  it('refuses a policy.onExpiry or releasedAt that makes no sense', () => {
    const t = setup()
    expect(() => t.make({ policy: { onExpiry: 'never' as 'lock' } })).toThrow(/onExpiry/)
    expect(() => t.make({ releasedAt: 'not a date' })).toThrow(/releasedAt/)
  })
})
