import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseGrant } from '@keygate/core'
import { createPolarEmulator, type EmulatorServer, type PolarEmulator } from '@keygate/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleFixture, startChild } from './fixtures/build-fixture.js'
import type { WorkerOutcome } from './fixtures/licensing-worker.js'

const INSTANCES = 8

let work: string
let worker: string
let emulator: PolarEmulator
let server: EmulatorServer
let limitedServer: EmulatorServer | undefined
let blockedServer: EmulatorServer | undefined

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'keygate-contention-'))
  await chmod(work, 0o755)
  worker = await bundleFixture('licensing-worker.ts', work)
  // Eight instances on one IP exceed Polar's 3 requests/s; the limit is not under test here.
  emulator = createPolarEmulator({ rateLimit: false })
  server = await emulator.listen()
})

afterAll(async () => {
  await server?.close()
  await limitedServer?.close()
  await blockedServer?.close()
  await rm(work, { recursive: true, force: true })
})

/** Starts `INSTANCES` app processes, lets them all get ready, then releases them at once. */
async function together(config: Record<string, string>): Promise<WorkerOutcome[]> {
  const env = { KEYGATE_WORKER: JSON.stringify(config) }
  const children = Array.from({ length: INSTANCES }, () => startChild(worker, env))
  await Promise.all(children.map((child) => child.waitFor((line) => line === 'ready')))
  for (const child of children) child.process.stdin?.write('go\n')
  const outcomes = await Promise.all(
    children.map(async (child) => {
      const line = await child.waitFor((l) => l.startsWith('{'), 60_000)
      await child.exited
      return JSON.parse(line) as WorkerOutcome
    }),
  )
  return outcomes
}

describe('eight app instances sharing one store folder', () => {
  it('activate together: one seat taken, all active with the same activation', async () => {
    const dir = join(work, 'shared')
    const key = emulator.createKey({ limitActivations: 3 })
    const base = {
      dir,
      server: server.url,
      organizationId: emulator.organizationId,
      salt: 'contention-test',
    }

    const activated = await together({ ...base, action: 'activate', key: key.key })
    const seats = emulator.listActivations(key.key)
    expect(seats).toHaveLength(1)
    const activate = emulator.requests.filter((r) => r.endpoint === 'activate')
    expect(activate).toHaveLength(1)
    for (const outcome of activated) {
      expect(outcome).toMatchObject({ status: 'active', activationId: seats[0]?.id })
    }
    const stored = parseGrant(await readFile(join(dir, 'license.json'), 'utf8'))
    expect(stored.ok && stored.grant.activation?.id).toBe(seats[0]?.id)

    // Then all refresh at once: each validates in turn under the lock, none breaks the file.
    const validationsBefore = emulator.getKey(key.key).validations
    const refreshed = await together({ ...base, action: 'refresh' })
    for (const outcome of refreshed) {
      expect(outcome).toMatchObject({ status: 'active', activationId: seats[0]?.id })
      expect(outcome.error).toBeUndefined()
    }
    expect(emulator.getKey(key.key).validations).toBe(validationsBefore + INSTANCES)
    expect(emulator.listActivations(key.key)).toHaveLength(1)
    const after = parseGrant(await readFile(join(dir, 'license.json'), 'utf8'))
    expect(after.ok).toBe(true)
  })
})

describe('eight app instances under Polar’s real rate limit (3 requests/s per IP)', () => {
  it('activate together: two requests in all, every instance active on the one seat', async () => {
    const limited = createPolarEmulator() // the default limit: 3 per second, then 60 s blocked
    limitedServer = await limited.listen()
    const key = limited.createKey({ limitActivations: 3 })
    const outcomes = await together({
      dir: join(work, 'rate-limited'),
      server: limitedServer.url,
      organizationId: limited.organizationId,
      salt: 'contention-test',
      action: 'activate',
      key: key.key,
    })
    const seats = limited.listActivations(key.key)
    expect(seats).toHaveLength(1)
    // The first validates the key and activates; the other seven find its fresh grant
    // inside the lock.
    expect(limited.requests.map((r) => r.endpoint)).toEqual(['validate', 'activate'])
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'active', activationId: seats[0]?.id })
      expect(outcome.error).toBeUndefined()
    }

    // Then all refresh at once. Each paces only itself, but the store's pacing log tells each
    // when the others asked: eight validations, none past Polar's 3 a second, no IP block.
    limited.clearRequests()
    const refreshed = await together({
      dir: join(work, 'rate-limited'),
      server: limitedServer.url,
      organizationId: limited.organizationId,
      salt: 'contention-test',
      action: 'refresh',
    })
    expect(limited.requests.map((r) => `${r.endpoint} ${r.status}`)).toEqual(
      Array.from({ length: INSTANCES }, () => 'validate 200'),
    )
    for (const outcome of refreshed) {
      expect(outcome).toMatchObject({ status: 'active', activationId: seats[0]?.id })
      expect(outcome.error).toBeUndefined()
    }
  })
})

describe('app instances while Polar blocks this IP', () => {
  it('one asks and meets the 429; the others learn the pause from the store and send nothing', async () => {
    const blocked = createPolarEmulator()
    blockedServer = await blocked.listen()
    const key = blocked.createKey({ limitActivations: 3 })
    const base = {
      dir: join(work, 'blocked'),
      server: blockedServer.url,
      organizationId: blocked.organizationId,
      salt: 'contention-test',
    }
    await together({ ...base, action: 'activate', key: key.key })
    // Something else on this network (another app, a script) spends the IP's window: 60 s block.
    for (let i = 0; i < 4; i++) {
      await fetch(`${blockedServer.url}/v1/customer-portal/license-keys/validate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'NOT-A-KEY', organization_id: blocked.organizationId }),
      })
    }
    blocked.clearRequests()

    const refreshed = await together({ ...base, action: 'refresh' })
    expect(blocked.requests.map((r) => `${r.endpoint} ${r.status}`)).toEqual(['validate 429'])
    for (const outcome of refreshed) {
      // The cached grant still lets the app run; the pause is reported beside it.
      expect(outcome).toMatchObject({ status: 'active', error: { code: 'rate_limited' } })
    }
  })
})
