import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Locator, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { activationPageUrl } from '../src/activation-page.js'
import type {
  KeygateRendererApi,
  RendererActionResult,
  RendererLicenseState,
} from '../src/renderer-types.js'

// The activation page in a real browser (Debian's chromium), with a stubbed
// `window.keygate`: what a person sees and can do, step by step.

const CHROMIUM = process.env.KEYGATE_CHROMIUM ?? '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
// Under CI the tests must run (and fail if chromium is missing); locally they may skip.
const SKIP = !HAVE_CHROMIUM && !process.env.CI
if (SKIP) {
  console.warn(
    `[keygate] Skipping the activation page browser tests: no chromium at ${CHROMIUM}. Install it with \`apt-get install chromium\` or set KEYGATE_CHROMIUM.`,
  )
}

const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url))
const DAY = 24 * 60 * 60 * 1000
const URL_ = activationPageUrl({ productName: 'Acme Editor' })

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
const NOT_ACTIVATED: RendererLicenseState = {
  status: 'inactive',
  reason: 'not_activated',
  encryption: 'os',
}
const active = (): RendererLicenseState => ({
  status: 'active',
  license: LICENSE,
  activation: { id: 'a1', label: 'Alice laptop', createdAt: Date.now() },
  validatedAt: Date.now(),
  nextCheckAt: Date.now() + DAY,
  expiresAt: null,
  encryption: 'os',
})
const failure = (code: string, message: string, extra: object = {}): RendererActionResult =>
  ({
    ok: false,
    error: { name: 'KeygateError', code, message: `[keygate] ${message}`, ...extra },
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
}

interface StubWindow {
  keygate?: KeygateRendererApi
  __calls: string[]
  __release?: () => void
}

let browser: Browser

beforeAll(async () => {
  if (SKIP) return
  mkdirSync(RESULTS, { recursive: true })
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
async function open(stub: Stub | null): Promise<Page & { problems: string[] }> {
  const context = await browser.newContext({
    locale: 'en-US',
    viewport: { width: 480, height: 560 },
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
          const answer = s.activate ?? {
            ok: false,
            error: { name: 'KeygateError', code: 'server', message: 'no stub' },
            state: s.status,
          }
          if (!s.hold) return Promise.resolve(answer)
          return new Promise((resolve) => {
            w.__release = () => resolve(answer)
          })
        },
        deactivate: async () => ({
          ok: true,
          state: { status: 'inactive', reason: 'not_activated', encryption: 'os' },
        }),
        refresh: async () => {
          w.__calls.push('refresh')
          return s.refresh ?? s.status
        },
        onChange: (listener) => {
          listeners.push(listener)
          return () => undefined
        },
      }
      if (s.readOnly) {
        const { status, onChange } = w.keygate
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

/** Kept as a test artifact; the key field is masked, as keys never go into artifacts. */
async function shot(page: Page, name: string) {
  await page.screenshot({
    path: `${RESULTS}activation-${name}.png`,
    fullPage: true,
    mask: [page.getByRole('textbox')],
  })
}

describe.skipIf(SKIP)('the activation page in chromium', () => {
  it('walks a person through a successful activation', async () => {
    const page = await open({
      status: NOT_ACTIVATED,
      activate: { ok: true, state: active() },
      hold: true,
    })
    await expect(
      page.getByRole('heading', { name: 'Activate Acme Editor' }).isVisible(),
    ).resolves.toBe(true)
    await expect(page.title()).resolves.toBe('Activate Acme Editor')
    await page
      .getByRole('textbox', { name: 'License key' })
      .fill('  ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427 ')
    await page.getByRole('button', { name: 'Activate' }).click()

    // Progress while main is talking to Polar.
    await page.getByRole('status').getByText('Activating your license…').waitFor()
    await expect(page.getByRole('button', { name: 'Activating…' }).isDisabled()).resolves.toBe(true)
    await shot(page, 'progress')
    await page.evaluate(() => (window as unknown as StubWindow).__release?.())

    await page.getByRole('heading', { name: 'Acme Editor is activated' }).waitFor()
    const text = await seen(page.locator('main'))
    expect(text).toContain('This computer is activated with license key ****-CCA427.')
    expect(text).toContain('Activated. Thank you!')
    await expect(page.getByRole('button', { name: 'Continue' }).isVisible()).resolves.toBe(true)
    await expect(page.getByRole('textbox', { name: 'License key' }).isVisible()).resolves.toBe(
      false,
    )
    // The key is trimmed before it is sent, and the field is emptied afterwards.
    const calls = await page.evaluate(() => (window as unknown as StubWindow).__calls)
    expect(calls).toEqual(['activate:ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427'])
    await shot(page, 'success')
    expect(page.problems).toEqual([])
  })

  it.each([
    {
      name: 'limit-reached',
      result: failure('activation_limit_reached', 'License key activation limit already reached'),
      says: [
        'free a seat',
        'customer portal',
        'deactivate it in the app on a computer you no longer use',
      ],
    },
    {
      name: 'not-found',
      result: failure('key_not_found', 'This license key was not found.'),
      says: ['bought it in the last few minutes, wait a minute and try again'],
    },
    {
      name: 'offline',
      result: failure('network', 'Polar could not be reached: fetch failed'),
      says: ["Couldn't reach the license server", 'Check your internet connection', 'try again'],
    },
    {
      name: 'rate-limited',
      result: failure('rate_limited', 'Too many requests', { retryAfter: 60 }),
      says: ['Wait 60 seconds, then try again'],
    },
    {
      name: 'revoked',
      result: failure('revoked', 'License key is no longer active.'),
      says: ['Contact the seller'],
    },
  ])('explains a failed activation in plain words: $name', async ({ name, result, says }) => {
    const page = await open({ status: NOT_ACTIVATED, activate: result })
    const input = page.getByRole('textbox', { name: 'License key' })
    await input.fill('ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427')
    await page.getByRole('button', { name: 'Activate' }).click()
    const alert = page.getByRole('alert')
    await alert.waitFor()
    const text = await seen(alert)
    for (const phrase of says) expect(text).toContain(phrase)
    expect(text).not.toContain('[keygate]')
    await expect(input.getAttribute('aria-invalid')).resolves.toBe('true')
    // Still on the form, ready to try again (after the wait, when rate limited).
    await expect(
      page.getByRole('heading', { name: 'Activate Acme Editor' }).isVisible(),
    ).resolves.toBe(true)
    await expect(page.getByRole('button', { name: 'Activate' }).isDisabled()).resolves.toBe(
      name === 'rate-limited',
    )
    await shot(page, name)
    expect(page.problems).toEqual([])
  })

  it('shows the grace days left when the license server cannot be reached, and checks again', async () => {
    const page = await open({
      status: {
        ...(active() as Extract<RendererLicenseState, { status: 'active' }>),
        status: 'grace',
        why: 'unreachable',
        graceEndsAt: Date.now() + 3 * DAY - 60_000,
        error: { name: 'KeygateError', code: 'network', message: '[keygate] offline' },
      },
      refresh: active(),
    })
    await page.getByText('3 more days').waitFor()
    const text = await seen(page.locator('main'))
    expect(text).toContain("license server can't be reached")
    expect(text).toContain('Connect to the internet and choose Check again')
    await shot(page, 'grace')

    await page.getByRole('button', { name: 'Check again' }).click()
    await page.getByRole('status').getByText('Your license is confirmed.').waitFor()
    await expect(
      page.getByRole('heading', { name: 'Acme Editor is activated' }).isVisible(),
    ).resolves.toBe(true)
    expect(page.problems).toEqual([])
  })

  it('asks for the key when the field is empty, without calling main', async () => {
    const page = await open({ status: NOT_ACTIVATED })
    await page.getByRole('button', { name: 'Activate' }).click()
    await expect(seen(page.getByRole('alert'))).resolves.toBe('Enter your license key.')
    const calls = await page.evaluate(() => (window as unknown as StubWindow).__calls)
    expect(calls).toEqual([])
  })

  it('explains a copied profile and offers to activate this computer', async () => {
    const page = await open({
      status: {
        status: 'inactive',
        reason: 'machine_mismatch',
        detail: 'The license record on this computer was encrypted by another user account.',
        encryption: 'os',
      },
    })
    await page.getByText('set up on another computer or user account').waitFor()
    await expect(page.getByRole('textbox', { name: 'License key' }).isVisible()).resolves.toBe(true)
    expect(await seen(page.locator('main'))).toContain(
      'Details: The license record on this computer',
    )
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
