import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BenchContext } from '../lib/context.js'
import { runNode } from '../lib/processes.js'
import { dependencyEntry } from '../lib/resolve-dependency.js'
import { type Summary, seededShuffle, summarize } from '../lib/stats.js'
import { fixture, root } from '../lib/workspace.js'
import type { Bundles } from './size.js'

export interface ImportCost {
  /** What is imported, as an app would write it (or the command run). */
  imports: string[]
  /** Time spent in `await import(...)` in a fresh process (Node's own boot excluded). */
  importMs?: Summary | undefined
  /** Spawn to exit of that process (Node's boot included). */
  processMs: Summary
}

export interface AttributionStep {
  module: string
  /** Median extra time this import added, given everything above it was already loaded. */
  medianMs: number
  /** Loaded by the start-up check; false: only later, by an `await import()`. */
  onStartupPath: boolean
  /** When a module off the start-up path is loaded (`the first request`…). */
  loadedOn?: string | undefined
}

export interface ImportCostResult {
  variants: Record<string, ImportCost>
  /** The packages' imports one by one in a fresh process, heaviest suspects split out. */
  attribution: { runs: number; steps: AttributionStep[] }
}

/** The CLI is a command, not an import: its figure is `keygate --version`, spawn to exit. */
const CLI = 'keygate --version (@keygate/cli is a command)'

export async function measureImportCost(
  ctx: BenchContext,
  bundles: Bundles,
  /** Packages in the bundled start-up path's eagerly loaded chunks (from the size step). */
  eagerPackages: ReadonlySet<string>,
): Promise<ImportCostResult> {
  const runs = ctx.quick ? 6 : 20
  const warmup = 2
  const local = (name: string) => pathToFileURL(fixture(name)).href
  const variants: Record<string, string[]> = {
    'empty module (loader floor)': [local('empty')],
    '@keygate/core': ['@keygate/core'],
    '@keygate/node-store': ['@keygate/node-store'],
    '@keygate/electron-adapter': ['@keygate/electron-adapter'],
    'start-up path (createLicensing + createFileStore + nodeMachine)': [local('startup-path')],
    'start-up path, bundled by esbuild': [pathToFileURL(bundles.startup).href],
    '@polar-sh/sdk (Polar class)': ['@polar-sh/sdk'],
    '@polar-sh/sdk standalone validate function': [
      '@polar-sh/sdk/core.js',
      '@polar-sh/sdk/funcs/customerPortalLicenseKeysValidate.js',
    ],
    [CLI]: [join(root, 'packages', 'cli', 'dist', 'bin.js'), '--version'],
  }
  const names = Object.keys(variants)
  const importMs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
  const processMs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < warmup + runs; round++) {
    for (const name of seededShuffle(names, 1000 + round)) {
      const [first = '', ...rest] = variants[name] ?? []
      const command = name === CLI
      const result = command
        ? await runNode(first, rest, ctx.env(ctx.grantDir))
        : await runNode(fixture('import-one'), variants[name] ?? [], ctx.env(ctx.grantDir))
      if (round < warmup) continue
      processMs[name]?.push(result.ms)
      if (command) continue
      const steps = JSON.parse(result.stdout) as number[]
      importMs[name]?.push(steps.reduce((a, b) => a + b, 0))
    }
  }
  const out: Record<string, ImportCost> = {}
  for (const name of names) {
    const imported = importMs[name] ?? []
    out[name] = {
      imports: variants[name] ?? [],
      importMs: imported.length > 0 ? summarize(imported, 'ms') : undefined,
      processMs: summarize(processMs[name] ?? [], 'ms'),
    }
  }
  return { variants: out, attribution: await attribute(ctx, runs, eagerPackages) }
}

/** Imports the start-up path piece by piece, so each piece's share is visible. */
async function attribute(
  ctx: BenchContext,
  runs: number,
  eagerPackages: ReadonlySet<string>,
): Promise<ImportCostResult['attribution']> {
  const core = join(root, 'packages', 'core')
  const nodeStore = join(root, 'packages', 'node-store')
  const lockfile = await dependencyEntry(nodeStore, 'proper-lockfile')
  const WRITE = 'the first lock or write'
  const REQUEST = 'the first request'
  const ONLINE = 'the first activate, refresh or watch'
  const [writes, atomic, lock, install] = await nodeStoreChunks(nodeStore)
  const { online, httpClient, requestCode } = await coreChunks(core)
  // [label, specifier, package, loaded later on]: an empty label folds into the step above.
  // valibot and env-paths are bundled into core's and node-store's dist: no steps of their
  // own. node-store takes its builtins with process.getBuiltinModule (no module facades),
  // so they are part of its own step.
  const steps: Array<[string, string, string, string?]> = [
    [
      '@keygate/core (offline/ and the top-level modules; valibot bundled in)',
      '@keygate/core',
      '@keygate/core',
    ],
    ['@keygate/node-store (env-paths bundled in)', '@keygate/node-store', '@keygate/node-store'],
    // Not an import: Web Crypto loads when a fingerprint is derived from the machine id.
    // With the fingerprint cache (on by default on every OS) that is the first start on a
    // machine and verify() in the background, not the start-up check.
    [
      "Web Crypto (the fingerprint's SHA-256)",
      WEB_CRYPTO,
      'node:',
      'a fingerprint-cache miss (first start) and in verify(), after the check',
    ],
    [
      "@keygate/node-store's write side (atomic write, lock, install id modules)",
      writes,
      '@keygate/node-store',
      WRITE,
    ],
    ['', atomic, '@keygate/node-store', WRITE],
    ['', lock, '@keygate/node-store', WRITE],
    ['', install, '@keygate/node-store', WRITE],
    [
      'node:child_process',
      'node:child_process',
      'node:',
      'a fingerprint-cache miss on macOS and Windows (a command reads the id)',
    ],
    ['node:crypto', 'node:crypto', 'node:', 'creating an install id (no OS machine id readable)'],
    [
      "@keygate/core's online code (online/: activate, revalidate, schedule)",
      online,
      '@keygate/core',
      ONLINE,
    ],
    [
      "@keygate/core's HTTP client (polar/: transport, retry, errors, response schemas)",
      requestCode,
      '@keygate/core',
      REQUEST,
    ],
    ['', httpClient, '@keygate/core', REQUEST],
    [
      'ofetch (and node-fetch-native)',
      (await dependencyEntry(core, 'ofetch')).url,
      'ofetch',
      REQUEST,
    ],
    ['graceful-fs', (await dependencyEntry(lockfile.dir, 'graceful-fs')).url, 'graceful-fs', WRITE],
    ['proper-lockfile (rest: retry, signal-exit)', lockfile.url, 'proper-lockfile', WRITE],
  ]
  for (const [label, , pkg, later] of steps) {
    // The size step saw what a bundler keeps at start: a "later" claim it contradicts is a bug.
    // (keygate's own packages load at start and split their later parts into chunks.)
    if (later !== undefined && !pkg.startsWith('@keygate/') && eagerPackages.has(pkg)) {
      throw new Error(`${label} is loaded at start-up (size step), not on ${later}`)
    }
  }
  const specifiers = steps.map(([, specifier]) => specifier)
  const per: number[][] = specifiers.map(() => [])
  for (let run = 0; run < runs; run++) {
    const result = await runNode(fixture('import-one'), specifiers, ctx.env(ctx.grantDir))
    const ms = JSON.parse(result.stdout) as number[]
    ms.forEach((value, i) => {
      per[i]?.push(value)
    })
  }
  // Steps with an empty label are folded into the one above them.
  const merged: AttributionStep[] = []
  steps.forEach(([label, , , later], i) => {
    const median = summarize(per[i] ?? [], 'ms').median
    const last = merged[merged.length - 1]
    if (label === '' && last) last.medianMs = Math.round((last.medianMs + median) * 1000) / 1000
    else
      merged.push({
        module: label,
        medianMs: median,
        onStartupPath: later === undefined,
        loadedOn: later,
      })
  })
  return { runs, steps: merged }
}

/** Understood by the import-one fixture: touch `globalThis.crypto.subtle` instead of importing. */
const WEB_CRYPTO = 'globalThis.crypto.subtle'

/** A dist chunk of a package by its name before the hash: `record-writes-<hash>.js`. */
async function distChunk(pkg: string, prefix: string): Promise<string> {
  const dist = join(pkg, 'dist')
  const name = (await readdir(dist)).find((n) => new RegExp(`^${prefix}-[\\w-]+\\.js$`).test(n))
  if (name === undefined) throw new Error(`no ${prefix} chunk in ${dist}: rebuild it`)
  return pathToFileURL(join(dist, name)).href
}

/** node-store's lazily loaded dist chunks: record writes, the atomic writer, the lock, the install id. */
function nodeStoreChunks(nodeStore: string): Promise<[string, string, string, string]> {
  return Promise.all(
    ['record-writes', 'atomic-file', 'file-lock', 'install-id'].map((prefix) =>
      distChunk(nodeStore, prefix),
    ),
  ) as Promise<[string, string, string, string]>
}

/**
 * core's lazily loaded dist chunks (tsdown chunks by folder): `online/` on the first
 * online call; `polar/`'s request code (transport, retry, error mapping, schemas) and the
 * HTTP client itself on the first request.
 */
async function coreChunks(
  core: string,
): Promise<{ online: string; requestCode: string; httpClient: string }> {
  const [online, requestCode, httpClient] = await Promise.all(
    ['online', 'schemas', 'http-client'].map((prefix) => distChunk(core, prefix)),
  )
  return { online: online ?? '', requestCode: requestCode ?? '', httpClient: httpClient ?? '' }
}
