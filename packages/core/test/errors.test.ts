import { describe, expect, it } from 'vitest'
import { KeygateError, maskKey } from '../src/errors.js'

describe('KeygateError', () => {
  it('prefixes messages, keeps the code, status and detail, and serializes without a stack', () => {
    const error = new KeygateError('revoked', 'License revoked.', { status: 404, detail: 'x' })
    expect(error.message).toBe('[keygate] License revoked.')
    expect(error.name).toBe('KeygateError')
    expect(error.transient).toBe(false)
    expect(error.toJSON()).toEqual({
      name: 'KeygateError',
      code: 'revoked',
      message: '[keygate] License revoked.',
      status: 404,
      detail: 'x',
    })
  })

  it('treats network-class failures as transient', () => {
    for (const code of ['network', 'timeout', 'server', 'bad_response', 'rate_limited'] as const) {
      expect(new KeygateError(code, 'x').transient).toBe(true)
    }
  })
})

describe('maskKey', () => {
  it('shows only the last six characters of a long key', () => {
    const key = 'ACME-2F0B6E1C-91D4-4F55-B1A8-6C1E3A9D7F20'
    expect(maskKey(key)).toBe('****-9D7F20')
    expect(maskKey(key)).not.toContain('2F0B6E1C')
  })

  it('hides most of a short key', () => {
    expect(maskKey('abcdef')).toBe('****-ef')
  })
})
