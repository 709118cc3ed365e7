import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  type InactiveReason,
  KeygateError,
  type KeygateErrorCode,
  type LicenseState,
  REASONS,
} from '@keygate/core'
import { type Browser, chromium, type Locator, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { activationPageUrl } from '../src/activation-page.js'
import { toErrorData, toRendererState } from '../src/renderer-state.js'
import type {
  KeygateRendererApi,
  RendererActionResult,
  RendererDevicesResult,
  RendererLicenseState,
} from '../src/renderer-types.js'

// The activation page in a real browser (Debian's chromium), with a stubbed
// `window.keygate` answering states built by the adapter itself (words from core's
// `describe()`): what a person sees and can do, step by step. Every state is also
// written as a screenshot to docs/activation-window/, light and dark for the main ones.

const CHROMIUM = process.env.KEYGATE_CHROMIUM ?? '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
// Under CI the tests must run (and fail if chromium is missing); locally they may skip.
const SKIP = !HAVE_CHROMIUM && !process.env.CI
if (SKIP) {
  console.warn(
    `[keygate] Skipping the activation page browser tests: no chromium at ${CHROMIUM}. Install it with \`apt-get install chromium\` or set KEYGATE_CHROMIUM.`,
  )
}

const SHOTS = fileURLToPath(new URL('../../../docs/activation-window/', import.meta.url))
const DAY = 24 * 60 * 60 * 1000
const NOW = Date.parse('2026-03-01T12:00:00Z')
const WORDS = { locale: 'en-US', now: NOW }
// A flat rounded square: the app's icon, as `icon` would bring it in.
const ICON = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" rx="10" fill="#2459c7"/><path d="M14 34V14h6l8 12V14h6v20h-6l-8-12v12z" fill="#fff"/></svg>',
).toString('base64')}`
const PAGE = {
  productName: 'Acme Editor',
  icon: ICON,
  buyUrl: 'https://acme.example/buy',
  portalUrl: 'https://polar.sh/acme/portal',
}
const URL_ = activationPageUrl(PAGE)

const LICENSE = {
  id: 'b7d1b1c0-93f1-4a0e-9a53-0b4b8a1d2f10',
  displayKey: '****-CCA427',
  status: 'granted',
  expiresAt: null,
  limitActivations: 2,
  usage: 0,
  limitUsage: null,
  benefitId: '0b4b8a1d-2f10-4a0e-9a53-b7d1b1c093f1',
  customerId: '9a530b4b-8a1d-4f10-9a53-b7d1b1c093f1',
}
const LICENSED = {
  license: LICENSE,
  activation: { id: 'a1', label: 'Alice laptop', createdAt: NOW - 40 * DAY },
  validatedAt: NOW - 2 * DAY,
  expiresAt: null,
}
const view = (state: LicenseState) => toRendererState(state, 'os', WORDS)
const inactive = (reason: InactiveReason, extra: object = {}) =>
  view({
    status: 'inactive',
    reason,
    ...(reason === 'not_activated' ? {} : { license: LICENSE, validatedAt: NOW - 9 * DAY }),
    ...extra,
  } as LicenseState)
const NOT_ACTIVATED = inactive('not_activated')
const active = (expiresAt: number | null = null) =>
  view({
    status: 'active',
    ...LICENSED,
    license: { ...LICENSE, expiresAt },
    expiresAt,
    validatedAt: NOW,
    nextCheckAt: NOW + DAY,
  })
const grace = (why: 'unreachable' | 'revalidation_due') =>
  view({
    status: 'grace',
    ...LICENSED,
    why,
    graceEndsAt: NOW + 3 * DAY,
    ...(why === 'unreachable'
      ? { error: new KeygateError('network', 'Polar could not be reached: fetch failed') }
      : {}),
  })
const failure = (code: KeygateErrorCode, extra: { retryAfter?: number } = {}) =>
  ({
    ok: false,
    error: toErrorData(new KeygateError(code, `Polar said no (${code})`, extra), undefined, WORDS),
    state: NOT_ACTIVATED,
  }) as RendererActionResult

interface Stub {
  status: RendererLicenseState
  activate?: RendererActionResult
  refresh?: RendererLicenseState
  /** Hold `activate` until the test calls `window.__release()`, to see the progress. */
  hold?: boolean
  /** Expose only what `exposeLicenseApi()` (read-only) does. */
  readOnly?: boolean
  deactivated?: RendererLicenseState
  /** With a lease server: what `devices` answers; `activate` answers `afterFree` once one is freed. */
  devices?: RendererDevicesResult
  afterFree?: RendererActionResult
}

interface StubWindow {
  keygate?: KeygateRendererApi
  __calls: string[]
  __freed?: boolean
  __release?: () => void
}

let browser: Browser

beforeAll(async () => {
  if (SKIP) return
  mkdirSync(SHOTS, { recursive: true })
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
})
afterAll(async () => {
  await browser?.close()
})

/** Opens the page with a stubbed bridge; fails the test on any script error or request. */
async function open(
  stub: Stub | null,
  colorScheme: 'light' | 'dark' = 'light',
): Promise<Page & { problems: string[] }> {
  const context = await browser.newContext({
    locale: 'en-US',
    // The window's default size (activation-window.ts).
    viewport: { width: 480, height: 560 },
    colorScheme,
  })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  // Offline by construction: any request the page makes is a failure.
  await context.route('**/*', (route) => {
    problems.push(`request: ${route.request().url()}`)
    return route.abort()
  })
  if (stub !== null) {
    await page.addInitScript((s: Stub) => {
      const w = window as unknown as StubWindow
      w.__calls = []
      const listeners: Array<(state: RendererLicenseState) => void> = []
      w.keygate = {
        status: async () => s.status,
        activate: (key) => {
          w.__calls.push(`activate:${key}`)
          const answer = (w.__freed ? s.afterFree : undefined) ??
            s.activate ?? { ok: true, state: s.status }
          if (!s.hold) return Promise.resolve(answer)
          return new Promise((resolve) => {
            w.__release = () => resolve(answer)
          })
        },
        deactivate: async () => ({ ok: true, state: s.deactivated ?? s.status }),
        refresh: async () => {
          w.__calls.push('refresh')
          return s.refresh ?? s.status
        },
        onChange: (listener) => {
          listeners.push(listener)
          return () => undefined
        },
      }
      const listed = s.devices
      if (listed !== undefined) {
        w.keygate.devices = async (key) => {
          w.__calls.push(`devices:${key}`)
          return listed
        }
        w.keygate.freeDevice = async (id, key) => {
          w.__calls.push(`free:${id}:${key}`)
          w.__freed = true
          return { ok: true, devices: [] }
        }
      }
      if (s.readOnly) {
        const { status, onChange } = w.keygate as KeygateRendererApi
        w.keygate = { status, onChange } as KeygateRendererApi
      }
    }, stub)
  }
  await page.goto(URL_)
  return Object.assign(page, { problems })
}

/** What a person sees: rendered text, hidden parts left out (hence not textContent). */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point
const seen = (locator: Locator) => locator.innerText()

/** Written to docs/activation-window/ (the README shows them); the key field is left empty. */
async function shot(page: Page, name: string, fullPage = false) {
  const field = page.getByRole('textbox')
  if (await field.isVisible()) await field.fill('')
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage })
}

/** Every visible button and link sits on one line: nothing wraps at the default size. */
async function nothingWraps(page: Page) {
  const wrapped = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('button, a')]
      .filter((element) => element.offsetParent !== null)
      .filter((element) => {
        const lines =
          element.getBoundingClientRect().height /
          Number.parseFloat(getComputedStyle(element).lineHeight)
        const row = element.parentElement?.getBoundingClientRect()
        return (
          lines > 1.9 + 0.9 ||
          (row !== undefined && element.getBoundingClientRect().right > row.right + 1)
        )
      })
      .map((element) => element.textContent),
  )
  expect(wrapped).toEqual([])
}

/** No sentence twice on the page (a grace summary repeated by its error, say). */
async function noSentenceTwice(page: Page) {
  const text = await seen(page.locator('main'))
  const sentences = text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 12)
  expect(sentences.filter((sentence, i) => sentences.indexOf(sentence) !== i)).toEqual([])
}

/** Nothing a developer would say: no route, no error number, no raw timestamp, no tag. */
async function plainWords(page: Page) {
  const text = await seen(page.locator('main'))
  expect(text).not.toMatch(/\[keygate\]|\/v1\/|\bE[A-Z]{3,}\b|\d{4}-\d{2}-\d{2}T/)
}

describe.skipIf(SKIP)('the activation page in chromium', () => {
  it('walks a person through a successful activation, to Continue', async () => {
    const page = await open({
      status: NOT_ACTIVATED,
      activate: { ok: true, state: active() },
      hold: true,
    })
    await expect(page.getByRole('heading', { name: 'Acme Editor' }).isVisible()).resolves.toBe(true)
    await expect(page.title()).resolves.toBe('Acme Editor license')
    await expect(seen(page.locator('#status'))).resolves.toBe('Not activated')
    await expect(page.locator('header img').getAttribute('src')).resolves.toBe(ICON)
    await expect(
      page.getByRole('link', { name: 'Buy a license' }).getAttribute('href'),
    ).resolves.toBe('https://acme.example/buy')
    await nothingWraps(page)
    await noSentenceTwice(page)
    await shot(page, 'not-activated')
    await page
      .getByRole('textbox', { name: 'License key' })
      .fill('  ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427 ')
    await page.getByRole('button', { name: 'Activate' }).click()

    // Progress while main is talking to Polar.
    await page.getByRole('status').getByText('Activating your license…').waitFor()
    await expect(page.getByRole('button', { name: 'Activating…' }).isDisabled()).resolves.toBe(true)
    await page.evaluate(() => (window as unknown as StubWindow).__release?.())

    await page.locator('#status').getByText('Licensed').waitFor()
    const text = await seen(page.locator('main'))
    expect(text).toContain('This computer is activated with the license key ****-CCA427.')
    expect(text).toContain('Activated. Thank you!')
    await expect(page.getByRole('button', { name: 'Continue' }).isVisible()).resolves.toBe(true)
    await expect(page.getByRole('textbox', { name: 'License key' }).isVisible()).resolves.toBe(
      false,
    )
    await expect(page.getByRole('link', { name: 'Buy a license' }).isVisible()).resolves.toBe(false)
    // Deactivation is there, but quiet: not a button beside Continue with the same weight.
    const deactivate = page.getByRole('button', { name: 'Deactivate this computer' })
    await expect(deactivate.getAttribute('class')).resolves.toBe('quiet')
    await expect(page.locator('#licensed button:visible').count()).resolves.toBe(1)
    // The key is trimmed before it is sent, and the field is emptied afterwards.
    const calls = await page.evaluate(() => (window as unknown as StubWindow).__calls)
    expect(calls).toEqual(['activate:ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427'])
    await nothingWraps(page)
    await shot(page, 'activated')
    expect(page.problems).toEqual([])
  })

  it.each([
    {
      name: 'limit-reached',
      result: failure('activation_limit_reached'),
      says: ['customer portal'],
    },
    { name: 'not-found', result: failure('key_not_found'), says: ['up to 2 minutes'] },
    { name: 'offline', result: failure('network'), says: ['could not connect'] },
    {
      name: 'rate-limited',
      result: failure('rate_limited', { retryAfter: 60 }),
      says: ['Too many attempts', 'Try again in 1 minute'],
    },
    { name: 'revoked-key', result: failure('revoked'), says: ['Contact the seller'] },
  ])(
    "explains a failed activation calmly, in core's words: $name",
    async ({ name, result, says }) => {
      const page = await open({ status: NOT_ACTIVATED, activate: result })
      const input = page.getByRole('textbox', { name: 'License key' })
      await input.fill('ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427')
      await page.getByRole('button', { name: 'Activate' }).click()
      const alert = page.getByRole('alert')
      await alert.waitFor()
      const text = await seen(alert)
      if (!result.ok) {
        expect(text).toContain(result.error.words.title)
        expect(text).toContain(result.error.words.detail)
      }
      for (const phrase of says) expect(text).toContain(phrase)
      // Calm: not bold red. The title is the only emphasis, at the body's size.
      const style = await alert.evaluate((element) => {
        const s = getComputedStyle(element)
        return { weight: s.fontWeight, color: s.color }
      })
      expect(style.weight).toBe('400')
      expect(style.color).not.toMatch(/^rgb\((1[5-9]\d|2\d\d), (\d|[1-9]\d), (\d|[1-9]\d)\)$/)
      await plainWords(page)
      await noSentenceTwice(page)
      await expect(input.getAttribute('aria-invalid')).resolves.toBe('true')
      // Still on the form, ready to try again (after the wait, when rate limited).
      await expect(input.isVisible()).resolves.toBe(true)
      await expect(page.getByRole('button', { name: 'Activate' }).isDisabled()).resolves.toBe(
        name === 'rate-limited',
      )
      await nothingWraps(page)
      await shot(page, `error-${name}`)
      expect(page.problems).toEqual([])
    },
  )

  it('lists the other computers when every seat is taken, and frees one to activate here', async () => {
    const KEY = 'ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427'
    const device = (id: string, label: string, createdAt: number, current = false) => ({
      id,
      label,
      createdAt,
      activatedOn: new Intl.DateTimeFormat('en-US', { dateStyle: 'long' }).format(createdAt),
      current,
    })
    const page = await open({
      status: NOT_ACTIVATED,
      activate: failure('activation_limit_reached'),
      devices: {
        ok: true,
        devices: [
          device('5c6c902d-0000-4000-8000-000000000001', 'Alice laptop', NOW - 40 * DAY),
          device('5c6c902d-0000-4000-8000-000000000002', 'Office desktop', NOW - 200 * DAY),
          device('5c6c902d-0000-4000-8000-000000000003', 'This one', NOW, true),
        ],
      },
      afterFree: { ok: true, state: active() },
    })
    await page.getByRole('textbox', { name: 'License key' }).fill(KEY)
    await page.getByRole('button', { name: 'Activate' }).click()
    const list = page.getByRole('region', { name: /free a seat/ })
    await list.waitFor()
    const text = await seen(list)
    expect(text).toContain('Alice laptop')
    expect(text).toContain('Activated January 20, 2026')
    expect(text).toContain('Office desktop')
    // This computer's own seat (if any) is not offered.
    expect(text).not.toContain('This one')
    await expect(seen(page.getByRole('alert'))).resolves.toContain('All activations are in use')
    await plainWords(page)
    await noSentenceTwice(page)
    await nothingWraps(page)
    // Taller than the window (it scrolls): the whole page, list included.
    await shot(page, 'error-limit-reached-devices', true)

    await page.getByRole('button', { name: 'Free the seat of Office desktop' }).click()
    await page.locator('#status').getByText('Licensed').waitFor()
    await expect(list.isVisible()).resolves.toBe(false)
    const calls = await page.evaluate(() => (window as unknown as StubWindow).__calls)
    expect(calls).toEqual([
      `activate:${KEY}`,
      `devices:${KEY}`,
      `free:5c6c902d-0000-4000-8000-000000000002:${KEY}`,
      `activate:${KEY}`,
    ])
    expect(page.problems).toEqual([])
  })

  it('says once that the server cannot be reached, with the date grace ends, and checks again', async () => {
    const page = await open({ status: grace('unreachable'), refresh: active() })
    await page.locator('#status').getByText('Working offline').waitFor()
    const text = await seen(page.locator('main'))
    expect(text).toContain('The app keeps working until March 4, 2026 (in 3 days).')
    expect(text).toContain('Connect to the internet so your license can be checked.')
    // The state's error is not shown beside the summary that already says it.
    await expect(page.getByRole('alert').isVisible()).resolves.toBe(false)
    await noSentenceTwice(page)
    await nothingWraps(page)
    await shot(page, 'grace-offline')

    await page.getByRole('button', { name: 'Check again' }).click()
    await page.getByRole('status').getByText('Your license is confirmed.').waitFor()
    await expect(seen(page.locator('#status'))).resolves.toBe('Licensed')
    expect(page.problems).toEqual([])
  })

  it('asks for the key when the field is empty, without calling main', async () => {
    const page = await open({ status: NOT_ACTIVATED })
    await page.getByRole('button', { name: 'Activate' }).click()
    await expect(seen(page.getByRole('alert'))).resolves.toBe('Enter your license key.')
    const calls = await page.evaluate(() => (window as unknown as StubWindow).__calls)
    expect(calls).toEqual([])
  })

  it('during a trial shows the days left, the Buy link, the key field and Continue', async () => {
    const trialing = view({
      status: 'trial',
      trial: { startedAt: NOW - 5 * DAY, endsAt: NOW + 9 * DAY, daysLeft: 9 },
      integrity: 'keychain',
    })
    const page = await open({ status: trialing, activate: { ok: true, state: active() } })
    await page.locator('#status').getByText('Trial: 9 days left').waitFor()
    const text = await seen(page.locator('main'))
    expect(text).toContain('You are trying this app until March 10, 2026.')
    await expect(
      page.getByRole('link', { name: 'Buy a license' }).getAttribute('href'),
    ).resolves.toBe('https://acme.example/buy')
    await expect(page.getByRole('link', { name: 'Buy a license' }).isVisible()).resolves.toBe(true)
    await expect(page.getByRole('button', { name: 'Continue' }).isVisible()).resolves.toBe(true)
    await expect(
      page.getByRole('button', { name: 'Deactivate this computer' }).isVisible(),
    ).resolves.toBe(false)
    await nothingWraps(page)
    await noSentenceTwice(page)
    await plainWords(page)
    await shot(page, 'trial')
    // Activating ends the trial: the days left go.
    await page
      .getByRole('textbox', { name: 'License key' })
      .fill('ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427')
    await page.getByRole('button', { name: 'Activate' }).click()
    await page.locator('#status').getByText('Licensed').waitFor()
    expect(await seen(page.locator('main'))).not.toContain('days left')
    expect(page.problems).toEqual([])
    await page.context().close()
  })

  it('explains a copied profile and offers to activate this computer', async () => {
    const page = await open({
      status: inactive('machine_mismatch', {
        detail: 'The license record on this computer was encrypted by another user account.',
      }),
    })
    await page.getByText('activated on a different computer or user account').waitFor()
    await expect(page.getByRole('textbox', { name: 'License key' }).isVisible()).resolves.toBe(true)
    // Polar's or the store's own detail is for developers: not on the page.
    expect(await seen(page.locator('main'))).not.toContain('encrypted by another user account')
  })

  const everyState: Array<[string, RendererLicenseState]> = [
    ['active-until', active(NOW + 200 * DAY)],
    ['grace-due', grace('revalidation_due')],
    ...(Object.keys(REASONS) as InactiveReason[])
      .filter((reason) => reason !== 'not_activated')
      .map((reason): [string, RendererLicenseState] => [
        `inactive-${reason.replaceAll('_', '-')}`,
        inactive(
          reason,
          reason === 'expired' ? { license: { ...LICENSE, expiresAt: NOW - 3 * DAY } } : {},
        ),
      ]),
  ]
  it.each(everyState)(
    'shows %s in plain words, each once, buttons on one line',
    async (name, state) => {
      const page = await open({ status: state })
      await page.locator('#status').getByText(state.words.title).waitFor()
      const text = await seen(page.locator('main'))
      expect(text).toContain(state.words.detail)
      await plainWords(page)
      await noSentenceTwice(page)
      await nothingWraps(page)
      await shot(page, name)
      expect(page.problems).toEqual([])
      await page.context().close()
    },
  )

  it.each<[string, RendererLicenseState, RendererActionResult | undefined]>([
    ['not-activated', NOT_ACTIVATED, undefined],
    ['activated', active(), undefined],
    ['grace-offline', grace('unreachable'), undefined],
    ['inactive-revoked', inactive('revoked'), undefined],
    ['error-limit-reached', NOT_ACTIVATED, failure('activation_limit_reached')],
  ])('shows %s in the dark theme too', async (name, status, result) => {
    const page = await open({ status, ...(result ? { activate: result } : {}) }, 'dark')
    await page.locator('#status').getByText(status.words.title).waitFor()
    if (result !== undefined) {
      await page.getByRole('textbox').fill('ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427')
      await page.getByRole('button', { name: 'Activate' }).click()
      await page.getByRole('alert').waitFor()
    }
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
    expect(background).toBe('rgb(24, 25, 28)')
    await nothingWraps(page)
    await shot(page, `${name}-dark`)
    expect(page.problems).toEqual([])
    await page.context().close()
  })

  it('says so when the preload did not expose the bridge', async () => {
    const page = await open(null)
    await expect(seen(page.getByRole('alert'))).resolves.toContain('keygate preload is missing')
    expect(page.problems).toEqual([])
  })

  it('blocks eval, inline script and every request with its CSP', async () => {
    const page = await open({ status: NOT_ACTIVATED })
    // Its own script is allowed by hash only: no 'unsafe-eval', no 'unsafe-inline'.
    const csp = await page
      .locator('meta[http-equiv="Content-Security-Policy"]')
      .getAttribute('content')
    expect(csp).toMatch(/(^|; )default-src 'none'(;|$)/)
    expect(/script-src [^;]*/.exec(csp ?? '')?.[0]).toMatch(/^script-src 'sha256-[A-Za-z0-9+/=]+'$/)
    // Images from data: only (the app's icon, embedded).
    expect(/img-src [^;]*/.exec(csp ?? '')?.[0]).toBe('img-src data:')
    const tried = await page.evaluate(async () => {
      const flags = window as unknown as { __inline?: boolean; __handler?: boolean }
      const script = document.createElement('script')
      script.textContent = 'window.__inline = true'
      document.body.append(script)
      const button = document.createElement('button')
      button.setAttribute('onclick', 'window.__handler = true')
      document.body.append(button)
      button.click()
      let fetched = 'blocked'
      await fetch('https://example.com/').then(
        () => {
          fetched = 'ran'
        },
        () => undefined,
      )
      return {
        inline: flags.__inline ? 'ran' : 'blocked',
        handler: flags.__handler ? 'ran' : 'blocked',
        fetch: fetched,
      }
    })
    expect(tried).toEqual({ inline: 'blocked', handler: 'blocked', fetch: 'blocked' })
    // Refused by the CSP before any request left (the route would have seen it).
    expect(page.problems.filter((problem) => problem.startsWith('request:'))).toEqual([])
  })

  it('says so when the window got the read-only preload, and offers no form', async () => {
    const page = await open({ status: NOT_ACTIVATED, readOnly: true })
    await expect(seen(page.getByRole('alert'))).resolves.toContain("mode: 'full'")
    await expect(page.getByRole('textbox').isVisible()).resolves.toBe(false)
    expect(page.problems).toEqual([])
  })
})
