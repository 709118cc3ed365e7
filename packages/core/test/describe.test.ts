import { expect, describe as group, it } from 'vitest'
import { describe } from '../src/describe.js'
import { ERROR_CODES, KeygateError } from '../src/errors.js'
import { type InactiveReason, REASONS } from '../src/offline/reasons.js'
import type { InactiveNote, LicenseInfo, LicenseState } from '../src/offline/state.js'
import { ENGLISH, type Vocabulary, type Words } from '../src/words.js'

const NOW = Date.parse('2026-03-01T12:00:00.000Z')
const DAY = 86_400_000
const license: LicenseInfo = {
  id: 'lk',
  displayKey: '****-CCA427',
  status: 'granted',
  expiresAt: NOW + 30 * DAY,
  limitActivations: 2,
  usage: 0,
  limitUsage: null,
  benefitId: 'b',
  customerId: 'c',
}
const licensed = { license, activation: null, validatedAt: NOW - DAY, expiresAt: NOW + 30 * DAY }
const NOTES: Array<InactiveNote | undefined> = [
  undefined,
  { kind: 'unreadable', problem: 'it is not valid JSON', movedTo: '/data/license.json.1' },
  { kind: 'unreadable', problem: 'it is not valid JSON' },
  { kind: 'other_origin', server: 'https://sandbox-api.polar.sh' },
  { kind: 'foreign', why: 'encrypted by another user' },
]

/** Every state a UI can be shown: active, both graces, every reason with every note. */
function everyState(): LicenseState[] {
  const states: LicenseState[] = [
    { status: 'active', ...licensed, nextCheckAt: NOW + DAY },
    { status: 'grace', ...licensed, graceEndsAt: NOW + 6 * DAY, why: 'revalidation_due' },
    { status: 'grace', ...licensed, graceEndsAt: NOW + 6 * DAY, why: 'unreachable' },
  ]
  for (const reason of Object.keys(REASONS) as InactiveReason[]) {
    states.push({ status: 'inactive', reason })
    for (const note of NOTES) {
      states.push({ status: 'inactive', reason, note, license, validatedAt: NOW - 8 * DAY })
    }
  }
  return states
}

const ROUTE = /\/v1\/|\[(GET|POST|PATCH|DELETE)\]/
const ERRNO = /\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+|net::ERR_[A-Z_]+)\b/
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/
const FULL_KEY = 'BAC1D5E9-6E43-4F6C-9F1B-2D7A9ECCA427'

function expectPlainWords(words: Words): void {
  const text = [words.title, words.detail, words.action ?? ''].join('\n')
  expect(words.title.trim()).not.toBe('')
  expect(words.detail.trim()).not.toBe('')
  expect(text).not.toMatch(ROUTE)
  expect(text).not.toMatch(ERRNO)
  expect(text).not.toMatch(ISO)
  expect(text.toLowerCase()).not.toContain(FULL_KEY.toLowerCase())
  expect(text).not.toMatch(/undefined|null|NaN|\[object/)
}

group('describe(): one plain-words vocabulary', () => {
  it.each(['en-US', 'de-DE', 'ja-JP'])(
    'every state × reason × note, in %s: words, no route, errno or raw timestamp',
    (locale) => {
      const states = everyState()
      expect(states.length).toBeGreaterThan(40)
      for (const state of states) expectPlainWords(describe(state, { locale, now: NOW }))
    },
  )

  it('every error code, as a KeygateError and as its toJSON() over IPC', () => {
    expect(ERROR_CODES.length).toBeGreaterThan(15)
    for (const code of ERROR_CODES) {
      const error = new KeygateError(
        code,
        `[POST] /v1/customer-portal/license-keys/activate: failed (ECONNRESET) at 2026-03-01T12:00:00Z for ${FULL_KEY}`,
        { retryAfter: 60, detail: `Polar said something about ${FULL_KEY}` },
      )
      expectPlainWords(describe(error, { now: NOW }))
      expectPlainWords(describe(error.toJSON(), { now: NOW }))
    }
  })

  it('dates follow the reader’s locale', () => {
    const expired: LicenseState = {
      status: 'inactive',
      reason: 'expired',
      license: { ...license, expiresAt: Date.parse('2026-02-03T12:00:00Z') },
    }
    expect(describe(expired, { locale: 'en-US' }).detail).toContain('February 3, 2026')
    expect(describe(expired, { locale: 'de-DE' }).detail).toContain('3. Februar 2026')
  })

  it('durations are relative to now, in the reader’s words', () => {
    const grace: LicenseState = {
      status: 'grace',
      ...licensed,
      graceEndsAt: NOW + 3 * DAY,
      why: 'unreachable',
    }
    expect(describe(grace, { locale: 'en-US', now: NOW }).detail).toContain('in 3 days')
    const limited = new KeygateError('rate_limited', 'x', { retryAfter: 60 })
    expect(describe(limited, { locale: 'en-US' }).action).toContain('in 1 minute')
  })

  it('not_activated has words, and names a record it set aside', () => {
    expect(describe({ status: 'inactive', reason: 'not_activated' }).action).toMatch(/license key/)
    const moved = describe({
      status: 'inactive',
      reason: 'not_activated',
      note: { kind: 'unreadable', problem: 'it is not valid JSON', movedTo: '/d/license.json.1' },
    })
    expect(moved.detail).toContain('/d/license.json.1')
  })

  it('a translation replaces what it gives and English fills the rest', () => {
    const words: Partial<Vocabulary> = {
      reasons: {
        ...ENGLISH.reasons,
        revoked: () => ({ title: 'Lizenz nicht mehr aktiv', detail: 'Widerrufen.' }),
      },
    }
    const revoked: LicenseState = { status: 'inactive', reason: 'revoked' }
    expect(describe(revoked, { words }).title).toBe('Lizenz nicht mehr aktiv')
    expect(describe({ status: 'inactive', reason: 'expired' }, { words }).title).toBe(
      'License expired',
    )
  })

  it('a key_not_found after a valid-looking key hints at another organization', () => {
    const words = describe(new KeygateError('key_not_found', 'x'))
    expect(words.detail).toMatch(/different Polar organization/)
    expect(words.action).toMatch(/typos/)
  })
})
