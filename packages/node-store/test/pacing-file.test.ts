import { execFileSync } from 'node:child_process'
import { readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLicensing, staticMachine } from '@keygate/core'
import { createPolarEmulator } from '@keygate/core/testing'
import { createFileStore } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

const posix = process.platform !== 'win32'

describe("the file store's pacing log (license.pacing.json)", () => {
  it('is written beside the record when Polar is asked: times only, 0600, no key', async () => {
    const emulator = createPolarEmulator()
    const key = emulator.createKey({ limitActivations: 2 })
    const dir = join(await tempDir(), 'app')
    const licensing = createLicensing({
      organizationId: emulator.organizationId,
      store: createFileStore({ dir }),
      machine: staticMachine('pacing-test'),
      fetch: emulator.fetch,
    })
    await licensing.activate(key.key)
    const path = join(dir, 'license.pacing.json')
    const text = await readFile(path, 'utf8')
    const log = JSON.parse(text) as { sent: Array<{ s: number; a?: number }> }
    // The probe validation and the activation.
    expect(log.sent).toHaveLength(2)
    for (const entry of log.sent) expect(entry.a).toBeGreaterThanOrEqual(entry.s)
    expect(text.toLowerCase()).not.toContain(key.key.toLowerCase())
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it.runIf(posix)('never writes through a symbolic link, nor reads one', async () => {
    const dir = await tempDir()
    const target = join(await tempDir('keygate-elsewhere-'), 'other.json')
    await writeFile(target, 'another file\n', { mode: 0o644 })
    await symlink(target, join(dir, 'license.pacing.json'))
    const store = createFileStore({ dir })
    await expect(store.pacing.write('{"v":1}')).rejects.toMatchObject({ code: 'store' })
    await expect(store.pacing.read()).rejects.toMatchObject({ code: 'store' })
    expect(await readFile(target, 'utf8')).toBe('another file\n')
  })

  it.runIf(posix)('a FIFO at its path blocks neither a read nor a write', async () => {
    const dir = await tempDir()
    execFileSync('mkfifo', [join(dir, 'license.pacing.json')])
    const store = createFileStore({ dir })
    await expect(store.pacing.write('{"v":1}')).rejects.toBeDefined()
    await expect(store.pacing.read()).rejects.toMatchObject({ code: 'store' })
  })

  it.runIf(posix)('a log found readable by others is made 0600', async () => {
    const dir = await tempDir()
    const path = join(dir, 'license.pacing.json')
    await writeFile(path, '{"v":1,"sent":[]}', { mode: 0o644 })
    const store = createFileStore({ dir })
    await store.pacing.write('{"v":1}')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await store.pacing.read()).toBe('{"v":1}')
  })
})
