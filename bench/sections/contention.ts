import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { BenchContext } from '../lib/context.js'
import { type LineChild, startLineChild } from '../lib/processes.js'
import { type Summary, summarize } from '../lib/stats.js'
import { fixture } from '../lib/workspace.js'

export const INSTANCES = 8

export interface ContentionScenario {
  /** From spawning the processes together until the last one reported `active`. */
  fromSpawnMs: Summary
  /** From the "go" (all loaded and waiting) until the last one reported `active`. */
  fromGoMs: Summary
}

export interface ContentionResult {
  instances: number
  /** Empty store, one key: all activate at once; exactly one seat may be taken. */
  activate: ContentionScenario & {
    /**
     * Validate requests Polar received per round besides the one activation: instances
     * that find the seat already taken confirm it online. Polar allows 3 requests per
     * second per IP, so this matters behind one NAT.
     */
    validateRequests: number[]
  }
  /** The store holds the grant: all run the offline start-up check at once. */
  check: ContentionScenario
}

interface Outcome {
  status: string
  activationId: string | null
  error?: string
}

/** Starts the instances together, releases them at once, waits for every outcome. */
async function together(
  ctx: BenchContext,
  action: 'activate' | 'check',
  dir: string,
  key?: string,
) {
  const env = ctx.env(dir, key)
  const started = performance.now()
  const children: LineChild[] = []
  for (let i = 0; i < INSTANCES; i++) {
    children.push(startLineChild(fixture('contention-worker'), [action], env))
  }
  let go: number
  let done: number
  let outcomes: Outcome[]
  try {
    await Promise.all(children.map(async (child) => expectLine(await child.nextLine(), 'ready')))
    go = performance.now()
    for (const child of children) child.send('go')
    outcomes = await Promise.all(
      children.map(async (child) => JSON.parse(await child.nextLine()) as Outcome),
    )
    done = performance.now()
    await Promise.all(children.map((child) => child.close()))
  } catch (error) {
    // One instance failed or hung: the others must not keep the run alive.
    for (const child of children) child.kill()
    throw error
  }
  for (const outcome of outcomes) {
    if (outcome.status !== 'active' || outcome.error !== undefined) {
      throw new Error(`an instance ended ${outcome.status} (${outcome.error ?? 'no error'})`)
    }
  }
  if (new Set(outcomes.map((o) => o.activationId)).size !== 1) {
    throw new Error('the instances ended with different activations')
  }
  return { fromSpawn: done - started, fromGo: done - go }
}

function expectLine(line: string, expected: string): void {
  if (line !== expected) throw new Error(`worker said "${line}", expected "${expected}"`)
}

export async function measureContention(ctx: BenchContext): Promise<ContentionResult> {
  const rounds = ctx.quick ? 2 : 6
  const samples = {
    activate: { spawn: [] as number[], go: [] as number[] },
    check: { spawn: [] as number[], go: [] as number[] },
  }
  const validateRequests: number[] = []
  for (let round = 0; round < rounds; round++) {
    const dir = join(ctx.work, `contention-${round}`)
    await mkdir(dir, { recursive: true })
    const key = await ctx.emulator.createKey(3)
    const activated = await together(ctx, 'activate', dir, key)
    const { seats, validations } = await ctx.emulator.usage(key)
    if (seats !== 1) {
      throw new Error(`${INSTANCES} instances activating together took ${seats} seats`)
    }
    validateRequests.push(validations)
    const checked = await together(ctx, 'check', dir)
    samples.activate.spawn.push(activated.fromSpawn)
    samples.activate.go.push(activated.fromGo)
    samples.check.spawn.push(checked.fromSpawn)
    samples.check.go.push(checked.fromGo)
  }
  const scenario = (s: { spawn: number[]; go: number[] }): ContentionScenario => ({
    fromSpawnMs: summarize(s.spawn, 'ms'),
    fromGoMs: summarize(s.go, 'ms'),
  })
  return {
    instances: INSTANCES,
    activate: { ...scenario(samples.activate), validateRequests },
    check: scenario(samples.check),
  }
}
