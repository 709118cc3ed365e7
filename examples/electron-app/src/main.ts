// Electron main: the license gate runs before the first window.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createElectronLicensing,
  type ElectronLicenseState,
  preloadPath,
} from '@keygate/electron-adapter'
import { app, BrowserWindow, ipcMain, Menu, net, powerMonitor, safeStorage, shell } from 'electron'
import { BUY_URL, ORGANIZATION_ID, POLAR_SERVER, PORTAL_URL } from './license-config.js'

const here = fileURLToPath(new URL('.', import.meta.url))

const licensing = createElectronLicensing({
  organizationId: ORGANIZATION_ID,
  server: POLAR_SERVER,
  electron: { app, safeStorage, net, ipcMain, powerMonitor, shell },
})

/** The activation window as a product page: the app's name (app.getName()), its links. */
const activation = { buyUrl: BUY_URL, portalUrl: PORTAL_URL }

let mainWindow: BrowserWindow | undefined

function openMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 720,
    height: 480,
    // The prebuilt read-only preload: this page can show the license, not change it.
    webPreferences: { preload: preloadPath, contextIsolation: true, sandbox: true },
  })
  // The app's page never opens pop-ups nor navigates away: a link cannot put a remote
  // page where the app's own page was.
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  window.webContents.on('will-navigate', (event) => event.preventDefault())
  window.webContents.on('will-frame-navigate', (event) => event.preventDefault())
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = undefined
  })
  void window.loadFile(join(here, 'index.html'))
  return window
}

/** The app while the license lets it run, the activation window while it does not. */
async function show(state: ElectronLicenseState): Promise<void> {
  if (state.status === 'inactive') {
    // Resolves when the user presses Continue (active) or closes the window (inactive).
    state = await licensing.openActivationWindow(BrowserWindow, activation)
    if (state.status === 'inactive') return app.quit()
  }
  mainWindow ??= openMainWindow()
}

app.whenReady().then(async () => {
  // From the cache, no network. Revalidation runs in the background.
  await show(await licensing.start())
  licensing.subscribe((state) => {
    if (state.status !== 'inactive' || mainWindow === undefined) return
    // Revoked, expired, grace ran out…: the activation window again, then the app.
    const closing = mainWindow
    mainWindow = undefined
    void show(state)
    closing.close()
  })
  // Deactivating (or checking) is a deliberate act: from the menu, in the activation window.
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
      {
        label: 'License',
        submenu: [
          {
            label: 'License…',
            click: () => void licensing.openActivationWindow(BrowserWindow, activation),
          },
        ],
      },
    ]),
  )
})

app.on('window-all-closed', () => {
  licensing.stop()
  app.quit()
})
