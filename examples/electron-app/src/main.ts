// Electron main: the license gate runs before the first window.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createElectronLicensing } from '@keygate/electron-adapter'
import { app, BrowserWindow, ipcMain, net, powerMonitor, safeStorage } from 'electron'

const here = fileURLToPath(new URL('.', import.meta.url))
// Bundled to CommonJS by `npm run build`: sandboxed preloads cannot load ES modules.
const preload = join(here, 'preload.cjs')

const licensing = createElectronLicensing({
  // Your Polar organization id; the sandbox server while you develop.
  organizationId: process.env.POLAR_ORGANIZATION_ID ?? '1dbfc517-0bbf-4301-9ba8-555ca42b9737',
  server: process.env.KEYGATE_POLAR_SERVER ?? 'sandbox',
  electron: { app, safeStorage, net, ipcMain, powerMonitor },
})

function openMainWindow(): void {
  const window = new BrowserWindow({
    width: 720,
    height: 480,
    webPreferences: { preload, contextIsolation: true, sandbox: true },
  })
  void window.loadFile(join(here, 'index.html'))
}

app.whenReady().then(async () => {
  // From the cache, no network: about a millisecond. Revalidation runs in the background.
  const state = await licensing.start()
  if (state.status !== 'inactive') {
    openMainWindow()
    return
  }
  // Not licensed (yet): the built-in activation page, then the app once it is active.
  const activation = await licensing.openActivationWindow(BrowserWindow, { preload })
  const stop = licensing.subscribe((next) => {
    if (next.status === 'inactive') return
    stop()
    openMainWindow()
    activation.close()
  })
})

app.on('window-all-closed', () => {
  licensing.stop()
  app.quit()
})
