import { describe, expect, it } from 'vitest'
import { staticMachine } from '../../src/machine.js'
import { type Grant, serializeGrant } from '../../src/offline/grant.js'
import { inspectRecord } from '../../src/offline/inspect.js'
import { type LicenseStore, memoryStore } from '../../src/store.js'
import { FP, KEY, makeGrant, ORG, T0 } from './grant-fixture.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR
const OTHER_ORG = '9b2d4e6f-1a3c-4e5f-8a7b-6c5d4e3f2a1b'

function grant(overrides: Partial<Grant> = {}): Grant {
  return makeGrant({
    validatedAt: T0 - HOUR + 5000,
    localValidatedAt: T0 - HOUR,
    clockHighWater: T0 - HOUR,
    ...overrides,
  })
}

/** A store that records every call: an inspection must only read. */
function watched(text: string | null) {
  const inner = memoryStore(text)
  const calls: string[] = []
  const seen =
    <A extends unknown[], R>(name: string, fn: (...args: A) => R) =>
    (...args: A): R => {
      calls.push(name)
      return fn(...args)
    }
  const store: LicenseStore = {
    read: seen('read', () => inner.read()),
    write: seen('write', (t: string) => inner.write(t)),
    clear: seen('clear', () => inner.clear()),
    lock: (fn) => {
      calls.push('lock')
      return inner.lock(fn)
    },
    quarantine: seen('quarantine', (r: string) => inner.quarantine(r)),
  }
  return { store, calls, inner }
}

const machine = staticMachine(FP)

describe('inspectRecord', () => {
  it('an active grant: the state check() gives and the facts, through one read only', async () => {
    const { store, calls } = watched(serializeGrant(grant()))
    const seen = await inspectRecord(store, { organizationId: ORG, machine, now: T0 + 3 * HOUR })
    expect(calls).toEqual(['read'])
    expect(seen).toMatchObject({
      kind: 'grant',
      state: { status: 'active' },
      organizationId: ORG,
      server: 'https://api.polar.sh',
      sameOrigin: true,
      machineChecked: true,
      keyStatus: 'granted',
      displayKey: '****-9D7F20',
      licenseId: 'lk-1',
      expiresAt: null,
      activation: { id: 'act-1', label: 'Laptop', createdAt: Date.parse('2026-02-28T12:00:00Z') },
      validatedAt: { polar: T0 - HOUR + 5000, local: T0 - HOUR },
      clockHighWater: T0 - HOUR,
    })
    expect(JSON.stringify(seen)).not.toContain(KEY)
  })

  it('takes the organization and server from the record when they are not given', async () => {
    const { store } = watched(serializeGrant(grant({ server: 'http://127.0.0.1:7357' })))
    const seen = await inspectRecord(store, { machine, now: T0 })
    expect(seen).toMatchObject({ state: { status: 'active' }, sameOrigin: true })
    expect(seen.server).toBe('http://127.0.0.1:7357')
  })

  it("another organization's record: not activated for this app, as check() says", async () => {
    const { store, calls } = watched(serializeGrant(grant()))
    const seen = await inspectRecord(store, { organizationId: OTHER_ORG, machine, now: T0 })
    expect(seen.state).toEqual({
      status: 'inactive',
      reason: 'not_activated',
      note: { kind: 'other_origin', server: 'https://api.polar.sh' },
    })
    expect(seen).toMatchObject({ kind: 'grant', sameOrigin: false, organizationId: ORG })
    expect(calls).toEqual(['read'])
  })

  it('another server: the origin rule resolves names as createLicensing does', async () => {
    const { store } = watched(serializeGrant(grant()))
    const sandbox = await inspectRecord(store, { server: 'sandbox', machine, now: T0 })
    expect(sandbox.state).toMatchObject({ reason: 'not_activated', note: { kind: 'other_origin' } })
    const production = await inspectRecord(store, { server: 'production', machine, now: T0 })
    expect(production.state.status).toBe('active')
  })

  it('a foreign record: the store explains it, nothing is moved', async () => {
    const why = 'it is encrypted for another OS user'
    const store: LicenseStore = {
      ...memoryStore(),
      read: async () => ({ foreign: true, why }),
    }
    const seen = await inspectRecord(store, { machine, now: T0 })
    expect(seen).toEqual({
      kind: 'foreign',
      problem: why,
      state: { status: 'inactive', reason: 'machine_mismatch', note: { kind: 'foreign', why } },
    })
  })

  it('a damaged record: reported, never quarantined or rewritten', async () => {
    const { store, calls, inner } = watched('{"v":1,')
    const seen = await inspectRecord(store, { machine, now: T0 })
    expect(seen.kind).toBe('damaged')
    expect(seen.problem).toBe('it is not valid JSON')
    expect(seen.state).toMatchObject({ reason: 'not_activated', note: { kind: 'unreadable' } })
    expect(calls).toEqual(['read'])
    expect(inner.quarantined).toHaveLength(0)
    expect(await inner.read()).toBe('{"v":1,')
  })

  it('an empty store', async () => {
    const seen = await inspectRecord(memoryStore(), { now: T0 })
    expect(seen).toEqual({ kind: 'empty', state: { status: 'inactive', reason: 'not_activated' } })
  })

  it('another machine: machine_mismatch when a machine is given, unchecked without one', async () => {
    const { store } = watched(serializeGrant(grant()))
    const elsewhere = await inspectRecord(store, { machine: staticMachine('fp-other'), now: T0 })
    expect(elsewhere.state).toMatchObject({ status: 'inactive', reason: 'machine_mismatch' })
    const unchecked = await inspectRecord(store, { now: T0 })
    expect(unchecked).toMatchObject({ state: { status: 'active' }, machineChecked: false })
  })

  it('makes the machine from the record origin (a fingerprint salted with the organization)', async () => {
    const { store } = watched(serializeGrant(grant()))
    const origins: unknown[] = []
    const seen = await inspectRecord(store, {
      now: T0,
      machine: (origin) => {
        origins.push(origin)
        return machine
      },
    })
    expect(origins).toEqual([{ organizationId: ORG, server: 'https://api.polar.sh' }])
    expect(seen.state.status).toBe('active')
  })

  it("a revoked verdict: the key's real status, and Polar's words alone", async () => {
    const verdict = {
      reason: 'revoked' as const,
      at: T0 - HOUR,
      // As older keygate versions stored it: their sentence, then Polar's.
      detail:
        'The seller revoked or disabled this license key. (Polar: "License key is no longer active.")',
    }
    const { store } = watched(serializeGrant(grant({ verdict })))
    const seen = await inspectRecord(store, { machine, now: T0 })
    expect(seen.state).toMatchObject({ status: 'inactive', reason: 'revoked' })
    expect(seen.keyStatus).toBe('revoked_or_disabled')
    expect(seen.verdict).toEqual({
      reason: 'revoked',
      at: T0 - HOUR,
      detail: 'License key is no longer active.',
    })
  })

  it('key status: a snapshot that says disabled, and a key Polar no longer knows', async () => {
    const disabled = grant()
    disabled.license.status = 'disabled'
    const first = await inspectRecord(memoryStore(serializeGrant(disabled)), { machine, now: T0 })
    expect(first).toMatchObject({ keyStatus: 'disabled', state: { reason: 'revoked' } })
    const gone = grant({ verdict: { reason: 'key_not_found', at: T0, detail: 'Not found' } })
    const second = await inspectRecord(memoryStore(serializeGrant(gone)), { machine, now: T0 })
    expect(second).toMatchObject({ keyStatus: 'not_found', verdict: { detail: 'Not found' } })
  })

  it('applies the policy and the time given: grace, then grace expired', async () => {
    const store = memoryStore(serializeGrant(grant()))
    const grace = await inspectRecord(store, { machine, now: T0 + 2 * DAY })
    expect(grace.state.status).toBe('grace')
    const longer = await inspectRecord(store, {
      machine,
      now: T0 + 2 * DAY,
      policy: { revalidateAfter: 3 * DAY, gracePeriod: 7 * DAY },
    })
    expect(longer.state.status).toBe('active')
    const late = await inspectRecord(store, { machine, now: T0 + 8 * DAY })
    expect(late.state).toMatchObject({ status: 'inactive', reason: 'grace_expired' })
  })
})
