import { type ParseArgsConfig, parseArgs } from 'node:util'

/** A mistake in how keygate was called: exit code 2, with a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  constructor(
    message: string,
    /** The command whose help to point at, e.g. `keys extend`. */
    readonly command?: string,
  ) {
    super(message)
  }
}

type Options = NonNullable<ParseArgsConfig['options']>

/** Accepted by every command. */
const GLOBAL_OPTIONS = {
  sandbox: { type: 'boolean' },
  server: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies Options

/** Each command's own options (value types must agree across commands: one first pass reads them all). */
export const COMMAND_OPTIONS = {
  'keys list': {
    org: { type: 'string', multiple: true },
    benefit: { type: 'string', multiple: true },
    status: { type: 'string', multiple: true },
    limit: { type: 'string' },
    page: { type: 'string' },
    all: { type: 'boolean' },
    search: { type: 'string' },
  },
  'keys show': {},
  'keys revoke': {},
  'keys enable': {},
  'keys extend': {
    days: { type: 'string' },
    until: { type: 'string' },
    never: { type: 'boolean' },
  },
  'keys set-limit': {
    activations: { type: 'string' },
    usage: { type: 'string' },
  },
  'activations list': {},
  'activations remove': {},
  status: {
    dir: { type: 'string' },
    'app-name': { type: 'string' },
    name: { type: 'string' },
    salt: { type: 'string' },
    online: { type: 'boolean' },
    'grace-days': { type: 'string' },
    'revalidate-hours': { type: 'string' },
  },
} as const satisfies Record<string, Options>

export type CommandName = keyof typeof COMMAND_OPTIONS
export const GROUPS = ['keys', 'activations'] as const

export interface Parsed {
  /** `keys list`, `status`…; undefined when none was named. */
  command: CommandName | undefined
  /** `keys` or `activations` when only the group was named. */
  group: (typeof GROUPS)[number] | undefined
  values: Record<string, string | boolean | string[] | undefined>
  /** Positionals after the command words. */
  args: string[]
}

const TOKEN_REFUSED =
  'keygate never takes the access token as an argument: arguments land in your shell ' +
  'history and in the process list, where other users of this machine can read them. ' +
  'Put it in the POLAR_ACCESS_TOKEN environment variable instead, e.g. ' +
  '`read -rs POLAR_ACCESS_TOKEN && export POLAR_ACCESS_TOKEN` (bash, zsh), ' +
  'then paste the token and press Enter.'

function allOptions(): Options {
  const merged: Options = { ...GLOBAL_OPTIONS }
  for (const options of Object.values(COMMAND_OPTIONS)) Object.assign(merged, options)
  return merged
}

/**
 * Two passes: a lenient one finds the command words wherever global options sit, then a
 * strict one with only that command's options reports anything else it was given.
 * Messages never repeat a positional value: it may be a license key.
 */
export function parse(argv: readonly string[]): Parsed {
  if (argv.some((arg) => arg === '--token' || arg.startsWith('--token='))) {
    throw new UsageError(TOKEN_REFUSED)
  }
  const loose = parseArgs({
    args: [...argv],
    options: allOptions(),
    allowPositionals: true,
    strict: false,
  })
  const [first, second] = loose.positionals
  let command: CommandName | undefined
  let group: Parsed['group']
  let words = 0
  if (first === 'status') {
    command = 'status'
    words = 1
  } else if (first === 'keys' || first === 'activations') {
    group = first
    words = 1
    const candidate = `${first} ${second ?? ''}`
    if (second !== undefined && candidate in COMMAND_OPTIONS) {
      command = candidate as CommandName
      words = 2
    } else if (second !== undefined && loose.values.help !== true) {
      throw new UsageError(`Unknown command "${first} ${printable(second)}".`, first)
    }
  } else if (first !== undefined) {
    throw new UsageError(`Unknown command "${printable(first)}".`)
  }

  const options: Options = { ...GLOBAL_OPTIONS, ...(command ? COMMAND_OPTIONS[command] : {}) }
  let strict: ReturnType<typeof parseArgs>
  try {
    strict = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new UsageError(cleanParseError(message), command ?? group)
  }
  return {
    command,
    group,
    values: strict.values as Parsed['values'],
    args: strict.positionals.slice(words),
  }
}

/** node's messages name the option and, for a missing value, suggest `--x=-value`; keep the first line. */
function cleanParseError(message: string): string {
  return message.split('\n')[0]?.replace(/\s*To specify an option argument.*$/, '') ?? message
}

/** Command words are short and harmless; anything else is shown only as its length. */
function printable(word: string): string {
  return /^[a-z-]{1,20}$/i.test(word) ? word : `(${word.length} characters)`
}

/** The positionals a command needs, exactly. */
export function expectArgs(parsed: Parsed, names: readonly string[]): string[] {
  if (parsed.args.length !== names.length) {
    const want = names.map((n) => `<${n}>`).join(' ')
    const got = parsed.args.length
    throw new UsageError(
      `keygate ${parsed.command} takes ${want} (got ${got} argument${got === 1 ? '' : 's'}).`,
      parsed.command,
    )
  }
  return parsed.args
}

export function stringOption(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name]
  return typeof value === 'string' ? value : undefined
}

export function listOption(parsed: Parsed, name: string): string[] {
  const value = parsed.values[name]
  return Array.isArray(value) ? value : []
}

export function flag(parsed: Parsed, name: string): boolean {
  return parsed.values[name] === true
}

/** A whole number option within bounds, or a usage error naming the option. */
export function intOption(
  parsed: Parsed,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = stringOption(parsed, name)
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}.`, parsed.command)
  }
  return Number(raw)
}
