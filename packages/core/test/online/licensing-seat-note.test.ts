import { type LicenseState, describe as words } from '@keygate/core'
import { describe, expect, it } from 'vitest'
import { staticMachine } from '../../src/machine.js'
import { createPolarClient } from '../../src/polar/client.js'
import { type LicenseStore, memoryStore } from '../../src/store.js'
import { SERVER, setup } from './licensing-fixture.js'

// Without a lease server, a process killed between Polar's answer and the durable write of
// the grant would lose the activation id, and the next start would take a second seat. The
// id is noted (the store's writeQuick) the moment the answer arrives; the next activation
// resumes that seat.

/**
 * A store whose process is "killed" right after the quick note: the note is kept, and the
 * durable write of the grant never happens (it never settles, as in a dead process). The
 * next start gets a fresh store holding what was left behind.
 */
function dyingStore() {
  const disk = memoryStore()
  const quick: string[] = []
  let killed = false
  const store: LicenseStore = {
    read: () => disk.read(),
    clear: () => disk.clear(),
    lock: (fn) => disk.lock(fn),
    quarantine: (reason) => disk.quarantine(reason),
    async write(text) {
      if (killed) return new Promise<void>(() => {})
      await disk.write(text)
    },
    async writeQuick(text) {
      quick.push(text)
      await disk.write(text)
      killed = true
    },
  }
  return {
    store,
    quick,
    /** The record as the next process finds it. */
    async left() {
      return memoryStore(await disk.read())
    },
  }
}

/** Activates through a store that dies after the quick note; resolves with the next start's store. */
async function killedAfterNote(t: ReturnType<typeof setup>) {
  const dying = dyingStore()
  // Never settles: the process died inside the durable write.
  void t.make({ store: dying.store }).activate(t.key.key)
  await until(() => dying.quick.length > 0)
  expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  return { next: await dying.left(), quick: dying.quick }
}

/** As `killedAfterNote`, then the noted seat deleted at Polar (from the customer portal, say). */
async function noteOfDeletedSeat(t: ReturnType<typeof setup>) {
  const { next } = await killedAfterNote(t)
  const noted = t.emulator.listActivations(t.key)[0]?.id ?? ''
  expect(t.emulator.removeActivation(noted)).toBe(true)
  return { next, noted }
}

/**
 * `state` resumed the noted seat with one validate and took no other; the grant replaced
 * the note, so the next start is active offline.
 */
async function expectResumed(
  t: ReturnType<typeof setup>,
  next: LicenseStore,
  since: number,
  state: LicenseState,
) {
  const seat = t.emulator.listActivations(t.key)[0]?.id
  expect(state).toMatchObject({ status: 'active', activation: { id: seat } })
  expect(t.endpoints(since)).toEqual(['validate'])
  expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  expect(await next.read()).not.toContain('pending')
  expect(await t.make({ store: next }).check({ online: 'never' })).toMatchObject({
    status: 'active',
    activation: { id: seat },
  })
}

async function until(done: () => boolean) {
  for (let n = 0; n < 1000 && !done(); n++) await new Promise((r) => setTimeout(r, 1))
  expect(done()).toBe(true)
}

describe('the note of a seat Polar gave (no lease server)', () => {
  it('is written quickly, before the grant, naming the activation and never the plain key', async () => {
    const t = setup()
    const { next, quick } = await killedAfterNote(t)
    const [seat] = t.emulator.listActivations(t.key)
    expect(quick).toHaveLength(1)
    expect(JSON.parse(quick[0] ?? '')).toEqual({
      v: 1,
      pending: {
        at: t.clock.now,
        displayKey: expect.stringMatching(/^\*+/),
        encodedKey: expect.any(String),
        activationId: seat?.id,
      },
    })
    expect(quick[0]?.toLowerCase()).not.toContain(t.key.key.toLowerCase())
    expect(await next.read()).toBe(quick[0])
  })

  it('a kill after it: the next check() says so and the next activate() resumes that seat', async () => {
    const t = setup({ limitActivations: 1 })
    const { next } = await killedAfterNote(t)
    const seat = t.emulator.listActivations(t.key)[0]?.id
    const after = t.make({ store: next })

    const state = await after.check({ online: 'never' })
    expect(state).toMatchObject({
      status: 'inactive',
      reason: 'not_activated',
      note: { kind: 'interrupted_activation', at: t.clock.now, activationId: seat },
    })
    expect(words(state).detail).toMatch(/after Polar had given this computer a seat/)
    expect(JSON.stringify(state).toLowerCase()).not.toContain(t.key.key.toLowerCase())

    const since = t.emulator.requests.length
    // With one seat only, taking another would fail: the seat is resumed instead.
    await expectResumed(t, next, since, await after.activate(t.key.key))
  })

  it('a kill after it: the next online check() finishes the activation by itself, no key typed', async () => {
    const t = setup({ limitActivations: 1 })
    const { next } = await killedAfterNote(t)
    const since = t.emulator.requests.length
    await expectResumed(t, next, since, await t.make({ store: next }).check())
  })

  it('with a keychain the note’s key is sealed, and the online check() opens it to resume', async () => {
    const t = setup({ limitActivations: 1 })
    const secret = new Uint8Array(32).fill(9)
    const keychain = { kind: 'keychain' as const, key: async () => secret }
    const dying = dyingStore()
    void t.make({ store: dying.store, keychain }).activate(t.key.key)
    await until(() => dying.quick.length > 0)
    const note = JSON.parse(dying.quick[0] ?? '{}') as { pending: Record<string, unknown> }
    expect(note.pending).toHaveProperty('sealedKey')
    expect(note.pending).not.toHaveProperty('encodedKey')
    expect(dying.quick[0]?.toLowerCase()).not.toContain(t.key.key.toLowerCase())
    const next = await dying.left()
    expect(await t.make({ store: next, keychain }).check()).toMatchObject({
      status: 'active',
      integrity: 'keychain',
    })
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('the online check() cannot reach Polar: the interrupted state with the error, the note kept', async () => {
    const t = setup()
    const { next } = await killedAfterNote(t)
    t.emulator.failNext(1, 'reset')
    const state = await t.make({ store: next }).check()
    expect(state).toMatchObject({
      status: 'inactive',
      reason: 'not_activated',
      note: { kind: 'interrupted_activation' },
      error: { code: 'network' },
    })
    expect(await next.read()).toContain('activationId')
    // A minute later (the pacer's quiet minute after a failure), the next check resumes it.
    t.advance(61_000)
    expect(await t.make({ store: next }).check()).toMatchObject({ status: 'active' })
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('while Polar keeps failing, the online check() asks at most once a minute', async () => {
    const t = setup()
    const { next } = await killedAfterNote(t)
    const app = t.make({ store: next })
    t.emulator.failNext(100, 503)
    const before = t.emulator.requests.length
    for (let i = 0; i < 10; i++) {
      expect(await app.check()).toMatchObject({
        status: 'inactive',
        note: { kind: 'interrupted_activation' },
        error: { code: 'server' },
      })
      t.advance(1000)
    }
    expect(t.endpoints(before)).toEqual(['validate'])
    t.advance(60_000)
    await app.check()
    expect(t.endpoints(before)).toEqual(['validate', 'validate'])
  })

  it('a note edited to name another machine’s seat of the key: not taken over, the note cleared', async () => {
    const t = setup({ limitActivations: 2 })
    const { next } = await killedAfterNote(t)
    // Machine B activates the same key; the note on machine A is edited to name B's seat.
    const other = t.make({ store: memoryStore(), machine: staticMachine('fp-machine-b', 'B') })
    const theirs = await other.activate(t.key.key)
    const theirId = theirs.status === 'active' ? theirs.activation?.id : undefined
    expect(theirId).toBeDefined()
    const note = JSON.parse((await next.read()) ?? '{}') as { pending: { activationId?: string } }
    note.pending.activationId = theirId ?? ''
    await next.write(JSON.stringify(note))
    const state = await t.make({ store: next }).check()
    expect(state).toMatchObject({ status: 'inactive', reason: 'not_activated' })
    expect(await next.read()).toBeNull()
    // B keeps its seat; A took none.
    expect(await other.check({ online: 'always' })).toMatchObject({ status: 'active' })
    expect(t.emulator.listActivations(t.key)).toHaveLength(2)
  })

  it('the online check() finds the noted seat gone at Polar: the note is cleared, no seat taken', async () => {
    const t = setup()
    const { next } = await noteOfDeletedSeat(t)
    const since = t.emulator.requests.length
    expect(await t.make({ store: next }).check()).toMatchObject({
      status: 'inactive',
      reason: 'not_activated',
    })
    expect(t.endpoints(since)).toEqual(['validate'])
    expect(t.emulator.listActivations(t.key)).toHaveLength(0)
    expect(await next.read()).toBeNull()
  })

  it('a noted seat deleted at Polar since: a fresh activation is allowed', async () => {
    const t = setup()
    const { next, noted } = await noteOfDeletedSeat(t)
    const since = t.emulator.requests.length
    const state = await t.make({ store: next }).activate(t.key.key)
    expect(t.endpoints(since)).toEqual(['validate', 'activate'])
    const seats = t.emulator.listActivations(t.key)
    expect(seats).toHaveLength(1)
    expect(state).toMatchObject({ status: 'active', activation: { id: seats[0]?.id } })
    expect(seats[0]?.id).not.toBe(noted)
  })

  it('a noted seat of another key: activating a different key takes a seat of that key', async () => {
    const t = setup()
    const { next } = await killedAfterNote(t)
    const other = t.emulator.createKey({ limitActivations: 2 })
    const state = await t.make({ store: next }).activate(other.key)
    expect(state.status).toBe('active')
    expect(t.emulator.listActivations(other)).toHaveLength(1)
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('the noted seat cannot be checked (network): no second seat is taken', async () => {
    const t = setup()
    const { next } = await killedAfterNote(t)
    const since = t.emulator.requests.length
    t.emulator.failNext(1, 'reset')
    await expect(t.make({ store: next }).activate(t.key.key)).rejects.toMatchObject({
      code: 'network',
    })
    expect(t.endpoints(since)).not.toContain('activate')
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
    // The note stays, and the next try resumes the seat.
    expect(await t.make({ store: next }).activate(t.key.key)).toMatchObject({ status: 'active' })
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })

  it('a store without writeQuick gets no extra write: the grant is the first write after the answer', async () => {
    const t = setup()
    const texts: string[] = []
    const store: LicenseStore = {
      ...t.store,
      write: async (text) => {
        texts.push(text)
        await t.store.write(text)
      },
    }
    expect((await t.make({ store }).activate(t.key.key)).status).toBe('active')
    expect(texts).toHaveLength(2)
    expect(texts[1]).not.toContain('pending')
  })
})

describe('the note is taken from the answer as it arrives', () => {
  it('before the body is parsed: a 200 that fails to parse still leaves its seat noted', async () => {
    const t = setup()
    // Polar's answer with its license key cut off: the seat exists, the grant cannot be built.
    const broken: typeof fetch = async (input, init) => {
      const response = await t.emulator.fetch(input, init)
      if (!String(input).endsWith('/activate') || response.status !== 200) return response
      const { license_key: _cut, ...rest } = (await response.json()) as Record<string, unknown>
      return new Response(JSON.stringify(rest), { status: 200, headers: response.headers })
    }
    const client = createPolarClient({ fetch: broken, server: SERVER, retry: 0 })
    const store: LicenseStore = { ...t.store, writeQuick: (text) => t.store.write(text) }
    await expect(t.make({ client, store }).activate(t.key.key)).rejects.toMatchObject({
      code: 'bad_response',
    })
    const seat = t.emulator.listActivations(t.key)[0]?.id
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({
      note: { kind: 'interrupted_activation', activationId: seat },
    })
    expect(await t.licensing.activate(t.key.key)).toMatchObject({ activation: { id: seat } })
    expect(t.emulator.listActivations(t.key)).toHaveLength(1)
  })
})
