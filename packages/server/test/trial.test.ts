import { loadLeaseVerifier, verifyTrialToken } from '@keygate/core/lease'
import { decodeProtectedHeader } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { setup } from './helpers.js'

const DAY = 86_400_000
const T0 = Date.parse('2026-12-01T12:00:00Z')

beforeAll(() => loadLeaseVerifier())

describe('POST /v1/trial', () => {
  it('signs a trial token bound to the fingerprint, without asking Polar', async () => {
    const s = await setup({ now: () => T0 })
    const res = await s.post('/v1/trial', { fingerprint: 'fp-a', days: 14 })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({
      started_at: new Date(T0).toISOString(),
      ends_at: new Date(T0 + 14 * DAY).toISOString(),
    })
    expect(decodeProtectedHeader(res.json.token)).toMatchObject({
      alg: 'EdDSA',
      typ: 'keygate-trial+jwt',
    })
    expect(verifyTrialToken(res.json.token, s.keys.publicJwk)).toEqual({
      iss: 'keygate',
      ver: 1,
      organization_id: s.emulator.organizationId,
      fingerprint: 'fp-a',
      started_at: T0 / 1000,
      ends_at: (T0 + 14 * DAY) / 1000,
      iat: T0 / 1000,
    })
    expect(s.emulator.requests).toHaveLength(0)
  })

  it("the server's trialDays wins over the app's days", async () => {
    const s = await setup({ now: () => T0, trialDays: 30 })
    const res = await s.post('/v1/trial', { fingerprint: 'fp-a', days: 365 })
    expect(res.json.ends_at).toBe(new Date(T0 + 30 * DAY).toISOString())
  })

  it('is stateless by default: a machine that asks again gets a new start', async () => {
    let now = T0
    const s = await setup({ now: () => now })
    await s.post('/v1/trial', { fingerprint: 'fp-a', days: 14 })
    now += 20 * DAY
    const again = await s.post('/v1/trial', { fingerprint: 'fp-a', days: 14 })
    expect(again.json.started_at).toBe(new Date(now).toISOString())
  })

  it('with a trials store, a wiped machine keeps its first start', async () => {
    let now = T0
    const kept = new Map<string, number>()
    const trials = {
      get: async (fp: string) => kept.get(fp) ?? null,
      put: async (fp: string, at: number) => {
        kept.set(fp, at)
      },
    }
    const s = await setup({ now: () => now, trials })
    await s.post('/v1/trial', { fingerprint: 'fp-a', days: 14 })
    now += 20 * DAY
    const again = await s.post('/v1/trial', { fingerprint: 'fp-a', days: 14 })
    expect(again.json.started_at).toBe(new Date(T0).toISOString())
    const other = await s.post('/v1/trial', { fingerprint: 'fp-b', days: 14 })
    expect(other.json.started_at).toBe(new Date(now).toISOString())
    expect([...kept.keys()]).toEqual(['fp-a', 'fp-b'])
  })

  it('refuses a bad request with 400 invalid_input', async () => {
    const s = await setup()
    for (const body of [{ days: 14 }, { fingerprint: 'fp', days: 0 }, { fingerprint: 'fp' }]) {
      const res = await s.post('/v1/trial', body)
      expect(res.status).toBe(400)
      expect(res.json.error.code).toBe('invalid_input')
    }
  })

  it('refuses trialDays that is not a whole number of days', async () => {
    await expect(setup({ trialDays: 1.5 })).rejects.toMatchObject({ code: 'invalid_input' })
  })
})
