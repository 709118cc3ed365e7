import { describe, expect, it } from 'vitest'
import { KeygateError } from '../../src/errors.js'
import {
  checkMetadata,
  isUuid4,
  KEY_MAX_LENGTH,
  LABEL_MAX_LENGTH,
  normalizeKey,
  normalizeLabel,
  truncateLabel,
  validateActivateRequest,
  validateDeactivateRequest,
  validateValidateRequest,
} from '../../src/polar/rules.js'
import type { ActivateRequest, ValidateRequest } from '../../src/polar/types.js'

const ORG = '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f'
const ACTIVATION = '6c1e3a9d-7f20-4b1a-9d3c-2e4f5a6b7c8d'
const KEY = 'ACME-2F0B6E1C-91D4-4F55-B1A8-6C1E3A9D7F20'

function rejection(fn: () => unknown): KeygateError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(KeygateError)
    const keygateError = error as KeygateError
    expect(keygateError.code).toBe('invalid_input')
    return keygateError
  }
  throw new Error('expected invalid_input')
}

const activate = (overrides: Partial<ActivateRequest>) => () =>
  validateActivateRequest({ key: KEY, organizationId: ORG, label: 'ada-laptop', ...overrides })
const validate = (overrides: Partial<ValidateRequest>) => () =>
  validateValidateRequest({ key: KEY, organizationId: ORG, ...overrides })

describe('isUuid4', () => {
  it.each([
    ORG,
    ORG.toUpperCase(),
    '00000000-0000-4000-8000-000000000000',
    'ffffffff-ffff-4fff-bfff-ffffffffffff',
  ])('accepts %s', (id) => {
    expect(isUuid4(id)).toBe(true)
  })

  it.each([
    ['the nil UUID', '00000000-0000-0000-0000-000000000000'],
    ['version 1', '1f0e5d2c-3b4a-1c5d-8e7f-0a1b2c3d4e5f'],
    ['variant c', '1f0e5d2c-3b4a-4c5d-ce7f-0a1b2c3d4e5f'],
    ['no hyphens', '1f0e5d2c3b4a4c5d8e7f0a1b2c3d4e5f'],
    ['braces', `{${ORG}}`],
    ['surrounding space', ` ${ORG}`],
    ['a non-hex digit', '1f0e5d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5g'],
  ])('refuses %s', (_, id) => {
    expect(isUuid4(id)).toBe(false)
  })
})

describe('normalizeKey', () => {
  it('trims and keeps case', () => {
    expect(normalizeKey(`\t ${KEY.toLowerCase()} \r\n`)).toBe(KEY.toLowerCase())
  })

  it('accepts an imported key of any shape up to the limit', () => {
    expect(normalizeKey('my key #42')).toBe('my key #42')
    expect(normalizeKey('x'.repeat(KEY_MAX_LENGTH))).toHaveLength(KEY_MAX_LENGTH)
  })

  it.each([
    ['empty', ''],
    ['blank', '  \n '],
    ['NUL', `${KEY}\0`],
    ['too long', 'x'.repeat(KEY_MAX_LENGTH + 1)],
    ['not a string', 42],
  ])('refuses a %s key without showing it', (_, key) => {
    const error = rejection(() => normalizeKey(key))
    expect(error.message).toMatch(/license key/)
    if (typeof key === 'string' && key.length > 4) expect(error.message).not.toContain(key)
  })
})

describe('validateActivateRequest', () => {
  it('returns the request as sent: key and label trimmed, optional fields only when set', () => {
    expect(
      validateActivateRequest({ key: ` ${KEY} `, organizationId: ORG, label: ' host ' }),
    ).toEqual({ key: KEY, organizationId: ORG, label: 'host' })
  })

  it('counts label characters as code points, like Polar', () => {
    const emoji = '😀'.repeat(LABEL_MAX_LENGTH)
    expect(validateActivateRequest({ key: KEY, organizationId: ORG, label: emoji }).label).toBe(
      emoji,
    )
  })

  it.each([
    ['organizationId', activate({ organizationId: 'acme' })],
    ['organizationId', activate({ organizationId: '' })],
    ['label', activate({ label: '   ' })],
    ['label', activate({ label: 'a\0b' })],
    ['label', activate({ label: 'x'.repeat(LABEL_MAX_LENGTH + 1) })],
    ['meta', activate({ meta: [] as never })],
    ['conditions', activate({ conditions: null as never })],
  ])('names %s when it breaks a rule', (field, fn) => {
    expect(rejection(fn).message).toContain(field)
  })

  it('never echoes a string passed as an id (it may be the key in the wrong place)', () => {
    const error = rejection(activate({ organizationId: KEY }))
    expect(error.message).not.toContain(KEY)
    expect(error.message).toContain('version-4 UUID')
  })
})

describe('validateValidateRequest and validateDeactivateRequest', () => {
  it('accepts every optional field within the rules', () => {
    const request = {
      key: KEY,
      organizationId: ORG,
      activationId: ACTIVATION,
      benefitId: ACTIVATION,
      customerId: ORG,
      incrementUsage: 0,
      conditions: { fingerprint: 'abc' },
    }
    expect(validateValidateRequest(request)).toEqual(request)
  })

  it.each([
    ['activationId', validate({ activationId: 'a1' })],
    ['benefitId', validate({ benefitId: 'b1' })],
    ['customerId', validate({ customerId: 'c1' })],
    ['incrementUsage', validate({ incrementUsage: -1 })],
    ['incrementUsage', validate({ incrementUsage: 1.5 })],
    ['incrementUsage', validate({ incrementUsage: Number.NaN })],
    ['conditions', validate({ conditions: { nested: { a: 1 } as never } })],
  ])('names %s when it breaks a rule', (field, fn) => {
    expect(rejection(fn).message).toContain(field)
  })

  it('requires a UUID activation id to deactivate', () => {
    expect(
      rejection(() =>
        validateDeactivateRequest({ key: KEY, organizationId: ORG, activationId: '' }),
      ).message,
    ).toContain('activationId')
  })
})

describe('checkMetadata', () => {
  const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))

  it('accepts strings, integers, finite numbers and booleans up to the limits', () => {
    const value = {
      ...pairs(46),
      s: 'x'.repeat(500),
      f: 1.5,
      b: false,
      ['k'.repeat(40)]: 'é'.repeat(500),
    }
    expect(checkMetadata('meta', value)).toBe(value)
    expect(checkMetadata('conditions', {})).toEqual({})
    expect(checkMetadata('meta', Object.assign(Object.create(null), { a: 1 }))).toEqual({ a: 1 })
  })

  it.each([
    ['51 pairs', pairs(51), /at most 50 pairs/],
    ['an empty key', { '': 1 }, /keys must be 1–40/],
    ['a 41-character key', { ['k'.repeat(41)]: 1 }, /keys must be 1–40/],
    ['a NUL in a key', { 'a\0': 1 }, /NUL/],
    ['an empty string', { a: '' }, /meta\.a must be a string of 1–500/],
    ['a 501-character string', { a: 'x'.repeat(501) }, /1–500/],
    ['a NUL in a value', { a: 'x\0' }, /NUL/],
    ['NaN', { a: Number.NaN }, /finite/],
    ['Infinity', { a: Number.POSITIVE_INFINITY }, /finite/],
    ['null', { a: null }, /nothing nested/],
    ['an array', { a: [1] }, /nothing nested/],
    ['an object', { a: { b: 1 } }, /nothing nested/],
    ['undefined', { a: undefined }, /nothing nested/],
    ['a Map', new Map(), /plain object/],
    ['an array at the top', [1], /plain object/],
    ['a Date', new Date(0), /plain object/],
  ])('refuses %s', (_, value, message) => {
    expect(rejection(() => checkMetadata('meta', value)).message).toMatch(message)
  })
})

describe('text Polar cannot store (a lone UTF-16 surrogate)', () => {
  // JSON carries it as "\ud83d"; Polar's server then fails to encode it for PostgreSQL and
  // answers 500 every time, which reads as an outage. Refused up front instead.
  const lone = 'Ada’s laptop \ud83d'

  it('is refused in the key, the label, and condition or meta keys and values', () => {
    expect(rejection(activate({ key: `${KEY}\ud800` })).message).not.toContain(KEY)
    expect(rejection(activate({ label: lone })).message).toMatch(/label/)
    expect(rejection(activate({ meta: { note: lone } })).message).toMatch(/meta\.note/)
    expect(rejection(activate({ conditions: { '\udc00x': 1 } })).message).toMatch(/conditions/)
    rejection(validate({ conditions: { os: lone } }))
  })

  it('while whole emoji (surrogate pairs) and any other Unicode pass', () => {
    const fine = 'Ada’s 💻 — ノート'
    expect(
      validateActivateRequest({ key: `${KEY}💻`, organizationId: ORG, label: fine }),
    ).toMatchObject({
      label: fine,
    })
    expect(checkMetadata('meta', { [fine.slice(0, 10)]: fine })).toEqual({
      [fine.slice(0, 10)]: fine,
    })
  })
})

describe('truncateLabel', () => {
  it('cuts by characters (code points), so the result is always a label Polar stores', () => {
    const long = '💻'.repeat(LABEL_MAX_LENGTH + 1)
    const cut = truncateLabel(long)
    expect(Array.from(cut)).toHaveLength(LABEL_MAX_LENGTH)
    expect(normalizeLabel(cut)).toBe(cut)
    expect(truncateLabel(`${'a'.repeat(LABEL_MAX_LENGTH - 1)}💻x`)).toBe(
      `${'a'.repeat(LABEL_MAX_LENGTH - 1)}💻`,
    )
  })

  it('leaves a label within the limit as it is, and takes a shorter limit', () => {
    expect(truncateLabel('Ada’s laptop')).toBe('Ada’s laptop')
    expect(truncateLabel('ノート💻PC', 3)).toBe('ノート')
  })
})
