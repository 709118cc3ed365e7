import type {
  App,
  BrowserWindow,
  BrowserWindowConstructorOptions,
  ContextBridge,
  IpcMainInvokeEvent,
  IpcRenderer,
  Net,
  SafeStorage,
  Session,
  Shell,
  WebContents,
} from 'electron'

// The parts of Electron the adapter uses, as Picks of Electron's own interfaces: the
// real modules fit, tests pass small fakes, and nothing imports electron at runtime.

export type ElectronApp = Pick<App, 'whenReady' | 'getPath' | 'getName' | 'getAppPath'> &
  /** The user's locale, for dates and durations in the words the adapter shows. */
  Partial<Pick<App, 'getLocale'>>

/** `shell`, to open the activation window's Buy and customer-portal links in the browser. */
export type ElectronShell = Pick<Shell, 'openExternal'>

/**
 * `safeStorage`'s asynchronous API, as Electron's newer typings declare it. Written out
 * here because the Electron we build against (38) does not declare it yet.
 */
export interface ElectronSafeStorageAsync {
  isAsyncEncryptionAvailable(): Promise<boolean>
  encryptStringAsync(plainText: string): Promise<Buffer>
  decryptStringAsync(encrypted: Buffer): Promise<{ shouldReEncrypt: boolean; result: string }>
}

/**
 * Either shape of `safeStorage`: the synchronous API (deprecated, removed in Electron 46),
 * the asynchronous one, or both. Every method is optional: the adapter detects which exist.
 */
export type ElectronSafeStorage = Partial<
  Pick<
    SafeStorage,
    'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'
  >
> &
  Partial<ElectronSafeStorageAsync>

export type ElectronNet = Pick<Net, 'fetch' | 'isOnline'>

/** A window's `webContents` the app lets manage the license (its own activation UI). */
export interface ManagingWebContents {
  readonly id: number
  once(event: 'destroyed', listener: () => void): unknown
}

/** The sender of an `invoke`, as far as the bridge looks at it. */
export interface ElectronInvokeEvent {
  readonly senderFrame: Pick<NonNullable<IpcMainInvokeEvent['senderFrame']>, 'url'> | null
  readonly sender: Pick<WebContents, 'id' | 'send' | 'isDestroyed' | 'getURL'>
}

/**
 * `ipcMain.handle`/`removeHandler` with the event narrowed to what the bridge reads.
 * Electron's own `ipcMain` is assignable (its listener receives a full event).
 */
export interface ElectronIpcMain {
  handle(
    channel: string,
    listener: (event: ElectronInvokeEvent, ...args: unknown[]) => unknown,
  ): void
  removeHandler(channel: string): void
}

/** `powerMonitor`, for its `resume` event only. */
export interface ElectronPowerMonitor {
  on(event: 'resume', listener: () => void): unknown
  removeListener(event: 'resume', listener: () => void): unknown
}

/** What `createElectronLicensing` takes from Electron: pass the modules themselves. */
export interface ElectronModules {
  app: ElectronApp
  safeStorage: ElectronSafeStorage
  net: ElectronNet
  /** Needed for the renderer bridge; without it no IPC channel is registered. */
  ipcMain?: ElectronIpcMain | undefined
  /** Needed to revalidate after sleep; without it only the timers run. */
  powerMonitor?: ElectronPowerMonitor | undefined
  /** Needed for the activation window's `buyUrl` and `portalUrl` links. */
  shell?: ElectronShell | undefined
}

/** An event the adapter cancels: a navigation, a `<webview>`. */
export interface PreventableEvent {
  preventDefault(): void
}

/** The activation window's `webContents`, as far as the adapter touches it. */
export interface ActivationWebContents {
  readonly id: number
  setWindowOpenHandler: WebContents['setWindowOpenHandler']
  on(
    event: 'will-navigate' | 'will-frame-navigate' | 'will-attach-webview',
    listener: (event: PreventableEvent) => void,
  ): unknown
  readonly session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>
}

/** The window the activation page opens in, as far as the adapter touches it. */
export interface ActivationBrowserWindow {
  loadURL: BrowserWindow['loadURL']
  /** `close`: the user pressed Continue or closed it; `closed`: it is gone. */
  on(event: 'close' | 'closed', listener: () => void): unknown
  focus(): void
  isDestroyed(): boolean
  readonly webContents: ActivationWebContents
}

export type BrowserWindowClass<W extends ActivationBrowserWindow> = new (
  options: BrowserWindowConstructorOptions,
) => W

type RendererListener = (event: unknown, ...args: unknown[]) => void

/**
 * `ipcRenderer` as far as the preload uses it. Electron's own is assignable; the event a
 * listener gets is left opaque, since the page must never see it.
 */
export interface ElectronIpcRenderer {
  invoke: IpcRenderer['invoke']
  on(channel: string, listener: RendererListener): unknown
  removeListener(channel: string, listener: RendererListener): unknown
}

/** The preload side: `contextBridge` and `ipcRenderer`. */
export interface ElectronPreloadModules {
  contextBridge: Pick<ContextBridge, 'exposeInMainWorld'>
  ipcRenderer: ElectronIpcRenderer
}
