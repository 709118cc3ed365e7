import { describe, expect, it } from 'vitest'
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

/** Each command and the options its help must list. */
const COMMANDS: Record<string, string[]> = {
  'keys list': ['--status', '--benefit', '--org', '--limit', '--page', '--all', '--search'],
  'keys show': [],
  'keys revoke': [],
  'keys enable': [],
  'keys extend': ['--days', '--until', '--never'],
  'keys set-limit': ['--activations', '--usage'],
  'keys rotate': ['--show-new-key'],
  'activations list': [],
  'activations remove': [],
  'activations prune': [],
  'lease keygen': [],
  status: ['--dir', '--app-name', '--name', '--salt', '--online', '--grace-days', '--locale'],
  emulator: ['--port', '--org', '--keys', '--seats', '--offline'],
}
const FOOTER = 'Exit codes:'

describe('keygate --help', () => {
  it.each(Object.keys(COMMANDS))(
    'has help for "%s": its options and an example, without the global footer',
    async (command) => {
      const result = await call([...command.split(' '), '--help'])
      expect(result.code).toBe(0)
      expect(result.stdout).toContain(`Usage: keygate ${command}`)
      for (const option of COMMANDS[command] ?? []) expect(result.stdout).toContain(option)
      expect(result.stdout).toMatch(new RegExp(`Examples:\\n {2}\\$ keygate ${command}`))
      expect(result.stdout).not.toContain(FOOTER)
    },
  )

  it.each(['keys', 'activations'])(
    '"%s --help" lists its subcommands with examples',
    async (group) => {
      const result = await call([group, '--help'])
      expect(result.code).toBe(0)
      const subs = Object.keys(COMMANDS).filter((c) => c.startsWith(`${group} `))
      for (const sub of subs)
        expect(result.stdout).toMatch(new RegExp(`^ {2}${sub.split(' ')[1]} `, 'm'))
      expect(result.stdout).toContain(`Examples:\n  $ keygate ${group} `)
      expect(result.stdout).not.toContain(FOOTER)
    },
  )

  it('lists every command in the main help, with the footer; no command is a usage error', async () => {
    const help = await call(['--help'])
    expect(help.code).toBe(0)
    for (const command of ['keys', 'activations', 'status', 'emulator']) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'))
    }
    expect(help.stdout).toContain(FOOTER)
    for (const [argv, usage] of [
      [['help', 'keys'], 'Usage: keygate keys <command>'],
      [['keys', 'help', 'list'], 'Usage: keygate keys list'],
    ] as const) {
      const asked = await call([...argv])
      expect(asked.code).toBe(0)
      expect(asked.stdout).toContain(usage)
    }
    const bare = await call([])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toContain('Usage: keygate <command>')
    const group = await call(['activations'])
    expect(group.code).toBe(2)
    expect(group.stderr).toContain('Usage: keygate activations <command>')
    expect(group.stderr).toMatch(/^ {2}remove <KEY> <ACTIVATION> /m)
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
    expect(extend.stderr).toContain('See: keygate keys extend --help')
  })

  it('suggests the command or option meant, in its own words', async () => {
    const command = await call(['keys', 'lsit'])
    expect(command.code).toBe(2)
    expect(command.stderr).toBe(
      'keygate: Unknown command "keys lsit". Did you mean "keys list"?\nSee: keygate keys --help',
    )
    const top = await call(['stauts'])
    expect(top.stderr).toContain('Did you mean "status"?')
    const option = await call(['keys', 'list', '--statuss', 'granted'])
    expect(option.code).toBe(2)
    expect(option.stderr).toBe(
      "keygate: Unknown option '--statuss' for keygate keys list. Did you mean --status?\n" +
        'See: keygate keys list --help',
    )
    // Nothing of a parser's own wording, and every quote closed.
    for (const result of [command, top, option]) {
      expect(result.stderr).not.toMatch(/^error:|TypeError|ERR_PARSE_ARGS/m)
      expect((result.stderr.match(/'/g) ?? []).length % 2).toBe(0)
    }
    const missing = await call(['keys', 'extend', 'x', '--days'])
    expect(missing.stderr).toContain('--days needs a value.')
  })

  it('answers every failure with --json in one shape', async () => {
    const env = { POLAR_ACCESS_TOKEN: 'polar_oat_test' }
    const failures = await Promise.all([
      call(['keys', 'lsit', '--json']),
      call(['keys', 'list', '--statuss', '--json']),
      call(['keys', 'show', '--json']),
      call(['--json']),
      call(['keys', 'list', '--limit', '0', '--json'], env),
      call(['keys', 'list', '--json', '--server', 'http://127.0.0.1:9'], env),
      call(['status', '--json']),
    ])
    for (const result of failures) {
      const out = JSON.parse(result.stdout)
      expect(Object.keys(out)).toEqual(['error'])
      expect(out.error).toMatchObject({
        code: expect.any(String),
        message: expect.any(String),
        exitCode: result.code,
      })
      expect(out.error.message).not.toMatch(/^\[keygate\]|^error:/)
    }
    expect(failures.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 1, 2])
    expect(JSON.parse(failures[5]?.stdout ?? '').error.code).toBe('network')
  })

  it('never repeats an unexpected argument, which may be a key or a token', async () => {
    const secret = 'ACME-2F0B6E1C-91D4-4F55-B1A8-6C1E3A9D7F20'
    for (const argv of [
      [secret],
      ['keys', secret],
      ['keys', 'show', secret, 'extra'],
      ['keys', 'list', `--${secret}`],
      ['keys', 'list', `--search=${secret}`, '--bogus'],
      ['keys', 'show', secret, '--json', '--nope'],
    ]) {
      const result = await call(argv)
      expect(result.code).toBe(2)
      expect((result.stderr + result.stdout).toLowerCase()).not.toContain(secret.toLowerCase())
    }
  })
})
