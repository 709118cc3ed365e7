import { type ChildProcess, spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'

export interface TimedRun {
  /** From spawn to exit, as the user waiting for the app sees it. */
  ms: number
  stdout: string
  /** What the process wrote on stderr (a fixture's `cpu <ms>` line, for one). */
  stderr: string
}

/** Environment every fixture gets: the bench config, and no inherited Node flags (tsx). */
export function fixtureEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  // The bench itself runs under `--import tsx`; its children must be plain `node`.
  delete env.NODE_OPTIONS
  return env
}

/** No fixture runs anywhere near this long; one that does is stuck, and fails the run. */
const RUN_TIMEOUT_MS = 120_000

/** Runs `node <file> ...args` to completion; throws with its stderr when it fails. */
export function runNode(
  file: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = fixtureEnv({}),
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [file, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const ms = performance.now() - started
      if (code === 0) resolve({ ms, stdout, stderr })
      else reject(new Error(`${file} exited with ${code ?? signal}: ${stderr.trim().slice(-2000)}`))
    })
  })
}

/** A child spoken to in JSON lines: requests on stdin, one answer line each on stdout. */
/** The `cpu <ms>` line a whole-process fixture writes on exit: its user + system time. */
export function cpuAtExit(run: TimedRun): number {
  const found = /^cpu (\d+(?:\.\d+)?)$/m.exec(run.stderr)
  if (found === null) throw new Error(`no cpu line on stderr: ${run.stderr.slice(-500)}`)
  return Number(found[1])
}

export interface LineChild {
  readonly process: ChildProcess
  /** Resolves with the next stdout line not yet consumed. */
  nextLine(timeoutMs?: number): Promise<string>
  send(line: string): void
  /** Closes stdin and waits for a clean exit. */
  close(): Promise<void>
  /** Ends it now (after a failure elsewhere), so the run can exit. */
  kill(): void
}

export function startLineChild(
  file: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = fixtureEnv({}),
): LineChild {
  const child = spawn(process.execPath, [file, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  const queued: string[] = []
  const waiting: Array<(line: string | Error) => void> = []
  let partial = ''
  let stderr = ''
  let ended: Error | undefined
  const deliver = (item: string | Error) => {
    const waiter = waiting.shift()
    if (waiter) waiter(item)
    else if (typeof item === 'string') queued.push(item)
  }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) deliver(line)
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      ended = new Error(`${file} exited (${code}) before answering: ${stderr.trim().slice(-2000)}`)
      for (const waiter of waiting.splice(0)) waiter(ended)
      resolve(code)
    })
  })

  return {
    process: child,
    nextLine(timeoutMs = 60_000) {
      const line = queued.shift()
      if (line !== undefined) return Promise.resolve(line)
      if (ended) return Promise.reject(ended)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiting.indexOf(settle)
          if (index >= 0) waiting.splice(index, 1)
          reject(new Error(`${file} gave no answer within ${timeoutMs} ms: ${stderr.trim()}`))
        }, timeoutMs)
        const settle = (item: string | Error) => {
          clearTimeout(timer)
          if (typeof item === 'string') resolve(item)
          else reject(item)
        }
        waiting.push(settle)
      })
    },
    send(line) {
      child.stdin?.write(`${line}\n`)
    },
    kill() {
      child.kill('SIGKILL')
    },
    async close() {
      child.stdin?.end()
      const code = await exited
      if (code !== 0) throw new Error(`${file} exited with ${code}: ${stderr.trim().slice(-2000)}`)
    },
  }
}
