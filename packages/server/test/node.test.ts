import { createPolarEmulator } from '@keygate/core/testing'
import { describe, expect, it } from 'vitest'
import { createKeyPair, createLeaseServer } from '../src/index.js'
import { serve } from '../src/node.js'

describe('serve (node:http)', () => {
  it('serves the lease server on 127.0.0.1, any free port by default', async () => {
    const emulator = createPolarEmulator()
    const polar = await emulator.listen()
    const { privateJwk } = await createKeyPair()
    const running = await serve(
      createLeaseServer({
        organizationId: emulator.organizationId,
        polarToken: emulator.createAccessToken(),
        signingKey: privateJwk,
        server: polar.url,
      }),
    )
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const key = emulator.createKey()
      const response = await fetch(`${running.url}/v1/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: key.key, fingerprint: 'fp' }),
      })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/application\/json/)
      expect(((await response.json()) as { activation: { id: string } }).activation.id).toBe(
        emulator.listActivations(key)[0]?.id,
      )

      const huge = await fetch(`${running.url}/v1/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(200_000),
      })
      expect(huge.status).toBe(413)
      // Like every answer of the protocol: no proxy may keep it.
      expect(huge.headers.get('cache-control')).toBe('no-store')
    } finally {
      await running.close()
      await polar.close()
    }
    await expect(fetch(`${running.url}/v1/activate`, { method: 'POST' })).rejects.toThrow()
  })
})
