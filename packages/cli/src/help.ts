import type { CommandName, GROUPS } from './args.js'

/** `--help` texts. Every command has one; `keygate --help` lists them all. */

const GLOBAL = `Global options:
  --sandbox       Use Polar's sandbox (sandbox-api.polar.sh) and a sandbox token.
  --server URL    Another Polar API base URL (e.g. the Polar emulator).
  --json          Machine-readable output on stdout (full keys are never printed).
  -h, --help      Help for a command.
  --version       The keygate version.

The access token is read from POLAR_ACCESS_TOKEN only: an Organization Access Token
with license_keys:read (and license_keys:write to change anything).

KEY is a key id, the full license key, or the masked key (****-ABC123, or ABC123).
Quote a masked key in the shell: '****-ABC123'.

Exit codes: 0 ok; 1 Polar or the network failed, or Polar refused; 2 usage error
(unknown command or option, bad value, no token); 3 status: license inactive;
4 status: the record cannot be read.`

const MAIN = `keygate: support for desktop apps sold with Polar license keys.

Usage: keygate <command> [options]

Seller commands (need POLAR_ACCESS_TOKEN):
  keys list                   List license keys (a page, --all, or --search TEXT).
  keys show KEY               A key, its customer and its activations.
  keys revoke KEY             Revoke a key: apps stop at their next online check.
  keys enable KEY             Re-enable a revoked or disabled key.
  keys extend KEY             Move the expiry: --days N, --until DATE or --never.
  keys set-limit KEY          Change --activations N|none and --usage N|none.
  activations list KEY        The machines (seats) a key is activated on.
  activations remove KEY ID   Free a seat: reinstalls, lost or stolen machines.

On the app's machine (no token, no network unless --online):
  status                      Explain the local license: state, why, grace left.

${GLOBAL}`

const COMMANDS: Readonly<Record<CommandName, string>> = {
  'keys list': `Usage: keygate keys list [--status S] [--benefit ID] [--org ID] [--limit N]
                         [--page N | --all | --search TEXT]

Lists license keys, oldest first: one page (20 keys) unless --all or --search.
  --status S      granted, revoked or disabled (repeatable).
  --benefit ID    Only keys of this benefit (repeatable).
  --org ID        Only keys of this organization (repeatable).
  --limit N       Keys per page, 1-100.
  --page N        Which page.
  --all           Every page.
  --search TEXT   Every page, keeping keys whose customer email or name, key id,
                  or key contains TEXT (case-insensitive).`,
  'keys show': `Usage: keygate keys show KEY

Shows a key: status, customer, seats in use, usage, expiry, and its activations.`,
  'keys revoke': `Usage: keygate keys revoke KEY

Revokes the key. It can no longer be activated; apps using it stop at their next online
check (offline ones when their grace period ends). Undo with keygate keys enable KEY.`,
  'keys enable': `Usage: keygate keys enable KEY

Sets a revoked or disabled key back to granted.`,
  'keys extend': `Usage: keygate keys extend KEY (--days N | --until DATE | --never)

  --days N        N days after the current expiry (or after now, if it has passed).
  --until DATE    Expire at DATE: 2027-01-31 (midnight UTC) or 2027-01-31T18:00:00Z.
  --never         Never expire.`,
  'keys set-limit': `Usage: keygate keys set-limit KEY [--activations N|none] [--usage N|none]

  --activations N   How many machines may be activated at once. "none" removes the
                    limit, and with it activations: Polar then refuses new ones.
  --usage N         The usage limit. "none" removes it.
Lowering a limit does not remove activations already made.`,
  'activations list': `Usage: keygate activations list KEY

The live activations of a key: one per machine, with its label (the host name by
default), when it was activated, and its metadata.`,
  'activations remove': `Usage: keygate activations remove KEY ACTIVATION

Deactivates one activation (its id, or the first characters of it), freeing the seat.
The app on that machine stops at its next online check; offline, it keeps running until
its grace period ends (7 days by default).`,
  status: `Usage: keygate status (--dir DIR | --app-name NAME) [--name NAME] [--salt SALT]
                      [--online] [--grace-days N] [--revalidate-hours N]

Explains the license record an app keeps on this machine: the state (active, grace,
inactive), why, grace time left, the masked key and the activation id. Reads only; no
network unless --online.
  --dir DIR            The folder holding the record (license.json).
  --app-name NAME      The app's name: looks in @keygate/node-store's data folder for
                       it, then in Electron's userData folder.
  --name NAME          The record's file name without .json (default license).
  --salt SALT          The app's machine salt (default: the organization id, as
                       @keygate/electron-adapter uses).
  --online             Validate with Polar now, as the app would (updates the record).
  --grace-days N       The app's grace period, if it changed it (default 7).
  --revalidate-hours N The app's revalidation interval, if changed (default 24).
Exit code 0 active or grace, 3 inactive, 4 the record cannot be read.`,
}

const GROUP_HELP: Readonly<Record<(typeof GROUPS)[number], string>> = {
  keys: `Usage: keygate keys <list|show|revoke|enable|extend|set-limit> ...

Run keygate keys <command> --help for one of them.`,
  activations: `Usage: keygate activations <list|remove> ...

Run keygate activations <command> --help for one of them.`,
}

export function helpText(topic: CommandName | (typeof GROUPS)[number] | undefined): string {
  if (topic === undefined) return MAIN
  if (topic === 'keys' || topic === 'activations') return `${GROUP_HELP[topic]}\n\n${GLOBAL}`
  return `${COMMANDS[topic]}\n\n${GLOBAL}`
}
