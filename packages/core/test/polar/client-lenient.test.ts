import { describe, expect, it } from 'vitest'
import { createPolarClient } from '../../src/polar/client.js'
import { createPolarEmulator } from '../../src/testing/index.js'

describe('parsing a 200 answer leniently', () => {
  it('does not require fields keygate never uses (license_key_id, organization_id)', async () => {
    const emulator = createPolarEmulator({ rateLimit: false })
    const key = emulator.createKey()
    // A later API version (or a proxy) that drops fields keygate does not read.
    const trimmed: typeof fetch = async (input, init) => {
      const response = await emulator.fetch(input, init)
      const body = (await response.json()) as Record<string, unknown>
      delete body.license_key_id
      delete body.organization_id
      const nested = body.license_key as Record<string, unknown> | undefined
      if (nested) delete nested.organization_id
      return Response.json(body, { status: response.status, headers: response.headers })
    }
    const polar = createPolarClient({ fetch: trimmed, retry: 0 })
    const activated = await polar.activate({
      key: key.key,
      organizationId: emulator.organizationId,
      label: 'Laptop',
    })
    expect(activated.data.license_key.display_key).toBe(key.displayKey)
    const validated = await polar.validate({
      key: key.key,
      organizationId: emulator.organizationId,
    })
    expect(validated.data.id).toBe(key.id)
  })
})
