import { createPolarEmulator, type PolarEmulator } from '@keygate/core/testing'
import {
  createKeyPair,
  createLeaseServer,
  type KeyPair,
  type LeaseServer,
  type LeaseServerOptions,
} from '../src/index.js'

// biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON fields
export type Json = any

export interface Setup {
  emulator: PolarEmulator
  keys: KeyPair
  token: string
  server: LeaseServer
  logs: string[]
  post(path: string, body: unknown): Promise<{ status: number; headers: Headers; json: Json }>
}

let pair: Promise<KeyPair> | undefined

/** An emulator, an organization token and a lease server answering in-process. */
export async function setup(options: Partial<LeaseServerOptions> = {}): Promise<Setup> {
  const emulator = createPolarEmulator()
  pair ??= createKeyPair()
  const keys = await pair
  const token = emulator.createAccessToken()
  const logs: string[] = []
  const server = createLeaseServer({
    organizationId: emulator.organizationId,
    polarToken: token,
    signingKey: keys.privateJwk,
    server: 'http://127.0.0.1:9',
    fetch: emulator.fetch,
    log: (line) => logs.push(line),
    ...options,
  })
  return {
    emulator,
    keys,
    token,
    server,
    logs,
    async post(path, body) {
      const response = await server.fetch(
        new Request(`https://lease.example${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      )
      return { status: response.status, headers: response.headers, json: await response.json() }
    },
  }
}
