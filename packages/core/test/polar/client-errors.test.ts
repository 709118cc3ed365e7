import { HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import type { KeygateErrorCode } from '../../src/errors.js'
import { parseRetryAfter } from '../../src/polar/error-mapping.js'
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
  polarError,
  useServer,
} from './client-fixtures.js'

const server = useServer()

type Call = 'activate' | 'validate' | 'validate+activation' | 'deactivate'

function call(kind: Call) {
  const { polar, sleeps } = client()
  const endpoint: Endpoint = kind === 'validate+activation' ? 'validate' : kind
  const run = () => {
    switch (kind) {
      case 'activate':
        return polar.activate({ key: KEY, organizationId: ORG, label: 'ada-laptop' })
      case 'validate':
        return polar.validate({ key: KEY, organizationId: ORG, incrementUsage: 1 })
      case 'validate+activation':
        return polar.validate({ key: KEY, organizationId: ORG, activationId: ACTIVATION })
      case 'deactivate':
        return polar.deactivate({ key: KEY, organizationId: ORG, activationId: ACTIVATION })
    }
  }
  return { endpoint, run, sleeps }
}

// Polar's exact answers (DESIGN.md, "Polar's contract").
const NOT_FOUND = () => polarError(404, 'ResourceNotFound', 'Not found')
const verdicts: Array<[string, Call, () => Response, KeygateErrorCode, RegExp]> = [
  [
    'unknown key on activate',
    'activate',
    NOT_FOUND,
    'key_not_found',
    /typos; a key bought .* 30 s to 2 min/,
  ],
  ['unknown key on validate', 'validate', NOT_FOUND, 'key_not_found', /mistyped/],
  [
    'unknown activation on validate',
    'validate+activation',
    NOT_FOUND,
    'activation_not_found',
    /activation was removed.*or the key/,
  ],
  ['unknown activation on deactivate', 'deactivate', NOT_FOUND, 'activation_not_found', /key/],
  [
    'revoked key on activate',
    'activate',
    () =>
      polarError(
        403,
        'NotPermitted',
        'License key is no longer active. This license key can not be activated.',
      ),
    'revoked',
    /no longer active/,
  ],
  [
    'revoked key on validate',
    'validate',
    () => polarError(404, 'ResourceNotFound', 'License key is no longer active.'),
    'revoked',
    /revoked or disabled/,
  ],
  [
    'expired key on activate',
    'activate',
    () => polarError(403, 'NotPermitted', 'License key has expired.'),
    'expired',
    /has expired/,
  ],
  [
    'expired key on validate',
    'validate',
    () => polarError(404, 'ResourceNotFound', 'License key has expired.'),
    'expired',
    /Renew/,
  ],
  [
    'a benefit without activations',
    'activate',
    () =>
      polarError(
        403,
        'NotPermitted',
        'This license key does not support activations. Use the /validate endpoint instead to check license validity.',
      ),
    'activation_not_supported',
    /validate it instead/,
  ],
  [
    'the activation limit',
    'activate',
    () => polarError(403, 'NotPermitted', 'License key activation limit already reached'),
    'activation_limit_reached',
    /deactivate the app on another machine.*customer portal/,
  ],
  [
    'other conditions',
    'validate+activation',
    () => polarError(404, 'ResourceNotFound', 'License key does not match required conditions'),
    'conditions_mismatch',
    /different machine/,
  ],
  [
    'exhausted usage',
    'validate',
    () => polarError(400, 'BadRequest', 'License key only has 0 more usages.'),
    'usage_limit',
    /only has 0 more usages/,
  ],
  [
    'an unknown 404 text',
    'validate',
    () => polarError(404, 'ResourceNotFound', 'Benefit mismatch'),
    'key_not_found',
    /does not know/,
  ],
  [
    'an unknown 403 text',
    'activate',
    () => polarError(403, 'NotPermitted', 'Customer is blocked'),
    'forbidden',
    /Customer is blocked/,
  ],
  [
    'an unknown 400 text',
    'validate',
    () => polarError(400, 'BadRequest', 'Something else'),
    'invalid_input',
    /Something else/,
  ],
]

describe("Polar's definitive answers", () => {
  it.each(verdicts)('maps %s', async (_, kind, response, code, message) => {
    const { endpoint, run, sleeps } = call(kind)
    const { handler, calls } = answer(endpoint, response)
    server.use(handler)

    const error = await failure(run())

    expect(error.code).toBe(code)
    expect(error.transient).toBe(false)
    expect(error.message).toMatch(message)
    // The route is for logs (`endpoint`); a message a person may read names none.
    expect(error.message).not.toContain('/v1/')
    expect(error.endpoint).toBe(`POST /v1/customer-portal/license-keys/${endpoint}`)
    expect(error.message).toContain('****-9D7F20')
    expect(error.detail).toBe(((await response().json()) as { detail: string }).detail)
    expect(error.status).toBe(response().status)
    expect(calls).toHaveLength(1)
    expect(sleeps).toEqual([])
    expectNoKey(error)
  })
})

describe('answers that are not a verdict on the license', () => {
  const cases: Array<[string, () => Response, KeygateErrorCode, RegExp]> = [
    [
      '404 without Polar error field',
      () => HttpResponse.json({ detail: 'Not Found' }, { status: 404 }),
      'server',
      /does not serve this endpoint.*server URL/,
    ],
    [
      '404 HTML page',
      () => new HttpResponse('<html>404</html>', { status: 404 }),
      'server',
      /does not serve this endpoint/,
    ],
    [
      '401 (an Authorization header someone added)',
      () => polarError(401, 'Unauthorized', 'Invalid token'),
      'server',
      /Authorization header/,
    ],
    [
      '403 without Polar error field',
      () => HttpResponse.json({ message: 'Forbidden' }, { status: 403 }),
      'server',
      /proxy, firewall or VPN/,
    ],
    [
      '403 HTML page from a proxy',
      () => new HttpResponse('<html>blocked</html>', { status: 403 }),
      'bad_response',
      /an HTML page/,
    ],
    [
      '400 invalid JSON',
      () => new HttpResponse('{oops', { status: 400 }),
      'bad_response',
      /invalid JSON/,
    ],
    [
      '405 JSON',
      () => HttpResponse.json({ detail: 'Method Not Allowed' }, { status: 405 }),
      'server',
      /unexpected 405/,
    ],
  ]

  it.each(cases)('maps %s', async (_, response, code, message) => {
    const { handler, calls } = answer('activate', response)
    server.use(handler)
    const { polar } = client()

    const error = await failure(polar.activate({ key: KEY, organizationId: ORG, label: 'x' }))

    expect(error.code).toBe(code)
    expect(error.transient).toBe(true)
    expect(error.message).toMatch(message)
    expect(error.status).toBe(response().status)
    expect(calls).toHaveLength(1)
    expectNoKey(error)
  })
})

describe('422 RequestValidationError', () => {
  it('summarizes loc and msg and never repeats the echoed input (the key)', async () => {
    const body = {
      error: 'RequestValidationError',
      detail: [
        {
          type: 'uuid_parsing',
          loc: ['body', 'organization_id'],
          msg: 'Input should be a valid UUID',
          input: { key: KEY, organization_id: 'x' },
        },
        {
          type: 'string_too_long',
          loc: ['body', 'label'],
          msg: `Value error, ${KEY} is odd`,
          input: KEY,
          ctx: { key: KEY },
        },
      ],
    }
    server.use(answer('validate', HttpResponse.json(body, { status: 422 })).handler)
    const { polar } = client()

    const error = await failure(polar.validate({ key: KEY, organizationId: ORG }))

    expect(error.code).toBe('invalid_input')
    expect(error.status).toBe(422)
    expect(error.detail).toBe(
      'body.organization_id: Input should be a valid UUID; body.label: Value error, ****-9D7F20 is odd',
    )
    expect(error.message).toContain('body.organization_id: Input should be a valid UUID')
    expectNoKey(error)
  })
})

describe('429 rate limiting', () => {
  it.each([
    ['Retry-After: 60', { 'retry-after': '60' }, 60],
    ['no Retry-After', {}, 60],
    [
      'an HTTP-date Retry-After',
      { date: 'Wed, 02 Sep 2026 10:00:00 GMT', 'retry-after': 'Wed, 02 Sep 2026 10:00:30 GMT' },
      30,
    ],
  ])('throws rate_limited with %s, without retrying', async (_, headers, retryAfter) => {
    const { handler, calls } = answer('validate', new HttpResponse(null, { status: 429, headers }))
    server.use(handler)
    const { polar, sleeps } = client({ retry: 2 })

    const error = await failure(polar.validate({ key: KEY, organizationId: ORG }))

    expect(error.code).toBe('rate_limited')
    expect(error.retryAfter).toBe(retryAfter)
    expect(error.status).toBe(429)
    expect(error.message).toContain(`${retryAfter} s`)
    expect(calls).toHaveLength(1)
    expect(sleeps).toEqual([])
  })

  it('waits out a short Retry-After before the one retry, even for activate', async () => {
    const { handler, calls } = answer(
      'activate',
      new HttpResponse(null, { status: 429, headers: { 'retry-after': '2' } }),
      HttpResponse.json(ACTIVATION_2026),
    )
    server.use(handler)
    const { polar, sleeps } = client()

    const { data } = await polar.activate({ key: KEY, organizationId: ORG, label: 'x' })

    expect(data.id).toBe(ACTIVATION)
    expect(calls).toHaveLength(2)
    expect(sleeps).toHaveLength(1)
    expect(sleeps[0]).toBeGreaterThanOrEqual(2000)
  })
})

describe('parseRetryAfter', () => {
  const headers = (init: Record<string, string>) => new Headers(init)

  it('reads delta-seconds and HTTP dates, and ignores garbage', () => {
    expect(parseRetryAfter(headers({ 'retry-after': '120' }))).toBe(120)
    const now = Date.UTC(2026, 0, 1)
    expect(parseRetryAfter(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(
      10,
    )
    expect(parseRetryAfter(headers({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }), now)).toBe(
      0,
    )
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }))).toBeUndefined()
    expect(parseRetryAfter(headers({}))).toBeUndefined()
  })
})

describe('deactivate succeeds only on an answer that can be Polar', () => {
  it.each([
    ['a 204 with no body', () => new Response(null, { status: 204 })],
    ['a 200 with an empty body', () => new Response('', { status: 200 })],
  ])('%s frees the seat', async (_, response) => {
    server.use(answer('deactivate', response).handler)
    const { run } = call('deactivate')
    await expect(run()).resolves.toMatchObject({ data: null })
  })

  it.each([
    ['a captive portal', () => new Response('<html>Sign in to Wi-Fi</html>', { status: 200 })],
    ['truncated JSON', () => new Response('{"id": "', { status: 200 })],
  ])('%s answering 200 is bad_response, so the seat is not forgotten', async (_, response) => {
    server.use(answer('deactivate', response).handler)
    const { run } = call('deactivate')
    const error = await failure(run())
    expect(error.code).toBe('bad_response')
    expectNoKey(error)
  })
})
