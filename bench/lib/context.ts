import type { BenchTrust } from '../fixtures/config.js'
import { fixtureEnv, type LineChild, startLineChild } from './processes.js'
import { fixture } from './workspace.js'

/** The trust levels measured beside the plain grant: a keychain MAC, a lease, both. */
export const TRUST_LEVELS = ['keychain', 'lease', 'leaseKeychain'] as const
export type TrustLevel = (typeof TRUST_LEVELS)[number]

/** The emulator server child: Polar on 127.0.0.1, driven over JSON lines. */
export interface EmulatorHandle {
  readonly url: string
  readonly organizationId: string
  /** A fresh key with this many seats (the full key stays in the bench, never printed). */
  createKey(seats: number): Promise<string>
  /** Live activations of a key, and how many validations Polar has counted for it. */
  usage(key: string): Promise<{ seats: number; validations: number }>
  /** An organization access token, for the lease server setup-grant runs. */
  token(): Promise<string>
  close(): Promise<void>
}

export interface BenchContext {
  /** Fewer runs, for trying the bench out; figures are not worth publishing. */
  readonly quick: boolean
  readonly emulator: EmulatorHandle
  /** A store folder holding a real, active grant (written by the built file store). */
  readonly grantDir: string
  /** The key of that grant (the record keeps it encoded, not verbatim). */
  readonly grantKey: string
  /** A scratch folder for this run, removed at the end. */
  readonly work: string
  /** Environment for a fixture: the bench config for `dir` (and `key`), no tsx flags. */
  env(dir: string, key?: string, trust?: BenchTrust): NodeJS.ProcessEnv
  /** Grants resting on the trust checks (issue 10): the environment of each, for fixtures. */
  readonly trusted: Record<TrustLevel, NodeJS.ProcessEnv>
}

export const SALT = 'keygate-bench'

export async function startEmulator(): Promise<EmulatorHandle> {
  const child: LineChild = startLineChild(fixture('emulator-server'))
  const hello = JSON.parse(await child.nextLine()) as { url: string; organizationId: string }
  if (!hello.url.startsWith('http://127.0.0.1:')) {
    throw new Error(`the emulator must listen on 127.0.0.1, not ${hello.url}`)
  }
  // One request at a time: answers come back in order.
  let queue: Promise<unknown> = Promise.resolve()
  const ask = <T>(command: object): Promise<T> => {
    const answer = queue.then(async () => {
      child.send(JSON.stringify(command))
      return JSON.parse(await child.nextLine()) as T
    })
    queue = answer.catch(() => undefined)
    return answer
  }
  return {
    url: hello.url,
    organizationId: hello.organizationId,
    createKey: async (seats) => (await ask<{ key: string }>({ op: 'createKey', seats })).key,
    usage: (key) => ask<{ seats: number; validations: number }>({ op: 'usage', key }),
    token: async () => (await ask<{ token: string }>({ op: 'token' })).token,
    close: () => child.close(),
  }
}

export function contextEnv(emulator: EmulatorHandle) {
  return (dir: string, key?: string, trust?: BenchTrust): NodeJS.ProcessEnv =>
    fixtureEnv({
      KEYGATE_BENCH: JSON.stringify({
        dir,
        server: emulator.url,
        organizationId: emulator.organizationId,
        salt: SALT,
        ...(key === undefined ? {} : { key }),
        ...(trust === undefined ? {} : { trust }),
      }),
    })
}
