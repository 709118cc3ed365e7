import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { build } from 'tsdown'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { activationPreloadPath, preloadPath } from '../src/preload-paths.js'
import config from '../tsdown.config.js'

// The preloads shipped prebuilt: built here with the package's own tsdown config, then
// run as a sandboxed preload runs them, where `require` knows only 'electron'.

const root = new URL('..', import.meta.url).pathname
let out: string

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'keygate-preload-'))
  const configs = (Array.isArray(config) ? config : [config]).filter((c) => c.format === 'cjs')
  for (const c of configs) {
    await build({ ...c, cwd: root, outDir: out, config: false, logLevel: 'silent' })
  }
}, 60_000)
afterAll(async () => {
  await rm(out, { recursive: true, force: true })
})

function runPreload(code: string) {
  const exposed = new Map<string, Record<string, unknown>>()
  const required: string[] = []
  const electron = {
    contextBridge: {
      exposeInMainWorld: (key: string, api: Record<string, unknown>) => exposed.set(key, api),
    },
    ipcRenderer: { invoke: async () => undefined, on() {}, removeListener() {} },
  }
  const require = (name: string) => {
    required.push(name)
    if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`)
    return electron
  }
  const module = { exports: {} }
  runInNewContext(code, { require, module, exports: module.exports, queueMicrotask })
  return { exposed, required }
}

describe.each([
  ['app-preload.cjs', preloadPath, ['onChange', 'status']],
  [
    'activation-preload.cjs',
    activationPreloadPath,
    ['activate', 'deactivate', 'devices', 'freeDevice', 'onChange', 'refresh', 'status'],
  ],
])('the prebuilt %s', (file, exportedPath, functions) => {
  it('is the file the exported path names, and requires nothing but electron', async () => {
    expect(basename(exportedPath)).toBe(file)
    const code = await readFile(join(out, file), 'utf8')
    const requires = [...code.matchAll(/\brequire\s*\(\s*(['"`])(.*?)\1\s*\)/g)].map((m) => m[2])
    expect(requires).toEqual(['electron'])
    expect(code).not.toMatch(/\bimport\s*\(|\bimport\s+[\w{*]|\bexport\s/)
  })

  it('runs as a sandboxed preload and exposes window.keygate, never ipcRenderer', async () => {
    const { exposed, required } = runPreload(await readFile(join(out, file), 'utf8'))
    expect(required).toEqual(['electron'])
    const api = exposed.get('keygate') ?? {}
    expect(Object.keys(api).sort()).toEqual(functions)
    expect(Object.values(api).every((value) => typeof value === 'function')).toBe(true)
  })
})
