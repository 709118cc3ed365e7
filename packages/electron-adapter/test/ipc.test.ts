import { KeygateError } from '@keygate/core'
import type { BrowserWindowConstructorOptions } from 'electron'
import { afterEach, describe, expect, it } from 'vitest'
import { activationPageUrl } from '../src/activation-page.js'
import { CHANNELS } from '../src/channels.js'
import { activationPreloadPath } from '../src/preload-paths.js'
import { toErrorData } from '../src/renderer-state.js'
import type { RendererActionResult, RendererLicenseState } from '../src/renderer-types.js'
import { type FakeSender, FakeWindow, fakeApp, fakeSender, invokeEvent } from './fakes.js'
import { harness } from './harness.js'

const APP_PAGE = 'file:///opt/Acme/resources/app.asar/renderer/index.html'

const made: Array<ReturnType<typeof harness>> = []
const setup = async (...args: Parameters<typeof harness>) => {
  const h = harness(...args)
  made.push(h)
  await h.gate.start()
  const call = <T>(sender: FakeSender, channel: string, ...rest: unknown[]) =>
    h.ipcMain.invoke(channel, invokeEvent(sender), ...rest) as Promise<T>
  /** The built-in activation window's page, the one sender allowed to change the license. */
  const activationPage = () => {
    void h.gate.openActivationWindow(FakeWindow)
    const window = FakeWindow.made.at(-1) as FakeWindow
    return fakeSender(window.url, window.webContents.id)
  }
  return { ...h, call, activationPage }
}
afterEach(() => {
  for (const h of made.splice(0)) h.gate.stop()
})

describe('the IPC bridge', () => {
  it('registers namespaced channels with ipcMain.handle', async () => {
    const h = await setup()
    expect([...h.ipcMain.handlers.keys()].sort()).toEqual(
      [
        'keygate:activate',
        'keygate:deactivate',
        'keygate:devices',
        'keygate:free-device',
        'keygate:refresh',
        'keygate:status',
        'keygate:subscribe',
        'keygate:unsubscribe',
      ].sort(),
    )
  })

  it.each([
    ['a remote site', 'https://evil.example/phish.html'],
    ['a file outside the app', 'file:///home/alice/Downloads/page.html'],
    ['a look-alike folder', 'file:///opt/Acme/resources/app.asar.evil/index.html'],
    ['an unknown data: page', 'data:text/html,<script>keygate.activate("x")</script>'],
    ['a dev server not listed', 'http://localhost:5173/'],
  ])('refuses calls from %s', async (_what, url) => {
    const h = await setup()
    await h.gate.activate(h.key.key)
    const requests = h.polar.requests.length
    for (const channel of [CHANNELS.status, CHANNELS.activate, CHANNELS.refresh]) {
      const refused = h.call(fakeSender(url), channel, h.key.key)
      await expect(refused).rejects.toThrow(KeygateError)
      await expect(refused).rejects.toMatchObject({ code: 'forbidden' })
    }
    expect(h.polar.requests.length).toBe(requests)
  })

  it('refuses a call whose frame is gone', async () => {
    const h = await setup()
    const sender = fakeSender(APP_PAGE)
    await expect(
      h.ipcMain.invoke(CHANNELS.status, invokeEvent(sender, null)),
    ).rejects.toMatchObject({
      code: 'forbidden',
    })
  })

  it("judges the calling frame, not the window: a foreign iframe in the app's page is refused", async () => {
    const h = await setup()
    const sender = fakeSender(APP_PAGE)
    const event = invokeEvent(sender, 'https://ads.example/frame.html')
    await expect(h.ipcMain.invoke(CHANNELS.status, event)).rejects.toMatchObject({
      code: 'forbidden',
    })
  })

  it('serves the app’s own pages and the origins it allows', async () => {
    const h = await setup({ gate: { allowedOrigins: ['http://localhost:5173', 'app://bundle'] } })
    for (const url of [APP_PAGE, 'http://localhost:5173/#/settings', 'app://bundle/index.html']) {
      const state = await h.call<RendererLicenseState>(fakeSender(url), CHANNELS.status)
      expect(state).toMatchObject({ status: 'inactive', reason: 'not_activated' })
    }
  })

  it('activates through IPC and never sends the key back', async () => {
    const h = await setup()
    const result = await h.call<RendererActionResult>(
      h.activationPage(),
      CHANNELS.activate,
      h.key.key,
    )
    expect(result).toMatchObject({
      ok: true,
      state: { status: 'active', license: { displayKey: h.key.displayKey }, encryption: 'os' },
    })
    const status = await h.call<RendererLicenseState>(fakeSender(APP_PAGE), CHANNELS.status)
    for (const answer of [result, status]) {
      expect(JSON.stringify(answer)).not.toContain(h.key.key)
      // Plain data only: it survives structured cloning unchanged.
      expect(structuredClone(answer)).toEqual(answer)
    }
  })

  it('answers a failed activation with the error as data, key masked', async () => {
    const h = await setup()
    h.polar.addActivation(h.key)
    h.polar.addActivation(h.key) // both seats taken
    const result = await h.call<RendererActionResult>(
      h.activationPage(),
      CHANNELS.activate,
      h.key.key,
    )
    expect(result).toMatchObject({
      ok: false,
      error: { name: 'KeygateError', code: 'activation_limit_reached' },
      state: { status: 'inactive', reason: 'not_activated' },
    })
    expect(JSON.stringify(result)).not.toContain(h.key.key)
  })

  it('refuses a key that is not a string before it reaches core', async () => {
    const h = await setup()
    const page = h.activationPage()
    for (const junk of [undefined, 42, { key: h.key.key }, '   ', 'x'.repeat(5000)]) {
      const result = await h.call<RendererActionResult>(page, CHANNELS.activate, junk)
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    }
    expect(h.polar.requests).toHaveLength(0)
  })

  it('deactivates through IPC', async () => {
    const h = await setup()
    await h.gate.activate(h.key.key)
    const result = await h.call<RendererActionResult>(h.activationPage(), CHANNELS.deactivate)
    expect(result).toMatchObject({
      ok: true,
      state: { status: 'inactive', reason: 'not_activated' },
    })
    expect(h.polar.listActivations(h.key)).toHaveLength(0)
  })

  it('throttles renderer-asked refreshes so a loop cannot spend the rate limit', async () => {
    const h = await setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    const sender = h.activationPage()
    for (let i = 0; i < 5; i++) await h.call(sender, CHANNELS.refresh)
    expect(h.count('validate')).toBe(1)
  })

  it('pushes changes to subscribed windows only, and only while they show an allowed page', async () => {
    const h = await setup()
    const subscribed = fakeSender(APP_PAGE)
    const other = fakeSender(APP_PAGE)
    const closed = fakeSender(APP_PAGE)
    await h.call(subscribed, CHANNELS.subscribe)
    await h.call(closed, CHANNELS.subscribe)
    closed.destroyed = true

    await h.gate.activate(h.key.key)
    expect(subscribed.sent).toHaveLength(1)
    expect(subscribed.sent[0]).toMatchObject({
      channel: CHANNELS.changed,
      args: [{ status: 'active', license: { displayKey: h.key.displayKey } }],
    })
    expect(JSON.stringify(subscribed.sent)).not.toContain(h.key.key)
    expect(other.sent).toHaveLength(0)
    expect(closed.sent).toHaveLength(0)

    subscribed.url = 'https://evil.example/' // navigated away
    await h.gate.deactivate()
    expect(subscribed.sent).toHaveLength(1)

    subscribed.url = APP_PAGE
    await h.call(subscribed, CHANNELS.unsubscribe)
    await h.gate.activate(h.key.key)
    expect(subscribed.sent).toHaveLength(1)
  })

  it("answers and pushes in the runtime's locale when app.getLocale() is not a locale ('' on Windows before ready, no locales folder)", async () => {
    const app = { ...fakeApp('/nonexistent/userData'), getLocale: () => '' }
    const h = await setup({ electron: { app } })
    const subscribed = fakeSender(APP_PAGE)
    await h.call(subscribed, CHANNELS.subscribe)
    const state = await h.call<RendererLicenseState>(subscribed, CHANNELS.status)
    expect(state).toMatchObject({ status: 'inactive', words: { title: expect.any(String) } })
    // A push that threw would surface as an uncaught exception in main (an error dialog).
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown) => uncaught.push(error)
    process.on('uncaughtException', onUncaught)
    try {
      await h.gate.activate(h.key.key)
      await new Promise((resolve) => setTimeout(resolve, 10))
    } finally {
      process.off('uncaughtException', onUncaught)
    }
    expect(uncaught).toEqual([])
    expect(subscribed.sent).toHaveLength(1)
    expect(subscribed.sent[0]).toMatchObject({ args: [{ status: 'active' }] })
  })

  it('removes its handlers on stop()', async () => {
    const h = await setup()
    h.gate.stop()
    expect(h.ipcMain.handlers.size).toBe(0)
  })
})

describe('errors crossing IPC', () => {
  it('never carry the key, even when a foreign error echoes it', () => {
    const key = 'ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427'
    const data = toErrorData(new Error(`request failed for ${key}`), key)
    expect(data).toMatchObject({ name: 'KeygateError', code: 'server' })
    expect(data.message).not.toContain(key)
    expect(data.message).toContain('****-CCA427')
  })

  it('never carry the key in another case either', () => {
    const key = 'ACME-1B4E28BA-2FA1-11D2-883F-0016D3CCA427'
    const echo = new Error(`no such key ${key.toLowerCase()} (was ${key})`)
    const data = toErrorData(echo, key)
    expect(data.message.toLowerCase()).not.toContain(key.toLowerCase())
    expect(data.message).toContain('****-CCA427')
  })
})

describe('the activation window', () => {
  it('opens a locked-down window on the built-in page and trusts exactly that page', async () => {
    const h = await setup()
    void h.gate.openActivationWindow(FakeWindow)
    const window = FakeWindow.made.at(-1) as FakeWindow
    expect(window.options.webPreferences).toEqual({
      preload: activationPreloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
      partition: 'keygate-activation',
    })
    expect(window.options.title).toBe('Acme Editor license')
    const popup = {
      url: 'https://evil.example/',
      frameName: '',
      features: '',
      disposition: 'new-window' as const,
      referrer: { url: '', policy: 'default' as const },
    }
    expect(window.openHandler?.(popup)).toEqual({ action: 'deny' })
    expect(window.url).toBe(activationPageUrl({ productName: 'Acme Editor' }))

    const page = fakeSender(window.url, window.webContents.id)
    await expect(h.call(page, CHANNELS.status)).resolves.toMatchObject({ status: 'inactive' })
    const tampered = fakeSender(`${window.url}AA`, window.webContents.id)
    await expect(h.call(tampered, CHANNELS.status)).rejects.toMatchObject({ code: 'forbidden' })
  })

  it('opens its buy and portal links in the browser, and nothing else', async () => {
    const opened: string[] = []
    const shell = { openExternal: async (url: string) => void opened.push(url) }
    const h = await setup({ electron: { shell } })
    void h.gate.openActivationWindow(FakeWindow, {
      buyUrl: 'https://acme.example/buy',
      portalUrl: 'https://polar.sh/acme/portal',
    })
    const window = FakeWindow.made.at(-1) as FakeWindow
    const open = (url: string) =>
      window.openHandler?.({
        url,
        frameName: '',
        features: '',
        disposition: 'foreground-tab',
        referrer: { url: '', policy: 'default' },
      })
    expect(open('https://acme.example/buy')).toEqual({ action: 'deny' })
    expect(open('https://polar.sh/acme/portal')).toEqual({ action: 'deny' })
    expect(open('https://evil.example/')).toEqual({ action: 'deny' })
    expect(open('file:///etc/passwd')).toEqual({ action: 'deny' })
    await Promise.resolve()
    expect(opened).toEqual(['https://acme.example/buy', 'https://polar.sh/acme/portal'])
  })

  it('refuses links that are not https, and links without electron.shell', async () => {
    const shell = { openExternal: async () => undefined }
    const h = await setup({ electron: { shell } })
    for (const buyUrl of [
      'http://acme.example/buy',
      'javascript:alert(1)',
      'https://u:p@acme.example/',
    ]) {
      await expect(h.gate.openActivationWindow(FakeWindow, { buyUrl })).rejects.toMatchObject({
        code: 'invalid_input',
      })
    }
    const without = await setup()
    await expect(
      without.gate.openActivationWindow(FakeWindow, { portalUrl: 'https://polar.sh/acme/portal' }),
    ).rejects.toMatchObject({ code: 'invalid_input' })
  })

  it("shows the app's icon from a file, and words in the user's locale", async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const icon = join(mkdtempSync(join(tmpdir(), 'keygate-icon-')), 'icon.png')
    writeFileSync(icon, Buffer.from([0x89, 0x50, 0x4e, 0x47]))
    const h = await setup()
    const app = { ...h.app, getLocale: () => 'de-DE' }
    const german = await setup({ electron: { app } })
    void german.gate.openActivationWindow(FakeWindow, { icon })
    const window = FakeWindow.made.at(-1) as FakeWindow
    const html = Buffer.from(window.url.split(',')[1] ?? '', 'base64').toString()
    expect(html).toContain('<img id="icon" src="data:image/png;base64,iVBORw==" alt="">')
    const page = fakeSender(window.url, window.webContents.id)
    const key = german.polar.createKey({ limitActivations: 1, expiresAt: '2031-03-01T12:00:00Z' })
    await german.gate.activate(key.key)
    const state = await german.call<RendererLicenseState>(page, CHANNELS.status)
    expect(state.words.title).toBe('Licensed')
    // Dates in the words come formatted for the user's locale (app.getLocale()).
    expect(state.words.detail).toContain('1. März 2031')
  })

  it('keeps its secure settings whatever the caller passes (even past the types)', async () => {
    const h = await setup()
    const weakened = {
      preload: '/app/preload.cjs',
      window: {
        width: 600,
        webPreferences: {
          contextIsolation: false,
          sandbox: false,
          nodeIntegration: true,
          webSecurity: false,
        },
      } as BrowserWindowConstructorOptions,
    }
    void h.gate.openActivationWindow(FakeWindow, weakened)
    const window = FakeWindow.made.at(-1) as FakeWindow
    expect(window.options.width).toBe(600)
    expect(window.options.webPreferences).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    })
  })
})
