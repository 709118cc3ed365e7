import { KeygateError } from '@keygate/core'
import type { BrowserWindow, SafeStorage, WebContents } from 'electron'
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import { CHANNELS } from '../src/channels.js'
import type {
  ActivationBrowserWindow,
  ElectronSafeStorage,
  ElectronSafeStorageAsync,
  ManagingWebContents,
} from '../src/electron-types.js'
import type { RendererActionResult, RendererLicenseState } from '../src/renderer-types.js'
import { type FakeSender, FakeWindow, fakeSafeStorage, fakeSender, invokeEvent } from './fakes.js'
import { harness, START } from './harness.js'

// Issue 12, driven as a hostile or buggy renderer would: what each kind of window may do.

const APP_PAGE = 'file:///opt/Acme/resources/app.asar/renderer/index.html'
const POLAR_LIMIT = { requests: 3, perMs: 1000, blockMs: 60_000 }

const made: Array<ReturnType<typeof harness>> = []
async function setup(...args: Parameters<typeof harness>) {
  const h = harness(...args)
  made.push(h)
  await h.gate.start()
  const call = <T>(sender: FakeSender, channel: string, ...rest: unknown[]) =>
    h.ipcMain.invoke(channel, invokeEvent(sender), ...rest) as Promise<T>
  const openActivation = () => {
    const result = h.gate.openActivationWindow(FakeWindow)
    const window = FakeWindow.made.at(-1) as FakeWindow
    return { window, result, page: fakeSender(window.url, window.webContents.id) }
  }
  return { ...h, call, openActivation }
}
afterEach(() => {
  for (const h of made.splice(0)) h.gate.stop()
  vi.useRealTimers()
})

describe('pacing: a page looping activate() never gets the office blocked by Polar', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START })
  })

  it('one activation at a time, spaced out, and never more than 3 requests to Polar in a second', async () => {
    const h = await setup({ polar: { rateLimit: POLAR_LIMIT } })
    const { page } = h.openActivation()
    const wrong = `${h.key.key.slice(0, -4)}0000` // a typo: Polar answers 404
    const answers: Array<Promise<RendererActionResult>> = []
    // As fast as a script can: five at once, every 100 ms, for two minutes.
    for (let tick = 0; tick < 1200; tick++) {
      for (let i = 0; i < 5; i++) answers.push(h.call(page, CHANNELS.activate, wrong))
      await vi.advanceTimersByTimeAsync(100)
    }
    const results = await Promise.all(answers)
    expect(h.polar.requests.filter((r) => r.status === 429)).toEqual([])
    const times = h.polar.requests.map((r) => r.at)
    for (let i = 3; i < times.length; i++) {
      expect((times[i] ?? 0) - (times[i - 3] ?? 0)).toBeGreaterThanOrEqual(1000)
    }
    // Paced ones are refused with a wait, never queued up behind each other.
    const refused = results.filter((r) => !r.ok && r.error.code === 'rate_limited')
    expect(refused.length).toBeGreaterThan(5000)
    expect(refused[0]).toMatchObject({ error: { retryAfter: expect.any(Number) } })
    // Each attempt validates the key first, and Polar refuses the typo there: no activate.
    expect(h.count('activate')).toBe(0)
    expect(h.count('validate')).toBeLessThanOrEqual(41) // at most one attempt per 3 s
    expect(h.count('validate')).toBeGreaterThan(1)

    // A colleague's app behind the same IP still gets through.
    const colleague = await h.gate.refresh()
    expect(colleague.error?.code).not.toBe('rate_limited')
  })

  it("paces main's own requests too: a burst of calls never sends 4 within a second", async () => {
    const h = await setup({ polar: { rateLimit: POLAR_LIMIT } })
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    const burst = Array.from({ length: 8 }, () => h.gate.check({ online: 'always' }))
    await vi.advanceTimersByTimeAsync(10_000)
    const states = await Promise.all(burst)
    for (const state of states) expect(state).toMatchObject({ status: 'active' })
    expect(h.polar.requests.filter((r) => r.status === 429)).toEqual([])
    expect(h.count('validate')).toBe(8)
  })
})

describe('one path, one check', () => {
  it('an activation over IPC with no keyring and no plain text allowed asks Polar nothing', async () => {
    const safeStorage = fakeSafeStorage()
    safeStorage.available = false
    const h = await setup({ safeStorage, gate: { allowPlainText: false } })
    const { page } = h.openActivation()
    const result = await h.call<RendererActionResult>(page, CHANNELS.activate, h.key.key)
    expect(result).toMatchObject({ ok: false, error: { code: 'store' } })
    expect(h.polar.requests).toHaveLength(0)
    expect(h.polar.listActivations(h.key)).toHaveLength(0)
  })
})

describe('least privilege', () => {
  it('an app window may read the state, never change it', async () => {
    const h = await setup()
    await h.gate.activate(h.key.key)
    const app = fakeSender(APP_PAGE)
    await expect(h.call(app, CHANNELS.status)).resolves.toMatchObject({ status: 'active' })
    await expect(h.call(app, CHANNELS.subscribe)).resolves.toBeUndefined()
    const requests = h.polar.requests.length
    for (const channel of [CHANNELS.deactivate, CHANNELS.activate, CHANNELS.refresh]) {
      const refused = h.call(app, channel, h.key.key)
      await expect(refused).rejects.toBeInstanceOf(KeygateError)
      await expect(refused).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(/only the activation window/),
      })
    }
    expect(h.polar.requests.length).toBe(requests)
    expect(h.polar.listActivations(h.key)).toHaveLength(1)
    expect(h.gate.state).toMatchObject({ status: 'active' })
  })

  it("the activation page's URL in another window is only an app page's URL: refused", async () => {
    const h = await setup()
    const { window } = h.openActivation()
    const other = fakeSender(window.url) // same data: URL, another webContents
    await expect(h.call(other, CHANNELS.status)).rejects.toMatchObject({ code: 'forbidden' })
  })

  it('an app may let its own activation UI change the license, until it revokes that', async () => {
    const h = await setup()
    const app = fakeSender(APP_PAGE)
    const destroyed: Array<() => void> = []
    const revoke = h.gate.allowLicenseChanges({
      id: app.id,
      once: (_event, listener) => destroyed.push(listener),
    })
    const result = await h.call<RendererActionResult>(app, CHANNELS.activate, h.key.key)
    expect(result).toMatchObject({ ok: true, state: { status: 'active' } })
    revoke()
    await expect(h.call(app, CHANNELS.deactivate)).rejects.toMatchObject({ code: 'forbidden' })
    expect(destroyed).toHaveLength(1)
  })

  it('refuses another key while a grant is active, until the old seat is freed', async () => {
    const h = await setup()
    const { page } = h.openActivation()
    await h.gate.activate(h.key.key)
    const other = h.polar.createKey({ prefix: 'OTHER', limitActivations: 1 })

    const swapped = await h.call<RendererActionResult>(page, CHANNELS.activate, other.key)
    expect(swapped).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(JSON.stringify(swapped)).not.toContain(other.key)
    await expect(h.gate.activate(other.key)).rejects.toMatchObject({ code: 'forbidden' })
    expect(h.polar.listActivations(other)).toHaveLength(0)
    expect(h.polar.listActivations(h.key)).toHaveLength(1)
    expect(h.gate.state).toMatchObject({ license: { displayKey: h.key.displayKey } })

    // The same key again is fine (this machine's seat is reused).
    await expect(h.gate.activate(h.key.key)).resolves.toMatchObject({ status: 'active' })
    expect(h.polar.listActivations(h.key)).toHaveLength(1)

    await h.gate.deactivate()
    await expect(h.gate.activate(other.key)).resolves.toMatchObject({ status: 'active' })
    expect(h.polar.listActivations(h.key)).toHaveLength(0)
  })
})

describe('the activation window', () => {
  it('stops trusting its page once it closes', async () => {
    const h = await setup()
    const { window, page, result } = h.openActivation()
    await expect(h.call(page, CHANNELS.status)).resolves.toMatchObject({ status: 'inactive' })
    window.close()
    await result
    for (const channel of [CHANNELS.status, CHANNELS.activate]) {
      await expect(h.call(page, channel, h.key.key)).rejects.toMatchObject({ code: 'forbidden' })
    }
  })

  it('blocks navigation, web views and every permission, in a session of its own', async () => {
    const h = await setup()
    const { window } = h.openActivation()
    expect(window.options.webPreferences?.partition).toBe('keygate-activation')
    expect(window.options.webPreferences?.partition?.startsWith('persist:')).toBe(false)
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-attach-webview']) {
      expect(window.webContents.emit(event)).toEqual({ prevented: true })
    }
    const granted: boolean[] = []
    window.permissionRequest?.(
      {} as Parameters<NonNullable<FakeWindow['permissionRequest']>>[0],
      'media',
      (yes) => granted.push(yes),
      {} as Parameters<NonNullable<FakeWindow['permissionRequest']>>[3],
    )
    expect(granted).toEqual([false])
    const checked = window.permissionCheck?.(
      null,
      'clipboard-read',
      'data:',
      {} as Parameters<NonNullable<FakeWindow['permissionCheck']>>[3],
    )
    expect(checked).toBe(false)
  })
})

describe('what a renderer can see', () => {
  it.each([
    ['about:blank', 'about:blank'],
    ['srcdoc', 'about:srcdoc'],
    ['blob:', 'blob:file:///4a1e5c2e-6f0e-4b8e-9d1f-1f2d3c4b5a69'],
    ['devtools:', 'devtools://devtools/bundled/inspector.html'],
    ['an empty URL', ''],
  ])('refuses %s frames', async (_what, url) => {
    const h = await setup()
    await expect(h.call(fakeSender(url), CHANNELS.status)).rejects.toMatchObject({
      code: 'forbidden',
    })
  })

  it('never hands a renderer the full key, in any answer or push', async () => {
    vi.useFakeTimers({ now: START })
    const h = await setup()
    const { page } = h.openActivation()
    const app = fakeSender(APP_PAGE)
    await h.call(app, CHANNELS.subscribe)
    await h.call(page, CHANNELS.subscribe)
    const lower = h.key.key.toLowerCase()
    const seen: unknown[] = []
    const later = () => vi.advanceTimersByTimeAsync(15_000)
    seen.push(await h.call(page, CHANNELS.activate, lower)) // not found
    await later()
    seen.push(await h.call(page, CHANNELS.activate, ` ${h.key.key}\n`))
    seen.push(await h.call<RendererLicenseState>(app, CHANNELS.status))
    await later()
    seen.push(await h.call(page, CHANNELS.refresh))
    h.polar.revoke(h.key)
    await later()
    seen.push(await h.call(page, CHANNELS.refresh))
    seen.push(await h.call(page, CHANNELS.deactivate))
    seen.push(app.sent, page.sent)
    const text = JSON.stringify(seen)
    expect(text).toContain(h.key.displayKey)
    expect(text.toLowerCase()).not.toContain(lower)
  })
})

// Checked by tsc (the workspace typecheck covers tests): Electron's real objects fit.
describe("Electron's own objects fit the adapter's types", () => {
  it('for every shape of safeStorage, BrowserWindow and WebContents', () => {
    // Electron 38 (the synchronous API), and newer ones with both APIs or only the new one.
    expectTypeOf<SafeStorage>().toExtend<ElectronSafeStorage>()
    expectTypeOf<SafeStorage & ElectronSafeStorageAsync>().toExtend<ElectronSafeStorage>()
    expectTypeOf<
      Pick<SafeStorage, 'getSelectedStorageBackend'> & ElectronSafeStorageAsync
    >().toExtend<ElectronSafeStorage>()
    expectTypeOf<BrowserWindow>().toExtend<ActivationBrowserWindow>()
    expectTypeOf<WebContents>().toExtend<ManagingWebContents>()
  })
})
