import {
  checkMachineSeat,
  createPolarAdminClient,
  machineSeats,
  settleMachineSeats,
} from '@keygate/core/admin'
import { createPolarEmulator } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { T0 } from './emulator-helpers.js'

/** One machine's listed seats classified on Polar's primary, against the emulator. */

function setup() {
  let now = T0
  const emulator = createPolarEmulator({ now: () => now, rateLimit: false })
  const admin = createPolarAdminClient({
    token: emulator.createAccessToken(),
    fetch: emulator.fetch,
    rateLimit: false,
    sleep: async () => {},
  })
  const key = emulator.createKey({ limitActivations: 5 })
  const ref = { key: key.key, organizationId: emulator.organizationId }
  const later = () => {
    now += 1000
  }
  return { emulator, admin, key, ref, later }
}

const mine = { meta: { keygate_machine: 'fp' }, conditions: { keygate_machine: 'fp' } }
const mismatched = { meta: { keygate_machine: 'fp' }, conditions: { keygate_machine: 'fp-b' } }

describe('checkMachineSeat', () => {
  it('live, gone or mismatched, as validate with the machine conditions answers', async () => {
    const { emulator, admin, key, ref } = setup()
    const live = emulator.addActivation(key, mine)
    const freed = emulator.addActivation(key, mine)
    emulator.removeActivation(freed.id)
    const foreign = emulator.addActivation(key, mismatched)
    // No stored conditions: Polar checks none, so it passes.
    const bare = emulator.addActivation(key, { meta: { keygate_machine: 'fp' } })

    const check = (activationId: string) => checkMachineSeat(admin, { ...ref, activationId }, 'fp')
    await expect(check(live.id)).resolves.toMatchObject({ kind: 'live' })
    await expect(check(freed.id)).resolves.toEqual({ kind: 'gone' })
    await expect(check(foreign.id)).resolves.toEqual({ kind: 'mismatched' })
    await expect(check(bare.id)).resolves.toMatchObject({ kind: 'live' })
  })
})

describe('settleMachineSeats', () => {
  it('keeps the oldest live seat, frees the live duplicates, never the mismatched', async () => {
    const { emulator, admin, key, ref, later } = setup()
    const foreign = emulator.addActivation(key, mismatched)
    later()
    const oldest = emulator.addActivation(key, mine)
    later()
    const dup = emulator.addActivation(key, mine)
    later()
    const foreign2 = emulator.addActivation(key, mismatched)

    const listed = machineSeats((await admin.get(key.id)).data.activations, 'fp')
    const settled = await settleMachineSeats(admin, ref, listed, 'fp')
    expect(settled.kept?.id).toBe(oldest.id)
    expect(settled.confirmed?.data.activation?.id).toBe(oldest.id)
    expect(settled.freed.map((a) => a.id)).toEqual([dup.id])
    expect(settled.mismatched.map((a) => a.id)).toEqual([foreign.id, foreign2.id])
    expect(settled.gone).toEqual([])
    expect(
      emulator
        .listActivations(key)
        .map((a) => a.id)
        .sort(),
    ).toEqual([foreign.id, oldest.id, foreign2.id].sort())
  })

  it('counts the seat just created as live without asking', async () => {
    const { emulator, admin, key, ref, later } = setup()
    const foreign = emulator.addActivation(key, mismatched)
    later()
    const created = emulator.addActivation(key, mine)
    const listed = machineSeats((await admin.get(key.id)).data.activations, 'fp')
    const before = emulator.requests.length
    const settled = await settleMachineSeats(admin, ref, listed, 'fp', created.id)
    expect(settled.kept?.id).toBe(created.id)
    expect(settled.confirmed).toBeUndefined()
    expect(settled.mismatched.map((a) => a.id)).toEqual([foreign.id])
    // One validate, for the mismatched seat only.
    expect(emulator.requests.length - before).toBe(1)
  })
})
