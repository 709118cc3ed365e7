import { generateKeyPairSync, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { staticMachine } from '../../src/machine.js'
import { type Grant, serializeGrant } from '../../src/offline/grant.js'
import { inspectRecord } from '../../src/offline/inspect.js'
import type { LeasePublicKey } from '../../src/offline/lease.js'
import { memoryStore } from '../../src/store.js'
import { FP, KEY, makeGrant, ORG, T0 } from './grant-fixture.js'

/**
 * `inspectRecord` with the app's lease public key judges a leased record exactly as the
 * app's start-up check does; without it, it says the lease was not verified.
 */

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const jwk = publicKey.export({ format: 'jwk' })
  const pub: LeasePublicKey = { kty: 'OKP', crv: 'Ed25519', x: String(jwk.x) }
  return { privateKey, publicKey: pub }
}
const server = keyPair()
const other = keyPair()

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A lease as @keygate/server signs it, for `grant`, issued at T0 for 7 days. */
function leaseFor(grant: Grant, claims: Record<string, unknown> = {}, signer = server) {
  const header = b64({ alg: 'EdDSA', typ: 'keygate-lease+jwt' })
  const payload = b64({
    iss: 'https://lease.example',
    sub: grant.license.id,
    ver: 1,
    organization_id: grant.organizationId,
    activation_id: grant.activation?.id ?? null,
    fingerprint: grant.fingerprint,
    status: 'granted',
    key_expires_at: null,
    benefit_id: grant.license.benefitId,
    iat: T0 / 1000,
    exp: (T0 + 7 * DAY) / 1000,
    ...claims,
  })
  const signature = sign(null, Buffer.from(`${header}.${payload}`), signer.privateKey)
  return `${header}.${payload}.${signature.toString('base64url')}`
}

function leased(claims?: Record<string, unknown>, signer = server): Grant {
  const grant = makeGrant({ localValidatedAt: T0 })
  return { ...grant, lease: leaseFor(grant, claims, signer) }
}

const machine = staticMachine(FP)
const inspect = (grant: Grant, options: Parameters<typeof inspectRecord>[1] = {}) =>
  inspectRecord(memoryStore(serializeGrant(grant)), {
    organizationId: ORG,
    machine,
    now: T0 + HOUR,
    ...options,
  })

describe('inspectRecord of a leased record', () => {
  it('with the lease key: a verified lease decides, signed, its signed facts shown', async () => {
    const seen = await inspect(leased(), { leasePublicKey: server.publicKey })
    expect(seen).toMatchObject({
      kind: 'grant',
      state: { status: 'active', integrity: 'signed' },
      leased: true,
      leaseVerified: true,
      validatedAt: { polar: T0, local: T0 },
    })
    expect(JSON.stringify(seen)).not.toContain(KEY)
  })

  it('with the lease key: an edited record keeps its signed times, not the edited ones', async () => {
    const grant = leased()
    const edited = { ...grant, validatedAt: T0 + 300 * DAY, localValidatedAt: T0 + 300 * DAY }
    const seen = await inspect(edited, { leasePublicKey: server.publicKey, now: T0 + 20 * DAY })
    expect(seen.state).toMatchObject({ status: 'inactive', integrity: 'signed' })
    expect(seen.state.status === 'inactive' && seen.state.reason).not.toBe('tampered')
    expect(seen.validatedAt).toEqual({ polar: T0, local: T0 })
  })

  it('with the lease key: an edited lease is inactive (tampered), not verified', async () => {
    const grant = leased()
    const [header, , signature] = (grant.lease ?? '').split('.')
    const longer = b64({
      ...JSON.parse(Buffer.from((grant.lease ?? '').split('.')[1] ?? '', 'base64url').toString()),
      exp: (T0 + 365 * DAY) / 1000,
    })
    const seen = await inspect(
      { ...grant, lease: `${header}.${longer}.${signature}` },
      { leasePublicKey: server.publicKey },
    )
    expect(seen).toMatchObject({
      state: { status: 'inactive', reason: 'tampered' },
      leased: true,
      leaseVerified: false,
    })
  })

  it('with the lease key: a lease signed by another key is tampered', async () => {
    const seen = await inspect(leased({}, other), { leasePublicKey: server.publicKey })
    expect(seen).toMatchObject({ state: { reason: 'tampered' }, leaseVerified: false })
  })

  it('with the lease key: a lease for another machine is machine_mismatch when a machine is given', async () => {
    const grant = makeGrant({ localValidatedAt: T0, fingerprint: 'fp-other' })
    const copied = { ...grant, lease: leaseFor(grant) }
    const seen = await inspect(copied, { leasePublicKey: server.publicKey })
    expect(seen).toMatchObject({
      state: { status: 'inactive', reason: 'machine_mismatch' },
      leaseVerified: true,
      machineChecked: true,
    })
    // Edited to this machine's fingerprint: the lease no longer names the record.
    const edited = await inspect(
      { ...copied, fingerprint: FP },
      { leasePublicKey: server.publicKey },
    )
    expect(edited).toMatchObject({ state: { reason: 'machine_mismatch' }, leaseVerified: false })
  })

  it('with the lease key: a record without a lease is tampered, as the app judges it', async () => {
    const seen = await inspect(makeGrant({ localValidatedAt: T0 }), {
      leasePublicKey: server.publicKey,
    })
    expect(seen).toMatchObject({
      state: { status: 'inactive', reason: 'tampered' },
      leased: false,
      leaseVerified: false,
    })
  })

  it('without the lease key: nothing is verified, and the state never claims signed', async () => {
    const seen = await inspect(leased())
    expect(seen).toMatchObject({ state: { status: 'active' }, leased: true, leaseVerified: false })
    expect(seen.state.status === 'active' && seen.state.integrity).not.toBe('signed')
  })
})
