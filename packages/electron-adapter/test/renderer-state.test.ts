import { KeygateError, type LicenseState } from '@keygate/core'
import { describe, expect, it } from 'vitest'
import { toRendererState } from '../src/renderer-state.js'
import { DAY, START } from './harness.js'

const license = {
  id: 'lk',
  displayKey: '****-CCA427',
  status: 'granted',
  expiresAt: null,
  limitActivations: 2,
  usage: 0,
  limitUsage: null,
  benefitId: 'b',
  customerId: 'c',
}
const grace: LicenseState = {
  status: 'grace',
  license,
  activation: null,
  validatedAt: START,
  expiresAt: null,
  graceEndsAt: START + 7 * DAY,
  why: 'unreachable',
}

describe('the state a renderer sees', () => {
  it('holds only the fields it is meant to, as plain data', () => {
    const error = new KeygateError('network', 'Polar could not be reached', {
      cause: new Error('x'),
    })
    const withExtras = { ...grace, error, key: 'ACME-SECRET-KEY-1234567890', grant: { key: 'x' } }
    const seen = toRendererState(withExtras, 'unavailable')
    expect(seen).toEqual({
      status: 'grace',
      license,
      activation: null,
      validatedAt: START,
      expiresAt: null,
      graceEndsAt: START + 7 * DAY,
      why: 'unreachable',
      error: {
        name: 'KeygateError',
        code: 'network',
        message: '[keygate] Polar could not be reached',
      },
      encryption: 'unavailable',
    })
  })
})
