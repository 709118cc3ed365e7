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
  it('says what the record rests on and what it unlocks', () => {
    const signed = { ...grace, integrity: 'keychain' as const, features: ['export'] }
    expect(toRendererState(signed, 'os')).toMatchObject({
      integrity: 'keychain',
      features: ['export'],
    })
    expect(toRendererState(grace, 'os')).not.toHaveProperty('integrity')
  })

  it('holds only the fields it is meant to, as plain data', () => {
    const error = new KeygateError('network', 'Polar could not be reached', {
      cause: new Error('x'),
    })
    const withExtras = { ...grace, error, key: 'ACME-SECRET-KEY-1234567890', grant: { key: 'x' } }
    const seen = toRendererState(withExtras, 'unavailable', { locale: 'en-US', now: START })
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
        words: {
          title: 'Cannot reach the license server',
          detail: 'This computer could not connect to the license server.',
          action: 'Check the internet connection, proxy or firewall, then try again.',
        },
      },
      encryption: 'unavailable',
      words: {
        title: 'Working offline',
        detail:
          'The license server could not be reached. The app keeps working until March 8, 2026 (in 7 days).',
        action: 'Connect to the internet so your license can be checked.',
      },
    })
  })

  it("carries core's words in the user's locale, dates and durations included", () => {
    const seen = toRendererState(grace, 'os', { locale: 'de-DE', now: START })
    expect(seen.words.detail).toContain('8. März 2026')
    expect(seen.words.detail).toContain('in 7 Tagen')
  })
})
