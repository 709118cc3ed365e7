import type { BrowserWindowConstructorOptions } from 'electron'
import { type ActivationPageOptions, activationPageUrl } from './activation-page.js'
import type { ActivationBrowserWindow, BrowserWindowClass } from './electron-types.js'
import { activationPreloadPath } from './preload-paths.js'

/** An in-memory session of its own: no cookies, cache or permissions shared with the app. */
export const ACTIVATION_PARTITION = 'keygate-activation'

export interface ActivationWindowOptions extends ActivationPageOptions {
  /**
   * Absolute path of the preload. Default: the prebuilt full preload
   * (`activationPreloadPath`). Yours must call `exposeLicenseApi({ mode: 'full' })`.
   */
  preload?: string | undefined
  /** Size, parent, modal, title bar…; `webPreferences` are always the secure ones below. */
  window?: Omit<BrowserWindowConstructorOptions, 'webPreferences'> | undefined
}

export interface OpenedActivationWindow<W> {
  window: W
  /** The page's URL: trusted for this window's `webContents` only, while it is open. */
  url: string
  loaded: Promise<void>
}

/**
 * Opens the built-in activation page in a locked-down window: context isolation,
 * sandbox, no Node, its own in-memory session that denies every permission, no new
 * windows, no navigation away from the page.
 */
export function openActivationWindow<W extends ActivationBrowserWindow>(
  BrowserWindow: BrowserWindowClass<W>,
  options: ActivationWindowOptions,
): OpenedActivationWindow<W> {
  const url = activationPageUrl(options)
  // Spread first, then the fixed settings: a caller's `webPreferences` (even one smuggled
  // past the type) never weakens them.
  const window = new BrowserWindow({
    width: 480,
    height: 560,
    minWidth: 360,
    minHeight: 420,
    autoHideMenuBar: true,
    title: `Activate ${options.productName?.trim() || 'the app'}`,
    ...options.window,
    webPreferences: {
      preload: options.preload ?? activationPreloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
      partition: ACTIVATION_PARTITION,
    },
  })
  const { webContents } = window
  webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  // The page never navigates: a link or script that tries is stopped, so the trusted
  // window can never show another page.
  const stop = (event: { preventDefault(): void }) => event.preventDefault()
  webContents.on('will-navigate', stop)
  webContents.on('will-frame-navigate', stop)
  webContents.on('will-attach-webview', stop)
  // The page needs no camera, notification, clipboard or anything else: deny all.
  webContents.session.setPermissionRequestHandler((_contents, _permission, callback) =>
    callback(false),
  )
  webContents.session.setPermissionCheckHandler(() => false)
  return { window, url, loaded: window.loadURL(url) }
}
