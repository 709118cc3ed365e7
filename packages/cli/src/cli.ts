import { readFileSync } from 'node:fs'
import { isKeygateError } from '@keygate/core'
import type { Command, CommanderError } from 'commander'
import { createContext, type GlobalOptions, type Io, scrubbingIo } from './context.js'
import { json } from './format.js'
import { buildProgram } from './program.js'
import { EXIT, printable, TOKEN_REFUSED, UsageError } from './usage.js'

/** Runs one keygate command line; resolves with the exit code. */
export async function run(argv: readonly string[], rawIo: Io): Promise<number> {
  const { io, secret } = scrubbingIo(rawIo)
  const asJson = wantsJson(argv)
  let current = ''
  let code: number = EXIT.ok
  const program = buildProgram(version(), async (cmd, fn) => {
    current = commandPath(cmd)
    code = await fn(createContext(cmd.optsWithGlobals<GlobalOptions>(), io, secret))
  })
  configure(program, io)
  try {
    if (argv.some((arg) => arg === '--token' || arg.startsWith('--token='))) {
      throw new UsageError(TOKEN_REFUSED, '')
    }
    await program.parseAsync([...argv], { from: 'user' })
    return code
  } catch (error) {
    return report(error, io, asJson, current)
  }
}

/** Every command writes through io, and errors come back as exceptions to report once. */
function configure(command: Command, io: Io): void {
  command
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .exitOverride((error) => {
      throw new CommandLineError(error, command)
    })
  for (const sub of command.commands) configure(sub, io)
}

/** A commander error with the command it was raised on (for the help pointer). */
class CommandLineError extends Error {
  constructor(
    readonly error: CommanderError,
    readonly command: Command,
  ) {
    super(error.message)
  }
}

/** `keys list`, `status`; '' for keygate itself. */
function commandPath(command: Command): string {
  const names: string[] = []
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/** --json counts wherever it is, up to a `--` that ends the options. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json')
}

interface ErrorJson {
  /** `usage`, `unexpected`, or a KeygateError code (`key_not_found`, `network`, …). */
  code: string
  message: string
  exitCode: number
  status?: number
  detail?: string
  retryAfter?: number
}

/** Errors as a person or a script needs them; one JSON shape; the exit code says which kind. */
function report(error: unknown, io: Io, asJson: boolean, current: string): number {
  if (error instanceof CommandLineError) {
    const { error: commander, command } = error
    const shown =
      commander.code === 'commander.helpDisplayed' || commander.code === 'commander.version'
    // `keygate help keys` shows help as asked (0); a missing command shows it as an error.
    if (shown || (commander.code === 'commander.help' && commander.exitCode === 0)) {
      return EXIT.ok
    }
    if (commander.code === 'commander.help') {
      // Help was written to stderr because no command was named.
      if (asJson) {
        const where = commandPath(command)
        const message = `Name a command: see keygate ${where === '' ? '' : `${where} `}--help.`
        io.out(errorJson({ code: 'usage', message, exitCode: EXIT.usage }))
      }
      return EXIT.usage
    }
    return usage(new UsageError(commanderMessage(commander, command), commandPath(command)))
  }
  if (error instanceof UsageError) return usage(error)
  if (isKeygateError(error)) {
    const exitCode = error.code === 'invalid_input' ? EXIT.usage : EXIT.failure
    const message = error.message.replace(/^\[keygate\] /, '')
    if (asJson) {
      io.out(
        errorJson({
          code: error.code,
          message,
          exitCode,
          ...(error.status === undefined ? {} : { status: error.status }),
          ...(error.detail === undefined ? {} : { detail: error.detail }),
          ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
        }),
      )
    }
    io.err(`keygate: ${message}`)
    return exitCode
  }
  const message = error instanceof Error ? error.message : String(error)
  if (asJson) io.out(errorJson({ code: 'unexpected', message, exitCode: EXIT.failure }))
  io.err(`keygate: unexpected error: ${message}`)
  return EXIT.failure

  function usage(usageError: UsageError): number {
    const where = usageError.command ?? current
    const help = where === '' ? 'keygate --help' : `keygate ${where} --help`
    if (asJson) {
      io.out(errorJson({ code: 'usage', message: usageError.message, exitCode: EXIT.usage }))
    }
    io.err(`keygate: ${usageError.message}\nSee: ${help}`)
    return EXIT.usage
  }
}

function errorJson(error: ErrorJson): string {
  return json({ error })
}

/**
 * Commander's errors in keygate's words. Its messages quote what was typed; only a
 * plain command or option name is repeated, never a value (it may be a license key).
 */
function commanderMessage(error: CommanderError, command: Command): string {
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? ''
  const suggested = /Did you mean (?:one of )?(.*)\?\)/.exec(error.message)?.[1]?.split(', ')
  const path = commandPath(command)
  const full = (name: string) => `${path === '' ? '' : `${path} `}${name}`
  switch (error.code) {
    case 'commander.unknownCommand': {
      const hint = suggested?.map((name) => `"${full(name)}"`).join(' or ')
      return `Unknown command "${full(printable(quoted))}".${hint ? ` Did you mean ${hint}?` : ''}`
    }
    case 'commander.unknownOption': {
      const name = printable(quoted.split('=')[0] ?? '')
      const hint = suggested?.join(' or ')
      const of = path === '' ? '' : ` for keygate ${path}`
      return `Unknown option '${name}'${of}.${hint ? ` Did you mean ${hint}?` : ''}`
    }
    case 'commander.excessArguments':
    case 'commander.missingArgument': {
      const want = command.registeredArguments.map((a) => `<${a.name()}>`).join(' ')
      const got = /but got (\d+)/.exec(error.message)?.[1]
      if (want === '') return `keygate ${path} takes no arguments.`
      return `keygate ${path} takes ${want}${got === undefined ? '' : ` (got ${got} arguments)`}.`
    }
    case 'commander.optionMissingArgument': {
      const flag = /--[a-z-]+/.exec(quoted)?.[0] ?? 'This option'
      return `${flag} needs a value.`
    }
    default:
      return error.message.replace(/^error: /, '').replace(/\n/g, ' ')
  }
}

function version(): string {
  // src/ and dist/ both sit one level below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string
  }
  return pkg.version ?? 'unknown'
}
