import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

/** Imports the package's main entry in a fresh process whose own arguments look like a command. */
function importInProcess(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = [
    "const cli = await import('./packages/cli/src/index.ts')",
    'console.log(JSON.stringify(Object.keys(cli).sort()))',
  ].join(';')
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code, '--', 'keys', 'list'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (exit) => resolve({ code: exit, stdout, stderr }))
  })
}

describe("import '@keygate/cli'", () => {
  it('runs no command: it only exports run(), for a program of its own', async () => {
    const result = await importInProcess()
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('["run"]')
    expect(result.code).toBe(0)
  })
})
