/**
 * `pnpm demo`: the life of a license, told with real figures. Polar is played by the
 * emulator from `@keygate/core/testing`, served on 127.0.0.1; nothing else is contacted.
 * Exits 0 when every step behaved as told, 1 (with the step that did not) otherwise.
 */
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createLicensing, type LicenseState, type LicenseStore, staticMachine } from '@keygate/core'
import { createPolarEmulator, type EmulatorServer } from '@keygate/core/testing'

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

/**
 * The record on disk: a JSON file in a temp folder, replaced atomically (write, rename).
 * A stand-in for `@keygate/node-store`'s file store; its lock only covers this process.
 */
function jsonFileStore(path: string): LicenseStore {
  let tail: Promise<unknown> = Promise.resolve()
  let moved = 0
  const read = async (): Promise<string | null> => {
    try {
      return await readFile(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }
  return {
    read,
    async write(text) {
      await writeFile(`${path}.tmp`, text, { mode: 0o600 })
      await rename(`${path}.tmp`, path)
    },
    clear: () => rm(path, { force: true }),
    lock(fn) {
      const run = tail.then(fn, fn)
      tail = run.catch(() => undefined)
      return run
    },
    async quarantine() {
      if ((await read()) === null) return null
      const aside = `${path}.unreadable-${++moved}`
      await rename(path, aside)
      return aside
    },
  }
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
  if (state.reason === 'not_activated') return 'not activated: no license on this machine'
  return `locked (${state.reason}): ${state.detail ?? ''}`
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
  const dir = await mkdtemp(join(tmpdir(), 'keygate-demo-'))
  const store = jsonFileStore(join(dir, 'license.json'))
  try {
    const key = emulator.createKey({ limitActivations: 2, prefix: 'DEMO' })
    const seats = () => `${emulator.listActivations(key).length} of 2 seats in use`
    const licensing = createLicensing({
      organizationId: emulator.organizationId,
      server: url,
      store,
      machine: staticMachine('demo-fingerprint-of-this-machine', hostname()),
      now: () => clock,
      retry: 0,
      timeoutMs: 2000,
    })
    const later = (ms: number) => {
      clock += ms
    }

    console.log('keygate demo: one license key, from purchase to revocation')
    console.log(`Polar is played by a local emulator at ${url}; nothing else is contacted.`)
    console.log(`The seller created a license key with 2 seats: ${key.displayKey}`)

    step(1, 'The customer enters the key; the app activates this machine')
    const activated = await licensing.activate(key.key)
    expectThat(activated.status === 'active', describe(activated, clock))
    expectThat(emulator.listActivations(key).length === 1, `Polar counts ${seats()}`)

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
      `active, decided from the record on disk in ${micros} µs (median of ${CHECKS} starts), no network`,
    )

    step(3, 'Three days later, Polar cannot be reached (the server is stopped)')
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

    step(4, 'Five more days pass without reaching Polar: the grace period is over')
    later(5 * DAY)
    const locked = await licensing.check()
    expectThat(
      locked.status === 'inactive' && locked.reason === 'grace_expired',
      describe(locked, clock),
    )

    step(5, 'Polar is reachable again')
    server = await emulator.listen(port)
    const back = await licensing.check()
    expectThat(
      back.status === 'active' && back.validatedAt === clock,
      `the next start validates online and unlocks: ${describe(back, clock)}`,
    )

    step(6, 'The customer enters the key again on the same machine (a reinstall)')
    later(MINUTE)
    const again = await licensing.activate(key.key)
    expectThat(again.status === 'active', describe(again, clock))
    expectThat(
      emulator.listActivations(key).length === 1,
      `this machine's seat is reused: still ${seats()}`,
    )

    step(7, 'The customer deactivates this machine')
    later(MINUTE)
    await licensing.deactivate()
    expectThat(emulator.listActivations(key).length === 0, `the seat is freed: ${seats()}`)
    const gone = await licensing.check({ online: 'never' })
    expectThat(gone.status === 'inactive' && gone.reason === 'not_activated', describe(gone, clock))

    step(8, 'The customer activates again; later the seller revokes the key')
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

    console.log('\n✔ Every step behaved as described.')
  } finally {
    await server?.close()
    await rm(dir, { recursive: true, force: true })
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
