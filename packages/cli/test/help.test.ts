import { describe, expect, it } from 'vitest'
import { COMMAND_OPTIONS } from '../src/args.js'
import { run } from '../src/cli.js'

/** In-process runs of the command line: help for every command, and argument rules. */

async function call(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = []
  const err: string[] = []
  const code = await run(argv, {
    env,
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    now: () => Date.UTC(2026, 0, 15),
  })
  return { code, stdout: out.join('\n'), stderr: err.join('\n') }
}

describe('keygate --help', () => {
  it.each(Object.keys(COMMAND_OPTIONS))(
    'has help for "%s", listing its options',
    async (command) => {
      const result = await call([...command.split(' '), '--help'])
      expect(result.code).toBe(0)
      expect(result.stdout).toContain(`Usage: keygate ${command}`)
      for (const option of Object.keys(COMMAND_OPTIONS[command as keyof typeof COMMAND_OPTIONS])) {
        expect(result.stdout).toContain(`--${option}`)
      }
      expect(result.stdout).toContain('Exit codes:')
    },
  )

  it('lists every command in the main help; no command at all is a usage error', async () => {
    const help = await call(['--help'])
    for (const command of Object.keys(COMMAND_OPTIONS)) expect(help.stdout).toContain(command)
    const bare = await call([])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toContain('Usage: keygate <command>')
    const group = await call(['activations'])
    expect(group.code).toBe(2)
    expect(group.stderr).toContain('keygate activations <list|remove>')
  })
})

describe('keygate arguments', () => {
  it('takes global options before or after the command', async () => {
    const before = await call(['--json', '--sandbox', 'keys', 'list'])
    const after = await call(['keys', 'list', '--sandbox', '--json'])
    for (const result of [before, after]) {
      expect(result.code).toBe(2)
      expect(JSON.parse(result.stdout).error.message).toContain('POLAR_ACCESS_TOKEN')
    }
  })

  it('refuses --sandbox with --server, and a bad value, before any request', async () => {
    const env = { POLAR_ACCESS_TOKEN: 'polar_oat_test' }
    const both = await call(['keys', 'list', '--sandbox', '--server', 'http://127.0.0.1:1'], env)
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('either --sandbox or --server')
    const limit = await call(
      ['keys', 'list', '--limit', '500', '--server', 'http://127.0.0.1:1'],
      env,
    )
    expect(limit.code).toBe(2)
    expect(limit.stderr).toContain('--limit must be a whole number from 1 to 100')
    const extend = await call(
      ['keys', 'extend', crypto.randomUUID(), '--days', '3', '--never'],
      env,
    )
    expect(extend.code).toBe(2)
    expect(extend.stderr).toContain('exactly one of --days N, --until DATE, --never')
  })

  it('never repeats an unexpected argument, which may be a key or a token', async () => {
    const secret = 'ACME-2F0B6E1C-91D4-4F55-B1A8-6C1E3A9D7F20'
    for (const argv of [[secret], ['keys', secret], ['keys', 'show', secret, 'extra']]) {
      const result = await call(argv)
      expect(result.code).toBe(2)
      expect(result.stderr + result.stdout).not.toContain(secret)
    }
  })
})
