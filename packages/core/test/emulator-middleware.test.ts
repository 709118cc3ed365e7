import { createPolarEmulator } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { BASE, setup, T0 } from './emulator-helpers.js'

/** What Polar's middleware stack answers before the routes: server/polar/app.py's order. */

describe('kit/versioning.py: only 2026-04 (default) and 2026-10 are served', () => {
  it('answers every other Polar-Version, malformed ones included, 404 {"detail":"Not Found"}', async () => {
    const { emulator } = setup()
    const key = emulator.createKey()
    for (const version of ['2024-01', '2026-4', '2026-04-01', 'latest', '2026-10, 2026-04']) {
      const res = await emulator.fetch(`${BASE}/validate`, {
        method: 'POST',
        headers: { 'polar-version': version },
        body: JSON.stringify({ key: key.key, organization_id: emulator.organizationId }),
      })
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ detail: 'Not Found' })
    }
    for (const version of ['2026-04', '2026-10', '']) {
      const res = await emulator.fetch(`${BASE}/validate`, {
        method: 'POST',
        headers: { 'polar-version': version },
        body: JSON.stringify({ key: key.key, organization_id: emulator.organizationId }),
      })
      expect(res.status).toBe(200)
    }
  })

  it('answers an unserved version outside the limiter and without the sandbox or version header', async () => {
    const emulator = createPolarEmulator({ now: () => T0, sandbox: true })
    const key = emulator.createKey()
    const send = (version?: string) =>
      emulator.fetch(`${BASE}/validate`, {
        method: 'POST',
        headers: version === undefined ? {} : { 'polar-version': version },
        body: JSON.stringify({ key: key.key, organization_id: emulator.organizationId }),
      })
    for (let i = 0; i < 5; i++) {
      const res = await send('2025-01')
      expect(res.status).toBe(404)
      expect(res.headers.get('x-polar-sandbox')).toBeNull()
      expect(res.headers.get('polar-version')).toBeNull()
    }
    // None of those counted: the rate limit still allows three.
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(200)
    expect((await send()).status).toBe(429)
  })

  it('puts Polar-Version on every response: the default when none is sent, else the one sent', async () => {
    const { emulator, validate, call } = setup()
    const key = emulator.createKey()
    expect((await validate(key.key)).headers.get('polar-version')).toBe('2026-04')
    expect((await validate('UNKNOWN')).headers.get('polar-version')).toBe('2026-04')
    expect((await call('validate', {})).headers.get('polar-version')).toBe('2026-04')
    const next = await call(
      'validate',
      { key: key.key, organization_id: emulator.organizationId },
      { headers: { 'polar-version': '2026-10' } },
    )
    expect(next.headers.get('polar-version')).toBe('2026-10')
    const token = await call('validate', {}, { headers: { authorization: 'Bearer polar_oat_x' } })
    expect(token.status).toBe(401)
    expect(token.headers.get('polar-version')).toBe('2026-04')
  })
})

describe('polarVersions option', () => {
  it('refuses versions Polar could never serve', () => {
    expect(() => createPolarEmulator({ polarVersions: ['2026-4'] })).toThrow(RangeError)
    expect(() => createPolarEmulator({ polarVersions: [] })).toThrow(RangeError)
  })
})

describe('middlewares.py MaxBodySizeMiddleware: 411 and 413 before the limiter', () => {
  it('answers 413 RequestBodyTooLarge past 10 MiB, and 411 LengthRequired for a chunked POST', async () => {
    const emulator = createPolarEmulator({ now: () => T0, sandbox: true })
    const server = await emulator.listen()
    try {
      const big = await fetch(`${server.url}/v1/customer-portal/license-keys/validate`, {
        method: 'POST',
        body: 'x'.repeat(10 * 1024 * 1024 + 1),
      })
      expect(big.status).toBe(413)
      expect(await big.json()).toEqual({
        error: 'RequestBodyTooLarge',
        detail: 'Request body exceeded the maximum allowed size of 10485760 bytes.',
      })
      expect(big.headers.get('x-polar-sandbox')).toBeNull()
      const chunked = await fetch(`${server.url}/v1/customer-portal/license-keys/validate`, {
        method: 'POST',
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{}'))
            controller.close()
          },
        }),
        duplex: 'half',
      } as RequestInit)
      expect(chunked.status).toBe(411)
      expect(await chunked.json()).toEqual({
        error: 'LengthRequired',
        detail: 'A Content-Length header is required.',
      })
      // Neither counted against the rate limit.
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${server.url}/v1/customer-portal/license-keys/validate`, {
          method: 'POST',
          body: '{}',
        })
        expect(res.status).toBe(422)
      }
    } finally {
      await server.close()
    }
  })

  it('answers 411 in process for a streamed body, and takes a body without the header otherwise', async () => {
    const { emulator } = setup()
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{}'))
        controller.close()
      },
    })
    const init = { method: 'POST', body: stream, duplex: 'half' } as RequestInit
    expect((await emulator.fetch(`${BASE}/validate`, init)).status).toBe(411)
    expect((await emulator.fetch(`${BASE}/validate`, { method: 'POST', body: '{}' })).status).toBe(
      422,
    )
  })
})
