import { describe, expect, it } from 'vitest'
import { createPolarClient } from '../src/polar/client.js'
import { setup } from './emulator-helpers.js'

/** Where the emulator must answer exactly as Polar's server (Python, pydantic) does. */
describe('emulator: lengths count code points, as Python does', () => {
  const emoji = '😀' // one code point, two UTF-16 units

  it('accepts meta and conditions at their limits in characters, not UTF-16 units', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey()
    const res = await activate(key.key, {
      meta: { [emoji.repeat(40)]: emoji.repeat(500) },
      conditions: { note: `é${emoji.repeat(499)}` },
    })
    expect(res.status).toBe(200)
    expect(res.json.meta).toEqual({ [emoji.repeat(40)]: emoji.repeat(500) })
  })

  it('refuses one character past the limits', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey()
    const value = await activate(key.key, { meta: { note: emoji.repeat(501) } })
    expect(value.status).toBe(422)
    expect(value.json.detail[0]).toMatchObject({ type: 'string_too_long' })
    const name = await activate(key.key, { meta: { [emoji.repeat(41)]: 1 } })
    expect(name.status).toBe(422)
    expect(name.json.detail[0]).toMatchObject({ type: 'string_too_long', ctx: { max_length: 40 } })
  })

  it('takes what the client accepts: the two agree on every limit', async () => {
    const { emulator } = setup()
    const key = emulator.createKey()
    const polar = createPolarClient({ fetch: emulator.fetch, retry: 0 })
    const result = await polar.activate({
      key: key.key,
      organizationId: emulator.organizationId,
      label: emoji.repeat(255),
      meta: { [emoji.repeat(40)]: emoji.repeat(500) },
    })
    expect(result.data.label).toBe(emoji.repeat(255))
  })
})

describe('emulator: display_key', () => {
  it('is the last 6 characters (code points) of an imported key, as Python slices it', async () => {
    const { emulator, validate } = setup()
    const key = emulator.createKey({ key: 'imported-key-😀😀😀😀😀😀' })
    expect((await validate(key.key)).json.display_key).toBe('****-😀😀😀😀😀😀')
  })
})

describe('emulator: NUL characters, refused as Polar refuses them', () => {
  const refusal = (field: string) => ({
    type: 'value_error',
    loc: ['body', field],
    msg: 'Value error, This value contains invalid characters',
  })

  it('anywhere in a field: one value_error at the field itself', async () => {
    const { emulator, activate, validate } = setup()
    const key = emulator.createKey()
    expect((await validate(`${key.key}\u0000`)).json.detail).toMatchObject([refusal('key')])
    expect((await activate(key.key, { label: 'a\u0000b' })).json.detail).toMatchObject([
      refusal('label'),
    ])
    expect((await activate(key.key, { meta: { os: 'a\u0000b' } })).json.detail).toMatchObject([
      refusal('meta'),
    ])
    expect((await activate(key.key, { conditions: { 'a\u0000': 1 } })).json.detail).toMatchObject([
      refusal('conditions'),
    ])
  })

  it('only once the field is otherwise valid (an after-validator)', async () => {
    const { emulator, activate } = setup()
    const key = emulator.createKey()
    const res = await activate(key.key, { meta: { os: `\u0000${'v'.repeat(500)}` } })
    // The union's issues for the length, and no value_error for the NUL.
    expect(res.json.detail.map((d: { type: string }) => d.type)).toEqual([
      'string_too_long',
      'int_parsing',
      'float_parsing',
      'bool_parsing',
    ])
  })
})
