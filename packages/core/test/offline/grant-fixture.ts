import { GRANT_VERSION, type Grant } from '../../src/offline/grant.js'

/** The grant the offline tests start from, on a whole second (Polar's `Date` precision). */
export const T0 = Date.parse('2026-03-01T12:00:00.000Z')
export const FP = 'fp-this-machine'
export const ORG = '3f1c6a52-8a5e-4f7b-9d7e-2a1b0c9d8e7f'
export const KEY = 'ACME-2F0B6E1C-91D4-4F55-B1A8-6C1E3A9D7F20'

/** A granted key's grant for this machine, validated at T0; override what a test is about. */
export function makeGrant(
  overrides: Partial<Grant> = {},
  license: Partial<Grant['license']> = {},
): Grant {
  return {
    v: GRANT_VERSION,
    key: KEY,
    organizationId: ORG,
    server: 'https://api.polar.sh',
    fingerprint: FP,
    conditions: { keygate_machine: FP },
    activation: { id: 'act-1', label: 'Laptop', meta: {}, createdAt: '2026-02-28T12:00:00.000Z' },
    license: {
      id: 'lk-1',
      displayKey: '****-9D7F20',
      status: 'granted',
      expiresAt: null,
      limitActivations: 2,
      usage: 0,
      limitUsage: null,
      benefitId: 'ben-1',
      customerId: 'cus-1',
      ...license,
    },
    validatedAt: T0,
    clockHighWater: T0,
    ...overrides,
  }
}
