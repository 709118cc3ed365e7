import { describe, expect, it } from 'vitest'
import { KeygateError } from '../../src/errors.js'
import { createLicensing } from '../../src/licensing.js'
import { staticMachine } from '../../src/machine.js'
import { parseGrant } from '../../src/offline/grant.js'
import type { LicenseState } from '../../src/offline/state.js'
import { memoryStore } from '../../src/store.js'
import { DAY, HOUR, offlineOnlyClient, SERVER, setup, T0 } from './licensing-fixture.js'

async function storedGrant(store: { read(): Promise<string | null> }) {
  const parsed = parseGrant((await store.read()) ?? '')
  if (!parsed.ok) throw new Error(parsed.message)
  return parsed.grant
}

async function rejection(promise: Promise<unknown>): Promise<KeygateError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof KeygateError) return error
    throw error
  }
  throw new Error('expected a KeygateError')
}

describe('activate', () => {
  it('activates this machine, binds the seat to its fingerprint and reports active', async () => {
    const t = setup()
    const state = await t.licensing.activate(t.key.key)
    expect(state).toMatchObject({
      status: 'active',
      validatedAt: T0,
      nextCheckAt: T0 + DAY,
      license: { displayKey: t.key.displayKey, status: 'granted', limitActivations: 2 },
      activation: { label: 'Ada’s laptop' },
    })
    const [seat] = t.emulator.listActivations(t.key)
    expect(seat?.conditions).toEqual({ keygate_machine: 'fp-machine-a' })
    const grant = await storedGrant(t.store)
    expect(grant.conditions).toEqual({ keygate_machine: 'fp-machine-a' })
    expect(grant.activation?.id).toBe(seat?.id)
  })

  it('never shows the full key in the state, and stores no customer PII', async () => {
    const t = setup()
    const state = await t.licensing.activate(`  ${t.key.key}\n`, { meta: { version: '1.2.3' } })
    expect(JSON.stringify(state)).not.toContain(t.key.key)
    const text = (await t.store.read()) ?? ''
    expect(text).not.toMatch(/email|@example\.com|name"/)
    // The app's meta, and the machine's fingerprint beside it (DESIGN: Polar echoes meta).
    expect(t.emulator.listActivations(t.key)[0]?.meta).toEqual({
      version: '1.2.3',
      keygate_machine: 'fp-machine-a',
    })
  })

  it("keeps Polar's Date header as validatedAt, and reports times on the local clock", async () => {
    const t = setup()
    t.clock.now = T0 + 750 // the header has second precision: it says T0
    const state = await t.licensing.activate(t.key.key)
    expect(state).toMatchObject({ validatedAt: T0 + 750, nextCheckAt: T0 + 750 + DAY })
    expect(await storedGrant(t.store)).toMatchObject({
      validatedAt: T0,
      localValidatedAt: T0 + 750,
      clockHighWater: T0 + 750,
    })
  })

  it('reuses the seat when the same key is activated again on this machine', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const before = t.emulator.requests.length
    t.advance(HOUR)
    // Fresh: the cached grant answers, Polar is not asked (see licensing-contention.test.ts).
    expect(await t.licensing.activate(t.key.key)).toMatchObject({
      status: 'active',
      validatedAt: T0,
    })
    expect(t.endpoints(before)).toEqual([])
    // Due: the seat is validated, never a second one taken.
    t.advance(DAY)
    const again = await t.licensing.activate(t.key.key)
    expect(again).toMatchObject({ status: 'active', validatedAt: T0 + DAY + HOUR })
    expect(t.endpoints(before)).toEqual(['validate'])
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('reuses the seat across restarts (a new licensing on the same store)', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    await t.make().activate(t.key.key)
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('takes a new seat when the old one was removed in the customer portal', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const [old] = t.emulator.listActivations(t.key)
    t.emulator.removeActivation(old?.id ?? '')
    // The app learns it on its next revalidation; the user then activates again.
    expect(await t.licensing.refresh()).toMatchObject({ reason: 'activation_not_found' })
    const state = await t.licensing.activate(t.key.key)
    expect(state.status).toBe('active')
    const seats = t.emulator.listActivations(t.key)
    expect(seats).toHaveLength(1)
    expect(seats[0]?.id).not.toBe(old?.id)
  })

  it('validates only, sending no activate, a key whose benefit has no activation limit', async () => {
    const t = setup({ limitActivations: null })
    const state = await t.licensing.activate(t.key.key)
    expect(state).toMatchObject({ status: 'active', activation: null })
    expect(t.endpoints()).toEqual(['validate'])
    expect((await storedGrant(t.store)).activation).toBeNull()

    t.advance(2 * DAY)
    const refreshed = await t.licensing.check()
    expect(refreshed).toMatchObject({ status: 'active', validatedAt: T0 + 2 * DAY })
    const last = t.emulator.requests.at(-1)
    expect(last?.endpoint).toBe('validate')
    expect(last?.body).not.toHaveProperty('activation_id')
  })

  it('keeps a validate-only grant of a key whose activation limit is 0 (Polar reads 0 as none)', async () => {
    const t = setup({ limitActivations: 0 })
    expect(await t.licensing.activate(t.key.key)).toMatchObject({
      status: 'active',
      activation: null,
    })
    t.advance(2 * DAY)
    expect(await t.licensing.check()).toMatchObject({ status: 'active', validatedAt: T0 + 2 * DAY })
  })

  it('replaces the grant of a different key only after the new key activated', async () => {
    const t = setup()
    const other = t.emulator.createKey({ limitActivations: 1 })
    await t.licensing.activate(t.key.key)
    const full = t.emulator.createKey({ limitActivations: 1 })
    t.emulator.addActivation(full)
    const refused = await rejection(t.licensing.activate(full.key))
    expect(refused.code).toBe('activation_limit_reached')
    expect((await storedGrant(t.store)).key).toBe(t.key.key)

    const state = await t.licensing.activate(other.key)
    expect(state).toMatchObject({ status: 'active', license: { displayKey: other.displayKey } })
    expect((await storedGrant(t.store)).key).toBe(other.key)
    // The first key's seat is left as it was (see the README).
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('leaves the store untouched when Polar refuses, and says how to free a seat', async () => {
    const t = setup({ limitActivations: 1 })
    t.emulator.addActivation(t.key, { label: 'Old PC' })
    const error = await rejection(t.licensing.activate(t.key.key))
    expect(error.code).toBe('activation_limit_reached')
    expect(error.message).toMatch(/deactivate|free/i)
    expect(error.message).not.toContain(t.key.key)
    expect(await t.store.read()).toBeNull()
  })

  it("cuts the machine's long label by characters, never in the middle of an emoji", async () => {
    const t = setup()
    const licensing = t.make({ machine: staticMachine('fp-machine-a', '💻'.repeat(300)) })
    const state = await licensing.activate(t.key.key)
    expect(state.status === 'active' && state.activation?.label).toBe('💻'.repeat(255))
  })

  it('refuses bad input before any request', async () => {
    const t = setup()
    for (const [key, options] of [
      ['', {}],
      ['   ', {}],
      ['A\u0000B', {}],
      [t.key.key, { label: '' }],
      [t.key.key, { meta: { nested: { no: true } } }],
      [t.key.key, { meta: { ['k'.repeat(41)]: 1 } }],
    ] as const) {
      // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input from untyped callers
      const error = await rejection(t.licensing.activate(key, options as any))
      expect(error.code).toBe('invalid_input')
    }
    expect(t.emulator.requests).toHaveLength(0)
  })

  it('refuses a non-UUID organization id and nonsensical policies up front', () => {
    const base = { store: memoryStore(), machine: staticMachine('fp') }
    expect(() => createLicensing({ ...base, organizationId: 'my-org' })).toThrow(KeygateError)
    const organizationId = '1dbfc517-0bbf-4301-9ba8-555ca42b9737'
    expect(() => createLicensing({ ...base, organizationId, policy: { gracePeriod: -1 } })).toThrow(
      /gracePeriod/,
    )
    expect(() =>
      createLicensing({
        ...base,
        organizationId,
        policy: { revalidateAfter: 2 * DAY, gracePeriod: DAY },
      }),
    ).toThrow(/gracePeriod/)
    const licensing = createLicensing({ ...base, organizationId, policy: { gracePeriod: 3 * DAY } })
    expect(licensing.policy).toEqual({
      revalidateAfter: DAY,
      gracePeriod: 3 * DAY,
      clockTolerance: HOUR,
    })
  })

  it('refuses a lease server it could never trust, up front, and never echoes a private key', () => {
    const base = {
      store: memoryStore(),
      machine: staticMachine('fp'),
      organizationId: '1dbfc517-0bbf-4301-9ba8-555ca42b9737',
    }
    // 32 bytes, base64url: a well-formed Ed25519 public key.
    const x = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
    const publicKey = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(x, 'hex').toString('base64url') }
    const url = 'https://lease.example.com'
    const d = 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A'
    const bad: Array<[string, unknown]> = [
      ['a private key', { url, publicKey: { ...publicKey, d } }],
      ['another curve', { url, publicKey: { ...publicKey, crv: 'X25519' } }],
      ['a short key', { url, publicKey: { ...publicKey, x: publicKey.x.slice(0, 20) } }],
      ['a PEM string', { url, publicKey: '-----BEGIN PUBLIC KEY-----' }],
      ['no URL', { publicKey }],
      ['a relative URL', { url: '/lease', publicKey }],
      ['another scheme', { url: 'ftp://lease.example.com', publicKey }],
    ]
    for (const [what, leaseServer] of bad) {
      let error: unknown
      try {
        // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input from untyped callers
        createLicensing({ ...base, leaseServer: leaseServer as any })
      } catch (caught) {
        error = caught
      }
      expect(error, what).toBeInstanceOf(KeygateError)
      expect((error as KeygateError).code, what).toBe('invalid_input')
      expect((error as KeygateError).message, what).toMatch(/leaseServer/)
      expect((error as KeygateError).message, what).not.toContain(d)
    }
    expect(() =>
      createLicensing({ ...base, leaseServer: { url, publicKey } as never }),
    ).not.toThrow()
  })

  // Found only at the first activate, a bad setting would reach the customer as "check
  // the key for typos" (describe's words for invalid_input) in a shipped app.
  it('refuses bad client options up front, as createPolarClient does', () => {
    const base = {
      store: memoryStore(),
      machine: staticMachine('fp'),
      organizationId: '1dbfc517-0bbf-4301-9ba8-555ca42b9737',
    }
    const bad: Array<[string, object]> = [
      ['a server name', { server: 'staging' }],
      ['another scheme', { server: 'ftp://polar.example.com' }],
      ['a negative timeout', { timeoutMs: -5 }],
      ['too many retries', { retry: 99 }],
    ]
    for (const [what, options] of bad) {
      expect(() => createLicensing({ ...base, ...options }), what).toThrow(
        expect.objectContaining({ code: 'invalid_input' }),
      )
    }
    expect(() =>
      createLicensing({ ...base, server: 'sandbox', timeoutMs: 5000, retry: 0 }),
    ).not.toThrow()
  })
})

describe('check', () => {
  it('says not_activated when nothing is stored', async () => {
    const t = setup()
    expect(await t.licensing.check()).toEqual({ status: 'inactive', reason: 'not_activated' })
    expect(t.emulator.requests).toHaveLength(0)
  })

  it("online: 'never' decides from the record alone, without any request", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const offline = t.make({ client: offlineOnlyClient })
    t.advance(3 * DAY)
    expect(await offline.check({ online: 'never' })).toMatchObject({
      status: 'grace',
      why: 'revalidation_due',
      graceEndsAt: T0 + 7 * DAY,
    })
  })

  it("online: 'never' makes no request even through the default client and fetch", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const fetch = () => Promise.reject(new Error('fetch must not be called'))
    const licensing = t.make({ client: undefined, server: SERVER, fetch })
    t.advance(2 * DAY)
    expect((await licensing.check({ online: 'never' })).status).toBe('grace')
  })

  it("online: 'auto' stays offline while fresh and revalidates once due", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const before = t.emulator.requests.length
    t.advance(23 * HOUR)
    expect((await t.licensing.check()).status).toBe('active')
    expect(t.endpoints(before)).toEqual([])
    t.advance(2 * HOUR)
    expect(await t.licensing.check()).toMatchObject({
      status: 'active',
      validatedAt: T0 + 25 * HOUR,
      nextCheckAt: T0 + 49 * HOUR,
    })
    expect(t.endpoints(before)).toEqual(['validate'])
  })

  it("online: 'always' revalidates now, sending the activation and its conditions", async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const grant = await storedGrant(t.store)
    t.advance(60_000)
    expect(await t.licensing.check({ online: 'always' })).toMatchObject({
      status: 'active',
      validatedAt: T0 + 60_000,
    })
    expect(t.emulator.requests.at(-1)?.body).toMatchObject({
      activation_id: grant.activation?.id,
      conditions: { keygate_machine: 'fp-machine-a' },
    })
  })
})

describe('deactivate', () => {
  it('frees the seat and forgets the grant', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    await t.licensing.deactivate()
    expect(t.emulator.listActivations(t.key)).toHaveLength(0)
    expect(await t.store.read()).toBeNull()
    expect(await t.licensing.check()).toMatchObject({ status: 'inactive', reason: 'not_activated' })
  })

  it('does nothing when nothing is activated', async () => {
    const t = setup()
    await t.licensing.deactivate()
    expect(t.emulator.requests).toHaveLength(0)
  })

  it('forgets the grant when the seat was already removed', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    t.emulator.removeActivation(t.emulator.listActivations(t.key)[0]?.id ?? '')
    await t.licensing.deactivate()
    expect(await t.store.read()).toBeNull()
  })

  it('keeps the grant and throws when Polar cannot be reached, so it can be retried', async () => {
    const t = setup()
    await t.licensing.activate(t.key.key)
    const before = await t.store.read()
    t.emulator.setOffline(true)
    expect((await rejection(t.licensing.deactivate())).code).toBe('network')
    expect(await t.store.read()).toBe(before)
    t.emulator.setOffline(false)
    await t.licensing.deactivate()
    expect(t.emulator.listActivations(t.key)).toHaveLength(0)
  })

  it('only forgets a validate-only grant (there is no seat to free)', async () => {
    const t = setup({ limitActivations: null })
    await t.licensing.activate(t.key.key)
    const before = t.emulator.requests.length
    await t.licensing.deactivate()
    expect(t.endpoints(before)).toEqual([])
    expect(await t.store.read()).toBeNull()
  })
})

describe('subscribe', () => {
  it('tells listeners about each new state, once, until they unsubscribe', async () => {
    const t = setup()
    const seen: LicenseState[] = []
    const unsubscribe = t.licensing.subscribe((state) => seen.push(state))
    await t.licensing.check()
    await t.licensing.activate(t.key.key)
    await t.licensing.check()
    await t.licensing.check({ online: 'never' })
    t.advance(2 * DAY)
    t.emulator.setOffline(true)
    await t.licensing.check()
    await t.licensing.check()
    t.emulator.setOffline(false)
    await t.licensing.deactivate()
    expect(seen.map((s) => (s.status === 'inactive' ? s.reason : s.status))).toEqual([
      'not_activated',
      'active',
      'grace',
      'not_activated',
    ])
    expect(seen[2]).toMatchObject({ why: 'unreachable', error: { code: 'network' } })
    unsubscribe()
    await t.licensing.activate(t.key.key)
    expect(seen).toHaveLength(4)
  })

  it('keeps going when a listener throws', async () => {
    const t = setup()
    const seen: string[] = []
    t.licensing.subscribe(() => {
      throw new Error('listener bug')
    })
    t.licensing.subscribe((state) => seen.push(state.status))
    expect((await t.licensing.activate(t.key.key)).status).toBe('active')
    expect(seen).toEqual(['active'])
  })
})
