import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GRANT_VERSION, type Grant, serializeGrant } from '@keygate/core'
import { createPolarEmulator, type EmulatorServer, type PolarEmulator } from '@keygate/core/testing'
import { createFileStore, nodeMachine } from '@keygate/node-store'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { run } from '../src/cli.js'

/**
 * Runs `keygate` as a real process from its sources (tsx resolves the workspace packages
 * through the root tsconfig's paths), against the Polar emulator served on 127.0.0.1.
 */

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const ENTRY = 'packages/cli/src/bin.ts'
const PROCESS_TIMEOUT_MS = 20_000

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** The parent's environment minus anything that could reach Polar or change the output. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name === 'POLAR_ACCESS_TOKEN' || name.startsWith('KEYGATE_'))
      continue
    env[name] = value
  }
  return env
}

export function keygate(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return node(['--import', 'tsx', ENTRY, ...args], { ...baseEnv(), ...env })
}

/** Runs node with `args` in the repository's root; its exit code and output. */
export function node(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** One emulator per test file, served over HTTP; state reset between tests. */
export function useEmulator() {
  const ctx = {} as { polar: PolarEmulator; server: EmulatorServer; token: string; url: string }
  beforeAll(async () => {
    ctx.polar = createPolarEmulator({ rateLimit: false })
    ctx.server = await ctx.polar.listen()
    ctx.url = ctx.server.url
    ctx.token = ctx.polar.createAccessToken()
  })
  afterAll(async () => {
    await ctx.server.close()
  })
  return ctx
}

/** A fresh temp folder per test, removed afterwards. */
export function useTempDir() {
  const dirs: string[] = []
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
  })
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keygate-cli-'))
    dirs.push(dir)
    return dir
  }
}

const ORG = '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f'
export const KEY = 'ACME-2F0B6E1C-91D4-4F55-B1A8-6C1E3A9D7F20'
export const ACTIVATION_ID = '6c1e3a9d-7f20-4b1a-9d3c-2e4f5a6b7c8d'
const HOUR = 60 * 60 * 1000
export const DAY = 24 * HOUR

/** This machine's fingerprint as the app computes it by default (salt = organization id). */
function fingerprint(dir: string, salt = ORG): Promise<string> {
  return nodeMachine({ salt, dir }).fingerprint()
}

/** A grant as an app would have written it, validated `ageMs` ago, on this machine. */
export async function grantFor(
  dir: string,
  ageMs: number,
  patch: Partial<Grant> = {},
): Promise<Grant> {
  const now = Date.now()
  const validatedAt = now - ageMs
  return {
    v: GRANT_VERSION,
    key: KEY,
    organizationId: ORG,
    server: 'https://api.polar.sh',
    fingerprint: await fingerprint(dir),
    conditions: {},
    activation: {
      id: ACTIVATION_ID,
      label: 'Ada’s laptop',
      meta: {},
      createdAt: '2026-01-02T10:00:00Z',
    },
    license: {
      id: '3f0c9a4e-1d5b-4c1e-9a8e-2b7f6d5c4a3b',
      displayKey: '****-9D7F20',
      status: 'granted',
      expiresAt: null,
      limitActivations: 3,
      usage: 0,
      limitUsage: null,
      benefitId: '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d',
      customerId: '7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928',
    },
    validatedAt,
    clockHighWater: validatedAt,
    ...patch,
  }
}

/** Writes the record through the real file store, as the app does. */
export async function writeRecord(dir: string, content: Grant | string): Promise<void> {
  const store = createFileStore({ dir })
  await store.write(typeof content === 'string' ? content : serializeGrant(content))
}

/**
 * The same command line in this process (what the bin runs, minus process.exit), for
 * tests that need many runs: a process costs about as much as a whole in-process test.
 */
export async function keygateInProcess(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const out: string[] = []
  const err: string[] = []
  const code = await run(args, {
    env: { ...baseEnv(), ...env },
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    now: Date.now,
  })
  return { code, stdout: out.join('\n'), stderr: err.join('\n') }
}
