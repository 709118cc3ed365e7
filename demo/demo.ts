/**
 * `pnpm demo`: the life of a license, told with real figures. Polar is played by the
 * emulator from `@keygate/core/testing`, served on 127.0.0.1; nothing else is contacted.
 * The record lives where a real app keeps it: `@keygate/node-store`'s file store (in a
 * temp folder), bound to this machine by `nodeMachine`.
 * Exits 0 when every step behaved as told, 1 (with the step that did not) otherwise.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createLicensing, type LicenseState, staticMachine, describe as words } from '@keygate/core'
import { createPolarEmulator, type EmulatorServer } from '@keygate/core/testing'
import { createFileStore, nodeMachine } from '@keygate/node-store'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const CHECKS = 1000

class StepFailed extends Error {}

/** Fails the current step with a sentence a newcomer can read. */
function expectThat(ok: boolean, what: string): void {
  if (!ok) throw new StepFailed(what)
  console.log(`   ✔ ${what}`)
}

function step(n: number, title: string): void {
  console.log(`\n${n}. ${title}`)
}

function days(ms: number): string {
  const d = Math.round((ms / DAY) * 10) / 10
  return `${d} day${d === 1 ? '' : 's'}`
}

/** One line a person can read: the state and what it means. */
function describe(state: LicenseState, now: number): string {
  if (state.status === 'active') {
    return `active: the app runs; next online check due in ${days(state.nextCheckAt - now)}`
  }
  if (state.status === 'grace') {
    const why = state.why === 'unreachable' ? 'Polar could not be reached' : 'a check is due'
    return `grace: the app still runs (${why}), ${days(state.graceEndsAt - now)} left`
  }
  if (state.status === 'trial') {
    const { title, detail } = words(state, { locale: 'en-US', now })
    return `trial: the app runs (${title}). ${detail}`
  }
  if (state.reason === 'not_activated') return 'not activated: no license on this machine'
  // The app's own words, as the activation window and `keygate status` show them.
  const { title, detail } = words(state, { locale: 'en-US', now })
  return `locked (${state.reason}): ${title}. ${detail}`
}

/** The fresh-process cost `pnpm bench` measured last (bench/results.json), if there is one. */
async function freshProcessFigure(): Promise<string | undefined> {
  try {
    const results = JSON.parse(
      await readFile(new URL('../bench/results.json', import.meta.url), 'utf8'),
    ) as { wholeProcess?: { firstCheck?: { ms?: { median?: number } } } }
    return results.wholeProcess?.firstCheck?.ms?.median?.toFixed(1)
  } catch {
    return undefined
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

async function main(): Promise<void> {
  let clock = Date.parse('2026-03-02T09:00:00Z')
  const emulator = createPolarEmulator({ now: () => clock })
  let server: EmulatorServer | undefined = await emulator.listen()
  const { port, url } = server
  let root: string | undefined
  try {
    root = await mkdtemp(join(tmpdir(), 'keygate-demo-'))
    // What a real app passes: its data folder (a temp folder here) and a salt of its own.
    const store = createFileStore({ dir: join(root, 'this-computer') })
    const machine = nodeMachine({ salt: 'keygate-demo', dir: store.dir })
    const key = emulator.createKey({ limitActivations: 2, prefix: 'DEMO' })
    const seats = () => `${emulator.listActivations(key).length} of 2 seats in use`
    const options = {
      organizationId: emulator.organizationId,
      server: url,
      now: () => clock,
      retry: 0,
      timeoutMs: 2000,
    }
    const licensing = createLicensing({ ...options, store, machine })
    const later = (ms: number) => {
      clock += ms
    }

    console.log('keygate demo: one license key, from purchase to revocation')
    console.log(`Polar is played by a local emulator at ${url}; nothing else is contacted.`)
    console.log(`The seller created a license key with 2 seats: ${key.displayKey}`)
    console.log(`The app keeps its license in ${store.path},`)
    console.log(`bound to this computer by a salted hash of its ${await machine.source()}.`)

    step(1, 'The customer enters the key; the app activates this machine')
    const activated = await licensing.activate(key.key)
    expectThat(activated.status === 'active', describe(activated, clock))
    expectThat(emulator.listActivations(key).length === 1, `Polar counts ${seats()}`)
    // Windows has no such modes; the user's profile folder protects the file there.
    if (process.platform !== 'win32') {
      const { mode } = await stat(store.path)
      expectThat(
        (mode & 0o777) === 0o600,
        'the record on disk has mode 0600: other users of this computer cannot read the key',
      )
    }

    step(2, 'Every start of the app checks the license offline')
    const samples: number[] = []
    let startState: LicenseState = activated
    for (let i = 0; i < CHECKS + 50; i++) {
      const started = performance.now()
      startState = await licensing.check({ online: 'never' })
      if (i >= 50) samples.push((performance.now() - started) * 1000)
    }
    const micros = Math.round(median(samples))
    expectThat(
      startState.status === 'active' && micros < 10_000,
      `active, decided from the record on disk in ${micros} µs once the app runs (median of ${CHECKS} checks), no network`,
    )
    const fresh = await freshProcessFigure()
    if (fresh !== undefined) {
      console.log(
        `   (a fresh process pays more: its first check, import included, took ${fresh} ms in \`pnpm bench\`)`,
      )
    }

    step(3, 'Someone copies the record to another computer')
    const copy = createFileStore({ dir: join(root, 'other-computer') })
    await mkdir(copy.dir)
    await copyFile(store.path, copy.path)
    // That computer's nodeMachine would hash its own machine id: a different fingerprint.
    const elsewhere = createLicensing({
      ...options,
      store: copy,
      machine: staticMachine('fingerprint-of-another-computer', 'another-laptop'),
    })
    const copied = await elsewhere.check()
    expectThat(
      copied.status === 'inactive' && copied.reason === 'machine_mismatch',
      `on that computer the app is ${describe(copied, clock)}`,
    )
    const requestsBefore = emulator.requests.length
    const forced = await elsewhere.refresh()
    expectThat(
      forced.status === 'inactive' &&
        forced.reason === 'machine_mismatch' &&
        emulator.requests.length === requestsBefore,
      `asked to validate online, it sends nothing to Polar: still ${seats()}`,
    )

    step(4, 'Three days later, Polar cannot be reached (the server is stopped)')
    await server.close()
    server = undefined
    later(3 * DAY)
    const offline = await licensing.check()
    expectThat(
      offline.status === 'grace' && offline.why === 'unreachable',
      describe(offline, clock),
    )
    const recordBefore = await store.read()
    const retried = await licensing.refresh()
    expectThat(
      retried.status === 'grace' && (await store.read()) === recordBefore,
      'a retry that fails leaves the record on disk byte-for-byte as it was',
    )

    step(5, 'Five more days pass without reaching Polar: the grace period is over')
    later(5 * DAY)
    const locked = await licensing.check()
    expectThat(
      locked.status === 'inactive' && locked.reason === 'grace_expired',
      describe(locked, clock),
    )

    step(6, 'Polar is reachable again')
    server = await emulator.listen(port)
    // After a failed attempt keygate waits a minute before asking again (Polar's limit is
    // shared by every seat behind one network).
    later(2 * MINUTE)
    const back = await licensing.check()
    expectThat(
      back.status === 'active' && back.validatedAt === clock,
      `a few minutes later the next check validates online and unlocks: ${describe(back, clock)}`,
    )

    step(7, 'The customer enters the key again on the same machine (a reinstall)')
    later(MINUTE)
    const again = await licensing.activate(key.key)
    expectThat(again.status === 'active', describe(again, clock))
    expectThat(
      emulator.listActivations(key).length === 1,
      `this machine's seat is reused: still ${seats()}`,
    )

    step(8, 'The customer deactivates this machine')
    later(MINUTE)
    await licensing.deactivate()
    expectThat(emulator.listActivations(key).length === 0, `the seat is freed: ${seats()}`)
    const gone = await licensing.check({ online: 'never' })
    expectThat(gone.status === 'inactive' && gone.reason === 'not_activated', describe(gone, clock))

    step(9, 'The customer activates again; later the seller revokes the key')
    later(MINUTE)
    expectThat((await licensing.activate(key.key)).status === 'active', `active again, ${seats()}`)
    later(MINUTE)
    emulator.revoke(key)
    const revoked = await licensing.refresh()
    expectThat(
      revoked.status === 'inactive' && revoked.reason === 'revoked',
      `the next refresh locks the app: ${describe(revoked, clock)}`,
    )
    const restarted = await licensing.check({ online: 'never' })
    expectThat(
      restarted.status === 'inactive' && restarted.reason === 'revoked',
      'and it stays locked on the next start, offline',
    )

    step(10, 'Another customer buys a yearly Pro license: features by tier, updates until expiry')
    const proBenefit = crypto.randomUUID()
    const yearly = emulator.createKey({
      limitActivations: 1,
      benefitId: proBenefit,
      expiresAt: clock + 365 * DAY,
    })
    const releasedAt = clock - 30 * DAY // this build came out a month ago
    const pro = createLicensing({
      ...options,
      store: createFileStore({ dir: join(root, 'pro-computer') }),
      machine: staticMachine('demo-pro-machine'),
      entitlements: { [proBenefit]: ['export', 'sync'] },
      policy: { onExpiry: 'fallback' },
      releasedAt,
    })
    const bought = await pro.activate(yearly.key)
    expectThat(
      bought.status === 'active' && bought.can?.('sync') === true,
      `the Pro benefit unlocks ${bought.features?.join(' and ')}`,
    )
    later(400 * DAY)
    const lapsed = await pro.check()
    expectThat(
      lapsed.status === 'active' && lapsed.updatesUntil !== undefined,
      `a year later the key has expired, and this build keeps running: ${words(lapsed, { locale: 'en-US' }).detail}`,
    )
    expectThat(
      !(await pro.allowsUpdate(clock)) && (await pro.allowsUpdate(releasedAt + DAY)),
      'a build released after the expiry is not offered; builds from before it are',
    )

    step(11, 'A new user tries the app before buying')
    const newcomer = createFileStore({ dir: join(root, 'new-computer') })
    const tryIt = createLicensing({
      ...options,
      store: newcomer,
      machine: staticMachine('demo-trial-machine'),
      trial: { days: 14 },
    })
    const firstStart = await tryIt.check()
    expectThat(
      firstStart.status === 'trial' && firstStart.trial.daysLeft === 14,
      `the first start begins a 14-day trial: ${describe(firstStart, clock)}`,
    )
    later(10 * DAY)
    const tenDays = await tryIt.check()
    expectThat(
      tenDays.status === 'trial' && tenDays.trial.daysLeft === 4,
      `ten days later: ${describe(tenDays, clock)}`,
    )
    await newcomer.clear()
    const deleted = await tryIt.check()
    expectThat(
      deleted.status === 'trial' && deleted.trial.daysLeft === 14,
      'without a keychain (none here), deleting the record restarts the trial: a courtesy trial, as the README says',
    )
    later(15 * DAY)
    const over = await tryIt.check()
    expectThat(over.status === 'inactive' && over.reason === 'trial_expired', describe(over, clock))
    const buyer = emulator.createKey({ limitActivations: 1 })
    const paid = await tryIt.activate(buyer.key)
    expectThat(
      paid.status === 'active',
      `the user buys a key and activates it: ${describe(paid, clock)}`,
    )
    await tryIt.deactivate()
    const afterwards = await tryIt.check()
    expectThat(
      afterwards.status === 'inactive' && afterwards.reason === 'trial_expired',
      'deactivating later does not start a new trial',
    )

    console.log('\n✔ Every step behaved as described.')
  } finally {
    await server?.close()
    if (root !== undefined) await rm(root, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  if (error instanceof StepFailed) {
    console.log(`   ✘ Expected: ${error.message}`)
    console.log('\n✘ The demo stopped: this step did not behave as described.')
  } else {
    const message = error instanceof Error ? error.message : String(error)
    console.log(`\n✘ The demo failed unexpectedly: ${message}`)
  }
  process.exitCode = 1
})
