import { type BenchContext, TRUST_LEVELS, type TrustLevel } from '../lib/context.js'
import { cpuAtExit, runNode } from '../lib/processes.js'
import { median, type Summary, seededShuffle, summarize } from '../lib/stats.js'
import { fixture } from '../lib/workspace.js'
import type { Bundles } from './size.js'

/** One block of interleaved rounds: its own medians and ratios. */
export interface WholeProcessRepetition {
  /** Spawn-to-exit medians (ms) of this block, by variant. */
  medianMs: Record<Variant, number>
  /** Median CPU time (user + system, ms) of the whole process, by variant. */
  cpuMs: Record<Variant, number>
  /** gate ÷ bare, wall medians of this block. */
  ratio: number
  ratioBundled: number
  /** gate ÷ bare on CPU time: less moved by the machine's other load than wall time. */
  cpuRatio: number
  cpuRatioBundled: number
}

type Variant = 'bare' | 'gate' | 'gateBundled' | 'sdkValidate' | TrustLevel
const VARIANTS: readonly Variant[] = ['bare', 'gate', 'gateBundled', 'sdkValidate', ...TRUST_LEVELS]

export interface WholeProcessResult {
  /** `node bare.js`: read the grant file, JSON.parse it, print. The floor. */
  bare: Summary
  /** `node gate.js`: import the packages, check({ online: 'never' }), print the state. */
  gate: Summary
  /** The same gate, bundled and minified by esbuild as an app would ship it. */
  gateBundled: Summary
  /** Import `@polar-sh/sdk`, validate online (emulator on loopback), print. */
  sdkValidate: Summary
  /**
   * The gate on grants resting on the trust checks: a keychain's MAC (`keychain`), a lease
   * server's lease verified with Web Crypto (`lease`), both (`leaseKeychain`), with their
   * ÷ bare ratios (medians of the repetitions).
   */
  trusted?: Record<TrustLevel, { summary: Summary; ratio: number; cpuRatio: number }> | undefined
  /**
   * The budget figure: the median of the repetitions' gate ÷ bare ratios (each the ratio
   * of that block's medians), so one noisy stretch of the run moves it less.
   */
  ratio: number
  ratioBundled: number
  /** SDK ÷ bare, from all runs' medians. */
  ratioSdk: number
  /** The same ratios on CPU time (median of the repetitions). */
  cpuRatio?: number | undefined
  cpuRatioBundled?: number | undefined
  /** Each block of interleaved rounds on its own (three in a full run). */
  repetitions?: WholeProcessRepetition[] | undefined
  warmupRunsPerVariant: number
  /** The unbundled gate's own time, phase by phase (inside the process, Node's boot excluded). */
  gatePhases?: Record<string, Summary> | undefined
  /**
   * First check() in a fresh process, import included: from before the first import to the
   * first state (first-check.js), unbundled and bundled; wall and CPU time.
   */
  firstCheck?:
    | {
        ms: Summary
        cpuMs: Summary
        bundledMs: Summary
        bundledCpuMs: Summary
        /** Through require(): the CommonJS build (first-check-require.js). */
        requireMs?: Summary | undefined
        requireCpuMs?: Summary | undefined
        /** The same first check on the grants resting on the trust checks (unbundled). */
        trusted?: Record<TrustLevel, { ms: Summary; cpuMs: Summary }> | undefined
      }
    | undefined
}

const REPETITIONS = 3

/**
 * Spawn to exit, the variants interleaved in a new order every round, in three blocks
 * (repetitions) whose ratios are reported apart. The SDK, ten times slower, runs in fewer
 * rounds of each block.
 */
export async function measureWholeProcess(
  ctx: BenchContext,
  bundles: Bundles,
): Promise<WholeProcessResult> {
  const runs = ctx.quick ? 5 : 15
  const sdkEvery = 3 // the SDK runs in every third round: 5 of 15
  const warmup = 3
  const env = ctx.env(ctx.grantDir, ctx.grantKey)
  const variants: Record<Variant, { file: string; expect: string; env: NodeJS.ProcessEnv }> = {
    bare: { file: fixture('bare'), expect: 'read', env },
    gate: { file: fixture('gate'), expect: 'active', env },
    gateBundled: { file: bundles.gate, expect: 'active', env },
    sdkValidate: { file: fixture('sdk-start'), expect: 'active', env },
    keychain: { file: fixture('gate'), expect: 'active', env: ctx.trusted.keychain },
    lease: { file: fixture('gate'), expect: 'active', env: ctx.trusted.lease },
    leaseKeychain: { file: fixture('gate'), expect: 'active', env: ctx.trusted.leaseKeychain },
  }
  const names = [...VARIANTS]
  const all = emptySamples()
  const repetitions: WholeProcessRepetition[] = []
  for (let rep = 0; rep < REPETITIONS; rep++) {
    const wall = emptySamples()
    const cpu = emptySamples()
    for (let round = 0; round < (rep === 0 ? warmup : 0) + runs; round++) {
      const measured = rep > 0 || round >= warmup
      for (const name of seededShuffle(names, rep * 1000 + round + 1)) {
        if (name === 'sdkValidate' && measured && round % sdkEvery !== 0) continue
        const variant = variants[name]
        const result = await runNode(variant.file, [], variant.env)
        if (result.stdout.trim() !== variant.expect) {
          throw new Error(`${name} printed "${result.stdout.trim()}", expected "${variant.expect}"`)
        }
        if (!measured) continue
        wall[name].push(result.ms)
        cpu[name].push(cpuAtExit(result))
        all[name].push(result.ms)
      }
    }
    const medianMs = mapVariants(wall, median)
    const cpuMs = mapVariants(cpu, median)
    repetitions.push({
      medianMs,
      cpuMs,
      ratio: ratio(medianMs.gate, medianMs.bare),
      ratioBundled: ratio(medianMs.gateBundled, medianMs.bare),
      cpuRatio: ratio(cpuMs.gate, cpuMs.bare),
      cpuRatioBundled: ratio(cpuMs.gateBundled, cpuMs.bare),
    })
  }
  const of = (name: Variant) => summarize(all[name], 'ms')
  const bare = of('bare')
  const sdkValidate = of('sdkValidate')
  const middle = (pick: (r: WholeProcessRepetition) => number) =>
    Math.round(median(repetitions.map(pick)) * 1000) / 1000
  return {
    bare,
    gate: of('gate'),
    gateBundled: of('gateBundled'),
    sdkValidate,
    ratio: middle((r) => r.ratio),
    ratioBundled: middle((r) => r.ratioBundled),
    ratioSdk: ratio(sdkValidate.median, bare.median),
    cpuRatio: middle((r) => r.cpuRatio),
    cpuRatioBundled: middle((r) => r.cpuRatioBundled),
    trusted: Object.fromEntries(
      TRUST_LEVELS.map((level) => [
        level,
        {
          summary: of(level),
          ratio: middle((r) => ratio(r.medianMs[level], r.medianMs.bare)),
          cpuRatio: middle((r) => ratio(r.cpuMs[level], r.cpuMs.bare)),
        },
      ]),
    ) as Record<TrustLevel, { summary: Summary; ratio: number; cpuRatio: number }>,
    repetitions,
    warmupRunsPerVariant: warmup,
    ...(await measureInside(ctx, bundles, warmup)),
  }
}

/**
 * Inside fresh processes, interleaved: the gate's phases (gate-phases.js) and the first
 * check with its imports (first-check.js: unbundled, bundled, and through require()).
 */
async function measureInside(
  ctx: BenchContext,
  bundles: Bundles,
  warmup: number,
): Promise<Pick<WholeProcessResult, 'gatePhases' | 'firstCheck'>> {
  const runs = ctx.quick ? 8 : 30
  const env = ctx.env(ctx.grantDir, ctx.grantKey)
  const phases: Record<string, number[]> = {}
  const first = { ms: [] as number[], cpuMs: [] as number[] }
  const bundled = { ms: [] as number[], cpuMs: [] as number[] }
  const required = { ms: [] as number[], cpuMs: [] as number[] }
  const trustedRuns = Object.fromEntries(
    TRUST_LEVELS.map((level) => [level, { ms: [] as number[], cpuMs: [] as number[] }]),
  ) as Record<TrustLevel, { ms: number[]; cpuMs: number[] }>
  const kinds = ['phases', 'first', 'bundled', 'require', ...TRUST_LEVELS] as const
  const files = {
    first: fixture('first-check'),
    bundled: bundles.firstCheck,
    require: fixture('first-check-require'),
    keychain: fixture('first-check'),
    lease: fixture('first-check'),
    leaseKeychain: fixture('first-check'),
  }
  const envs: Record<keyof typeof files, NodeJS.ProcessEnv> = {
    first: env,
    bundled: env,
    require: env,
    ...ctx.trusted,
  }
  const into = { first, bundled, require: required, ...trustedRuns }
  for (let round = 0; round < warmup + runs; round++) {
    for (const kind of seededShuffle(kinds, 500 + round)) {
      if (kind === 'phases') {
        const result = await runNode(fixture('gate-phases'), [], env)
        const out = JSON.parse(result.stdout) as { status: string; phases: Record<string, number> }
        if (out.status !== 'active') throw new Error(`gate-phases ended ${out.status}`)
        if (round < warmup) continue
        for (const [phase, ms] of Object.entries(out.phases)) {
          phases[phase] = [...(phases[phase] ?? []), ms]
        }
        continue
      }
      const result = await runNode(files[kind], [], envs[kind])
      const out = JSON.parse(result.stdout) as { status: string; ms: number; cpuMs: number }
      if (out.status !== 'active') throw new Error(`${files[kind]} ended ${out.status}`)
      if (round < warmup) continue
      into[kind].ms.push(out.ms)
      into[kind].cpuMs.push(out.cpuMs)
    }
  }
  return {
    gatePhases: Object.fromEntries(
      Object.entries(phases).map(([phase, ms]) => [phase, summarize(ms, 'ms')]),
    ),
    firstCheck: {
      ms: summarize(first.ms, 'ms'),
      cpuMs: summarize(first.cpuMs, 'ms'),
      bundledMs: summarize(bundled.ms, 'ms'),
      bundledCpuMs: summarize(bundled.cpuMs, 'ms'),
      requireMs: summarize(required.ms, 'ms'),
      requireCpuMs: summarize(required.cpuMs, 'ms'),
      trusted: Object.fromEntries(
        TRUST_LEVELS.map((level) => [
          level,
          {
            ms: summarize(trustedRuns[level].ms, 'ms'),
            cpuMs: summarize(trustedRuns[level].cpuMs, 'ms'),
          },
        ]),
      ) as Record<TrustLevel, { ms: Summary; cpuMs: Summary }>,
    },
  }
}

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 1000) / 1000
}

function mapVariants(
  samples: Record<Variant, number[]>,
  fn: (values: number[]) => number,
): Record<Variant, number> {
  return Object.fromEntries(VARIANTS.map((name) => [name, fn(samples[name])])) as Record<
    Variant,
    number
  >
}

function emptySamples(): Record<Variant, number[]> {
  return Object.fromEntries(VARIANTS.map((name) => [name, []])) as unknown as Record<
    Variant,
    number[]
  >
}
