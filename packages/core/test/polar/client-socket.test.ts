import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createPolarClient } from '../../src/polar/client.js'
import { failureCode } from '../../src/polar/retry.js'
import { expectNoKey, failure, KEY, ORG, VALIDATED_2026 } from './client-fixtures.js'

// The real fetch path (undici) on 127.0.0.1: checks that what msw simulates matches
// what Node really throws for a refused connection and a server that never answers.

type Handler = (request: IncomingMessage, response: ServerResponse, count: number) => void

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

async function listen(handler: Handler): Promise<{ url: string; count: () => number }> {
  let count = 0
  const server = createServer((request, response) => {
    count++
    handler(request, response, count)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, count: () => count }
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}`
}

const noWait = async () => {}

describe('createPolarClient on a real socket', () => {
  it('retries an activate refused by the OS (nothing was sent) and reports network', async () => {
    const sleeps: number[] = []
    const polar = createPolarClient({
      server: await closedPort(),
      retry: 2,
      sleep: async (ms) => {
        sleeps.push(ms)
      },
    })

    const error = await failure(polar.activate({ key: KEY, organizationId: ORG, label: 'x' }))

    expect(error.code).toBe('network')
    // The errno is for logs (the cause); the message names none.
    expect(error.message).not.toContain('ECONNREFUSED')
    expect(failureCode(error.cause)).toBe('ECONNREFUSED')
    expect(sleeps).toHaveLength(2)
    expectNoKey(error)
  })

  it('times out a hanging server per attempt, then succeeds on the next validate attempt', async () => {
    const server = await listen((_, response, count) => {
      if (count === 1) return // never answers
      response.writeHead(200, {
        'content-type': 'application/json',
        date: new Date().toUTCString(),
      })
      response.end(JSON.stringify(VALIDATED_2026))
    })
    const polar = createPolarClient({ server: server.url, timeoutMs: 100, sleep: noWait })

    const result = await polar.validate({ key: KEY, organizationId: ORG })

    expect(result.data.id).toBe(VALIDATED_2026.id)
    expect(result.serverTime).toEqual(expect.any(Number))
    expect(server.count()).toBe(2)
  })

  it('sends an activate to a hanging server once and reports timeout', async () => {
    const server = await listen(() => {})
    const polar = createPolarClient({ server: server.url, timeoutMs: 100, sleep: noWait })

    const error = await failure(polar.activate({ key: KEY, organizationId: ORG, label: 'x' }))

    expect(error.code).toBe('timeout')
    expect(server.count()).toBe(1)
  })

  it('treats a connection dropped mid-request as network, and does not retry activate', async () => {
    const server = await listen((request) => request.socket.destroy())
    const polar = createPolarClient({ server: server.url, sleep: noWait })

    const error = await failure(polar.activate({ key: KEY, organizationId: ORG, label: 'x' }))

    expect(error.code).toBe('network')
    expect(server.count()).toBe(1)
  })
})
