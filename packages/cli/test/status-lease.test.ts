import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLicensing, parseGrant, serializeGrant } from '@keygate/core'
import { createPolarEmulator, type PolarEmulator } from '@keygate/core/testing'
import { createFileStore, nodeMachine } from '@keygate/node-store'
import { createKeyPair, createLeaseServer, type KeyPair } from '@keygate/server'
import { beforeAll, describe, expect, it } from 'vitest'
import { keygate, keygateInProcess, useEmulator, useTempDir } from './helpers.js'

/**
 * `keygate status` on a record written through a lease server (@keygate/server): with the
 * app's lease public key (`--lease-key`) it judges the record as the app does; without it,
 * it says the lease was not verified, never plain "signed".
 */

const tempDir = useTempDir()
const served = useEmulator()
const LEASE = 'https://lease.example'
let pair: KeyPair
let otherPair: KeyPair

beforeAll(async () => {
  pair = await createKeyPair()
  otherPair = await createKeyPair()
})

/**
 * An app on this machine activated through the lease server; its record in `dir`. Polar's
 * URL in the record is `polarUrl` (only `--online` goes there).
 */
async function leasedRecord(
  emulator: PolarEmulator = createPolarEmulator({ rateLimit: false }),
  polarUrl = 'http://127.0.0.1:9',
) {
  const dir = await tempDir()
  const server = createLeaseServer({
    organizationId: emulator.organizationId,
    polarToken: emulator.createAccessToken(),
    signingKey: pair.privateJwk,
    server: polarUrl,
    fetch: emulator.fetch,
  })
  const fetchBoth: typeof fetch = (input, init) => {
    const request = new Request(input, init)
    return request.url.startsWith(LEASE) ? server.fetch(request) : emulator.fetch(request)
  }
  const key = emulator.createKey({ limitActivations: 3 })
  const store = createFileStore({ dir })
  const licensing = createLicensing({
    organizationId: emulator.organizationId,
    store,
    // What keygate status computes by default: the organization id as the salt.
    machine: nodeMachine({ salt: emulator.organizationId, dir }),
    server: polarUrl,
    fetch: fetchBoth,
    leaseServer: { url: LEASE, publicKey: pair.publicJwk },
  })
  expect(await licensing.activate(key.key)).toMatchObject({
    status: 'active',
    integrity: 'signed',
  })
  const text = await readFile(store.path, 'utf8')
  const parsed = parseGrant(text)
  if (!parsed.ok) throw new Error(parsed.message)
  expect(parsed.grant.lease).toEqual(expect.any(String))
  return { dir, key, store, grant: parsed.grant }
}

/** Neither the license key, nor the lease, nor the server's private key is ever printed. */
function printsNoSecret(run: { stdout: string; stderr: string }, key: string, lease: string) {
  const all = (run.stdout + run.stderr).toLowerCase()
  expect(all).not.toContain(key.toLowerCase())
  expect(all).not.toContain(lease.toLowerCase())
  expect(all).not.toContain(pair.privateJwk.d.toLowerCase())
}

const integrityRow = (stdout: string) => /^Integrity: +(.*)$/m.exec(stdout)?.[1]

describe('keygate status on a leased record', () => {
  it('with --lease-key (inline JSON): the verified lease decides, Integrity says signed and verified', async () => {
    const t = await leasedRecord()
    const run = await keygateInProcess([
      'status',
      '--dir',
      t.dir,
      '--lease-key',
      JSON.stringify(pair.publicJwk),
    ])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^License: +active$/m)
    expect(integrityRow(run.stdout)).toMatch(/^signed: the lease verified with the given key/)
    printsNoSecret(run, t.key.key, t.grant.lease ?? '')
  })

  it('with --lease-key (a file) and --json: leaseVerified true, integrity signed', async () => {
    const t = await leasedRecord()
    const file = join(await tempDir(), 'lease-public.json')
    await writeFile(file, JSON.stringify(pair.publicJwk, null, 2))
    const run = await keygateInProcess(['status', '--dir', t.dir, '--lease-key', file, '--json'])
    expect(run.code).toBe(0)
    const out = JSON.parse(run.stdout)
    expect(out).toMatchObject({
      leaseVerified: true,
      state: { status: 'active', integrity: 'signed' },
      facts: { leased: true },
    })
    printsNoSecret(run, t.key.key, t.grant.lease ?? '')
  })

  it('with --lease-key: an edited lease is inactive (tampered), and not verified', async () => {
    const t = await leasedRecord()
    const [header, payload, signature] = (t.grant.lease ?? '').split('.') as [
      string,
      string,
      string,
    ]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    const longer = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 365 * 86_400 }))
    const edited = `${header}.${longer.toString('base64url')}.${signature}`
    await t.store.write(serializeGrant({ ...t.grant, lease: edited }))

    const key = JSON.stringify(pair.publicJwk)
    const run = await keygateInProcess(['status', '--dir', t.dir, '--lease-key', key])
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/^License: +inactive \(tampered\)$/m)
    expect(integrityRow(run.stdout)).toMatch(/does not verify with the given key/)
    expect(integrityRow(run.stdout)).not.toMatch(/^signed:/)
    const json = await keygateInProcess(['status', '--dir', t.dir, '--lease-key', key, '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({
      leaseVerified: false,
      state: { status: 'inactive', reason: 'tampered' },
    })
    printsNoSecret(run, t.key.key, edited)
  })

  it("with another lease server's key: tampered, never active", async () => {
    const t = await leasedRecord()
    const key = JSON.stringify(otherPair.publicJwk)
    const run = await keygateInProcess(['status', '--dir', t.dir, '--lease-key', key])
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/^License: +inactive \(tampered\)$/m)
  })

  it('without --lease-key: the Integrity row says the lease was not verified, never plain signed', async () => {
    const t = await leasedRecord()
    const run = await keygate(['status', '--dir', t.dir])
    expect(run.code).toBe(0)
    expect(integrityRow(run.stdout)).toMatch(/^signed \(not verified here: pass --lease-key\)/)
    const json = await keygateInProcess(['status', '--dir', t.dir, '--json'])
    const out = JSON.parse(json.stdout)
    expect(out.leaseVerified).toBe(false)
    expect(out.state.integrity).not.toBe('signed')
    printsNoSecret(run, t.key.key, t.grant.lease ?? '')
    printsNoSecret(json, t.key.key, t.grant.lease ?? '')
  })

  it('a record without a lease: leaseVerified false, the Integrity row as before', async () => {
    const dir = await tempDir()
    const emulator = createPolarEmulator({ rateLimit: false })
    const key = emulator.createKey()
    const licensing = createLicensing({
      organizationId: emulator.organizationId,
      store: createFileStore({ dir }),
      machine: nodeMachine({ salt: emulator.organizationId, dir }),
      server: 'http://127.0.0.1:9',
      fetch: emulator.fetch,
    })
    await licensing.activate(key.key)
    const json = await keygateInProcess(['status', '--dir', dir, '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({
      leaseVerified: false,
      facts: { leased: false },
    })
    const run = await keygateInProcess(['status', '--dir', dir])
    expect(integrityRow(run.stdout)).toMatch(/^none: /)
    // With a lease key given, the app with that lease server refuses it until it renews.
    const keyed = await keygateInProcess([
      'status',
      '--dir',
      dir,
      '--lease-key',
      JSON.stringify(pair.publicJwk),
    ])
    expect(keyed.code).toBe(3)
    expect(integrityRow(keyed.stdout)).toMatch(/carries no lease/)
  })

  it('refuses a private key, or something that is not a public JWK, without echoing it', async () => {
    const t = await leasedRecord()
    const secret = JSON.stringify(pair.privateJwk)
    const run = await keygateInProcess(['status', '--dir', t.dir, '--lease-key', secret])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/private key/)
    printsNoSecret(run, t.key.key, t.grant.lease ?? '')
    for (const bad of ['{"kty":"RSA"}', '{not json', join(t.dir, 'missing.json')]) {
      const refused = await keygateInProcess(['status', '--dir', t.dir, '--lease-key', bad])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(/--lease-key/)
    }
  })
})

describe('keygate status --online on a leased record', () => {
  it('the lease still decides after the direct check with Polar, and a revocation locks', async () => {
    const t = await leasedRecord(served.polar, served.url)
    const key = JSON.stringify(pair.publicJwk)
    const fine = await keygate(['status', '--dir', t.dir, '--online', '--lease-key', key, '--json'])
    expect(fine.code).toBe(0)
    expect(JSON.parse(fine.stdout)).toMatchObject({
      online: true,
      leaseVerified: true,
      state: { status: 'active', integrity: 'signed' },
    })
    served.polar.revoke(t.key)
    const run = await keygate(['status', '--dir', t.dir, '--online', '--lease-key', key])
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/^License: +inactive \(revoked\)$/m)
    expect(integrityRow(run.stdout)).toMatch(/^signed: the lease verified/)
    printsNoSecret(run, t.key.key, t.grant.lease ?? '')
  })
})

describe('keygate status --help', () => {
  it('documents --lease-key with an example', async () => {
    const run = await keygateInProcess(['status', '--help'])
    expect(run.stdout).toMatch(/--lease-key <file\|json>/)
    expect(run.stdout).toMatch(/keygate status .*--lease-key/)
  })
})
