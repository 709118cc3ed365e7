import type { BrowserWindowConstructorOptions } from 'electron'
import { type ActivationPageOptions, activationPageUrl } from './activation-page.js'
import type { ActivationBrowserWindow, BrowserWindowClass } from './electron-types.js'

export interface ActivationWindowOptions extends ActivationPageOptions {
  /**
   * Absolute path of your preload script, the one that calls `exposeLicenseApi()`.
   * Sandboxed preloads cannot import packages: bundle it (see the README).
   */
  preload: string
  /** Size, parent, modal, title bar…; `webPreferences` are always the secure ones below. */
  window?: Omit<BrowserWindowConstructorOptions, 'webPreferences'> | undefined
}

/**
 * Opens the built-in activation page in a locked-down window: context isolation,
 * sandbox, no Node, no new windows. Returns the window, the URL it loads (which the
 * bridge must trust) and the load's promise.
 */
export function openActivationWindow<W extends ActivationBrowserWindow>(
  BrowserWindow: BrowserWindowClass<W>,
  options: ActivationWindowOptions,
): { window: W; url: string; loaded: Promise<void> } {
  const url = activationPageUrl(options)
  const window = new BrowserWindow({
    width: 480,
    height: 560,
    minWidth: 360,
    minHeight: 420,
    autoHideMenuBar: true,
    title: `Activate ${options.productName?.trim() || 'the app'}`,
    ...options.window,
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  })
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  return { window, url, loaded: window.loadURL(url) }
}
