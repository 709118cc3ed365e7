import { writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Metafile } from 'esbuild'
import { afterEach, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

const src = fileURLToPath(new URL('../src/', import.meta.url))

/**
 * Bundles what an app imports to check its license at start (the store, the machine, a
 * read and a fingerprint) with code splitting, as apps ship it, and returns what loads
 * at once: the input modules and the external imports of the chunks loaded statically.
 */
async function startupBundle(): Promise<{ modules: string[]; externals: string[] }> {
  const dir = await tempDir()
  const entry = join(dir, 'app.ts')
  await writeFile(
    entry,
    [
      `import { createFileStore, nodeMachine } from ${JSON.stringify(join(src, 'index.ts'))}`,
      `const store = createFileStore({ dir: ${JSON.stringify(dir)} })`,
      `const machine = nodeMachine({ salt: 'app', dir: store.dir })`,
      'console.log(await store.read(), await machine.fingerprint())',
    ].join('\n'),
  )
  const result = await build({
    entryPoints: [entry],
    outdir: join(dir, 'out'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    metafile: true,
    write: false,
    logLevel: 'silent',
  })
  const outputs: Metafile['outputs'] = result.metafile.outputs
  const start = Object.keys(outputs).find((path) => outputs[path]?.entryPoint?.endsWith('app.ts'))
  const eager = new Set<string>()
  const visit = (path: string) => {
    if (eager.has(path)) return
    eager.add(path)
    for (const imported of outputs[path]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path)
    }
  }
  if (start !== undefined) visit(start)
  const chunks = [...eager].map((path) => outputs[path])
  return {
    modules: chunks.flatMap((chunk) =>
      Object.keys(chunk?.inputs ?? {}).map((i) => relative(src, i)),
    ),
    externals: chunks.flatMap((chunk) =>
      (chunk?.imports ?? [])
        .filter((i) => i.external && i.kind === 'import-statement')
        .map((i) => i.path),
    ),
  }
}

it('keeps the write side out of what an app loads to check at start', async () => {
  const { modules, externals } = await startupBundle()
  expect(modules).toContain('read-record.ts')
  expect(modules).toContain('node-machine.ts')
  // Writing, locking and the fallback install id are loaded on first use; reading the id
  // sources and the hash on a fingerprint-cache miss (or in verify()).
  for (const lazy of [
    'machine-id.ts',
    'sha256-hex.ts',
    'create-file-lock.ts',
    'record-writes.ts',
    'atomic-file.ts',
    'file-lock.ts',
    'install-id.ts',
    'durable-fs.ts',
    'errno.ts',
  ]) {
    expect(modules).not.toContain(lazy)
  }
  // So are their libraries, and the builtins only macOS, Windows or the install id need.
  for (const lazy of ['proper-lockfile', 'node:child_process', 'node:crypto']) {
    expect(externals).not.toContain(lazy)
  }
  expect(externals).toContain('@keygate/core')
})
