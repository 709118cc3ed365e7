import { existsSync } from 'node:fs'
import { lstat, mkdir, readdir, readFile, rm, stat, symlink } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const root = fileURLToPath(new URL('../../', import.meta.url))
export const benchDir = join(root, 'bench')
/** Everything a run produces besides results.json: compiled fixtures, bundles, stores. */
export const outDir = join(benchDir, '.out')
export const fixturesOut = join(outDir, 'fixtures')

/** The packages the bench imports by name, resolved to their built `dist/`. */
const IMPORTED = ['core', 'node-store', 'electron-adapter', 'server'] as const
/** …and the CLI, run as a command. */
const BUILT = [...IMPORTED, 'cli'] as const

/**
 * Fails unless every package has a real build, and lists packages whose sources are
 * newer than their build: the bench must measure what users install, not the sources.
 */
export async function checkBuilt(): Promise<string[]> {
  const stale: string[] = []
  for (const name of BUILT) {
    // The CLI's command is its bin entry; its index only re-exports run().
    const entry = join(root, 'packages', name, 'dist', name === 'cli' ? 'bin.js' : 'index.js')
    if (!existsSync(entry) || (await stat(entry)).size < 64) {
      throw new Error(
        `packages/${name}/dist is missing or a placeholder: run \`pnpm build\` first (\`pnpm bench\` does).`,
      )
    }
    const built = (await stat(entry)).mtimeMs
    if ((await newestMtime(join(root, 'packages', name, 'src'))) > built) stale.push(name)
  }
  return stale
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs)
  }
  return newest
}

/**
 * `bench/node_modules/@keygate/*` → `packages/*`, the layout pnpm gives a workspace
 * package depending on them (bench/package.json), made here when missing so a clone
 * works whether or not `bench` is listed in pnpm-workspace.yaml. Node then resolves
 * `@keygate/core` through its `exports` map to `dist/`, as in a user's app.
 */
export async function linkPackages(): Promise<void> {
  const scope = join(benchDir, 'node_modules', '@keygate')
  await mkdir(scope, { recursive: true })
  for (const name of IMPORTED) {
    const link = join(scope, name)
    if (await lstat(link).catch(() => undefined)) continue
    await symlink(relative(scope, join(root, 'packages', name)), link, 'dir')
  }
}

/**
 * Compiles `bench/fixtures/*.ts` one file each (no bundling: their `@keygate/*` imports
 * stay imports of the built packages) into plain ES modules that start with bare `node`.
 */
export async function compileFixtures(): Promise<void> {
  await rm(outDir, { recursive: true, force: true })
  const sources = (await readdir(join(benchDir, 'fixtures')))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(benchDir, 'fixtures', name))
  await build({
    entryPoints: sources,
    outdir: fixturesOut,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    // The root tsconfig maps @keygate/* to sources for type checking; ignore it here.
    tsconfigRaw: {},
  })
}

export function fixture(name: string): string {
  return join(fixturesOut, `${name}.js`)
}

export async function gitCommit(): Promise<string | null> {
  try {
    const head = (await readFile(join(root, '.git', 'HEAD'), 'utf8')).trim()
    if (!head.startsWith('ref: ')) return head
    const ref = head.slice(5)
    const loose = join(root, '.git', ref)
    if (existsSync(loose)) return (await readFile(loose, 'utf8')).trim()
    const packed = await readFile(join(root, '.git', 'packed-refs'), 'utf8')
    return (
      packed
        .split('\n')
        .find((line) => line.endsWith(` ${ref}`))
        ?.split(' ')[0] ?? null
    )
  } catch {
    return null
  }
}
