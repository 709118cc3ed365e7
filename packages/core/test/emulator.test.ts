import { isKeygateError } from '@keygate/core'
import { createPolarEmulator, type EmulatorServer } from '@keygate/core/testing'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterEach, describe, expect, it } from 'vitest'
import { setup, T0 } from './emulator-helpers.js'

const PATH = '/v1/customer-portal/license-keys'

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

describe('emulator: in-process fetch', () => {
  it('routes by path and ignores the host', async () => {
    const { emulator, org } = setup()
    const key = emulator.createKey()
    const body = { key: key.key, organization_id: org }
    for (const base of ['https://api.polar.sh', 'https://sandbox-api.polar.sh', 'http://x.test']) {
      expect((await emulator.fetch(`${base}${PATH}/validate`, json(body))).status).toBe(200)
    }
    expect((await emulator.fetch(`${PATH}/validate`, json(body))).status).toBe(200)
    expect((await emulator.fetch(new URL(`http://h${PATH}/validate`), json(body))).status).toBe(200)
  })

  it('sends JSON with a Date header from the emulator clock, and Polar datetimes', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey({ expiresAt: '2027-01-01T00:00:00.250Z' })
    emulator.advance(61_000)
    const res = await validate(key.key)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('date')).toBe(new Date(T0 + 61_000).toUTCString())
    expect(res.json.expires_at).toBe('2027-01-01T00:00:00.250000Z')
    expect(res.headers.get('x-polar-sandbox')).toBeNull()
  })

  it('adds X-Polar-Sandbox: 1 to every answer when sandbox is set', async () => {
    const { emulator, validate } = setup({ sandbox: true })
    const key = emulator.createKey()
    expect((await validate(key.key)).headers.get('x-polar-sandbox')).toBe('1')
    expect((await validate('UNKNOWN')).headers.get('x-polar-sandbox')).toBe('1')
  })

  it('follows an injected clock, setClock and advance', async () => {
    let t = T0
    const emulator = createPolarEmulator({ now: () => t, rateLimit: false })
    t += 1000
    expect(emulator.now()).toBe(T0 + 1000)
    emulator.advance(500)
    expect(emulator.now()).toBe(T0 + 1500)
    emulator.setClock('2030-01-01T00:00:00Z')
    expect(emulator.now()).toBe(Date.UTC(2030, 0, 1))
  })
})

describe('emulator: admin helpers', () => {
  it('uses the given organization id, lowercased like Polar compares UUIDs', () => {
    const org = crypto.randomUUID().toUpperCase()
    const emulator = createPolarEmulator({ organizationId: org })
    expect(emulator.organizationId).toBe(org.toLowerCase())
    expect(emulator.createKey().organizationId).toBe(org.toLowerCase())
  })

  it('returns snapshots: getKey shows the state after requests', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey({ limitUsage: 5 })
    await validate(key.key, { increment_usage: 2 })
    expect(key.usage).toBe(0)
    expect(emulator.getKey(key.id)).toMatchObject({ usage: 2, validations: 1 })
    expect(emulator.getKey(key.key).id).toBe(key.id)
  })

  it('updates limits, expiry and status with updateKey, expire and grant', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey({ limitActivations: 1 })
    await activate(key.key)
    expect((await activate(key.key)).status).toBe(403)
    emulator.updateKey(key, { limitActivations: 2 })
    expect((await activate(key.key)).status).toBe(200)
    expect(emulator.expire(key).expiresAt).toBe(T0)
    expect(emulator.expire(key, T0 + 1000).expiresAt).toBe(T0 + 1000)
  })

  it('fills seats with addActivation, which validate then accepts', async () => {
    const { emulator, activate, validate } = setup()
    const key = emulator.createKey({ limitActivations: 1 })
    const seat = emulator.addActivation(key, { conditions: { fp: 'x' } })
    expect((await activate(key.key)).json.detail).toBe(
      'License key activation limit already reached',
    )
    const res = await validate(key.key, { activation_id: seat.id, conditions: { fp: 'x' } })
    expect(res.status).toBe(200)
  })

  it('refuses an unknown key reference with a KeygateError that does not contain it', () => {
    const { emulator } = setup()
    const secret = 'SECRET-0000-1111-2222-ABCDEF'
    let caught: unknown
    try {
      emulator.getKey(secret)
    } catch (error) {
      caught = error
    }
    expect(isKeygateError(caught) && caught.code).toBe('invalid_input')
    expect(String((caught as Error).message)).not.toContain(secret)
    expect(() => emulator.createKey({ key: 'DUP' })).not.toThrow()
    expect(() => emulator.createKey({ key: 'DUP' })).toThrow(/already exists/)
  })
})

describe('emulator: listen() over real HTTP', () => {
  let server: EmulatorServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  it('serves the endpoints on 127.0.0.1 and counts the socket address as the client', async () => {
    const { emulator, org } = setup()
    const key = emulator.createKey()
    server = await emulator.listen()
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    const activated = await fetch(
      `${server.url}${PATH}/activate`,
      json({ key: key.key, organization_id: org, label: 'CI' }),
    )
    expect(activated.status).toBe(200)
    const { id } = (await activated.json()) as { id: string }
    const gone = await fetch(
      `${server.url}${PATH}/deactivate`,
      json({ key: key.key, organization_id: org, activation_id: id }),
    )
    expect(gone.status).toBe(204)
    expect(await gone.text()).toBe('')
    expect(gone.headers.get('date')).toBe(new Date(T0).toUTCString())
    const wrong = await fetch(`${server.url}/v1/nope`)
    expect(await wrong.json()).toEqual({ detail: 'Not Found' })
    expect(emulator.requests.map((r) => r.ip)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1'])
  })

  it('drops the connection for a reset fault and answers 429 over HTTP too', async () => {
    const emulator = createPolarEmulator({ now: () => T0 })
    server = await emulator.listen()
    emulator.failNext(1, 'reset')
    await expect(fetch(`${server.url}${PATH}/validate`, json({}))).rejects.toThrow('fetch failed')
    for (let i = 0; i < 3; i++) await fetch(`${server.url}${PATH}/validate`, json({}))
    const limited = await fetch(`${server.url}${PATH}/validate`, json({}))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(await limited.text()).toBe('')
  })

  it('close() ends even with a hanging request open, and the port stops answering', async () => {
    const { emulator } = setup()
    server = await emulator.listen()
    const { url } = server
    emulator.failNext(1, 'hang')
    const hanging = fetch(`${url}${PATH}/validate`, json({})).catch((e: unknown) => e)
    // Wait until the server has taken the request (it is logged before hanging).
    while (emulator.requests.length === 0) await new Promise((r) => setImmediate(r))
    await server.close()
    server = undefined
    expect(await hanging).toBeInstanceOf(TypeError)
    await expect(fetch(`${url}${PATH}/validate`, json({}))).rejects.toThrow()
  })
})

describe('emulator: handler() under msw', () => {
  it('serves requests that msw intercepts from the global fetch', async () => {
    const { emulator, org } = setup({ sandbox: true })
    const key = emulator.createKey()
    const mock = setupServer(http.all('*', ({ request }) => emulator.handler(request)))
    mock.listen({ onUnhandledRequest: 'error' })
    try {
      const res = await fetch(
        `https://sandbox-api.polar.sh${PATH}/activate`,
        json({ key: key.key, organization_id: org, label: 'msw' }),
      )
      expect(res.status).toBe(200)
      expect(res.headers.get('x-polar-sandbox')).toBe('1')
      expect(emulator.listActivations(key)).toHaveLength(1)
      emulator.failNext(1, 'reset')
      await expect(fetch(`https://api.polar.sh${PATH}/validate`, json({}))).rejects.toThrow(
        TypeError,
      )
    } finally {
      mock.close()
    }
  })

  it('can be combined with other msw handlers', async () => {
    const { emulator } = setup()
    const mock = setupServer(
      http.get('https://example.test/ping', () => HttpResponse.text('pong')),
      http.all('https://api.polar.sh/*', ({ request }) => emulator.handler(request)),
    )
    mock.listen({ onUnhandledRequest: 'error' })
    try {
      expect(await (await fetch('https://example.test/ping')).text()).toBe('pong')
      expect((await fetch(`https://api.polar.sh${PATH}/validate`, json({}))).status).toBe(422)
    } finally {
      mock.close()
    }
  })
})
