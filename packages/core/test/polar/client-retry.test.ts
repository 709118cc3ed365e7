import { HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { backoffDelay, failureCode, neverReachedServer, retryDelay } from '../../src/polar/retry.js'
import {
  ACTIVATION,
  ACTIVATION_2026,
  answer,
  client,
  type Endpoint,
  expectNoKey,
  failure,
  KEY,
  ORG,
  useServer,
  VALIDATED_2026,
} from './client-fixtures.js'

const server = useServer()

/** A response that never comes: resolves only when the client gives up on the request. */
function hang(request: Request): Promise<Response> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(HttpResponse.json({ late: true })), 2000)
    request.signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve(HttpResponse.json({ late: true }))
    })
  })
}

function run(polar: ReturnType<typeof client>['polar'], endpoint: Endpoint) {
  switch (endpoint) {
    case 'activate':
      return polar.activate({ key: KEY, organizationId: ORG, label: 'x' })
    case 'validate':
      return polar.validate({ key: KEY, organizationId: ORG })
    case 'deactivate':
      return polar.deactivate({ key: KEY, organizationId: ORG, activationId: ACTIVATION })
  }
}

const success: Record<Endpoint, () => Response> = {
  activate: () => HttpResponse.json(ACTIVATION_2026),
  validate: () => HttpResponse.json(VALIDATED_2026),
  deactivate: () => new HttpResponse(null, { status: 204 }),
}

/** A fetch failing like undici does when nothing listens or the name does not resolve. */
function failingFetch(code: string, thenFetch = true) {
  let calls = 0
  const fetchImpl: typeof fetch = async (input, init) => {
    calls++
    if (calls === 1 || !thenFetch) {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error(`connect ${code} 203.0.113.1:443`), { code }),
      })
    }
    return globalThis.fetch(input, init)
  }
  return { fetchImpl, calls: () => calls }
}

describe('timeouts', () => {
  it('gives every validate attempt a fresh timeout: the first times out, the second succeeds', async () => {
    const { handler, calls } = answer('validate', hang, success.validate)
    server.use(handler)
    const { polar, sleeps } = client({ timeoutMs: 50 })

    const { data } = await polar.validate({ key: KEY, organizationId: ORG })

    expect(data.id).toBe(VALIDATED_2026.id)
    expect(calls).toHaveLength(2)
    expect(sleeps).toHaveLength(1)
  })

  it('throws timeout after the retry budget, saying how long it waited', async () => {
    const { handler, calls } = answer('deactivate', hang)
    server.use(handler)
    const { polar, sleeps } = client({ timeoutMs: 30, retry: 1 })

    const error = await failure(run(polar, 'deactivate'))

    expect(error.code).toBe('timeout')
    expect(error.message).toContain('within 30 ms')
    expect(error.message).toContain('(2 attempts)')
    expect(calls).toHaveLength(2)
    expect(sleeps).toHaveLength(1)
    expectNoKey(error)
  })

  it('never retries an activate that timed out: the seat may already be taken', async () => {
    const { handler, calls } = answer('activate', hang, success.activate)
    server.use(handler)
    const { polar, sleeps } = client({ timeoutMs: 30 })

    const error = await failure(run(polar, 'activate'))

    expect(error.code).toBe('timeout')
    expect(error.transient).toBe(true)
    expect(calls).toHaveLength(1)
    expect(sleeps).toEqual([])
  })

  it('times out even when a custom fetch ignores the abort signal', async () => {
    const { polar } = client({
      timeoutMs: 20,
      retry: 0,
      fetch: () => new Promise<Response>(() => {}),
    })

    const error = await failure(run(polar, 'validate'))

    expect(error.code).toBe('timeout')
  })
})

describe('retries', () => {
  const flaky: Array<[string, Endpoint, () => Response]> = []
  for (const endpoint of ['validate', 'deactivate'] as const) {
    flaky.push([`${endpoint} after a reset`, endpoint, () => HttpResponse.error()])
    for (const status of [500, 502, 503]) {
      flaky.push([
        `${endpoint} after ${status}`,
        endpoint,
        () => new HttpResponse(null, { status }),
      ])
    }
  }

  it.each(flaky)('retries %s, then succeeds', async (_, endpoint, response) => {
    const { handler, calls } = answer(endpoint, response, response, success[endpoint])
    server.use(handler)
    const { polar, sleeps } = client()

    await run(polar, endpoint)

    expect(calls).toHaveLength(3)
    expect(sleeps).toHaveLength(2)
    expect(sleeps[0]).toBeGreaterThanOrEqual(500)
    expect(sleeps[0]).toBeLessThanOrEqual(750)
    expect(sleeps[1]).toBeGreaterThanOrEqual(1000)
    expect(sleeps[1]).toBeLessThanOrEqual(1500)
  })

  it('gives up after the budget and reports the last failure', async () => {
    const { handler, calls } = answer('validate', new HttpResponse('oops', { status: 502 }))
    server.use(handler)
    const { polar } = client({ retry: 2 })

    const error = await failure(run(polar, 'validate'))

    expect(error.code).toBe('server')
    expect(error.status).toBe(502)
    expect(error.message).toContain('(3 attempts)')
    expect(calls).toHaveLength(3)
  })

  it('sends a single request with retry: 0', async () => {
    const { handler, calls } = answer('validate', new HttpResponse(null, { status: 500 }))
    server.use(handler)
    const { polar, sleeps } = client({ retry: 0 })

    expect((await failure(run(polar, 'validate'))).code).toBe('server')
    expect(calls).toHaveLength(1)
    expect(sleeps).toEqual([])
  })

  it('does not retry a 503 whose Retry-After is long, and passes it on', async () => {
    const { handler, calls } = answer(
      'validate',
      new HttpResponse(null, { status: 503, headers: { 'retry-after': '30' } }),
    )
    server.use(handler)
    const { polar } = client()

    const error = await failure(run(polar, 'validate'))

    expect(error.code).toBe('server')
    expect(error.retryAfter).toBe(30)
    expect(calls).toHaveLength(1)
  })

  it.each([
    ['500', () => new HttpResponse(null, { status: 500 }), 'server'],
    ['a connection reset', () => HttpResponse.error(), 'network'],
  ] as const)('never retries an activate after %s', async (_, response, code) => {
    const { handler, calls } = answer('activate', response, success.activate)
    server.use(handler)
    const { polar, sleeps } = client()

    const error = await failure(run(polar, 'activate'))

    expect(error.code).toBe(code)
    expect(calls).toHaveLength(1)
    expect(sleeps).toEqual([])
    expectNoKey(error)
  })

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'])(
    'retries an activate that failed with %s: it never reached Polar',
    async (code) => {
      const { handler, calls } = answer('activate', success.activate)
      server.use(handler)
      const failing = failingFetch(code)
      const { polar, sleeps } = client({ fetch: failing.fetchImpl })

      const { data } = await polar.activate({ key: KEY, organizationId: ORG, label: 'x' })

      expect(data.id).toBe(ACTIVATION)
      expect(failing.calls()).toBe(2)
      expect(calls).toHaveLength(1)
      expect(sleeps).toHaveLength(1)
    },
  )

  it('reports network with the cause kept when the connection is refused every time', async () => {
    const failing = failingFetch('ECONNREFUSED', false)
    const { polar } = client({ fetch: failing.fetchImpl, retry: 2 })

    const error = await failure(run(polar, 'activate'))

    expect(error.code).toBe('network')
    expect(error.message).not.toContain('ECONNREFUSED')
    expect(failureCode(error.cause)).toBe('ECONNREFUSED')
    expect(error.message).toContain('(3 attempts)')
    expect(error.cause).toBeInstanceOf(TypeError)
    expect(failing.calls()).toBe(3)
    expectNoKey(error)
  })

  it('does not retry an activate after an Electron connection reset, but does after a refusal', async () => {
    const electronFetch = (message: string) => {
      let calls = 0
      const fetchImpl: typeof fetch = async () => {
        calls++
        throw new Error(message)
      }
      return { fetchImpl, calls: () => calls }
    }
    const reset = electronFetch('net::ERR_CONNECTION_RESET')
    const refused = electronFetch('net::ERR_CONNECTION_REFUSED')

    const resetError = await failure(run(client({ fetch: reset.fetchImpl }).polar, 'activate'))
    await failure(run(client({ fetch: refused.fetchImpl }).polar, 'activate'))

    expect(resetError.code).toBe('network')
    expect(resetError.message).not.toContain('net::ERR')
    expect(failureCode(resetError.cause)).toBe('net::ERR_CONNECTION_RESET')
    expect(reset.calls()).toBe(1)
    expect(refused.calls()).toBe(3)
  })
})

describe('retry rules', () => {
  it('backs off 500 ms × 2^n with up to 50 % jitter, capped at 4 s', () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, () => 0))).toEqual([
      500, 1000, 2000, 4000, 4000,
    ])
    expect(backoffDelay(0, () => 0.999)).toBe(750)
  })

  it('honours a short Retry-After over a shorter backoff', () => {
    const error = new Error('x') as never
    expect(
      retryDelay('validate', { error, kind: 'in_flight', retryAfterMs: 1800 }, 0, 2, () => 0),
    ).toBe(1800)
    expect(
      retryDelay('validate', { error, kind: 'in_flight', retryAfterMs: 2500 }, 0, 2),
    ).toBeUndefined()
    expect(retryDelay('activate', { error, kind: 'in_flight' }, 0, 2)).toBeUndefined()
    expect(retryDelay('activate', { error, kind: 'unsent' }, 2, 2)).toBeUndefined()
    expect(retryDelay('deactivate', { error, kind: 'final' }, 0, 2)).toBeUndefined()
  })

  it('finds the failure code through cause chains and aggregate errors', () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' })
    const aggregate = new AggregateError([refused('::1'), refused('127.0.0.1')])
    expect(failureCode(new TypeError('fetch failed', { cause: aggregate }))).toBe('ECONNREFUSED')
    expect(neverReachedServer(new TypeError('fetch failed', { cause: aggregate }))).toBe(true)
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
    expect(neverReachedServer(new TypeError('fetch failed', { cause: reset }))).toBe(false)
    expect(neverReachedServer(new TypeError('Failed to fetch'))).toBe(false)
  })
})
