import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFileStore } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { keygate, useEmulator } from './helpers.js'

/** `keygate activations prune` and `keygate lease keygen`, as real processes. */

const emulator = useEmulator()

/** A seat as keygate takes it: the fingerprint in the conditions and in meta. */
const laptop = {
  label: 'laptop',
  meta: { keygate_machine: 'fp-a' },
  conditions: { keygate_machine: 'fp-a' },
}

function seller(args: readonly string[]) {
  return keygate([...args, '--server', emulator.url], { POLAR_ACCESS_TOKEN: emulator.token })
}

describe('keygate activations prune KEY', () => {
  it('frees the duplicate seats of one machine, keeping its oldest; other machines untouched', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 5 })
    const first = polar.addActivation(key, laptop)
    polar.advance(1000)
    const dup = polar.addActivation(key, laptop)
    const other = polar.addActivation(key, { label: 'desktop', meta: { keygate_machine: 'fp-b' } })
    const plain = polar.addActivation(key, { label: 'no fingerprint' })

    const run = await seller(['activations', 'prune', key.id])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`Removed 1 duplicate activation`)
    expect(run.stdout).toContain(dup.id)
    expect(run.stdout).toContain('Seats: 3 of 5 in use')
    expect(run.stdout).not.toContain(key.key)
    expect(polar.listActivations(key).map((a) => a.id)).toEqual([first.id, other.id, plain.id])

    const again = await seller(['activations', 'prune', key.id, '--json'])
    expect(JSON.parse(again.stdout)).toMatchObject({ removed: [], seats_in_use: 3 })
  })
})

describe("keygate activations prune KEY, while Polar's read replica lags", () => {
  afterEach(() => emulator.polar.setReplicaLag(0))

  it('keeps the live seat when the oldest listed one was freed a moment ago', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 5 })
    const freed = polar.addActivation(key, laptop)
    polar.advance(1000)
    const live = polar.addActivation(key, laptop)
    polar.advance(120_000)
    polar.removeActivation(freed.id)
    polar.setReplicaLag(60_000)

    const run = await seller(['activations', 'prune', key.id, '--json'])
    expect(run.code).toBe(0)
    expect(polar.listActivations(key).map((a) => a.id)).toEqual([live.id])
    expect(JSON.parse(run.stdout)).toMatchObject({ removed: [], seats_in_use: 1 })
  })
})

describe('keygate activations prune KEY, a seat stored with other conditions', () => {
  it('keeps the oldest real seat, frees the real duplicates, leaves the mismatched one and says so', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 5 })
    // The fingerprint in meta, but conditions another machine's: Polar's validate with this
    // machine's conditions refuses it, so it is not this machine's seat to keep or to free.
    const mismatched = polar.addActivation(key, {
      label: 'laptop',
      meta: { keygate_machine: 'fp-a' },
      conditions: { keygate_machine: 'fp-b' },
    })
    polar.advance(1000)
    const real = polar.addActivation(key, laptop)
    polar.advance(1000)
    const dup = polar.addActivation(key, laptop)
    polar.advance(1000)
    const dup2 = polar.addActivation(key, laptop)

    const run = await seller(['activations', 'prune', key.id, '--json'])
    expect(run.code).toBe(0)
    const answer = JSON.parse(run.stdout)
    expect(answer).toMatchObject({ removed: [{ id: dup.id }, { id: dup2.id }], seats_in_use: 2 })
    expect(answer.mismatched).toEqual([expect.objectContaining({ id: mismatched.id })])
    expect(run.stdout).not.toContain(key.key)
    expect(
      polar
        .listActivations(key)
        .map((a) => a.id)
        .sort(),
    ).toEqual([mismatched.id, real.id].sort())

    const text = await seller(['activations', 'prune', key.id])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain('no machine holds more than one seat')
    expect(text.stdout).toContain(`Left 1 activation alone`)
    expect(text.stdout).toContain(mismatched.id)
    expect(text.stdout).toContain('Seats: 2 of 5 in use')
    expect(text.stdout).not.toContain(key.key)
    expect(polar.listActivations(key)).toHaveLength(2)
  })
})

describe('keygate activations prune KEY, a lone seat stored with other conditions', () => {
  it('leaves it alone and says so, in text and in --json', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 2 })
    // The machine's only listed seat, but stored with another machine's conditions: the
    // machine fp-a holds no seat of its own, which is what support needs to hear.
    const mismatched = polar.addActivation(key, {
      label: 'laptop',
      meta: { keygate_machine: 'fp-a' },
      conditions: { keygate_machine: 'fp-b' },
    })
    const desktop = polar.addActivation(key, {
      label: 'desktop',
      meta: { keygate_machine: 'fp-c' },
      conditions: { keygate_machine: 'fp-c' },
    })

    const run = await seller(['activations', 'prune', key.id, '--json'])
    expect(run.code).toBe(0)
    const answer = JSON.parse(run.stdout)
    expect(answer).toMatchObject({ removed: [], seats_in_use: 2 })
    expect(answer.mismatched).toEqual([expect.objectContaining({ id: mismatched.id })])

    const text = await seller(['activations', 'prune', key.id])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain('no machine holds more than one seat')
    expect(text.stdout).toContain('Left 1 activation alone')
    expect(text.stdout).toContain(mismatched.id)
    expect(text.stdout).not.toContain(desktop.id)
    expect(text.stdout).toContain('Seats: 2 of 2 in use')
    expect(text.stdout).not.toContain(key.key)
    expect(
      polar
        .listActivations(key)
        .map((a) => a.id)
        .sort(),
    ).toEqual([mismatched.id, desktop.id].sort())
  })
})

describe("keygate activations remove KEY ACTIVATION, while Polar's read replica lags", () => {
  afterEach(() => emulator.polar.setReplicaLag(0))

  it('frees a seat taken a moment ago that the list does not show yet, given its whole id', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 5 })
    polar.advance(120_000)
    polar.setReplicaLag(60_000)
    const fresh = polar.addActivation(key, { label: 'new laptop' })

    const run = await seller(['activations', 'remove', key.id, fresh.id])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`Removed activation ${fresh.id}`)
    expect(polar.listActivations(key)).toEqual([])
  })

  it('says a listed seat freed a moment ago is already free, and succeeds', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 5 })
    const gone = polar.addActivation(key, { label: 'old laptop' })
    polar.advance(120_000)
    polar.removeActivation(gone.id)
    polar.setReplicaLag(60_000)

    const run = await seller(['activations', 'remove', key.id, gone.id.slice(0, 8)])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`Activation ${gone.id} ("old laptop") was already removed`)
    expect(run.stdout).not.toContain(key.key)
  })
})

describe('keygate lease keygen', () => {
  it('prints a public JWK for the app and a private one for the server, needing no token', async () => {
    const run = await keygate(['lease', 'keygen', '--json'])
    expect(run.code).toBe(0)
    const { public_jwk, private_jwk } = JSON.parse(run.stdout)
    expect(public_jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' })
    expect(public_jwk.d).toBeUndefined()
    expect(private_jwk).toMatchObject({ x: public_jwk.x, d: expect.any(String) })

    const text = await keygate(['lease', 'keygen'])
    expect(text.stdout).toMatch(/Public key: embed it in the app/)
    expect(text.stdout).toMatch(/secret/)
  })
})

describe('keygate status after an interrupted activation', () => {
  it('says an activation was cut short and may hold a seat', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keygate-pending-'))
    try {
      const store = createFileStore({ dir })
      await store.write(
        `${JSON.stringify({ v: 1, pending: { at: Date.UTC(2026, 11, 1), displayKey: '****-9D7F20' } })}\n`,
      )
      const run = await keygate(['status', '--dir', dir])
      expect(run.code).toBe(3)
      expect(run.stdout).toMatch(/^License: +inactive/m)
      expect(run.stdout).toMatch(
        /^Detail: +An activation of \*{4}-9D7F20 on .+ was interrupted before it finished; it may hold one of the key's seats\.$/m,
      )
      expect(run.stdout).toMatch(
        /^Seller: +keygate activations prune '\*{4}-9D7F20' frees a duplicate seat$/m,
      )
      const asJson = await keygate(['status', '--dir', dir, '--json'])
      expect(JSON.parse(asJson.stdout).state.note).toMatchObject({ kind: 'interrupted_activation' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('says the seat is held and resumed by activating again when the note names it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keygate-pending-'))
    const activationId = '5b0f1f55-43a1-4c2e-9f0e-0d3c2b1a9e77'
    try {
      const store = createFileStore({ dir })
      const pending = { at: Date.UTC(2026, 11, 1), displayKey: '****-9D7F20', activationId }
      await store.write(`${JSON.stringify({ v: 1, pending })}\n`)
      const run = await keygate(['status', '--dir', dir])
      expect(run.code).toBe(3)
      expect(run.stdout).toMatch(
        /^Detail: +An activation of \*{4}-9D7F20 on .+ was interrupted after Polar had given this computer a seat; activating again with the same key takes that seat back instead of a new one\.$/m,
      )
      expect(run.stdout).toMatch(
        new RegExp(
          `^Seller: +the seat is activation ${activationId}; activating again with the key resumes it`,
          'm',
        ),
      )
      const asJson = await keygate(['status', '--dir', dir, '--json'])
      expect(JSON.parse(asJson.stdout).state.note).toMatchObject({ activationId })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
