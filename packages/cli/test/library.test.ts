import { describe, expect, it } from 'vitest'
import { node } from './helpers.js'

/** Imports the package's main entry in a fresh process whose own arguments look like a command. */
function importInProcess() {
  const code = [
    "const cli = await import('./packages/cli/src/index.ts')",
    'console.log(JSON.stringify(Object.keys(cli).sort()))',
  ].join(';')
  return node(['--import', 'tsx', '--input-type=module', '-e', code, '--', 'keys', 'list'])
}

describe("import '@keygate/cli'", () => {
  it('runs no command: it only exports run(), for a program of its own', async () => {
    const result = await importInProcess()
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('["run"]')
    expect(result.code).toBe(0)
  })
})
