import { describe, expect, it } from 'vitest'
import { createLicensing } from '../src/licensing.js'
import { staticMachine } from '../src/machine.js'
import { createPolarClient } from '../src/polar-client.js'
import { memoryStore } from '../src/store.js'
import { createPolarEmulator } from '../src/testing/index.js'
import { setup } from './licensing-fixture.js'

/**
 * Bugs found by the adversarial review in files other engineers own (licensing.ts and
 * seats.ts, polar-schemas.ts): each test states the behaviour a user relies on and fails
 * until the owner fixes it. See the review report for the details.
 */

describe('activate() with the new key after the customer rotated it', () => {
  it("keeps this machine's seat: the activation is still valid under the new key", async () => {
    const t = setup({ limitActivations: 3 })
    const first = await t.licensing.activate(t.key.key)
    const rotated = t.emulator.rotate(t.key)
    // The app notices on its next online check…
    expect(await t.licensing.refresh()).toMatchObject({ reason: 'key_not_found' })
    // …and the user enters the current key: Polar still counts the old activation.
    const state = await t.licensing.activate(rotated)
    expect(state.status).toBe('active')
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    expect(state.status === 'active' && state.activation?.id).toBe(
      first.status === 'active' ? first.activation?.id : 'no activation',
    )
  })
})

describe("check({ online: 'auto' }) after Polar's 429", () => {
  it('honours Retry-After: no request until it has passed, the cached state meanwhile', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z')
    const emulator = createPolarEmulator({ now: () => now })
    const key = emulator.createKey()
    const licensing = createLicensing({
      organizationId: emulator.organizationId,
      store: memoryStore(),
      machine: staticMachine('fp'),
      fetch: emulator.fetch,
      now: () => now,
      retry: 0,
    })
    await licensing.activate(key.key)
    now += 2 * 24 * 60 * 60 * 1000 // revalidation due: every auto check wants to go online
    // Other seats behind the office NAT spent the shared budget: Polar blocks the IP 60 s.
    emulator.resetRateLimit()
    const url = 'https://api.polar.sh/v1/customer-portal/license-keys/validate'
    for (let i = 0; i < 4; i++) await emulator.fetch(url, { method: 'POST', body: '{}' })

    expect(await licensing.check()).toMatchObject({
      status: 'grace',
      error: { code: 'rate_limited', retryAfter: 60 },
    })
    const before = emulator.requests.length
    for (let i = 0; i < 5; i++) {
      now += 10_000
      expect(await licensing.check()).toMatchObject({
        status: 'grace',
        error: { code: 'rate_limited' },
      })
    }
    expect(emulator.requests.length).toBe(before)
    now += 15_000 // 65 s after the 429: Polar may be asked again
    expect(await licensing.check()).toMatchObject({ status: 'active' })
    expect(emulator.requests.length).toBe(before + 1)
  })
})

describe("activate() with the machine's own label", () => {
  it('cuts a long label by characters, never in the middle of an emoji', async () => {
    const t = setup()
    const licensing = t.make({ machine: staticMachine('fp-machine-a', '💻'.repeat(200)) })
    const state = await licensing.activate(t.key.key)
    expect(state.status === 'active' && state.activation?.label).toBe('💻'.repeat(200))
  })
})

describe('parsing a 200 answer leniently', () => {
  it('does not require fields keygate never uses (license_key_id, organization_id)', async () => {
    const emulator = createPolarEmulator({ rateLimit: false })
    const key = emulator.createKey()
    // A later API version (or a proxy) that drops fields keygate does not read.
    const trimmed: typeof fetch = async (input, init) => {
      const response = await emulator.fetch(input, init)
      const body = (await response.json()) as Record<string, unknown>
      delete body.license_key_id
      delete body.organization_id
      const nested = body.license_key as Record<string, unknown> | undefined
      if (nested) delete nested.organization_id
      return Response.json(body, { status: response.status, headers: response.headers })
    }
    const polar = createPolarClient({ fetch: trimmed, retry: 0 })
    const activated = await polar.activate({
      key: key.key,
      organizationId: emulator.organizationId,
      label: 'Laptop',
    })
    expect(activated.data.license_key.display_key).toBe(key.displayKey)
    const validated = await polar.validate({
      key: key.key,
      organizationId: emulator.organizationId,
    })
    expect(validated.data.id).toBe(key.id)
  })
})
