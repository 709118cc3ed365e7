import {
  createLicensing,
  DEFAULT_POLICY,
  evaluate,
  type LicenseState,
  type Policy,
} from '@keygate/core'
import { createFileStore, nodeMachine } from '@keygate/node-store'
import type { Context } from './context.js'
import { json } from './format.js'
import { explainState, explainUnreadable, keyStatus } from './status-explain.js'
import { readLocalRecord } from './status-record.js'
import { EXIT, intValue, UsageError } from './usage.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

/**
 * `keygate status`'s options. The command is a seam: reading the record
 * (status-record.ts) and saying it in words (status-explain.ts) are the two calls below,
 * so either can be replaced without touching the command line.
 */
export interface StatusOptions {
  dir?: string | undefined
  appName?: string | undefined
  name?: string | undefined
  salt?: string | undefined
  online?: boolean | undefined
  graceDays?: string | undefined
  revalidateHours?: string | undefined
}

/**
 * `keygate status`: the app's own decision, explained. Reads the record through
 * node-store and evaluates it with core, as the app does at start-up: offline, and
 * without writing anything. `--online` validates with Polar as the app would (that
 * updates the record, under its lock).
 */
export async function status(ctx: Context, options: StatusOptions): Promise<number> {
  if (ctx.global.sandbox === true || ctx.global.server !== undefined) {
    throw new UsageError(
      'keygate status uses the Polar server stored in the record; --sandbox and --server do not apply.',
    )
  }
  const policy = policyFrom(options)
  const now = ctx.io.now()
  const record = await readLocalRecord(options, ctx.io.env)

  if (record.kind === 'unreadable') {
    if (ctx.json) {
      ctx.io.out(
        json({
          record: record.path,
          readable: false,
          problem: record.problem,
          message: record.message,
        }),
      )
    } else ctx.io.out(explainUnreadable(record.path, record.problem, record.message))
    return EXIT.unreadable
  }
  if (record.kind === 'none') {
    const pending = record.pending
    const state: LicenseState = {
      status: 'inactive',
      reason: 'not_activated',
      ...(pending === undefined
        ? {}
        : {
            note: {
              kind: 'interrupted_activation',
              at: pending.at,
              displayKey: pending.displayKey,
            },
          }),
    }
    const searched = record.searched.length > 1 ? ` (looked in ${record.searched.join(', ')})` : ''
    if (ctx.json)
      ctx.io.out(json({ record: record.path, readable: true, state, searched: record.searched }))
    else ctx.io.out(`${explainState(state, undefined, now, policy, record.path)}${searched}`)
    return EXIT.inactive
  }

  const { grant } = record
  ctx.secret(grant.key)
  // The same fingerprint the app computes: @keygate/electron-adapter salts with the
  // organization id unless the app chose its own salt.
  const machine = nodeMachine({ salt: options.salt ?? grant.organizationId, dir: record.dir })
  let state = evaluate(grant, { now, policy, fingerprint: await machine.fingerprint() })
  let checkedOnline = false
  // Never go online with a record that is not this machine's (or a wrong --salt): Polar
  // would answer "conditions mismatch" and the app's own record would be marked so.
  if (
    options.online === true &&
    !(state.status === 'inactive' && state.reason === 'machine_mismatch')
  ) {
    const store = createFileStore({ dir: record.dir, name: options.name ?? 'license' })
    const licensing = createLicensing({
      organizationId: grant.organizationId,
      server: grant.server,
      store,
      machine,
      policy,
    })
    state = await licensing.refresh()
    checkedOnline = true
  }
  const refreshed = checkedOnline ? await freshGrant(ctx, options, record.dir) : grant
  if (ctx.json) {
    ctx.io.out(
      json({
        record: record.path,
        readable: true,
        online: checkedOnline,
        keyStatus: keyStatus(state),
        state,
      }),
    )
  } else ctx.io.out(explainState(state, refreshed, ctx.io.now(), policy, record.path))
  return state.status === 'inactive' ? EXIT.inactive : EXIT.ok
}

/** The record as the online check left it (for the "Validated" line). */
async function freshGrant(ctx: Context, options: StatusOptions, dir: string) {
  const again = await readLocalRecord({ dir, name: options.name }, ctx.io.env)
  return again.kind === 'grant' ? again.grant : undefined
}

function policyFrom(options: StatusOptions): Policy {
  const graceDays = intValue('grace-days', options.graceDays, 0, 3650)
  const revalidateHours = intValue('revalidate-hours', options.revalidateHours, 0, 87_600)
  return {
    ...DEFAULT_POLICY,
    ...(graceDays === undefined ? {} : { gracePeriod: graceDays * DAY }),
    ...(revalidateHours === undefined ? {} : { revalidateAfter: revalidateHours * HOUR }),
  }
}
