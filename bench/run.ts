/**
 * `pnpm bench`: measures the BUILT packages (packages/x/dist, reached through their
 * package names) and writes bench/results.json, a table on stdout, and the figures in
 * docs/benchmarks.md. Network: the emulator on 127.0.0.1 only. Exits 1 when a measured
 * step throws (nothing is published then).
 *
 *   node --import tsx bench/run.ts [--quick] [--no-docs] [--render] [--only=size,whole,…]
 *
 * `--only` runs some sections (size, in-process, whole, import, loopback, contention;
 * size always runs when whole or import does, for their bundles) and publishes nothing.
 *
 * With the docs, it also draws the whole-process comparison as docs/benchmarks-startup.svg.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createKeyPair } from '@keygate/server'
import type { BenchTrust } from './fixtures/config.js'
import { CHART_FILE, startupChart } from './lib/chart.js'
import {
  type BenchContext,
  contextEnv,
  type EmulatorHandle,
  startEmulator,
  TRUST_LEVELS,
  type TrustLevel,
} from './lib/context.js'
import { runNode } from './lib/processes.js'
import { budgets, type Measured, markdown, type Results, type RunMeta } from './lib/report.js'
import {
  benchDir,
  checkBuilt,
  compileFixtures,
  fixture,
  gitCommit,
  linkPackages,
  outDir,
  root,
} from './lib/workspace.js'
import { measureContention } from './sections/contention.js'
import { measureImportCost } from './sections/import-cost.js'
import { measureInProcess } from './sections/in-process.js'
import { measureLoopback } from './sections/loopback.js'
import { type Bundles, measureSize } from './sections/size.js'
import { measureWholeProcess } from './sections/whole-process.js'

const DOCS = join(root, 'docs', 'benchmarks.md')
const START_MARK = '<!-- bench:results:start -->'
const END_MARK = '<!-- bench:results:end -->'

const quick = process.argv.includes('--quick')
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
const wanted = (section: string) =>
  only === undefined ||
  only.includes(section) ||
  (section === 'size' && (only.includes('whole') || only.includes('import')))
const partial = quick || only !== undefined
const updateDocs = !partial && !process.argv.includes('--no-docs')
const started = performance.now()
const loadBefore = round2(loadavg()[0] ?? 0)
const failures: Array<{ step: string; error: string }> = []
const results: Measured = {}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

/** Runs one measured step; a throw is recorded (and fails the run), the rest still run. */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
  const t0 = performance.now()
  process.stdout.write(`• ${name} … `)
  try {
    const value = await fn()
    console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`)
    return value
  } catch (error) {
    console.log('FAILED')
    const message = error instanceof Error ? error.message : String(error)
    console.error(`  ${message}`)
    failures.push({ step: name, error: message })
    return undefined
  }
}

if (process.argv.includes('--render')) {
  // Re-renders the published results into the docs (after a change to the report's layout);
  // measures nothing.
  const published = JSON.parse(await readFile(join(benchDir, 'results.json'), 'utf8')) as Results
  const table = markdown(published)
  console.log(table)
  await writeDocs(table)
  await writeChart(published)
  process.exit(0)
}

const stale = await checkBuilt()
if (stale.length > 0) {
  console.warn(
    `! sources newer than dist in: ${stale.join(', ')}. Figures are for the old build: run \`pnpm build\` (\`pnpm bench\` does).`,
  )
}
await linkPackages()
await compileFixtures()

const work = await mkdtemp(join(tmpdir(), 'keygate-bench-'))
let emulator: EmulatorHandle | undefined
try {
  emulator = await startEmulator()
  const env = contextEnv(emulator)
  const grantDir = join(work, 'grant')
  await mkdir(grantDir, { recursive: true })
  const key = await emulator.createKey(3)
  await runNode(fixture('setup-grant'), [], env(grantDir, key))
  const trusted = await trustedGrants(emulator, env)
  const ctx: BenchContext = { quick, emulator, grantDir, grantKey: key, work, env, trusted }

  const sized = wanted('size') ? await step('4. size (esbuild bundles)', measureSize) : undefined
  results.size = sized?.result
  const bundles: Bundles | undefined = sized?.bundles
  if (wanted('in-process')) {
    results.inProcess = await step('1. in-process check', () => measureInProcess(ctx))
  }
  if (bundles) {
    if (wanted('whole')) {
      results.wholeProcess = await step('2. whole-process start-up', () =>
        measureWholeProcess(ctx, bundles),
      )
    }
    const eager = new Set(Object.keys(sized?.result.startup.byPackage ?? {}))
    if (wanted('import')) {
      results.importCost = await step('3. import cost', () =>
        measureImportCost(ctx, bundles, eager),
      )
    }
  }
  if (wanted('loopback')) {
    results.loopback = await step('5. loopback round trips', () => measureLoopback(ctx))
  }
  if (wanted('contention')) {
    results.contention = await step('6. contention', () => measureContention(ctx))
  }
} catch (error) {
  failures.push({ step: 'setup', error: error instanceof Error ? error.message : String(error) })
} finally {
  await emulator?.close().catch((error: unknown) => {
    failures.push({ step: 'emulator', error: String(error) })
  })
  await rm(work, { recursive: true, force: true })
}

const cpu = cpus()
const meta: RunMeta = {
  date: new Date().toISOString(),
  commit: await gitCommit(),
  node: process.versions.node,
  v8: process.versions.v8,
  platform: process.platform,
  arch: process.arch,
  cpus: cpu.length,
  cpuModel: cpu[0]?.model.trim() ?? 'unknown',
  memoryGB: Math.round(totalmem() / 1024 ** 3),
  loadAverage: { before: loadBefore, after: round2(loadavg()[0] ?? 0) },
  durationSeconds: Math.round((performance.now() - started) / 1000),
  quick,
  stalePackages: stale,
}
const full: Results = { schema: 1, meta, budgets: budgets(results), ...results }
const table = markdown(full)
console.log(`\n${table}\n`)

if (failures.length > 0) {
  // Never publish a partial run over the last good one.
  await mkdir(outDir, { recursive: true })
  const partial = join(outDir, 'results.partial.json')
  await writeFile(partial, `${JSON.stringify({ ...full, failures }, null, 2)}\n`)
  console.error(`\n✖ ${failures.length} step(s) failed: ${failures.map((f) => f.step).join(', ')}`)
  console.error(
    `  partial results: ${partial}; bench/results.json and the docs were left as they were.`,
  )
  process.exit(1)
}

if (partial) {
  const out = join(outDir, 'results.last.json')
  await writeFile(out, `${JSON.stringify(full, null, 2)}\n`)
  console.log(
    `Quick or partial run: written to ${out}; bench/results.json and the docs were not updated.`,
  )
} else {
  await writeFile(join(benchDir, 'results.json'), `${JSON.stringify(full, null, 2)}\n`)
  console.log('Wrote bench/results.json')
  if (updateDocs) {
    await writeDocs(table)
    await writeChart(full)
  }
}
const missed = full.budgets.filter((b) => !b.met)
if (missed.length > 0) {
  // Reported, not asserted: a missed budget is explained in docs/benchmarks.md.
  console.log(`Budgets missed: ${missed.map((b) => `${b.name} (${b.measured})`).join('; ')}`)
}

async function writeDocs(section: string): Promise<void> {
  if (!existsSync(DOCS)) {
    console.warn(`! ${DOCS} is missing: figures not written there.`)
    return
  }
  const text = await readFile(DOCS, 'utf8')
  const start = text.indexOf(START_MARK)
  const end = text.indexOf(END_MARK)
  if (start < 0 || end < start) {
    console.warn(`! ${DOCS} has no ${START_MARK} … ${END_MARK} block: figures not written there.`)
    return
  }
  const updated = `${text.slice(0, start + START_MARK.length)}\n${section}\n${text.slice(end)}`
  await writeFile(DOCS, updated)
  console.log('Updated the figures in docs/benchmarks.md')
}

async function writeChart(published: Results): Promise<void> {
  const svg = startupChart(published)
  if (svg === undefined) {
    console.warn('! no whole-process figures: the chart was not drawn.')
    return
  }
  await writeFile(join(root, 'docs', CHART_FILE), svg)
  console.log(`Drew docs/${CHART_FILE}`)
}

/**
 * One more grant per trust level (issue 10), each activated as an app configured that
 * way activates: sealed with a keychain's MAC, through a lease server, or both. Returns
 * the environment each fixture reads it with (no signing key, no token).
 */
async function trustedGrants(
  emulator: EmulatorHandle,
  env: BenchContext['env'],
): Promise<Record<TrustLevel, NodeJS.ProcessEnv>> {
  const { privateJwk, publicJwk } = await createKeyPair()
  const keychain = Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff)
  const lease = { url: 'https://lease.bench.invalid', publicKey: publicJwk }
  const levels: Record<TrustLevel, BenchTrust> = {
    keychain: { keychain },
    lease: { lease },
    leaseKeychain: { keychain, lease },
  }
  const out = {} as Record<TrustLevel, NodeJS.ProcessEnv>
  for (const level of TRUST_LEVELS) {
    const dir = join(work, `grant-${level}`)
    await mkdir(dir, { recursive: true })
    const key = await emulator.createKey(3)
    const trust = levels[level]
    const setup = { ...trust, signingKey: { ...privateJwk }, polarToken: await emulator.token() }
    await runNode(fixture('setup-grant'), [], env(dir, key, setup))
    out[level] = env(dir, key, trust)
  }
  return out
}
