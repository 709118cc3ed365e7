import { readFileSync } from 'node:fs'
import { isKeygateError } from '@keygate/core'
import { activationsList, activationsRemove } from './activations-commands.js'
import { type CommandName, flag, type Parsed, parse, UsageError } from './args.js'
import { type Context, createContext, EXIT, type Io } from './context.js'
import { json } from './format.js'
import { helpText } from './help.js'
import {
  keysEnable,
  keysExtend,
  keysList,
  keysRevoke,
  keysSetLimit,
  keysShow,
} from './keys-commands.js'
import { status } from './status-command.js'

const COMMANDS: Readonly<Record<CommandName, (ctx: Context) => Promise<number>>> = {
  'keys list': keysList,
  'keys show': keysShow,
  'keys revoke': keysRevoke,
  'keys enable': keysEnable,
  'keys extend': keysExtend,
  'keys set-limit': keysSetLimit,
  'activations list': activationsList,
  'activations remove': activationsRemove,
  status,
}

/** Runs one keygate command line; resolves with the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let parsed: Parsed | undefined
  try {
    parsed = parse(argv)
    if (flag(parsed, 'version')) {
      io.out(version())
      return EXIT.ok
    }
    const { command } = parsed
    if (flag(parsed, 'help') || command === undefined) {
      const text = helpText(command ?? parsed.group)
      if (flag(parsed, 'help')) {
        io.out(text)
        return EXIT.ok
      }
      io.err(text)
      return EXIT.usage
    }
    return await COMMANDS[command](createContext(parsed, io))
  } catch (error) {
    return report(error, io, parsed !== undefined && flag(parsed, 'json'))
  }
}

/** Errors as a person or a script needs them; the exit code says which kind. */
function report(error: unknown, io: Io, asJson: boolean): number {
  if (error instanceof UsageError) {
    const help = error.command ? `keygate ${error.command} --help` : 'keygate --help'
    if (asJson) io.out(json({ error: { code: 'usage', message: error.message } }))
    io.err(`keygate: ${error.message}\nSee: ${help}`)
    return EXIT.usage
  }
  if (isKeygateError(error)) {
    if (asJson) io.out(json({ error: error.toJSON() }))
    io.err(`keygate: ${error.message.replace(/^\[keygate\] /, '')}`)
    return error.code === 'invalid_input' ? EXIT.usage : EXIT.failure
  }
  const message = error instanceof Error ? error.message : String(error)
  if (asJson) io.out(json({ error: { code: 'unexpected', message } }))
  io.err(`keygate: unexpected error: ${message}`)
  return EXIT.failure
}

function version(): string {
  // src/ and dist/ both sit one level below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string
  }
  return pkg.version ?? 'unknown'
}
