// An Electron main as an ES module ("type": "module"), written as the adapter's README shows.
import { join } from 'node:path'
import { createElectronLicensing } from '@keygate/electron-adapter'
import { app, BrowserWindow, ipcMain, net, powerMonitor, safeStorage } from 'electron'

const licensing = createElectronLicensing({
  organizationId: '1d4a7c2e-5b6f-4e8a-9c0d-2f3b4a5c6d7e',
  electron: { app, safeStorage, net, ipcMain, powerMonitor },
})
const preload = join(import.meta.dirname, 'preload.cjs')

function openMainWindow(): void {
  const window = new BrowserWindow({ webPreferences: { preload, sandbox: true } })
  void window.loadFile(join(import.meta.dirname, 'index.html'))
}

await app.whenReady()
const state = await licensing.start()
if (state.status === 'inactive') {
  await licensing.openActivationWindow(BrowserWindow, { preload })
  const stop = licensing.subscribe((next) => {
    if (next.status === 'inactive') return
    stop()
    openMainWindow()
  })
} else {
  openMainWindow()
}

app.on('window-all-closed', () => {
  licensing.stop()
  app.quit()
})
