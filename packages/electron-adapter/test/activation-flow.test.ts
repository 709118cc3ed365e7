import { afterEach, expect, it } from 'vitest'
import { CHANNELS } from '../src/channels.js'
import type { ElectronLicenseState } from '../src/gate.js'
import type { RendererActionResult } from '../src/renderer-types.js'
import { FakeWindow, fakeSender, invokeEvent } from './fakes.js'
import { harness } from './harness.js'

// The README's main, step by step with the fakes: first start, the activation window,
// Continue opens the app, a revocation brings the activation window back.

const made: Array<ReturnType<typeof harness>> = []
afterEach(() => {
  for (const h of made.splice(0)) h.gate.stop()
})

it('runs the whole flow: activate, Continue, the app; revoked, the activation window again', async () => {
  const h = harness()
  made.push(h)
  const licensing = h.gate
  const appWindows: Array<{ open: boolean; close(): void }> = []
  let mainWindow: { open: boolean; close(): void } | undefined
  let quit = false
  const openMainWindow = () => {
    const window = {
      open: true,
      close() {
        window.open = false
      },
    }
    appWindows.push(window)
    return window
  }

  // As in the README.
  async function show(state: ElectronLicenseState): Promise<void> {
    if (state.status === 'inactive') {
      state = await licensing.openActivationWindow(FakeWindow)
      if (state.status === 'inactive') {
        quit = true
        return
      }
    }
    mainWindow ??= openMainWindow()
  }
  const first = show(await licensing.start())
  licensing.subscribe((state) => {
    if (state.status !== 'inactive' || mainWindow === undefined) return
    const closing = mainWindow
    mainWindow = undefined
    void show(state)
    closing.close()
  })

  // First start: not activated, so the activation window and no app window.
  const activation = FakeWindow.made.at(-1) as FakeWindow
  expect(appWindows).toHaveLength(0)
  const page = fakeSender(activation.url, activation.webContents.id)
  const activated = (await h.ipcMain.invoke(
    CHANNELS.activate,
    invokeEvent(page),
    h.key.key,
  )) as RendererActionResult
  expect(activated).toMatchObject({ ok: true, state: { status: 'active' } })
  expect(appWindows).toHaveLength(0) // the user still reads "Activated" and presses Continue

  // Continue: the page calls window.close(). The app's window exists before the
  // activation window is gone, so Electron never sees all windows closed.
  const openWhenGone = await activation.closeLater(() => appWindows.filter((w) => w.open).length)
  await first
  expect(openWhenGone).toBe(1)
  expect(mainWindow).toBeDefined()
  expect(quit).toBe(false)

  // Later the seller revokes the key; the next check hears it.
  h.polar.revoke(h.key)
  expect(await licensing.refresh()).toMatchObject({ status: 'inactive', reason: 'revoked' })
  expect(FakeWindow.made.at(-1)).not.toBe(activation)
  const again = FakeWindow.made.at(-1) as FakeWindow
  expect(appWindows.map((w) => w.open)).toEqual([false])

  // A second inactive state while it is open shows the same window, not another.
  await licensing.deactivate()
  expect(FakeWindow.made.at(-1)).toBe(again)

  // Closed without activating: the promise says so and the app quits.
  again.close()
  await new Promise((resolve) => setImmediate(resolve))
  expect(quit).toBe(true)
  expect(appWindows).toHaveLength(1)
})

it('focuses the open activation window instead of opening another', async () => {
  const h = harness()
  made.push(h)
  await h.gate.start()
  const first = h.gate.openActivationWindow(FakeWindow)
  const window = FakeWindow.made.at(-1) as FakeWindow
  const second = h.gate.openActivationWindow(FakeWindow)
  expect(FakeWindow.made.at(-1)).toBe(window)
  expect(window.focused).toBe(1)
  window.close()
  expect(await first).toMatchObject({ status: 'inactive', reason: 'not_activated' })
  expect(await second).toBe(await first)
})
