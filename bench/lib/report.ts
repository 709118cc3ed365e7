import type { ContentionResult } from '../sections/contention.js'
import type { ImportCostResult } from '../sections/import-cost.js'
import type { InProcessResult } from '../sections/in-process.js'
import type { LoopbackResult } from '../sections/loopback.js'
import type { BundleSize, SizeResult } from '../sections/size.js'
import type { WholeProcessResult } from '../sections/whole-process.js'
import type { TrustLevel } from './context.js'
import { describe, type Summary } from './stats.js'

export interface RunMeta {
  date: string
  commit: string | null
  node: string
  v8: string
  platform: string
  arch: string
  cpus: number
  cpuModel: string
  memoryGB: number
  /** 1-minute load average before and after: other work on the machine skews figures. */
  loadAverage: { before: number; after: number }
  durationSeconds: number
  quick: boolean
  /** Packages whose sources were newer than their dist when the run started. */
  stalePackages: string[]
}

export interface Budget {
  name: string
  limit: string
  measured: string
  met: boolean
}

/** What the sections measured; a section that failed is absent. */
export interface Measured {
  inProcess?: InProcessResult | undefined
  wholeProcess?: WholeProcessResult | undefined
  importCost?: ImportCostResult | undefined
  size?: SizeResult | undefined
  loopback?: LoopbackResult | undefined
  contention?: ContentionResult | undefined
}

export interface Results extends Measured {
  schema: 1
  meta: RunMeta
  budgets: Budget[]
}

/** The trust levels of the extra gate variants, in the tables' words. */
const TRUST_WORDS: Readonly<Record<TrustLevel, string>> = {
  keychain: "the keychain's MAC checked",
  lease: "its lease verified (Node's Ed25519, no keychain)",
  leaseKeychain: "a lease under the keychain's MAC (the MAC vouches for it)",
}

/** The goals of issue 15 (and the in-process budget before it). */
export const BUDGETS = {
  checkMedianMicros: 100,
  wholeProcessRatio: 1.1,
  /** First check() in a fresh process, import included (ms, median). */
  firstCheckMs: 2,
  /** 10 KB, read as 10 KiB. */
  startupGzipBytes: 10 * 1024,
  /** What verifying the lease adds to that first check (issue 10), ms. */
  leaseAddedMs: 0.3,
} as const

export function budgets(results: Measured): Budget[] {
  const out: Budget[] = []
  if (results.inProcess) {
    const median = results.inProcess.check.median
    out.push({
      name: "in-process check({ online: 'never' }) median",
      limit: `≤ ${BUDGETS.checkMedianMicros} µs`,
      measured: `${median.toFixed(1)} µs`,
      met: median <= BUDGETS.checkMedianMicros,
    })
  }
  if (results.wholeProcess) {
    const ratio = results.wholeProcess.ratio
    out.push({
      name: 'whole-process start-up, gate / bare node (medians)',
      limit: `≤ ${BUDGETS.wholeProcessRatio.toFixed(2)}`,
      measured: `${ratio.toFixed(3)}${repetitionsNote(results.wholeProcess.repetitions?.map((r) => r.ratio))}`,
      met: ratio <= BUDGETS.wholeProcessRatio,
    })
    for (const [level, t] of Object.entries(results.wholeProcess.trusted ?? {})) {
      out.push({
        name: `whole-process start-up with the trust checks (${TRUST_WORDS[level as TrustLevel]}) / bare node`,
        limit: `≤ ${BUDGETS.wholeProcessRatio.toFixed(2)}`,
        measured: t.ratio.toFixed(3),
        met: t.ratio <= BUDGETS.wholeProcessRatio,
      })
    }
    const first = results.wholeProcess.firstCheck
    if (first) {
      out.push({
        name: "first check({ online: 'never' }) in a fresh process, import included (median)",
        limit: `≤ ${BUDGETS.firstCheckMs} ms`,
        measured: `${first.ms.median.toFixed(2)} ms`,
        met: first.ms.median <= BUDGETS.firstCheckMs,
      })
      // The same first check with a lease against without one, the rest of the grant alike.
      const trusted = first.trusted
      const added: Array<[string, number | undefined, number | undefined]> = [
        ['no keychain', trusted?.lease.ms.median, first.ms.median],
        ['under a keychain', trusted?.leaseKeychain.ms.median, trusted?.keychain.ms.median],
      ]
      for (const [where, withLease, without] of added) {
        if (withLease === undefined || without === undefined) continue
        const ms = withLease - without
        out.push({
          name: `what verifying the lease adds to that first check, ${where} (difference of medians)`,
          limit: `≤ ${BUDGETS.leaseAddedMs} ms`,
          measured: `${ms.toFixed(2)} ms`,
          met: ms <= BUDGETS.leaseAddedMs,
        })
      }
    }
  }
  if (results.size) {
    const gzip = results.size.startup.gzipBytes
    out.push({
      name: 'start-up path size, min+gz',
      limit: `≤ ${BUDGETS.startupGzipBytes} B`,
      measured: `${gzip} B`,
      met: gzip <= BUDGETS.startupGzipBytes,
    })
  }
  return out
}

/** ` (repetitions 1.08, 1.09, 1.11)`: each block's own figure beside the median. */
function repetitionsNote(values: number[] | undefined): string {
  if (values === undefined || values.length < 2) return ''
  return ` (repetitions ${values.map((v) => v.toFixed(3)).join(', ')})`
}

const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
const header = (...names: string[]) => [row(names), row(names.map(() => '---'))]
const cell = (s: Summary, digits = 2) => describe(s, digits)
const range = (s: Summary, digits = 2) => `${s.min.toFixed(digits)}–${s.max.toFixed(digits)}`
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

function sizeRow(name: string, size: BundleSize): string {
  const top = Object.entries(size.byPackage)
    .slice(0, 4)
    .map(([pkg, bytes]) => `${pkg} ${kb(bytes)}`)
    .join(', ')
  return row([
    name,
    kb(size.gzipBytes),
    kb(size.minBytes),
    top,
    size.lazy.minBytes === 0 ? '—' : `${kb(size.lazy.gzipBytes)} gz`,
  ])
}

/**
 * The two start-up figures a user asks about, side by side: what the gate costs a fresh
 * process (an app's cold start) and what one check costs once the app is running.
 */
function startupInShort(results: Results): string[] {
  const wp = results.wholeProcess
  const warm = results.inProcess?.check
  if (wp === undefined) return []
  const phases = Object.entries(wp.gatePhases ?? {})
  const sum = (test: (name: string) => boolean) =>
    phases.filter(([name]) => test(name)).reduce((total, [, s]) => total + s.median, 0)
  const own = sum(() => true)
  const imports = sum((name) => name.startsWith('import'))
  const firstCalls = sum((name) => name.startsWith('first'))
  const fresh =
    `In a fresh process the gate adds ${(wp.gate.median - wp.bare.median).toFixed(1)} ms to Node's own start ` +
    `(spawn to exit, medians: bare Node ${wp.bare.median.toFixed(1)} ms, the gate ${wp.gate.median.toFixed(1)} ms, ` +
    `${wp.gateBundled.median.toFixed(1)} ms bundled)` +
    (phases.length > 0
      ? `; inside the process its own time is ${own.toFixed(1)} ms: importing ${imports.toFixed(1)} ms, ` +
        `the first fingerprint() and check() ${firstCalls.toFixed(1)} ms.`
      : '.') +
    (wp.firstCheck
      ? ` The first check(), import included, takes ${wp.firstCheck.ms.median.toFixed(2)} ms (${wp.firstCheck.bundledMs.median.toFixed(2)} ms bundled).`
      : '') +
    ` Polar's SDK, imported to validate online on every start, takes ${wp.sdkValidate.median.toFixed(0)} ms (${wp.ratioSdk.toFixed(1)} × bare Node) on loopback.`
  const running = warm
    ? ` Once the app is running, a check({ online: 'never' }) takes ${warm.median.toFixed(1)} µs.`
    : ''
  return ['', `**Start-up, in short.** ${fresh}${running}`]
}

/** The results as Markdown: printed by the run and kept in docs/benchmarks.md. */
export function markdown(results: Results): string {
  const { meta } = results
  const lines: string[] = [
    `Run ${meta.date}${meta.commit ? ` at ${meta.commit.slice(0, 7)}` : ''} on ${meta.cpus} × ${meta.cpuModel}, ${meta.memoryGB} GB, ${meta.platform}/${meta.arch}, Node ${meta.node}; load average ${meta.loadAverage.before} → ${meta.loadAverage.after}; ${meta.durationSeconds} s${meta.quick ? ' (QUICK run: too few samples to publish)' : ''}.`,
    ...startupInShort(results),
    '',
    '**Budgets**',
    '',
    ...header('budget', 'limit', 'measured', ''),
    ...results.budgets.map((b) => row([b.name, b.limit, b.measured, b.met ? 'met' : '**missed**'])),
  ]

  const ip = results.inProcess
  if (ip) {
    lines.push(
      '',
      '**1. In-process start-up check** (warm file store, real grant; each call timed)',
      '',
      ...header('what', 'median (IQR, runs)', 'p99', 'min–max'),
      ...(
        [
          ["check({ online: 'never' })", ip.check],
          ['↳ store.read()', ip.storeRead],
          ['↳ parseGrant()', ip.parseGrant],
          ['↳ evaluate()', ip.evaluate],
          [`↳ evaluate(), per call in batches of ${ip.evaluateBatched.batch}`, ip.evaluateBatched],
          ['(for reference: the timer itself, two clock reads)', ip.timer],
          ...(ip.syncRead
            ? ([
                ["(for reference: store.read()'s five file calls made directly)", ip.syncRead],
              ] as const)
            : []),
        ] as const
      ).map(([name, s]) => row([name, cell(s), `${s.p99.toFixed(2)} µs`, range(s)])),
    )
  }

  const wp = results.wholeProcess
  if (wp) {
    lines.push(
      '',
      '**2. Whole-process start-up** (spawn to exit, variants interleaved)',
      '',
      ...header('process', 'median (IQR, runs)', 'p99', 'min–max', '÷ bare'),
      ...(
        [
          ['bare node: read + JSON.parse the grant', wp.bare, 1],
          ['keygate gate: import, check, print', wp.gate, wp.ratio],
          ['keygate gate, bundled by esbuild', wp.gateBundled, wp.ratioBundled],
          ...Object.entries(wp.trusted ?? {}).map(
            ([level, t]) =>
              [`keygate gate, ${TRUST_WORDS[level as TrustLevel]}`, t.summary, t.ratio] as const,
          ),
          ['@polar-sh/sdk: import, validate online (loopback)', wp.sdkValidate, wp.ratioSdk],
        ] as const
      ).map(([name, s, ratio]) =>
        row([name, cell(s, 1), `${s.p99.toFixed(1)} ms`, range(s, 1), ratio.toFixed(3)]),
      ),
    )
    const reps = wp.repetitions ?? []
    if (reps.length > 0) {
      lines.push(
        '',
        `Each repetition on its own (${reps.length} blocks of interleaved rounds; ratios of that block's medians, wall and CPU time; the budget figure is the median of the wall ratios):`,
        '',
        ...header(
          'repetition',
          'bare',
          'gate',
          'gate bundled',
          'gate ÷ bare',
          'bundled ÷ bare',
          'CPU: gate ÷ bare',
          'CPU: bundled ÷ bare',
        ),
        ...reps.map((r, i) =>
          row([
            i + 1,
            `${r.medianMs.bare.toFixed(1)} ms`,
            `${r.medianMs.gate.toFixed(1)} ms`,
            `${r.medianMs.gateBundled.toFixed(1)} ms`,
            r.ratio.toFixed(3),
            r.ratioBundled.toFixed(3),
            r.cpuRatio.toFixed(3),
            r.cpuRatioBundled.toFixed(3),
          ]),
        ),
      )
    }
    const first = wp.firstCheck
    if (first) {
      lines.push(
        '',
        "First check({ online: 'never' }) in a fresh process, import included (first-check.js: from before the first import to the first state; Node's own boot excluded):",
        '',
        ...header('build', 'wall (IQR, runs)', 'CPU time (IQR, runs)'),
        row(['unbundled (the packages from node_modules)', cell(first.ms), cell(first.cpuMs)]),
        row(['bundled by esbuild', cell(first.bundledMs), cell(first.bundledCpuMs)]),
        ...(first.requireMs && first.requireCpuMs
          ? [
              row([
                'through require() (the CommonJS build, as a CommonJS Electron main loads it)',
                cell(first.requireMs),
                cell(first.requireCpuMs),
              ]),
            ]
          : []),
        ...Object.entries(first.trusted ?? {}).map(([level, t]) =>
          row([`unbundled, ${TRUST_WORDS[level as TrustLevel]}`, cell(t.ms), cell(t.cpuMs)]),
        ),
      )
    }
    const phases = Object.entries(wp.gatePhases ?? {})
    if (phases.length > 0) {
      const total = phases.reduce((sum, [, s]) => sum + s.median, 0)
      lines.push(
        '',
        `Where the unbundled gate's own time goes (inside the process, one fresh process per run; medians add up to ${total.toFixed(1)} ms):`,
        '',
        ...header('phase', 'median (IQR, runs)'),
        ...phases.map(([name, s]) => row([name, cell(s)])),
      )
    }
  }

  const ic = results.importCost
  if (ic) {
    lines.push(
      '',
      '**3. Import cost** (cold, one fresh process per run, variants interleaved)',
      '',
      ...header('import', 'await import() (IQR, runs)', 'process spawn→exit'),
      ...Object.entries(ic.variants).map(([name, v]) =>
        row([name, v.importMs ? cell(v.importMs) : '—', cell(v.processMs, 1)]),
      ),
      '',
      `Where the import time goes (each step given the ones above are loaded; median of ${ic.attribution.runs} processes):`,
      '',
      ...header('module', 'adds (median)', 'loaded by the start-up check'),
      ...ic.attribution.steps.map((s) =>
        row([
          s.module,
          `${s.medianMs.toFixed(2)} ms`,
          s.onStartupPath ? 'yes' : `no: on ${s.loadedOn ?? 'first use'}`,
        ]),
      ),
    )
  }

  const size = results.size
  if (size) {
    lines.push(
      '',
      `**4. Size** (${size.settings})`,
      '',
      ...header('bundle', 'min+gz (loaded at once)', 'min', 'largest parts (min)', 'lazy chunks'),
      sizeRow('start-up path: createLicensing + createFileStore + nodeMachine', size.startup),
      sizeRow("core's check path alone", size.coreCheck),
      sizeRow('@polar-sh/sdk: Polar class, licenseKeys.validate', size.sdk),
      sizeRow('@polar-sh/sdk: standalone validate function', size.sdkFunction),
    )
    const modules = Object.entries(size.startupByModule ?? {})
    if (modules.length > 0) {
      const total = modules.reduce((sum, [, bytes]) => sum + bytes, 0)
      lines.push(
        '',
        `The start-up path by module (its sources bundled with the same settings; minified bytes loaded at start, ${kb(total)} in all):`,
        '',
        modules.map(([name, bytes]) => `${name} ${bytes}`).join(' · '),
      )
    }
  }

  const lb = results.loopback
  if (lb) {
    lines.push(
      '',
      `**5. Round trips over loopback** (emulator's HTTP server on 127.0.0.1 in its own process; after ${lb.warmupRounds} warm-up rounds)`,
      '',
      ...header('operation', 'median (IQR, runs)', 'p99', 'first call in a fresh process'),
      ...Object.entries(lb.operations).map(([name, s]) =>
        row([
          name,
          cell(s),
          `${s.p99.toFixed(2)} ms`,
          lb.firstCallMs[name] === undefined ? '—' : `${lb.firstCallMs[name]?.toFixed(2)} ms`,
        ]),
      ),
    )
  }

  const ct = results.contention
  if (ct) {
    lines.push(
      '',
      `**6. Contention** (${ct.instances} processes on one store folder, started together)`,
      '',
      ...header('scenario', 'spawn → all active', '"go" → all active'),
      row([
        'empty store, all activate one key (1 seat taken)',
        cell(ct.activate.fromSpawnMs, 0),
        cell(ct.activate.fromGoMs, 1),
      ]),
      row([
        "grant on disk, all check({ online: 'never' })",
        cell(ct.check.fromSpawnMs, 0),
        cell(ct.check.fromGoMs, 1),
      ]),
      '',
      `Validate requests Polar received besides the one activate, per activation round: ${ct.activate.validateRequests.join(', ')}.`,
    )
  }
  return lines.join('\n')
}
