import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPolarEmulator, type EmulatorServer, type PolarEmulator } from '@keygate/core/testing'
import { build } from 'esbuild'
import { importJWK, jwtVerify } from 'jose'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyPair, type KeyPair } from '../src/index.js'
import type { Json } from './helpers.js'

/**
 * The example Worker (examples/lease-worker) on workerd through miniflare, talking over
 * real HTTP to the emulator on 127.0.0.1: the same code a `wrangler deploy` ships.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url))
const sources: Record<string, string> = {
  '@keygate/core': 'packages/core/src/index.ts',
  '@keygate/core/admin': 'packages/core/src/admin/index.ts',
  '@keygate/server': 'packages/server/src/index.ts',
}

/** What wrangler does: one ES module for workerd, with the packages' sources bundled in. */
async function bundleWorker(): Promise<string> {
  const result = await build({
    entryPoints: [join(root, 'examples/lease-worker/src/index.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    logLevel: 'silent',
    plugins: [
      {
        name: 'keygate-sources',
        setup(builder) {
          builder.onResolve({ filter: /^@keygate\// }, (args) => {
            const source = sources[args.path]
            return source === undefined ? undefined : { path: join(root, source) }
          })
        },
      },
    ],
  })
  return result.outputFiles[0]?.text ?? ''
}

describe('examples/lease-worker on workerd', () => {
  let emulator: PolarEmulator
  let polar: EmulatorServer
  let worker: Miniflare
  let pair: KeyPair

  beforeAll(async () => {
    emulator = createPolarEmulator()
    polar = await emulator.listen()
    pair = await createKeyPair()
    worker = new Miniflare({
      modules: true,
      script: await bundleWorker(),
      compatibilityDate: '2026-07-01',
      bindings: {
        POLAR_ORGANIZATION_ID: emulator.organizationId,
        POLAR_TOKEN: emulator.createAccessToken(),
        LEASE_SIGNING_KEY: JSON.stringify(pair.privateJwk),
        POLAR_SERVER: polar.url,
        LEASE_TTL_DAYS: '2',
      },
    })
    await worker.ready
  }, 60_000)

  afterAll(async () => {
    await worker?.dispose()
    await polar?.close()
  })

  async function post(path: string, body: unknown) {
    const response = await worker.dispatchFetch(`http://lease.example${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { status: response.status, json: (await response.json()) as Json }
  }

  it('activates, renews, lists and frees, with leases that verify', async () => {
    const key = emulator.createKey()
    const activated = await post('/v1/activate', { key: key.key, fingerprint: 'fp', label: 'W' })
    expect(activated.status).toBe(200)
    const activationId = activated.json.activation.id
    const { payload } = await jwtVerify(
      activated.json.lease,
      await importJWK(pair.publicJwk, 'EdDSA'),
      { issuer: 'keygate', typ: 'keygate-lease+jwt' },
    )
    expect(payload).toMatchObject({ sub: key.id, activation_id: activationId, fingerprint: 'fp' })
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(2 * 24 * 60 * 60)

    const renewed = await post('/v1/renew', {
      key: key.key,
      fingerprint: 'fp',
      activation_id: activationId,
    })
    expect(renewed.status).toBe(200)
    const devices = await post('/v1/devices', { key: key.key, fingerprint: 'fp' })
    expect(devices.json.devices).toEqual([
      expect.objectContaining({ id: activationId, current: true }),
    ])
    const freed = await post('/v1/devices/free', { key: key.key, activation_id: activationId })
    expect(freed.json).toEqual({ freed: activationId })
    expect(emulator.listActivations(key)).toEqual([])
  })

  it('12 concurrent activations of one machine leave 1 seat', async () => {
    const key = emulator.createKey({ limitActivations: 5 })
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => post('/v1/activate', { key: key.key, fingerprint: 'race' })),
    )
    const live = emulator.listActivations(key)
    expect(live).toHaveLength(1)
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200))
    expect(new Set(answers.map((a) => a.json.activation.id))).toEqual(new Set([live[0]?.id]))
  })

  it('answers errors as JSON codes', async () => {
    const revoked = emulator.createKey({ status: 'revoked' })
    const res = await post('/v1/activate', { key: revoked.key, fingerprint: 'fp' })
    expect(res.status).toBe(403)
    expect(res.json.error.code).toBe('revoked')
    expect(JSON.stringify(res.json)).not.toContain(revoked.key)
  })
})
