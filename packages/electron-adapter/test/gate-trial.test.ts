import type { LicenseState, Licensing } from '@keygate/core'
import { describe, expect, it } from 'vitest'
import { createGate } from '../src/gate.js'

const NOT_ACTIVATED: LicenseState = { status: 'inactive', reason: 'not_activated' }
const TRIAL: LicenseState = {
  status: 'trial',
  trial: { startedAt: 0, endsAt: 14 * 86_400_000, daysLeft: 14 },
  integrity: 'signed',
}

/** Core's licensing, as far as the gate uses it: what check() was asked, and its answers. */
function stubLicensing(first: LicenseState) {
  const asked: string[] = []
  const listeners = new Set<(state: LicenseState) => void>()
  const licensing = {
    async check(options?: { online?: string }) {
      asked.push(options?.online ?? 'auto')
      if (options?.online === 'never') return first
      for (const listener of listeners) listener(TRIAL)
      return TRIAL
    },
    subscribe(listener: (state: LicenseState) => void) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    watch: () => () => undefined,
  } as unknown as Licensing
  return { licensing, asked }
}

describe('the gate and a trial that needs the lease server', () => {
  it('a machine without a license gets one check that may go online, after start-up', async () => {
    const { licensing, asked } = stubLicensing(NOT_ACTIVATED)
    const gate = createGate({ licensing, encryption: () => 'os' })
    const seen: string[] = []
    gate.subscribe((state) => seen.push(state.status))
    expect(await gate.start()).toMatchObject({ status: 'inactive' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(asked).toEqual(['never', 'auto'])
    expect(gate.state).toMatchObject({ status: 'trial' })
    gate.stop()
  })

  it('a machine that runs asks nothing more at start', async () => {
    const { licensing, asked } = stubLicensing(TRIAL)
    const gate = createGate({ licensing, encryption: () => 'os' })
    await gate.start()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(asked).toEqual(['never'])
    gate.stop()
  })
})
