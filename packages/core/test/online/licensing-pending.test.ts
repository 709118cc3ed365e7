import { MACHINE_CONDITION, describe as words } from '@keygate/core'
import { describe, expect, it } from 'vitest'
import { isKeygateError } from '../../src/errors.js'
import type { PolarClient } from '../../src/polar/types.js'
import { setup } from './licensing-fixture.js'

// Without a lease server, an activate request cut short may hold a seat nobody knows of:
// a note is written before the request leaves, so the next start can say so.

describe('the pending-activation note (no lease server)', () => {
  it('is in the record before the activate request leaves', async () => {
    const t = setup()
    let seen: string | null = null
    const spy: PolarClient = {
      ...t.client,
      activate: async (request) => {
        seen = (await t.store.read()) as string | null
        return t.client.activate(request)
      },
    }
    const state = await t.make({ client: spy }).activate(t.key.key)
    expect(state.status).toBe('active')
    const note = JSON.parse(seen ?? '{}')
    // The key is stored as a grant stores it without a keychain: encoded, never in plain.
    expect(note).toEqual({
      v: 1,
      pending: {
        at: t.clock.now,
        displayKey: expect.stringMatching(/^\*+/),
        encodedKey: expect.any(String),
      },
    })
    expect(String(seen).toLowerCase()).not.toContain(t.key.key.toLowerCase())
    // The grant replaced it: nothing pending is left.
    expect(await t.store.read()).not.toContain('pending')
  })

  it('puts the machine fingerprint in the activation’s meta, beside the app’s own', async () => {
    // What `keygate activations prune` finds a crash's duplicate seats by (Polar echoes
    // `meta`, never `conditions`).
    const t = setup()
    const state = await t.licensing.activate(t.key.key, { meta: { plan: 'team' } })
    expect(state.status).toBe('active')
    const [seat] = t.emulator.listActivations(t.key.key)
    // The fixture's machine (staticMachine('fp-machine-a')).
    expect(seat?.meta).toEqual({ plan: 'team', [MACHINE_CONDITION]: 'fp-machine-a' })
  })

  it('a request lost on the way stays noted: the next start says a seat may be held', async () => {
    const t = setup()
    // The key's validation passes; the activate request is lost.
    const lossy = t.make({
      client: {
        ...t.client,
        activate: (...args) => {
          t.emulator.failNext(1, 'reset')
          return t.client.activate(...args)
        },
      },
    })
    const error = await lossy.activate(t.key.key).catch((e: unknown) => e)
    expect(isKeygateError(error) && error.code).toBe('network')

    const state = await t.make().check({ online: 'never' })
    expect(state).toMatchObject({
      status: 'inactive',
      reason: 'not_activated',
      note: { kind: 'interrupted_activation', at: t.clock.now },
    })
    expect(words(state).detail).toMatch(/interrupted/)
    expect(JSON.stringify(state)).not.toContain(t.key.key)

    // Activating again works and clears the note.
    expect(await t.licensing.activate(t.key.key)).toMatchObject({ status: 'active' })
    expect(await t.store.read()).not.toContain('pending')
  })

  it('a definitive refusal took no seat: the record is put back as it was', async () => {
    const t = setup({ limitActivations: 1 })
    t.emulator.addActivation(t.key)
    await expect(t.licensing.activate(t.key.key)).rejects.toMatchObject({
      code: 'activation_limit_reached',
    })
    expect(await t.store.read()).toBeNull()
    expect(await t.licensing.check({ online: 'never' })).toEqual({
      status: 'inactive',
      reason: 'not_activated',
    })
  })

  it('a store that cannot write fails before any request is sent', async () => {
    const t = setup()
    const broken = { ...t.store, write: () => Promise.reject(new Error('disk full')) }
    await expect(t.make({ store: broken }).activate(t.key.key)).rejects.toMatchObject({
      code: 'store',
    })
    expect(t.endpoints()).not.toContain('activate')
  })
})
