import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { emulatorLicensing, HOUR } from './emulator-licensing.js'
import { removeTempDirs } from './temp-dir.js'

afterEach(removeTempDirs)

/**
 * Version 1 records held the license key verbatim. Whatever happens to one (moved aside as
 * damaged, or read and written again), no file left in the store's folder holds the key.
 */

async function setup() {
  const { clock, key, dir, store, licensing, restart } = await emulatorLicensing()
  await licensing.activate(key.key)
  // The record as keygate's first format wrote it: the key verbatim.
  const { encodedKey, v: _v, ...fields } = JSON.parse(await readFile(store.path, 'utf8'))
  const v1 = { v: 1, key: key.key, ...fields }
  expect(encodedKey).toEqual(expect.any(String))
  return { clock, key: key.key, dir, store, licensing, v1, restart }
}

/** Every file under `dir` that holds `key` (any case), as utf8 text. */
async function filesHolding(dir: string, key: string): Promise<string[]> {
  const hits: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    const text = await readFile(path, 'utf8')
    if (text.toLowerCase().includes(key.toLowerCase())) hits.push(path)
  }
  return hits
}

describe('a version 1 record (the key verbatim)', () => {
  // `shown`: how much of the key the damaged text holds.
  it.each([
    [
      'damaged (a field of the wrong type)',
      (v1: object) => JSON.stringify({ ...v1, validatedAt: 'soon' }),
      Infinity,
    ],
    [
      'damaged, and quoting its key in lower case elsewhere',
      (v1: { key: string }) =>
        JSON.stringify({ ...v1, note: `key ${v1.key.toLowerCase()} seen`, validatedAt: 'soon' }),
      Infinity,
    ],
    [
      'cut short after its key',
      (v1: object) => JSON.stringify(v1, null, 2).slice(0, 200),
      Infinity,
    ],
    [
      'cut short inside its key',
      (v1: object) => {
        const text = JSON.stringify(v1)
        return text.slice(0, text.indexOf('"key":"') + 7 + 20)
      },
      20,
    ],
  ])(
    '%s is moved aside without the key in any file of the folder',
    async (_name, damage, shownLength) => {
      const t = await setup()
      const text = damage(t.v1)
      await writeFile(t.store.path, text)
      const shown = t.key.slice(0, shownLength)
      expect(text).toContain(shown)
      expect(await filesHolding(t.dir, shown)).toHaveLength(1)

      const state = await t.licensing.check({ online: 'never' })
      expect(state).toMatchObject({ status: 'inactive', note: { kind: 'unreadable' } })
      const movedTo =
        state.status === 'inactive' && state.note?.kind === 'unreadable'
          ? state.note.movedTo
          : undefined
      expect(movedTo).toMatch(/license\.json\.unreadable-/)
      expect(await t.store.read()).toBeNull()
      expect(await filesHolding(t.dir, shown)).toEqual([])
      // What support needs stays: the masked key and the rest of the record.
      const kept = await readFile(movedTo ?? '', 'utf8')
      expect(kept).toContain(`****-${shown.slice(-6)}`)
    },
  )

  it('moved aside by a new activation: no file of the folder holds the key', async () => {
    const t = await setup()
    await writeFile(t.store.path, JSON.stringify({ ...t.v1, license: 'broken' }))
    expect(await t.licensing.activate(t.key)).toMatchObject({ status: 'active' })
    expect(await filesHolding(t.dir, t.key)).toEqual([])
  })

  it('moved aside by an older keygate with its key: masked at the next write', async () => {
    const t = await setup()
    const aside = `${t.store.path}.unreadable-2025-06-01T10-00-00.000Z`
    await writeFile(aside, JSON.stringify({ ...t.v1, validatedAt: 'soon' }))
    // A new start of the app: its store tidies the folder on its first write.
    const again = t.restart()
    expect(await again.refresh()).toMatchObject({ status: 'active' })
    expect(await filesHolding(t.dir, t.key)).toEqual([])
    expect(await readFile(aside, 'utf8')).toContain(`****-${t.key.slice(-6)}`)
  })

  it('read and written again (the next clock mark): rewritten as version 2, the key no longer verbatim', async () => {
    const t = await setup()
    await writeFile(t.store.path, JSON.stringify(t.v1, null, 2))
    t.clock.now += 2 * HOUR
    expect(await t.licensing.check({ online: 'never' })).toMatchObject({ status: 'active' })
    await t.licensing.settled()
    const record = JSON.parse(await readFile(t.store.path, 'utf8'))
    expect(record).toMatchObject({ v: 2, encodedKey: expect.any(String) })
    expect(await filesHolding(t.dir, t.key)).toEqual([])
  })
})
