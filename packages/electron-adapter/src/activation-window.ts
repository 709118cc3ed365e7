import { KeygateError } from '@keygate/core'
import type { BrowserWindowConstructorOptions } from 'electron'
import {
  type ActivationPageInput,
  type ActivationPageOptions,
  activationPageUrl,
} from './activation-page.js'
import type {
  ActivationBrowserWindow,
  BrowserWindowClass,
  ElectronShell,
} from './electron-types.js'
import type { ElectronLicenseState } from './gate.js'
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

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  svg: 'image/svg+xml',
}

/** The icon as a `data:` URL the page's CSP allows; an unreadable one is a setup error. */
function iconDataUrl(icon: ActivationPageOptions['icon']): string | undefined {
  if (icon === undefined) return undefined
  if (typeof icon !== 'string') return icon.toDataURL()
  if (icon.startsWith('data:')) return icon
  const type = IMAGE_TYPES[icon.split('.').at(-1)?.toLowerCase() ?? '']
  if (type === undefined) {
    throw new KeygateError(
      'invalid_input',
      'The activation window icon must be a PNG, JPEG, WebP, GIF or SVG file, a data: URL or a nativeImage.',
    )
  }
  // Fetched, not imported: the gate's start-up never opens a window.
  const { readFileSync } = process.getBuiltinModule('node:fs')
  return `data:${type};base64,${readFileSync(icon).toString('base64')}`
}

/** An `https:` link without credentials, normalized; anything else is a setup error. */
function httpsLink(name: string, url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (parsed?.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '') {
    throw new KeygateError('invalid_input', `${name} must be an https: URL without a user name.`)
  }
  return parsed.href
}

/** What the page shows, from the window's options: icon read, links checked. */
function pageInput(options: ActivationPageOptions): ActivationPageInput {
  return {
    productName: options.productName,
    icon: iconDataUrl(options.icon),
    buyUrl: httpsLink('buyUrl', options.buyUrl),
    portalUrl: httpsLink('portalUrl', options.portalUrl),
  }
}

/**
 * Opens the built-in activation page in a locked-down window: context isolation,
 * sandbox, no Node, its own in-memory session that denies every permission, no new
 * windows, no navigation away from the page. Its two links (buy, customer portal) open
 * in the user's browser through `shell.openExternal`, and nothing else does.
 */
export function openActivationWindow<W extends ActivationBrowserWindow>(
  BrowserWindow: BrowserWindowClass<W>,
  options: ActivationWindowOptions & { shell?: ElectronShell | undefined },
): OpenedActivationWindow<W> {
  const input = pageInput(options)
  const links = new Set([input.buyUrl, input.portalUrl].filter((u) => u !== undefined))
  const { shell } = options
  if (links.size > 0 && shell === undefined) {
    throw new KeygateError(
      'invalid_input',
      'buyUrl and portalUrl open in the browser: pass electron.shell to createElectronLicensing.',
    )
  }
  const url = activationPageUrl(input)
  // Spread first, then the fixed settings: a caller's `webPreferences` (even one smuggled
  // past the type) never weakens them.
  const window = new BrowserWindow({
    width: 480,
    height: 560,
    minWidth: 360,
    minHeight: 420,
    autoHideMenuBar: true,
    title: `${options.productName?.trim() || 'the app'} license`,
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
  webContents.setWindowOpenHandler(({ url: target }) => {
    if (links.has(target)) void shell?.openExternal(target).catch(() => undefined)
    return { action: 'deny' }
  })
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

export interface ActivationWindows {
  /** The page's URL when `webContentsId` is an open activation window's: the one it trusts. */
  pageOf(webContentsId: number): string | undefined
  /**
   * Opens the window (or focuses the open one) and resolves with the state as it closes.
   * The window is built before any await, so a caller can close its other windows right
   * after calling without the app ever having none.
   */
  show<W extends ActivationBrowserWindow>(
    BrowserWindow: BrowserWindowClass<W>,
    options: ActivationWindowOptions & { shell?: ElectronShell | undefined },
  ): Promise<ElectronLicenseState>
}

/** At most one activation window at a time, trusted only while it is open. */
export function activationWindows(deps: {
  current: () => ElectronLicenseState | undefined
  fresh: () => Promise<ElectronLicenseState>
}): ActivationWindows {
  // webContents id → the activation page's URL, while its window is open.
  const pages = new Map<number, string>()
  let opened: { focus(): void; result: Promise<ElectronLicenseState> } | undefined

  return {
    pageOf: (id) => pages.get(id),

    show(BrowserWindow, options) {
      if (opened !== undefined) {
        opened.focus()
        return opened.result
      }
      let opening: ReturnType<typeof openActivationWindow<InstanceType<typeof BrowserWindow>>>
      try {
        opening = openActivationWindow(BrowserWindow, options)
      } catch (error) {
        // A setup error (a bad link or icon) rejects, as everything else about the window does.
        return Promise.reject(error)
      }
      const { window, url, loaded } = opening
      const id = window.webContents.id
      pages.set(id, url)
      const result = new Promise<ElectronLicenseState>((resolve, reject) => {
        let settled = false
        const settle = (error?: unknown) => {
          if (settled) return
          settled = true
          opened = undefined
          if (error !== undefined) return reject(error)
          // Resolved at `close`, with the state in hand: main opens its own window
          // before this one is gone, so Electron never sees all windows closed.
          const state = deps.current()
          if (state !== undefined) resolve(state)
          else deps.fresh().then(resolve, reject)
        }
        window.on('close', () => settle())
        window.on('closed', () => {
          pages.delete(id)
          settle()
        })
        loaded.catch((error: unknown) => {
          pages.delete(id)
          settle(error ?? new Error('the activation page did not load'))
        })
      })
      opened = { focus: () => (window.isDestroyed() ? undefined : window.focus()), result }
      return result
    },
  }
}
