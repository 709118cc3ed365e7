import { createLicensing, memoryStore, staticMachine } from '@keygate/core'
import { describe, expect, it } from 'vitest'
import { DAY, keygate, useEmulator } from './helpers.js'

/**
 * The three support cases of the README, end to end: an app (core's createLicensing)
 * talks to the emulator over HTTP, and the seller fixes things with the real `keygate`.
 */

const emulator = useEmulator()

function seller(args: readonly string[]) {
  return keygate([...args, '--server', emulator.url], { POLAR_ACCESS_TOKEN: emulator.token })
}

/** One installation of the app on one machine (a fresh store is a reinstall). */
function app(machine: string) {
  return createLicensing({
    organizationId: emulator.polar.organizationId,
    server: emulator.url,
    store: memoryStore(),
    machine: staticMachine(`fingerprint-${machine}`, machine),
  })
}

describe('support cases', () => {
  it('"I reinstalled and hit the activation limit": list the seats, free the old one', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 1 })
    await app('old install').activate(key.key)
    const reinstall = app('new install')
    await expect(reinstall.activate(key.key)).rejects.toMatchObject({
      code: 'activation_limit_reached',
    })

    const list = await seller(['activations', 'list', key.displayKey])
    expect(list.code).toBe(0)
    expect(list.stdout).toContain('seats 1 of 1 in use')
    expect(list.stdout).toContain('old install')
    const [old] = polar.listActivations(key)
    const removed = await seller(['activations', 'remove', key.id, old?.id.slice(0, 8) ?? ''])
    expect(removed.code).toBe(0)
    expect(removed.stdout).toContain(`Removed activation ${old?.id} ("old install")`)
    expect(removed.stdout).toContain('Seats: 0 of 1 in use')

    expect((await reinstall.activate(key.key)).status).toBe('active')
  })

  it('"My laptop was stolen": remove its activation; the laptop stops, the desktop runs', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 2 })
    const laptop = app('stolen laptop')
    const desktop = app('desktop')
    await laptop.activate(key.key)
    await desktop.activate(key.key)
    const stolen = polar.listActivations(key).find((a) => a.label === 'stolen laptop')

    const run = await seller(['activations', 'remove', key.id, stolen?.id ?? '', '--json'])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).removed.label).toBe('stolen laptop')

    expect(await laptop.refresh()).toMatchObject({
      status: 'inactive',
      reason: 'activation_not_found',
    })
    expect((await desktop.refresh()).status).toBe('active')
    const again = await seller(['activations', 'remove', key.id, stolen?.id ?? ''])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('has no live activation')
  })

  it('"Extend my key": the expired key works again after keys extend', async () => {
    const { polar } = emulator
    const key = polar.createKey({ expiresAt: Date.now() + DAY })
    const laptop = app('laptop')
    await laptop.activate(key.key)
    polar.expire(key)
    expect(await laptop.refresh()).toMatchObject({ status: 'inactive', reason: 'expired' })

    const run = await seller(['keys', 'extend', key.displayKey, '--days', '365'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/now expires: \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(in 36[45] days/)
    expect((await laptop.refresh()).status).toBe('active')
  })
})
