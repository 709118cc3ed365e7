import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import { KeygateError } from '@keygate/core'
import type { LeaseServer } from './lease-server.js'
import { MAX_BODY_BYTES } from './request-input.js'

// The headers of every answer of the protocol, these two included.
const JSON_NO_STORE = { 'content-type': 'application/json', 'cache-control': 'no-store' }

export interface ServeOptions {
  /** Default 0: any free port (read it from `url`). */
  port?: number | undefined
  /** Default `127.0.0.1`: put a TLS proxy in front, or pass `0.0.0.0` deliberately. */
  host?: string | undefined
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8787`. */
  readonly url: string
  /** Stops listening and drops open connections. */
  close(): Promise<void>
}

/** Serves a lease server with node:http, converting to and from Web Request/Response. */
export async function serve(
  server: LeaseServer,
  options: ServeOptions = {},
): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const sockets = new Set<Socket>()
  const http = createServer((req, res) => {
    answer(server, host, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, JSON_NO_STORE)
      res.end('{"error":{"code":"server","message":"[keygate] The lease server failed."}}')
    })
  })
  http.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', (cause) =>
      reject(
        new KeygateError(
          'network',
          `The lease server could not listen on ${host}:${options.port ?? 0}.`,
          { cause },
        ),
      ),
    )
    http.listen(options.port ?? 0, host, () => resolve())
  })
  const address = http.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        http.close((error) => (error ? reject(error) : resolve()))
        for (const socket of sockets) socket.destroy()
      }),
  }
}

async function answer(
  server: LeaseServer,
  host: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    // Refuse before buffering more: the handler would refuse it anyway.
    if (size > MAX_BODY_BYTES) {
      res.writeHead(413, { ...JSON_NO_STORE, connection: 'close' })
      res.end(
        '{"error":{"code":"invalid_input","message":"[keygate] The request body is too large."}}',
      )
      return
    }
    chunks.push(chunk as Buffer)
  }
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  const method = req.method ?? 'GET'
  const request = new Request(
    new URL(req.url ?? '/', `http://${host.includes(':') ? `[${host}]` : host}`),
    {
      method,
      headers,
      ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
    },
  )
  const response = await server.fetch(request)
  res.writeHead(response.status, Object.fromEntries(response.headers))
  res.end(Buffer.from(await response.arrayBuffer()))
}
