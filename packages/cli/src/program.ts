import { Command } from 'commander'
import { activationsList, activationsRemove } from './activations-commands.js'
import { activationsPrune } from './activations-prune.js'
import type { Context } from './context.js'
import type { EmulatorOptions } from './emulator-command.js'
import {
  type ExtendOptions,
  type KeysListOptions,
  keysEnable,
  keysExtend,
  keysList,
  keysRevoke,
  keysRotate,
  keysSetLimit,
  keysShow,
  type RotateOptions,
  type SetLimitOptions,
} from './keys-commands.js'
import type { StatusOptions } from './status-command.js'

/**
 * The command tree, its options and its help, on commander: it parses, suggests the
 * nearest command or option for a typo, and writes each command's help. What each
 * command does lives in its own file; this one only says how it is called.
 */

/** Runs a command with the global options resolved; resolves with the exit code. */
export type Runner = (cmd: Command, fn: (ctx: Context) => Promise<number>) => Promise<void>

const KEY_HELP =
  'the key id (from keys list), the full key, or the masked key (****-ABC123, or ABC123)'

const FOOTER = `
The access token is read from POLAR_ACCESS_TOKEN only: an Organization Access Token
with license_keys:read (and license_keys:write to change anything).

KEY is a key id, the full license key, or the masked key (****-ABC123, or ABC123).
Quote a masked key in the shell: '****-ABC123'. keygate never prints a full key.

Exit codes: 0 ok; 1 Polar or the network failed, or Polar refused; 2 usage error
(unknown command or option, bad value, no token); 3 status: license inactive;
4 status: the record cannot be read.

Run keygate <command> --help for a command's options and examples.`

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}`
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

export function buildProgram(version: string, run: Runner): Command {
  const program = new Command('keygate')
    .description('Support for desktop apps sold with Polar license keys.')
    .usage('<command> [options]')
    .version(version, '--version', 'The keygate version.')
    .helpOption('-h, --help', 'Help for a command.')
    .helpCommand('help [command]', 'Help for a command.')
    .option('--sandbox', "Use Polar's sandbox (sandbox-api.polar.sh) and a sandbox token.")
    .option('--server <url>', 'Another Polar API base URL (e.g. keygate emulator).')
    .option('--json', 'Machine-readable output on stdout (full keys are never printed).')
    .addHelpText('after', FOOTER)

  const keys = program
    .command('keys')
    .description('Seller commands for license keys (need POLAR_ACCESS_TOKEN).')
    .summary('Find, show, revoke, enable, extend, rotate keys; set their limits.')
    .usage('<command> [options]')
    .addHelpText(
      'after',
      examples(
        'keygate keys list --search ada@example.com',
        "keygate keys show '****-9D7F20'",
        "keygate keys extend '****-9D7F20' --days 30",
      ),
    )

  keys
    .command('list')
    .summary('List license keys (a page, --all, or --search TEXT).')
    .description(
      'List license keys, oldest first: one page (20 keys) unless --all or --search. ' +
        'SEATS counts the activations in use (one request per key listed).',
    )
    .option('--status <status>', 'granted, revoked or disabled (repeatable).', collect)
    .option('--benefit <id>', 'Only keys of this benefit (repeatable).', collect)
    .option('--org <id>', 'Only keys of this organization (repeatable).', collect)
    .option('--limit <n>', 'Keys per page, 1-100.')
    .option('--page <n>', 'Which page.')
    .option('--all', 'Every page.')
    .option(
      '--search <text>',
      'Every page, keeping keys whose customer email or name, key id, or key contains TEXT ' +
        '(case-insensitive).',
    )
    .addHelpText(
      'after',
      examples(
        'keygate keys list',
        'keygate keys list --search ada@example.com',
        'keygate keys list --status revoked --all --json',
      ),
    )
    .action((options: KeysListOptions, cmd: Command) => run(cmd, (ctx) => keysList(ctx, options)))

  keys
    .command('show')
    .summary('A key, its customer and its activations.')
    .description('A key: status, customer, seats in use, usage, expiry, and its activations.')
    .argument('<KEY>', KEY_HELP)
    .addHelpText(
      'after',
      examples("keygate keys show '****-9D7F20'", 'keygate keys show 9D7F20 --json'),
    )
    .action((ref: string, _options: unknown, cmd: Command) => run(cmd, (ctx) => keysShow(ctx, ref)))

  keys
    .command('revoke')
    .summary('Revoke a key: apps stop at their next online check.')
    .description(
      'Revoke a key: it can no longer be activated; apps using it stop at their next online ' +
        'check (offline ones when their grace period ends). Undo with keys enable.',
    )
    .argument('<KEY>', KEY_HELP)
    .addHelpText('after', examples("keygate keys revoke '****-9D7F20'"))
    .action((ref: string, _options: unknown, cmd: Command) =>
      run(cmd, (ctx) => keysRevoke(ctx, ref)),
    )

  keys
    .command('enable')
    .summary('Re-enable a revoked or disabled key.')
    .description('Set a revoked or disabled key back to granted.')
    .argument('<KEY>', KEY_HELP)
    .addHelpText('after', examples("keygate keys enable '****-9D7F20'"))
    .action((ref: string, _options: unknown, cmd: Command) =>
      run(cmd, (ctx) => keysEnable(ctx, ref)),
    )

  keys
    .command('extend')
    .summary('Move the expiry: --days N, --until DATE or --never.')
    .description(
      'Move the expiry. --days on a key that never expires changes nothing and says so (exit 0).',
    )
    .usage('KEY (--days N | --until DATE | --never)')
    .argument('<KEY>', KEY_HELP)
    .option('--days <n>', 'N days after the current expiry (or after now, if it has passed).')
    .option('--until <date>', 'Expire at DATE: 2027-01-31 (midnight UTC) or 2027-01-31T18:00:00Z.')
    .option('--never', 'Never expire.')
    .addHelpText(
      'after',
      examples(
        "keygate keys extend '****-9D7F20' --days 30",
        "keygate keys extend '****-9D7F20' --until 2027-12-31",
        "keygate keys extend '****-9D7F20' --never",
      ),
    )
    .action((ref: string, options: ExtendOptions, cmd: Command) =>
      run(cmd, (ctx) => keysExtend(ctx, ref, options)),
    )

  keys
    .command('set-limit')
    .summary('Change --activations N|none and --usage N|none.')
    .description('Change the limits. Lowering a limit does not remove activations already made.')
    .usage('KEY [--activations N|none] [--usage N|none]')
    .argument('<KEY>', KEY_HELP)
    .option(
      '--activations <n>',
      'How many machines may be activated at once. "none" removes the limit, and with it ' +
        'activations: Polar then refuses new ones.',
    )
    .option('--usage <n>', 'The usage limit. "none" removes it.')
    .addHelpText(
      'after',
      examples(
        "keygate keys set-limit '****-9D7F20' --activations 3",
        "keygate keys set-limit '****-9D7F20' --usage none",
      ),
    )
    .action((ref: string, options: SetLimitOptions, cmd: Command) =>
      run(cmd, (ctx) => keysSetLimit(ctx, ref, options)),
    )

  keys
    .command('rotate')
    .summary('Give a key a new string; the old one stops working.')
    .description(
      "Give a key a new string (the benefit's current prefix), e.g. after it leaked. The old " +
        'string stops working at once: apps using it stop at their next online check and ask ' +
        "for the new key, which the customer finds in Polar's customer portal. Only granted " +
        'or disabled keys can be rotated. The new key is printed masked; --show-new-key ' +
        'prints it in full, once, alone on stdout (a warning goes to stderr).',
    )
    .argument('<KEY>', KEY_HELP)
    .option('--show-new-key', 'Print the full new key once (keep it out of logs and tickets).')
    .addHelpText(
      'after',
      examples(
        "keygate keys rotate '****-9D7F20'",
        "keygate keys rotate '****-9D7F20' --show-new-key > new-key.txt",
      ),
    )
    .action((ref: string, options: RotateOptions, cmd: Command) =>
      run(cmd, (ctx) => keysRotate(ctx, ref, options)),
    )

  const activations = program
    .command('activations')
    .description('The machines (seats) a key is activated on (need POLAR_ACCESS_TOKEN).')
    .summary('List, remove and prune the machines a key is activated on.')
    .usage('<command> [options]')
    .addHelpText(
      'after',
      examples(
        "keygate activations list '****-9D7F20'",
        "keygate activations remove '****-9D7F20' 5c6c902d",
      ),
    )

  activations
    .command('list')
    .summary('The machines (seats) a key is activated on.')
    .description(
      'The live activations of a key: one per machine, with its label (the host name by ' +
        'default), when it was activated, and its metadata.',
    )
    .argument('<KEY>', KEY_HELP)
    .addHelpText('after', examples("keygate activations list '****-9D7F20'"))
    .action((ref: string, _options: unknown, cmd: Command) =>
      run(cmd, (ctx) => activationsList(ctx, ref)),
    )

  activations
    .command('remove')
    .summary('Free a seat: reinstalls, lost or stolen machines.')
    .description(
      'Free a seat: deactivate one activation (reinstalls, lost or stolen machines). The app ' +
        'on that machine stops at its next online check; offline, it keeps running until its ' +
        'grace period ends (7 days by default).',
    )
    .argument('<KEY>', KEY_HELP)
    .argument('<ACTIVATION>', 'the activation id, or its first 4 or more characters')
    .addHelpText('after', examples("keygate activations remove '****-9D7F20' 5c6c902d"))
    .action((ref: string, activation: string, _options: unknown, cmd: Command) =>
      run(cmd, (ctx) => activationsRemove(ctx, ref, activation)),
    )

  activations
    .command('prune')
    .summary('Free the extra seats one machine holds (interrupted activations).')
    .description(
      'Free duplicate seats: live activations carrying the same machine fingerprint in ' +
        'their metadata (keygate_machine) are one machine; the oldest stays, the others are ' +
        'removed. An app killed during activation can leave such a seat. A seat carrying a ' +
        "fingerprint but stored with another machine's conditions is left alone and reported. " +
        'Activations without a fingerprint are left alone.',
    )
    .argument('<KEY>', KEY_HELP)
    .addHelpText('after', examples("keygate activations prune '****-9D7F20'"))
    .action((ref: string, _options: unknown, cmd: Command) =>
      run(cmd, (ctx) => activationsPrune(ctx, ref)),
    )

  const lease = program
    .command('lease')
    .description('For a lease server (@keygate/server).')
    .summary('Make the key pair a lease server signs with.')
    .usage('<command>')

  lease
    .command('keygen')
    .summary('A new Ed25519 key pair (JWK): public for the app, private for the server.')
    .description(
      'Print a new Ed25519 key pair as JWKs: the public key to embed in the app ' +
        '(leaseServer.publicKey) and the private key for the server (signingKey, a secret). ' +
        'Writes nothing to disk; needs no token.',
    )
    .addHelpText('after', examples('keygate lease keygen', 'keygate lease keygen --json'))
    .action((_options: unknown, cmd: Command) =>
      // Loaded on use, like status: the other commands never load @keygate/server.
      run(cmd, async (ctx) => {
        const { leaseKeygen } = await import('./lease-command.js')
        return leaseKeygen(ctx)
      }),
    )

  program
    .command('status')
    .summary("On the app's machine: explain its local license.")
    .description(
      'On the app’s machine: explain the license record the app keeps (state, why, grace ' +
        'left, masked key, activation id). Reads only; no network unless --online. ' +
        'Exit code 0 active or grace, 3 inactive, 4 the record cannot be read.',
    )
    .usage('(--dir DIR | --app-name NAME) [options]')
    .option('--dir <dir>', 'The folder holding the record (license.json).')
    .option(
      '--app-name <name>',
      "The app's name: looks in @keygate/node-store's data folder for it, then in " +
        "Electron's userData folder.",
    )
    .option('--name <name>', "The record's file name without .json (default license).")
    .option(
      '--salt <salt>',
      "The app's machine salt (default: the organization id, as @keygate/electron-adapter uses).",
    )
    .option('--online', 'Validate with Polar now, as the app would (updates the record).')
    .option('--grace-days <n>', "The app's grace period, if it changed it (default 7).")
    .option('--revalidate-hours <n>', "The app's revalidation interval, if changed (default 24).")
    .option('--locale <tag>', 'Dates in this language, e.g. en-GB (default: the system’s).')
    .option(
      '--lease-key <file|json>',
      "The app's lease public key (leaseServer.publicKey, as keygate lease keygen printed it), " +
        'a JSON file or the JSON itself: a leased record is then verified as the app does.',
    )
    .addHelpText(
      'after',
      examples(
        "keygate status --app-name 'Acme Notes'",
        'keygate status --dir ~/.config/acme-notes --online',
        "keygate status --app-name 'Acme Notes' --lease-key lease-public.json",
      ),
    )
    .action((options: StatusOptions, cmd: Command) =>
      // Loaded on use: the seller's commands need neither the store nor the adapter.
      run(cmd, async (ctx) => {
        const { status } = await import('./status-command.js')
        return status(ctx, options)
      }),
    )

  program
    .command('emulator')
    .summary("Run Polar's emulator locally to try an app by hand.")
    .description(
      "Run Polar's emulator on 127.0.0.1 to try an app by hand: prints its URL, an " +
        'organization id, an access token and a test key; its prompt (type help) creates ' +
        'keys, revokes them, and takes Polar offline and back.',
    )
    .option('--port <n>', 'The port to listen on (default 7357; 0 picks a free one).')
    .option('--org <id>', 'The organization id (default: a new one each run).')
    .option('--keys <n>', 'Test keys to create at start (default 1).')
    .option('--prefix <text>', 'Prefix of generated keys (default TEST).')
    .option('--seats <n>', 'Activation limit of created keys, or none (default 3).')
    .option('--offline', 'Start offline: every request fails as a dropped connection.')
    .option('--revoked', 'Create the start keys revoked.')
    .option('--no-rate-limit', "Turn off Polar's limit of 3 requests a second per client.")
    .addHelpText(
      'after',
      examples(
        'keygate emulator',
        'keygate emulator --port 0 --keys 2 --seats 1',
        'keygate emulator --offline --json',
      ),
    )
    .action((options: EmulatorOptions, cmd: Command) =>
      run(cmd, async (ctx) => {
        const { emulator } = await import('./emulator-command.js')
        return emulator(ctx, options)
      }),
    )

  return program
}
