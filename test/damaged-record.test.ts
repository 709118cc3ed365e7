import { randomBytes } from 'node:crypto'
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createLicensing,
  GRANT_VERSION,
  type InactiveNote,
  type LicenseState,
  parseGrant,
} from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createFileStore, nodeMachine } from '@keygate/node-store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bundleFixture,
  canRunAsNobody,
  NOBODY,
  runningAsRoot,
  startChild,
} from './fixtures/build-fixture.js'
import type { WorkerOutcome } from './fixtures/licensing-worker.js'

const emulator = createPolarEmulator({ rateLimit: false })

let work: string
let good: string // a real grant's text, to damage

function app(dir: string) {
  return createLicensing({
    organizationId: emulator.organizationId,
    store: createFileStore({ dir }),
    machine: nodeMachine({ salt: 'damaged-record-test', dir }),
    fetch: emulator.fetch,
  })
}

let cases = 0
async function freshDir(): Promise<string> {
  const dir = join(work, `case-${cases++}`)
  await mkdir(dir)
  return dir
}

async function quarantined(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('license.json.unreadable-'))
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'keygate-damaged-'))
  await chmod(work, 0o755)
  const dir = await freshDir()
  await app(dir).activate(emulator.createKey().key)
  good = await readFile(join(dir, 'license.json'), 'utf8')
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

/** The state of a damaged record: not activated, saying why and where the record went. */
function expectMovedAside(state: LicenseState, name: string, why: string): void {
  expect(state.status).toBe('inactive')
  if (state.status !== 'inactive') return
  expect(state.reason).toBe('not_activated')
  expect(state.note).toMatchObject({ kind: 'unreadable' })
  const note = state.note?.kind === 'unreadable' ? state.note : undefined
  expect(note?.problem).toContain(why)
  expect(note?.movedTo).toContain(name)
  expect(state.error).toBeUndefined()
}

describe('check() with a damaged record on disk', () => {
  const files: Array<[string, () => Buffer, string]> = [
    ['a truncated record', () => Buffer.from(good.slice(0, good.length / 2)), 'not valid JSON'],
    ['random bytes', () => randomBytes(300), 'not valid JSON'],
    ['JSON of another shape', () => Buffer.from('{"license":"yes","paid":true}'), 'not a keygate'],
    [
      'a newer schema version',
      () => Buffer.from(JSON.stringify({ ...JSON.parse(good), v: GRANT_VERSION + 1 })),
      'newer',
    ],
  ]

  for (const [what, bytes, why] of files) {
    it(`${what}: never throws, moves it aside intact, and the next activation writes afresh`, async () => {
      const dir = await freshDir()
      const planted = bytes()
      await writeFile(join(dir, 'license.json'), planted)

      const state = await app(dir).check()
      const [name, ...more] = await quarantined(dir)
      expect(more).toEqual([])
      expectMovedAside(state, name ?? '?', why)
      expect(await readFile(join(dir, name ?? '?'))).toEqual(planted)
      expect(await app(dir).check()).toEqual({ status: 'inactive', reason: 'not_activated' })

      const activated = await app(dir).activate(emulator.createKey().key)
      expect(activated.status).toBe('active')
      expect(parseGrant(await readFile(join(dir, 'license.json'), 'utf8')).ok).toBe(true)
      expect(await readFile(join(dir, name ?? '?'))).toEqual(planted)
    })
  }

  it('a folder where the file should be: moved aside with its contents', async () => {
    const dir = await freshDir()
    await mkdir(join(dir, 'license.json'))
    await writeFile(join(dir, 'license.json', 'notes.txt'), 'kept')

    const state = await app(dir).check()
    const [name] = await quarantined(dir)
    expectMovedAside(state, name ?? '?', 'folder')
    expect(await readFile(join(dir, name ?? '?', 'notes.txt'), 'utf8')).toBe('kept')
    expect((await app(dir).activate(emulator.createKey().key)).status).toBe('active')
  })

  it.runIf(process.platform !== 'win32')(
    "a symbolic link to another app's record: the link is moved aside, its target never touched",
    async () => {
      const dir = await freshDir()
      const other = join(await freshDir(), 'license.json')
      await writeFile(other, good) // a valid grant, even: it is still not this folder's
      const before = await stat(other)
      await symlink(other, join(dir, 'license.json'))

      const state = await app(dir).check()
      const [name] = await quarantined(dir)
      expectMovedAside(state, name ?? '?', 'symbolic link')
      expect((await lstat(join(dir, name ?? '?'))).isSymbolicLink()).toBe(true)
      expect(await readlink(join(dir, name ?? '?'))).toBe(other)
      expect((await app(dir).activate(emulator.createKey().key)).status).toBe('active')
      expect((await lstat(join(dir, 'license.json'))).isFile()).toBe(true)
      expect(await readFile(other, 'utf8')).toBe(good)
      expect((await stat(other)).mtimeMs).toBe(before.mtimeMs)
    },
  )

  // As root, the app runs as `nobody` for this case: root may read any file.
  it.runIf(process.platform !== 'win32' && (!runningAsRoot || canRunAsNobody))(
    'a record this user may not read: moved aside, not overwritten',
    async () => {
      const dir = await freshDir()
      await chmod(dir, 0o777)
      await writeFile(join(dir, 'license.json'), good)
      await chmod(join(dir, 'license.json'), 0o000)

      let state: { status?: string; reason?: string; note?: InactiveNote | undefined }
      if (runningAsRoot) {
        // Root reads anything: run the app as `nobody`, as a user without the permission.
        const worker = await bundleFixture('licensing-worker.ts', work)
        const config = {
          action: 'check',
          dir,
          server: 'http://127.0.0.1:9',
          organizationId: emulator.organizationId,
          salt: 'damaged-record-test',
        }
        const child = startChild(worker, { KEYGATE_WORKER: JSON.stringify(config) }, NOBODY)
        await child.waitFor((line) => line === 'ready')
        child.process.stdin?.write('go\n')
        state = JSON.parse(await child.waitFor((line) => line.startsWith('{'))) as WorkerOutcome
        await child.exited
      } else {
        state = await app(dir).check()
      }
      const [name] = await quarantined(dir)
      expect(state).toMatchObject({ status: 'inactive', reason: 'not_activated' })
      const note = state.note?.kind === 'unreadable' ? state.note : undefined
      expect(note?.problem).toContain('permission denied')
      expect(note?.movedTo).toContain(name)
      await chmod(join(dir, name ?? '?'), 0o600)
      expect(await readFile(join(dir, name ?? '?'), 'utf8')).toBe(good)
      expect((await app(dir).activate(emulator.createKey().key)).status).toBe('active')
    },
  )
})
