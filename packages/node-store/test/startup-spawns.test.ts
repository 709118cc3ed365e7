import { ChildProcess } from 'node:child_process'
import { cp, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLicensing } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import {
  commandSource,
  createFileStore,
  type MachineIdSource,
  nodeMachine,
} from '@keygate/node-store'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseIoreg, parseRegQuery } from '../src/machine-id-sources.js'
import { removeTempDirs, tempDir } from './temp-dir.js'

// Every asynchronous child process (spawn, exec, execFile, fork) starts in
// ChildProcess.prototype.spawn; node-store uses no synchronous variant.
const prototype = ChildProcess.prototype as unknown as { spawn(...args: unknown[]): unknown }
const realSpawn = prototype.spawn
let spawns = 0
const realPlatform = Object.getOwnPropertyDescriptor(process, 'platform') as PropertyDescriptor

beforeEach(() => {
  spawns = 0
  prototype.spawn = function counted(this: unknown, ...args: unknown[]) {
    spawns++
    return realSpawn.apply(this, args)
  }
})

afterEach(async () => {
  prototype.spawn = realSpawn
  Object.defineProperty(process, 'platform', realPlatform)
  await removeTempDirs()
})

function forcePlatform(platform: NodeJS.Platform): void {
  Object.defineProperty(process, 'platform', { ...realPlatform, value: platform })
}

/** Spawns counted while `fn` runs. */
async function spawnsDuring<T>(fn: () => Promise<T>): Promise<{ value: T; spawns: number }> {
  const before = spawns
  const value = await fn()
  return { value, spawns: spawns - before }
}

const MAC_A = '564D0E2A-1B2C-4D5E-8F90-1234567890AB'
const MAC_B = '9B2D1C3E-0000-4000-8000-00000000BEEF'

/**
 * The platform's own command, played by a real child process (node printing what `ioreg`
 * or `reg query` prints), so a spawn is a spawn.
 */
function osSource(platform: 'darwin' | 'win32', id: string): MachineIdSource {
  return platform === 'darwin'
    ? commandSource(
        'IOPlatformUUID',
        process.execPath,
        ['-e', `console.log('    "IOPlatformUUID" = "${id}"')`],
        parseIoreg,
      )
    : commandSource(
        'MachineGuid',
        process.execPath,
        ['-e', `console.log('    MachineGuid    REG_SZ    ${id}')`],
        parseRegQuery,
      )
}

const polar = createPolarEmulator({ rateLimit: false })
const SALT = 'startup-spawns'

/** One start of the app: fresh store, machine and licensing, as a new process has. */
function start(dir: string, sources?: readonly MachineIdSource[]) {
  const machine = nodeMachine({ salt: SALT, dir, ...(sources ? { sources } : {}) })
  const licensing = createLicensing({
    organizationId: polar.organizationId,
    store: createFileStore({ dir }),
    machine,
    fetch: polar.fetch,
    // Core's own background verify() would spawn in the middle of the counts below; these
    // tests call verify() themselves.
    machineVerifyDelayMs: 10 * 60_000,
  })
  return { machine, licensing }
}

for (const platform of ['darwin', 'win32'] as const) {
  describe(`on ${platform}: the start-up check starts no child process`, () => {
    beforeEach(() => forcePlatform(platform))

    it('once activated, check({ online: "never" }) spawns nothing; verify() reads the id in the background', async () => {
      const dir = await tempDir()
      const sources = [osSource(platform, MAC_A)]
      const first = start(dir, sources)
      const activated = await spawnsDuring(() => first.licensing.activate(polar.createKey().key))
      expect(activated.value.status).toBe('active')
      expect(activated.spawns).toBe(1) // the first start reads the id, once

      const next = start(dir, sources)
      const checked = await spawnsDuring(() => next.licensing.check({ online: 'never' }))
      expect(checked.value.status).toBe('active')
      expect(checked.spawns).toBe(0)

      const verified = await spawnsDuring(() => next.machine.verify())
      expect(verified.spawns).toBe(1)
      expect(verified.value).toBe(await next.machine.fingerprint())
      expect((await next.licensing.check({ online: 'never' })).status).toBe('active')
      // The instance that read the id itself does not read it again to verify.
      expect((await spawnsDuring(() => first.machine.verify())).spawns).toBe(0)
    })

    it("with the OS's own sources (a command that is missing here) it spawns nothing either", async () => {
      const dir = await tempDir()
      const first = start(dir)
      expect((await first.licensing.activate(polar.createKey().key)).status).toBe('active')
      expect(spawns).toBeGreaterThan(0) // tried ioreg / reg.exe, fell back to the install id
      const checked = await spawnsDuring(() => start(dir).licensing.check({ online: 'never' }))
      expect(checked.value.status).toBe('active')
      expect(checked.spawns).toBe(0)
    })

    it('a folder copied to another machine misses the cache and is refused at start', async () => {
      const dir = await tempDir()
      await start(dir, [osSource(platform, MAC_A)]).licensing.activate(polar.createKey().key)
      const copy = join(await tempDir(), 'copied')
      await cp(dir, copy, { recursive: true })
      const copyHere = join(await tempDir(), 'copied-here')
      await cp(dir, copyHere, { recursive: true })

      const elsewhere = await spawnsDuring(() =>
        start(copy, [osSource(platform, MAC_B)]).licensing.check({ online: 'never' }),
      )
      expect(elsewhere.value).toMatchObject({ status: 'inactive', reason: 'machine_mismatch' })
      expect(elsewhere.spawns).toBe(1) // the miss read the id
      // The same machine with a copied folder misses too, reads the id and runs.
      const here = start(copyHere, [osSource(platform, MAC_A)])
      expect((await here.licensing.check({ online: 'never' })).status).toBe('active')
    })

    it('verify() catches a cache that still hits on another machine (a cloned disk)', async () => {
      const dir = await tempDir()
      await start(dir, [osSource(platform, MAC_A)]).licensing.activate(polar.createKey().key)

      // Same folder, same user, other hardware: the cache cannot tell.
      const clone = start(dir, [osSource(platform, MAC_B)])
      const optimistic = await spawnsDuring(() => clone.licensing.check({ online: 'never' }))
      expect(optimistic.value.status).toBe('active')
      expect(optimistic.spawns).toBe(0)
      const cached = await clone.machine.fingerprint()

      const verified = await clone.machine.verify()
      expect(verified).not.toBe(cached)
      expect(await clone.machine.fingerprint()).toBe(verified)
      expect(await clone.licensing.check({ online: 'never' })).toMatchObject({
        status: 'inactive',
        reason: 'machine_mismatch',
      })
      // The cache now holds this machine's fingerprint: the next start is refused at once.
      const restart = await spawnsDuring(() =>
        start(dir, [osSource(platform, MAC_B)]).licensing.check({ online: 'never' }),
      )
      expect(restart.value).toMatchObject({ status: 'inactive', reason: 'machine_mismatch' })
      expect(restart.spawns).toBe(0)
    })

    it('an id that cannot be read now is not a mismatch: verify() rejects and the fingerprint stays', async () => {
      const dir = await tempDir()
      await start(dir, [osSource(platform, MAC_A)]).licensing.activate(polar.createKey().key)
      const broken: MachineIdSource = {
        name: 'IOPlatformUUID',
        spawns: true,
        read: async () => null,
      }
      const app = start(dir, [broken])
      const cached = await app.machine.fingerprint()
      await expect(app.machine.verify()).rejects.toMatchObject({ code: 'store' })
      expect(await app.machine.fingerprint()).toBe(cached)
      expect((await app.licensing.check({ online: 'never' })).status).toBe('active')
    })

    it('a damaged cache file is a miss, never an error, and is written afresh', async () => {
      const dir = await tempDir()
      const sources = [osSource(platform, MAC_A)]
      await start(dir, sources).licensing.activate(polar.createKey().key)
      const [file] = (await readdir(dir)).filter((name) => name.startsWith('fingerprint-'))
      await writeFile(join(dir, file ?? '?'), '{"v":1,"key":')
      const damaged = await spawnsDuring(() =>
        start(dir, sources).licensing.check({ online: 'never' }),
      )
      expect(damaged.value.status).toBe('active')
      expect(damaged.spawns).toBe(1)
      const healed = await spawnsDuring(() =>
        start(dir, sources).licensing.check({ online: 'never' }),
      )
      expect(healed.spawns).toBe(0)
    })
  })
}

describe('the fingerprint cache', () => {
  it('is used when no source starts a process too (Linux): a hit reads no source and hashes nothing', async () => {
    const dir = await tempDir()
    let reads = 0
    const fixed: MachineIdSource = {
      name: 'fixed',
      read: async () => {
        reads++
        return MAC_A
      },
    }
    const first = await nodeMachine({ salt: SALT, dir, sources: [fixed] }).fingerprint()
    expect(reads).toBe(1)
    const subtle = globalThis.crypto.subtle
    const digest = subtle.digest
    let digests = 0
    subtle.digest = function counted(this: SubtleCrypto, ...args: Parameters<typeof digest>) {
      digests++
      return digest.apply(this, args)
    }
    try {
      const later = nodeMachine({ salt: SALT, dir, sources: [fixed] })
      expect(await later.fingerprint()).toBe(first)
      expect({ reads, digests }).toEqual({ reads: 1, digests: 0 })
      // verify() reads and hashes, in the background, and agrees.
      expect(await later.verify()).toBe(first)
      expect({ reads, digests }).toEqual({ reads: 2, digests: 1 })
    } finally {
      subtle.digest = digest
    }
  })

  it.runIf(process.platform !== 'win32')(
    'misses for another home folder (another user account)',
    async () => {
      const dir = await tempDir()
      const sources = [osSource('darwin', MAC_A)]
      await nodeMachine({ salt: SALT, dir, sources }).fingerprint()
      const hit = await spawnsDuring(() => nodeMachine({ salt: SALT, dir, sources }).fingerprint())
      expect(hit.spawns).toBe(0)
      const home = process.env.HOME
      process.env.HOME = await tempDir() // os.homedir() reads it first
      try {
        const other = await spawnsDuring(() =>
          nodeMachine({ salt: SALT, dir, sources }).fingerprint(),
        )
        expect(other.spawns).toBe(1)
      } finally {
        process.env.HOME = home
      }
    },
  )

  it('can be turned off (cache: false): every instance reads the id', async () => {
    const dir = await tempDir()
    const sources = [osSource('darwin', MAC_A)]
    await nodeMachine({ salt: SALT, dir, sources, cache: false }).fingerprint()
    expect(await readdir(dir)).toEqual([])
    const again = await spawnsDuring(() =>
      nodeMachine({ salt: SALT, dir, sources, cache: false }).fingerprint(),
    )
    expect(again.spawns).toBe(1)
  })
})
