import { describe, expect, it } from 'vitest'
import { KeygateError } from '../../src/errors.js'
import { parseGrant } from '../../src/offline/grant.js'
import { DAY, HOUR, setup } from './licensing-fixture.js'

/**
 * The customer rotates the key in Polar: the old string answers 404 "Not found", while
 * the activations taken with it stay valid under the new string. Entering the new key
 * on this machine must keep its seat, not take a second one.
 */

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

async function activatedAndRotated(limitActivations = 3) {
  const t = setup({ limitActivations })
  const first = await t.licensing.activate(t.key.key)
  const activationId = first.status === 'active' ? first.activation?.id : undefined
  const rotated = t.emulator.rotate(t.key)
  return { ...t, activationId, rotated }
}

describe('activate() with the new key after the customer rotated it', () => {
  it("keeps this machine's seat: the activation is still valid under the new key", async () => {
    const t = await activatedAndRotated()
    // The app notices on its next online check…
    expect(await t.licensing.refresh()).toMatchObject({ reason: 'key_not_found' })
    // …and the user enters the current key: Polar still counts the old activation.
    const before = t.emulator.requests.length
    const state = await t.licensing.activate(t.rotated)
    expect(state).toMatchObject({ status: 'active', activation: { id: t.activationId } })
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    expect(t.endpoints(before)).toEqual(['validate'])
    expect(t.emulator.requests.at(-1)?.body).toMatchObject({
      activation_id: t.activationId,
      conditions: { keygate_machine: 'fp-machine-a' },
    })
    // The record now holds the new key, with the verdict lifted: revalidation works again.
    const grant = await storedGrant(t.store)
    expect(grant.key).toBe(t.rotated)
    expect(grant.verdict).toBeUndefined()
    t.advance(2 * DAY)
    expect(await t.licensing.check()).toMatchObject({ status: 'active' })
  })

  it('keeps the seat when the new key is entered before the app noticed the rotation', async () => {
    const t = await activatedAndRotated()
    t.advance(HOUR)
    const before = t.emulator.requests.length
    const state = await t.licensing.activate(t.rotated)
    expect(state).toMatchObject({ status: 'active', activation: { id: t.activationId } })
    expect(t.endpoints(before)).toEqual(['validate'])
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    // Reusing it from now on, like any seat of the same key.
    expect(await t.licensing.activate(t.rotated)).toMatchObject({ status: 'active' })
    expect(t.endpoints(before)).toEqual(['validate'])
  })

  it('takes a new seat when the stored activation is not valid under the key entered', async () => {
    const t = setup({ limitActivations: 3 })
    await t.licensing.activate(t.key.key)
    const other = t.emulator.createKey({ limitActivations: 1 })
    const before = t.emulator.requests.length
    const state = await t.licensing.activate(other.key)
    expect(state).toMatchObject({ status: 'active', license: { displayKey: other.displayKey } })
    expect(t.endpoints(before)).toEqual(['validate', 'activate'])
    expect(t.emulator.listActivations(other)).toHaveLength(1)
    expect((await storedGrant(t.store)).key).toBe(other.key)
  })

  it('takes a new seat when the activation was removed meanwhile', async () => {
    const t = await activatedAndRotated()
    t.emulator.removeActivation(t.activationId ?? '')
    const state = await t.licensing.activate(t.rotated)
    expect(state.status).toBe('active')
    const seats = t.emulator.listActivations(t.key)
    expect(seats).toHaveLength(1)
    expect(seats[0]?.id).not.toBe(t.activationId)
  })

  it('throws a transient failure without taking a seat or touching the record', async () => {
    const t = await activatedAndRotated()
    const bytes = await t.store.read()
    t.emulator.setOffline(true)
    expect((await rejection(t.licensing.activate(t.rotated))).code).toBe('network')
    t.emulator.setOffline(false)
    expect(await t.store.read()).toBe(bytes)
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('throws when the new key may not run, leaving the record as it was', async () => {
    const t = await activatedAndRotated()
    const bytes = await t.store.read()
    t.emulator.revoke(t.key)
    const error = await rejection(t.licensing.activate(t.rotated))
    expect(error.code).toBe('revoked')
    expect(error.message).not.toContain(t.rotated)
    expect(await t.store.read()).toBe(bytes)
  })
})
