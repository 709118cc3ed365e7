import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { BenchContext } from '../lib/context.js'
import { runNode } from '../lib/processes.js'
import { type Summary, summarize } from '../lib/stats.js'
import { fixture } from '../lib/workspace.js'

export interface LoopbackResult {
  /** Per operation name (e.g. `licensing.activate`), after the warm-up rounds. */
  operations: Record<string, Summary>
  /** The very first call of each operation in a fresh process (loads the lazy HTTP client). */
  firstCallMs: Record<string, number>
  warmupRounds: number
}

export async function measureLoopback(ctx: BenchContext): Promise<LoopbackResult> {
  const [rounds, warmup] = ctx.quick ? [10, 2] : [60, 5]
  const dir = join(ctx.work, 'loopback')
  await mkdir(dir, { recursive: true })
  // Three seats: one standing (for the validate comparison) and one per flow at a time.
  const key = await ctx.emulator.createKey(3)
  const run = await runNode(
    fixture('loopback'),
    [String(rounds), String(warmup)],
    ctx.env(dir, key),
  )
  const out = JSON.parse(run.stdout) as {
    samples: Record<string, number[]>
    first: Record<string, number>
  }
  const { seats: left } = await ctx.emulator.usage(key)
  if (left !== 0) throw new Error(`loopback left ${left} seats taken: deactivate did not free them`)
  const operations: Record<string, Summary> = {}
  for (const [name, samples] of Object.entries(out.samples)) {
    operations[name] = summarize(samples, 'ms')
  }
  const firstCallMs = Object.fromEntries(
    Object.entries(out.first).map(([name, ms]) => [name, Math.round(ms * 1000) / 1000]),
  )
  return { operations, firstCallMs, warmupRounds: warmup }
}
