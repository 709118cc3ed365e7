// An Electron main compiled to CommonJS ("type": "commonjs", `module: node16`), as Forge's
// and webpack's templates still make them: every import below becomes a require().
import { join } from 'node:path'
import { createElectronLicensing, type ElectronLicenseState } from '@keygate/electron-adapter'
import { app, BrowserWindow, ipcMain, net, powerMonitor, safeStorage } from 'electron'

const licensing = createElectronLicensing({
  organizationId: '1d4a7c2e-5b6f-4e8a-9c0d-2f3b4a5c6d7e',
  electron: { app, safeStorage, net, ipcMain, powerMonitor },
})
const preload = join(__dirname, 'preload.js')

function openMainWindow(): void {
  const window = new BrowserWindow({ webPreferences: { preload, sandbox: true } })
  void window.loadFile(join(__dirname, 'index.html'))
}

function whenActive(next: ElectronLicenseState): boolean {
  return next.status !== 'inactive'
}

app.whenReady().then(async () => {
  const state = await licensing.start()
  if (whenActive(state)) {
    openMainWindow()
    return
  }
  await licensing.openActivationWindow(BrowserWindow, { preload })
  const stop = licensing.subscribe((next) => {
    if (!whenActive(next)) return
    stop()
    openMainWindow()
  })
})

app.on('window-all-closed', () => {
  licensing.stop()
  app.quit()
})
