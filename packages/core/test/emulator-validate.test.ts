import { describe, expect, it } from 'vitest'
import { setup, T0 } from './emulator-helpers.js'

const notFound = (detail = 'Not found') => ({ error: 'ResourceNotFound', detail })

async function activated(conditions: Record<string, unknown> = {}) {
  const ctx = setup()
  const key = ctx.emulator.createKey({ limitActivations: 3 })
  const res = await ctx.activate(key.key, { conditions })
  return { ...ctx, key, activationId: res.json.id as string }
}

describe('emulator: validate', () => {
  it('succeeds for a granted key, bumping validations and last_validated_at', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey()
    emulator.advance(5000)
    const res = await validate(key.key)
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ id: key.id, validations: 1, status: 'granted' })
    expect(Date.parse(res.json.last_validated_at)).toBe(T0 + 5000)
    expect((await validate(key.key)).json.validations).toBe(2)
    expect(emulator.getKey(key).validations).toBe(2)
  })

  it('includes `activation` only when activation_id was sent', async () => {
    const { key, validate, activationId } = await activated()
    expect((await validate(key.key)).json.activation).toBeNull()
    const res = await validate(key.key, { activation_id: activationId })
    expect(res.json.activation).toMatchObject({ id: activationId, license_key_id: key.id })
    expect(res.json.activation).not.toHaveProperty('conditions')
  })

  it('answers 404 "License key is no longer active." for a revoked or disabled key', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey()
    emulator.revoke(key)
    expect(await validate(key.key)).toMatchObject({
      status: 404,
      json: notFound('License key is no longer active.'),
    })
    emulator.disable(key)
    expect((await validate(key.key)).json.detail).toBe('License key is no longer active.')
    emulator.grant(key)
    expect((await validate(key.key)).status).toBe(200)
  })

  it('answers 404 "License key has expired." once now >= expires_at; status is checked first', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey({ expiresAt: new Date(T0 + 10) })
    emulator.advance(10)
    expect(await validate(key.key)).toMatchObject({
      status: 404,
      json: notFound('License key has expired.'),
    })
    emulator.revoke(key)
    expect((await validate(key.key)).json.detail).toBe('License key is no longer active.')
  })

  it('answers 404 Not found for an activation that is unknown, deactivated or of another key', async () => {
    const { emulator, key, validate, activate, deactivate, activationId } = await activated()
    expect((await validate(key.key, { activation_id: crypto.randomUUID() })).json).toEqual(
      notFound(),
    )
    const other = emulator.createKey()
    const foreign = (await activate(other.key)).json.id
    expect((await validate(key.key, { activation_id: foreign })).json).toEqual(notFound())
    await deactivate(key.key, activationId)
    expect((await validate(key.key, { activation_id: activationId })).json).toEqual(notFound())
  })

  it('checks expiry before the activation: an expired key with a bad activation says "expired"', async () => {
    const { emulator, key, validate } = await activated()
    emulator.expire(key)
    const res = await validate(key.key, { activation_id: crypto.randomUUID() })
    expect(res.json.detail).toBe('License key has expired.')
  })

  it('requires the sent conditions to equal the stored ones as a whole object', async () => {
    const { key, validate, activationId } = await activated({ fingerprint: 'fp-1', os: 'linux' })
    const mismatch = notFound('License key does not match required conditions')
    const send = (conditions?: Record<string, unknown>) =>
      validate(key.key, { activation_id: activationId, ...(conditions ? { conditions } : {}) })
    expect((await send({ fingerprint: 'fp-2', os: 'linux' })).json).toEqual(mismatch)
    expect((await send({ fingerprint: 'fp-1' })).json).toEqual(mismatch)
    expect((await send({ fingerprint: 'fp-1', os: 'linux', extra: 1 })).json).toEqual(mismatch)
    expect((await send()).json).toEqual(mismatch)
    expect((await send({ os: 'linux', fingerprint: 'fp-1' })).status).toBe(200)
  })

  it('compares condition values as Python does: 1 equals true, "1" does not', async () => {
    const { key, validate, activationId } = await activated({ seats: 1 })
    expect(
      (await validate(key.key, { activation_id: activationId, conditions: { seats: true } }))
        .status,
    ).toBe(200)
    expect(
      (await validate(key.key, { activation_id: activationId, conditions: { seats: '1' } })).status,
    ).toBe(404)
  })

  it('does not check conditions for an activation stored without any', async () => {
    const { key, validate, activationId } = await activated()
    const res = await validate(key.key, { activation_id: activationId, conditions: { any: 'x' } })
    expect(res.status).toBe(200)
  })

  it('ignores conditions when no activation_id is sent', async () => {
    const { key, validate } = await activated({ fingerprint: 'fp-1' })
    expect((await validate(key.key, { conditions: { fingerprint: 'other' } })).status).toBe(200)
  })

  it('answers 404 when benefit_id or customer_id do not match the key', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey()
    expect((await validate(key.key, { benefit_id: crypto.randomUUID() })).json).toEqual(
      notFound('License key does not match given benefit.'),
    )
    expect((await validate(key.key, { customer_id: crypto.randomUUID() })).json).toEqual(
      notFound('License key does not match given user.'),
    )
    const both = await validate(key.key, {
      benefit_id: emulator.benefitId,
      customer_id: key.customerId,
    })
    expect(both.status).toBe(200)
    expect(emulator.getKey(key).validations).toBe(1)
  })

  it('counts usage with increment_usage and answers 400 past limit_usage', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey({ limitUsage: 10, usage: 7 })
    expect((await validate(key.key, { increment_usage: 2 })).json.usage).toBe(9)
    const refused = await validate(key.key, { increment_usage: 2 })
    expect(refused.status).toBe(400)
    expect(refused.json).toEqual({
      error: 'BadRequest',
      detail: 'License key only has 1 more usages.',
    })
    expect(emulator.getKey(key)).toMatchObject({ usage: 9, validations: 1 })
    expect((await validate(key.key, { increment_usage: 1 })).json.usage).toBe(10)
  })

  it('counts usage without a limit when limit_usage is null', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey()
    expect((await validate(key.key, { increment_usage: 1000 })).json.usage).toBe(1000)
  })

  it('does not bump validations on a refused validation', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey({ status: 'revoked' })
    await validate(key.key)
    expect(emulator.getKey(key)).toMatchObject({ validations: 0, lastValidatedAt: null })
  })

  it('keeps activation ids valid under a rotated key, while the old string answers 404', async () => {
    const { emulator, key, validate, deactivate, activationId } = await activated()
    const rotated = emulator.rotate(key)
    expect(rotated).not.toBe(key.key)
    expect((await validate(key.key, { activation_id: activationId })).json).toEqual(notFound())
    const res = await validate(rotated, { activation_id: activationId })
    expect(res.status).toBe(200)
    expect(res.json.display_key).toBe(`****-${rotated.slice(-6)}`)
    expect((await deactivate(key.key, activationId)).status).toBe(404)
    expect((await deactivate(rotated, activationId)).status).toBe(204)
  })

  it('answers 404 for an activation removed from the customer portal, and frees its seat', async () => {
    const { emulator, key, validate, activationId } = await activated()
    expect(emulator.removeActivation(activationId)).toBe(true)
    expect(emulator.removeActivation(activationId)).toBe(false)
    expect((await validate(key.key, { activation_id: activationId })).json).toEqual(notFound())
    expect(emulator.listActivations(key)).toEqual([])
  })
})

describe('emulator: deactivate', () => {
  it('answers 204 with an empty body and frees the seat; a second call answers 404 Not found', async () => {
    const { emulator, key, deactivate, activationId } = await activated()
    const res = await deactivate(key.key, activationId)
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    expect(res.headers.get('content-type')).toBeNull()
    expect(emulator.listActivations(key)).toEqual([])
    expect((await deactivate(key.key, activationId)).json).toEqual(notFound())
  })

  it('does not check status or expiry: a revoked, expired key can still free its seat', async () => {
    const { emulator, key, deactivate, activationId } = await activated()
    emulator.revoke(key)
    emulator.expire(key)
    expect((await deactivate(key.key, activationId)).status).toBe(204)
  })

  it('answers 404 for an unknown key or an activation of another key', async () => {
    const { emulator, key, activate, deactivate, activationId } = await activated()
    expect((await deactivate('UNKNOWN', activationId)).json).toEqual(notFound())
    const other = emulator.createKey()
    const foreign = (await activate(other.key)).json.id
    expect((await deactivate(key.key, foreign)).json).toEqual(notFound())
    expect(emulator.listActivations(other)).toHaveLength(1)
  })
})
