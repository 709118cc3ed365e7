import { createInterface } from 'node:readline'
import { isUuid4 } from '@keygate/core'
import {
  createPolarEmulator,
  type EmulatedKey,
  type FaultKind,
  type PolarEmulator,
} from '@keygate/core/testing'
import type { Context } from './context.js'
import { fields, formatExpiry, seats, table } from './format.js'
import { EXIT, intValue, limitValue, UsageError } from './usage.js'

/**
 * `keygate emulator`: core's Polar emulator as a process of its own, so a developer can
 * point an app at it by hand and play Polar from a prompt (revoke, go offline, …).
 * It prints the full keys it creates: they are test data that exist only in this process,
 * and typing them into the app is the point.
 */

export interface EmulatorOptions {
  port?: string | undefined
  org?: string | undefined
  keys?: string | undefined
  prefix?: string | undefined
  seats?: string | undefined
  offline?: boolean | undefined
  revoked?: boolean | undefined
  rateLimit: boolean
}

const DAY = 24 * 60 * 60 * 1000
/** Fixed, so the app's configuration survives a restart of the emulator. */
const DEFAULT_PORT = 7357
const FAULTS: readonly string[] = ['reset', '500', '502', '503', 'html', 'invalid_json', 'timeout']

const PROMPT_HELP = `Commands:
  key [--prefix P] [--seats N|none] [--days N] [--revoked]   Create a key (prints it in full).
  keys                      The keys: number, id, key, status, seats, expiry.
  revoke REF | disable REF | enable REF | expire REF | remove REF
                            Act as the seller. REF: the number from keys, the id, the key,
                            or its last 6 characters.
  offline | online          Every request fails as a dropped connection, or answers again.
  fail N [KIND]             The next N requests fail: reset (default), 500, 502, 503, html,
                            invalid_json, timeout.
  log [N]                   The last N requests (default 10), keys masked.
  token                     A new organization access token.
  quit                      Stop the emulator (Ctrl+C too).`

interface Session {
  polar: PolarEmulator
  url: string
  keys: EmulatedKey[]
  out(text: string): void
}

export async function emulator(ctx: Context, options: EmulatorOptions): Promise<number> {
  const port = intValue('port', options.port, 0, 65_535) ?? DEFAULT_PORT
  const count = intValue('keys', options.keys, 0, 100) ?? 1
  const limit = limitValue('seats', options.seats ?? '3')
  if (options.org !== undefined && !isUuid4(options.org)) {
    throw new UsageError('--org must be an organization id (a UUID).')
  }
  const polar = createPolarEmulator({
    ...(options.org === undefined ? {} : { organizationId: options.org.toLowerCase() }),
    ...(options.rateLimit ? {} : { rateLimit: false }),
  })
  const server = await polar.listen(port)
  const session: Session = { polar, url: server.url, keys: [], out: ctx.io.out }
  const token = polar.createAccessToken()
  for (let i = 0; i < count; i++) {
    const created = polar.createKey({
      prefix: options.prefix ?? 'TEST',
      limitActivations: limit ?? null,
      ...(options.revoked === true ? { status: 'revoked' } : {}),
    })
    session.keys.push(created)
  }
  if (options.offline === true) polar.setOffline(true)

  if (ctx.json) {
    // One line, so a script can read it before the prompt's output.
    ctx.io.out(
      JSON.stringify({
        url: server.url,
        organizationId: polar.organizationId,
        benefitId: polar.benefitId,
        token,
        offline: options.offline === true,
        keys: session.keys.map(keyJson),
      }),
    )
  } else ctx.io.out(banner(session, token, options.offline === true))

  await prompt(ctx, session)
  await server.close()
  return EXIT.ok
}

function keyJson(key: EmulatedKey) {
  return {
    id: key.id,
    key: key.key,
    displayKey: key.displayKey,
    status: key.status,
    limitActivations: key.limitActivations,
  }
}

function banner({ polar, url, keys }: Session, token: string, offline: boolean): string {
  const rows: Array<[string, string]> = [
    ['Polar emulator', `${url}${offline ? ' (offline: type online to answer)' : ''}`],
    ['Organization id', polar.organizationId],
    ['Access token', token],
  ]
  for (const key of keys) rows.push(['Test key', `${key.key} (id ${key.id})`])
  return `${fields(rows)}

In the app:  createLicensing({ organizationId: '${polar.organizationId}', server: '${url}', … })
Seller side: POLAR_ACCESS_TOKEN=${token} keygate keys list --server ${url}

Everything lives in this process and is gone when it stops.
Type help for commands; quit or Ctrl+C stops.`
}

/** Reads commands until `quit`, Ctrl+C or SIGTERM; without a terminal, EOF keeps serving. */
function prompt(ctx: Context, session: Session): Promise<void> {
  return new Promise((resolve) => {
    const input = ctx.io.stdin
    const terminal = input !== undefined && 'isTTY' in input && input.isTTY === true
    const rl =
      input === undefined
        ? undefined
        : createInterface({ input, ...(terminal ? { output: process.stdout } : {}), terminal })
    let stopped = false
    const stop = () => {
      if (stopped) return
      stopped = true
      session.out('Stopped.')
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      rl?.close()
      input?.destroy()
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    if (rl === undefined) return
    rl.setPrompt('emulator> ')
    rl.on('SIGINT', stop)
    rl.on('line', (line) => {
      const words = line.trim().split(/\s+/).filter(Boolean)
      if (words[0] === 'quit' || words[0] === 'exit') {
        stop()
        return
      }
      if (words.length > 0) {
        try {
          session.out(answer(session, words))
        } catch (error) {
          session.out(
            `! ${error instanceof Error ? error.message.replace(/^\[keygate\] /, '') : String(error)}`,
          )
        }
      }
      if (terminal) rl.prompt()
    })
    if (terminal) rl.prompt()
  })
}

function answer(session: Session, [command = '', ...args]: string[]): string {
  const { polar } = session
  switch (command) {
    case 'help':
      return PROMPT_HELP
    case 'key':
      return createKey(session, args)
    case 'keys':
      return listKeys(session)
    case 'revoke':
    case 'disable':
    case 'enable':
    case 'expire':
    case 'remove': {
      const key = find(session, args[0])
      if (command === 'remove') {
        polar.remove(key)
        return `Removed ${key.displayKey}: every endpoint answers 404 "Not found" for it.`
      }
      const now =
        command === 'revoke'
          ? polar.revoke(key)
          : command === 'disable'
            ? polar.disable(key)
            : command === 'enable'
              ? polar.grant(key)
              : polar.expire(key)
      return `${now.displayKey}: status ${now.status}, expires ${formatExpiry(now.expiresAt, polar.now())}.`
    }
    case 'offline':
      polar.setOffline(true)
      return 'Offline: every request fails as a dropped connection. Type online to answer again.'
    case 'online':
      polar.setOffline(false)
      return 'Online: Polar answers again.'
    case 'fail': {
      const n = Number(args[0] ?? '1')
      const kind = args[1] ?? 'reset'
      if (!Number.isInteger(n) || n < 1 || n > 1000 || !FAULTS.includes(kind)) {
        throw new Error(`fail takes N (1-1000) and one of ${FAULTS.join(', ')}.`)
      }
      polar.failNext(n, (/^\d+$/.test(kind) ? Number(kind) : kind) as FaultKind)
      return `The next ${n} request${n === 1 ? '' : 's'} fail: ${kind}.`
    }
    case 'log': {
      const n = Number(args[0] ?? '10')
      const recent = polar.requests.slice(-(Number.isInteger(n) && n > 0 ? n : 10))
      if (recent.length === 0) return 'No requests yet.'
      return recent
        .map((r) => `${new Date(r.at).toISOString()} ${r.method} ${r.path} -> ${r.status}`)
        .join('\n')
    }
    case 'token':
      return `Access token: ${polar.createAccessToken()}`
    default:
      throw new Error(`Unknown command "${command.slice(0, 20)}". Type help for the list.`)
  }
}

function createKey(session: Session, args: string[]): string {
  const options: Record<string, string | true> = {}
  for (let i = 0; i < args.length; i++) {
    const name = args[i] ?? ''
    if (name === '--revoked') options.revoked = true
    else if (['--prefix', '--seats', '--days'].includes(name) && args[i + 1] !== undefined) {
      options[name.slice(2)] = args[++i] ?? ''
    } else throw new Error('key takes --prefix P, --seats N|none, --days N, --revoked.')
  }
  const limit = limitValue('seats', typeof options.seats === 'string' ? options.seats : '3')
  const days = intValue('days', typeof options.days === 'string' ? options.days : undefined, 1)
  const { polar } = session
  const key = polar.createKey({
    prefix: typeof options.prefix === 'string' ? options.prefix : 'TEST',
    limitActivations: limit ?? null,
    ...(days === undefined ? {} : { expiresAt: polar.now() + days * DAY }),
    ...(options.revoked === true ? { status: 'revoked' } : {}),
  })
  session.keys.push(key)
  return `Key ${session.keys.length}: ${key.key} (id ${key.id}, ${seats(key.limitActivations, 0)})`
}

function listKeys({ polar, keys }: Session): string {
  if (keys.length === 0) return 'No keys yet: type key to create one.'
  const rows = keys.map((created, i) => {
    const key = polar.getKey(created)
    return [
      String(i + 1),
      key.id,
      key.key,
      key.deleted ? 'removed' : key.status,
      seats(key.limitActivations, polar.listActivations(key).length),
      formatExpiry(key.expiresAt, polar.now()),
    ]
  })
  return table(['#', 'ID', 'KEY', 'STATUS', 'SEATS', 'EXPIRES'], rows)
}

function find({ polar, keys }: Session, ref: string | undefined): EmulatedKey {
  if (ref === undefined) throw new Error('Name the key: its number from keys, id, key or last 6.')
  const byNumber = /^#?(\d{1,3})$/.exec(ref)
  const index = byNumber ? Number(byNumber[1]) - 1 : -1
  const found =
    keys[index] ??
    keys.find((k) => k.id === ref.toLowerCase() || k.key === ref) ??
    keys.find((k) => k.displayKey.toUpperCase().endsWith(ref.toUpperCase()) && ref.length >= 6)
  if (found === undefined) throw new Error('No such key here; type keys for the list.')
  return polar.getKey(found)
}
