import { spawnSync } from 'node:child_process'
import { chmod, link, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createFileStore } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { bundleFixture } from '../../../test/fixtures/build-fixture.js'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

const posix = process.platform !== 'win32'

// `writeQuick` carries the note of a seat Polar has just given: it must be on disk (in the
// kernel's hands) before anything else runs, survive a SIGKILL, and keep every promise a
// write keeps (0600, never through a link, never into another file).

describe('writeQuick', () => {
  it('overwrites the file it wrote in place when the text is no shorter: one write, same file', async () => {
    const store = createFileStore({ dir: await tempDir() })
    await store.write('{"v":1,"pending":{}}\n')
    const before = await stat(store.path)
    await store.writeQuick('{"v":1,"pending":{"activationId":"a"}}\n')
    const after = await stat(store.path)
    expect(after.ino).toBe(before.ino)
    expect(await store.read()).toBe('{"v":1,"pending":{"activationId":"a"}}\n')
    if (posix) expect(after.mode & 0o777).toBe(0o600)
  })

  it('replaces the file when the text is shorter, leaving nothing of the old one', async () => {
    const store = createFileStore({ dir: await tempDir() })
    await store.write('a much longer record than the next one')
    const before = await stat(store.path)
    await store.writeQuick('short')
    expect(await store.read()).toBe('short')
    expect((await stat(store.path)).ino).not.toBe(before.ino)
    expect((await readdir(store.dir)).filter((name) => name.startsWith('license.json.'))).toEqual(
      [],
    )
  })

  it.runIf(posix)(
    'replaces a file left readable by others instead of reusing it: 0600',
    async () => {
      const store = createFileStore({ dir: await tempDir() })
      await store.write('note')
      await chmod(store.path, 0o644)
      await store.writeQuick('note, quick')
      expect((await stat(store.path)).mode & 0o777).toBe(0o600)
      expect(await store.read()).toBe('note, quick')
    },
  )

  it.runIf(posix)('never writes into a file another name shares (a hard link)', async () => {
    const dir = await tempDir()
    const store = createFileStore({ dir })
    await store.write('note')
    const other = join(await tempDir('keygate-other-'), 'shared.json')
    await link(store.path, other).catch(() => undefined)
    await store.writeQuick('note, quick')
    expect(await store.read()).toBe('note, quick')
    expect(await readFile(other, 'utf8').catch(() => 'note')).toBe('note')
  })

  it.runIf(posix)(
    'never writes through a symbolic link: the link is replaced, its target untouched',
    async () => {
      const target = join(await tempDir('keygate-other-app-'), 'license.json')
      await writeFile(target, '{"another":"app"}\n')
      const store = createFileStore({ dir: await tempDir() })
      await store.write('note')
      await store.clear()
      await symlink(target, store.path)
      await store.writeQuick('note, quick, longer than the target')
      expect(await readFile(target, 'utf8')).toBe('{"another":"app"}\n')
      expect(await store.read()).toBe('note, quick, longer than the target')
    },
  )

  it('is synchronous once the writer is loaded: the text is there when the call returns', async () => {
    const store = createFileStore({ dir: await tempDir() })
    await store.prepare?.()
    await store.write('note')
    // Not awaited: nothing else may run between the call and the write.
    void store.writeQuick('note, quick')
    expect(await readFile(store.path, 'utf8')).toBe('note, quick')
  })
})

describe('a process killed right after writeQuick returned', () => {
  it('leaves the quick text on disk', async () => {
    const dir = await tempDir()
    const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))
    const script = await bundleFixture('quick-then-die.ts', await tempDir(), fixtures)
    const result = spawnSync(process.execPath, [script, dir], { timeout: 30_000 })
    expect(result.signal).toBe('SIGKILL')
    expect(await createFileStore({ dir }).read()).toBe('{"quick":"written just before the kill"}\n')
  })
})
