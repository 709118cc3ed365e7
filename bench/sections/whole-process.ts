import type { BenchContext } from '../lib/context.js'
import { runNode } from '../lib/processes.js'
import { type Summary, seededShuffle, summarize } from '../lib/stats.js'
import { fixture } from '../lib/workspace.js'
import type { Bundles } from './size.js'

export interface WholeProcessResult {
  /** `node bare.js`: read the grant file, JSON.parse it, print. The floor. */
  bare: Summary
  /** `node gate.js`: import the packages, check({ online: 'never' }), print the state. */
  gate: Summary
  /** The same gate, bundled and minified by esbuild as an app would ship it. */
  gateBundled: Summary
  /** Import `@polar-sh/sdk`, validate online (emulator on loopback), print. */
  sdkValidate: Summary
  /** gate median / bare median: the budget is ≤ 1.15. */
  ratio: number
  ratioBundled: number
  ratioSdk: number
  warmupRunsPerVariant: number
  /** The unbundled gate's own time, phase by phase (inside the process, Node's boot excluded). */
  gatePhases?: Record<string, Summary> | undefined
}

/** Spawn to exit, the variants interleaved in a new order every round. */
export async function measureWholeProcess(
  ctx: BenchContext,
  bundles: Bundles,
): Promise<WholeProcessResult> {
  const runs = ctx.quick ? 8 : 30
  const warmup = 3
  const env = ctx.env(ctx.grantDir)
  const variants: Record<string, { file: string; expect: string }> = {
    bare: { file: fixture('bare'), expect: 'read' },
    gate: { file: fixture('gate'), expect: 'active' },
    gateBundled: { file: bundles.gate, expect: 'active' },
    sdkValidate: { file: fixture('sdk-start'), expect: 'active' },
  }
  const names = Object.keys(variants)
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < warmup + runs; round++) {
    for (const name of seededShuffle(names, round + 1)) {
      const variant = variants[name] as { file: string; expect: string }
      const result = await runNode(variant.file, [], env)
      if (result.stdout.trim() !== variant.expect) {
        throw new Error(`${name} printed "${result.stdout.trim()}", expected "${variant.expect}"`)
      }
      if (round >= warmup) samples[name]?.push(result.ms)
    }
  }
  const of = (name: string) => summarize(samples[name] ?? [], 'ms')
  const phases: Record<string, number[]> = {}
  for (let round = 0; round < warmup + runs; round++) {
    const result = await runNode(fixture('gate-phases'), [], env)
    const out = JSON.parse(result.stdout) as { status: string; phases: Record<string, number> }
    if (out.status !== 'active') throw new Error(`gate-phases ended ${out.status}`)
    if (round < warmup) continue
    for (const [phase, ms] of Object.entries(out.phases)) {
      phases[phase] = [...(phases[phase] ?? []), ms]
    }
  }
  const bare = of('bare')
  const gate = of('gate')
  const gateBundled = of('gateBundled')
  const sdkValidate = of('sdkValidate')
  const ratio = (s: Summary) => Math.round((s.median / bare.median) * 1000) / 1000
  return {
    bare,
    gate,
    gateBundled,
    sdkValidate,
    ratio: ratio(gate),
    ratioBundled: ratio(gateBundled),
    ratioSdk: ratio(sdkValidate),
    warmupRunsPerVariant: warmup,
    gatePhases: Object.fromEntries(
      Object.entries(phases).map(([phase, ms]) => [phase, summarize(ms, 'ms')]),
    ),
  }
}
