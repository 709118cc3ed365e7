import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { KeygateError } from '../../errors.js'
import type { Answer, Arrival } from './router.js'
import type { EmulatorServer } from './types.js'

type Answerer = (request: Request, arrival: Arrival) => Promise<Answer>

/**
 * Serves the emulator on 127.0.0.1 with node:http, converting to and from web
 * Request/Response. The only core module that touches `node:`, and only through a
 * dynamic import here, so `@keygate/core/testing` still loads in a browser.
 */
export async function listen(answer: Answerer, port = 0): Promise<EmulatorServer> {
  const http = await import('node:http')
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => {
    serve(answer, req, res).catch((error: unknown) => {
      // A bug in the emulator itself: answer 500 rather than leave the client hanging.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`Polar emulator error: ${error instanceof Error ? error.message : String(error)}`)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new KeygateError('network', `Polar emulator could not listen on 127.0.0.1:${port}`, {
          cause: error,
        }),
      ),
    )
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        // Hanging requests and keep-alive connections would hold close() open forever.
        for (const socket of sockets) socket.destroy()
      }),
  }
}

async function serve(answer: Answerer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const method = req.method ?? 'GET'
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  const aborter = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) aborter.abort()
  })
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const request = new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, {
    method,
    headers,
    signal: aborter.signal,
    ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
  })
  const length = req.headers['content-length']
  const result = await answer(request, { ip: clientIp(req), contentLength: length ?? null })
  if (result.kind === 'reset') {
    req.socket.destroy()
    return
  }
  // A hang answers nothing; close() drops the socket.
  if (result.kind === 'hang') return
  const { response } = result
  const out: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    out[name] = value
  })
  const body = Buffer.from(await response.arrayBuffer())
  if (response.status !== 204) out['content-length'] = String(body.length)
  res.writeHead(response.status, out)
  res.end(response.status === 204 ? undefined : body)
}

/** The socket's remote address, with IPv4-mapped IPv6 written as plain IPv4. */
function clientIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown'
  return address.startsWith('::ffff:') ? address.slice(7) : address
}
