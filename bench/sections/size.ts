import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type Metafile } from 'esbuild'
import { benchDir, outDir, root } from '../lib/workspace.js'

export interface BundleSize {
  /** Minified bytes of the chunks loaded to run the entry (its static imports). */
  minBytes: number
  /** The same, each chunk gzipped (level 9), summed. */
  gzipBytes: number
  /** Minified bytes, by package, of what is loaded at once. */
  byPackage: Record<string, number>
  /** Chunks loaded only later, by `await import()` (the network path). */
  lazy: { minBytes: number; gzipBytes: number; byPackage: Record<string, number> }
}

export interface SizeResult {
  settings: string
  /** createLicensing + createFileStore + nodeMachine, calling check(): the budget figure. */
  startup: BundleSize
  /**
   * The same entry bundled from the packages' sources with the same settings: minified
   * bytes loaded at start, by source module (`core/src/evaluate.ts`, `valibot`…), to show
   * which code a further split would move out.
   */
  startupByModule: Record<string, number>
  /** createLicensing alone, store and machine injected: core's share. */
  coreCheck: BundleSize
  /** `new Polar(...).customerPortal.licenseKeys.validate(...)`. */
  sdk: BundleSize
  /** `customerPortalLicenseKeysValidate(new PolarCore(...), ...)`. */
  sdkFunction: BundleSize
}

/** Files other sections run: the bundled start-up path and gate, as an app ships them. */
export interface Bundles {
  startup: string
  gate: string
  /** first-check.js bundled: its two `await import()`s become chunks. */
  firstCheck: string
}

// Bundled CommonJS dependencies (proper-lockfile, graceful-fs, signal-exit) call
// require() for Node builtins, which an ES module lacks: apps bundling them add this.
const REQUIRE_SHIM = [
  "import { createRequire as __bundleRequire } from 'node:module'",
  'const require = __bundleRequire(import.meta.url)',
].join(';')

export const SIZE_SETTINGS =
  'esbuild: bundle, minify, format esm, platform node, target node20, splitting (lazy imports become chunks), dependencies bundled, node builtins external, require shim banner'

async function bundle(
  entry: string,
  name: string,
  fromSources = false,
): Promise<{ dir: string; meta: Metafile }> {
  const dir = join(outDir, 'bundles', name)
  const sources = join(root, 'packages')
  const result = await build({
    entryPoints: { [name]: entry },
    outdir: dir,
    absWorkingDir: root, // metafile paths are relative to it
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    splitting: true,
    metafile: true,
    logLevel: 'warning',
    banner: { js: REQUIRE_SHIM },
    // Resolve @keygate/* like an app does (exports → dist), not through the root
    // tsconfig's `paths`, which point at the sources for type checking.
    tsconfigRaw: {},
    ...(fromSources
      ? {
          alias: {
            '@keygate/core': join(sources, 'core', 'src', 'index.ts'),
            '@keygate/node-store': join(sources, 'node-store', 'src', 'index.ts'),
          },
        }
      : {}),
  })
  const inputs = Object.keys(result.metafile.inputs)
  if (!fromSources && inputs.some((input) => /packages\/[^/]+\/src\//.test(input))) {
    throw new Error(`${name} bundled package sources instead of dist: ${inputs.join(', ')}`)
  }
  return { dir, meta: result.metafile }
}

/** `@keygate/core`, `valibot`, `@polar-sh/sdk`…: who each byte of a bundle belongs to. */
function packageOf(input: string): string {
  const modules = input.lastIndexOf('node_modules/')
  if (modules >= 0) {
    const [first, second] = input.slice(modules + 'node_modules/'.length).split('/')
    return first?.startsWith('@') ? `${first}/${second}` : (first ?? input)
  }
  const workspace = /packages\/([^/]+)\//.exec(input)
  if (workspace) return `@keygate/${workspace[1]}`
  return relative(benchDir, input) || input
}

/** The chunks that load when `entry` (an input path) starts: it and its static imports. */
function eagerChunks(meta: Metafile, entry: string): Set<string> {
  const outputs = meta.outputs
  // Dynamic-import targets are entry points of their own chunks too: match the entry's path.
  const start = Object.keys(outputs).find(
    (path) => outputs[path]?.entryPoint === relative(root, entry),
  )
  if (start === undefined) throw new Error(`no chunk for ${relative(root, entry)}`)
  const eager = new Set<string>()
  const visit = (path: string) => {
    if (eager.has(path)) return
    eager.add(path)
    for (const imported of outputs[path]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path)
    }
  }
  visit(start)
  return eager
}

/** `core/src/evaluate.ts`, `valibot`: a readable name for one input of a source bundle. */
function moduleOf(input: string): string {
  const modules = input.lastIndexOf('node_modules/')
  if (modules >= 0) return packageOf(input)
  return /packages\/(.+)$/.exec(input)?.[1] ?? relative(benchDir, input)
}

function bytesByModule(meta: Metafile, eager: ReadonlySet<string>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const path of eager) {
    for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[path]?.inputs ?? {})) {
      if (bytesInOutput === 0) continue
      const name = moduleOf(input)
      out[name] = (out[name] ?? 0) + bytesInOutput
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([, a], [, b]) => b - a))
}

async function measure(built: { meta: Metafile }, entry: string): Promise<BundleSize> {
  const outputs = built.meta.outputs
  // The entry and every chunk it imports statically load at once; dynamic ones later.
  const eager = eagerChunks(built.meta, entry)
  const tally = async (paths: string[]) => {
    let minBytes = 0
    let gzipBytes = 0
    const byPackage: Record<string, number> = {}
    for (const path of paths) {
      const content = await readFile(join(root, path))
      minBytes += content.length
      gzipBytes += gzipSync(content, { level: 9 }).length
      for (const [input, { bytesInOutput }] of Object.entries(outputs[path]?.inputs ?? {})) {
        const owner = packageOf(input)
        byPackage[owner] = (byPackage[owner] ?? 0) + bytesInOutput
      }
    }
    const sorted = Object.entries(byPackage).sort(([, a], [, b]) => b - a)
    return { minBytes, gzipBytes, byPackage: Object.fromEntries(sorted) }
  }
  const all = Object.keys(outputs).filter((path) => path.endsWith('.js'))
  const now = await tally(all.filter((path) => eager.has(path)))
  const lazy = await tally(all.filter((path) => !eager.has(path)))
  return { ...now, lazy }
}

export async function measureSize(): Promise<{ result: SizeResult; bundles: Bundles }> {
  const entry = (name: string) => join(benchDir, 'entries', `${name}.ts`)
  const startup = await bundle(entry('startup-app'), 'startup')
  const startupSources = await bundle(entry('startup-app'), 'startup-sources', true)
  const coreCheck = await bundle(entry('core-check'), 'core-check')
  const sdk = await bundle(entry('sdk-validate'), 'sdk')
  const sdkFunction = await bundle(entry('sdk-func-validate'), 'sdk-function')
  const gate = await bundle(join(benchDir, 'fixtures', 'gate.ts'), 'gate')
  const firstCheck = await bundle(join(benchDir, 'fixtures', 'first-check.ts'), 'first-check')
  return {
    result: {
      settings: SIZE_SETTINGS,
      startup: await measure(startup, entry('startup-app')),
      startupByModule: bytesByModule(
        startupSources.meta,
        eagerChunks(startupSources.meta, entry('startup-app')),
      ),
      coreCheck: await measure(coreCheck, entry('core-check')),
      sdk: await measure(sdk, entry('sdk-validate')),
      sdkFunction: await measure(sdkFunction, entry('sdk-func-validate')),
    },
    bundles: {
      startup: join(startup.dir, 'startup.js'),
      gate: join(gate.dir, 'gate.js'),
      firstCheck: join(firstCheck.dir, 'first-check.js'),
    },
  }
}
