import type { FaultKind } from './types.js'

/** What answers a request instead of Polar: a response, a dropped connection, or silence. */
export type FaultAnswer =
  | { kind: 'response'; status: number; contentType: string; body: string }
  | { kind: 'reset' }
  | { kind: 'hang' }

export interface FaultQueue {
  /** The next request's fault, if one is due (offline wins over the queue). */
  take(): FaultAnswer | null
  failNext(count: number, kind: FaultKind): void
  setOffline(offline: boolean): void
  readonly offline: boolean
  clear(): void
}

const PROXY_PAGE = (status: number, title: string) =>
  `<!DOCTYPE html>\n<html><head><title>${status} ${title}</title></head>` +
  `<body><h1>${status} ${title}</h1><p>The upstream server did not answer.</p></body></html>\n`

const CAPTIVE_PORTAL =
  '<!DOCTYPE html>\n<html><head><title>Sign in to Wi-Fi</title></head>' +
  '<body><form method="post"><p>Accept the terms to continue.</p>' +
  '<button>Connect</button></form></body></html>\n'

function faultAnswer(kind: FaultKind): FaultAnswer {
  switch (kind) {
    case 'reset':
      return { kind: 'reset' }
    case 'timeout':
    case 'hang':
      return { kind: 'hang' }
    case 500:
      return {
        kind: 'response',
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'InternalServerError', detail: 'Internal Server Error' }),
      }
    case 502:
      return {
        kind: 'response',
        status: 502,
        contentType: 'text/html',
        body: PROXY_PAGE(502, 'Bad Gateway'),
      }
    case 503:
      return {
        kind: 'response',
        status: 503,
        contentType: 'text/html',
        body: PROXY_PAGE(503, 'Service Unavailable'),
      }
    case 'html':
      return { kind: 'response', status: 200, contentType: 'text/html', body: CAPTIVE_PORTAL }
    case 'invalid_json':
      return {
        kind: 'response',
        status: 200,
        contentType: 'application/json',
        body: '{"id":"3f0c9a4e-1d5b-4c1e-9a8e-2b7f',
      }
  }
}

export function createFaultQueue(): FaultQueue {
  const queue: FaultKind[] = []
  let offline = false
  return {
    take() {
      if (offline) return { kind: 'reset' }
      const next = queue.shift()
      return next === undefined ? null : faultAnswer(next)
    },
    failNext(count, kind) {
      if (!Number.isInteger(count) || count < 0) {
        throw new RangeError(`failNext: count must be a non-negative integer, got ${count}`)
      }
      for (let i = 0; i < count; i++) queue.push(kind)
    },
    setOffline(next) {
      offline = next
    },
    get offline() {
      return offline
    },
    clear() {
      queue.length = 0
      offline = false
    },
  }
}
