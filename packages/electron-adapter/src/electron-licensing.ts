import {
  type ActivateOptions,
  type CheckOptions,
  createLicensing,
  type LicenseStore,
  type Licensing,
  type LicensingOptions,
  type Machine,
} from '@keygate/core'
import { createFileStore, nodeMachine } from '@keygate/node-store'
import { type ActivationWindowOptions, openActivationWindow } from './activation-window.js'
import type {
  ActivationBrowserWindow,
  BrowserWindowClass,
  ElectronModules,
  ElectronNet,
} from './electron-types.js'
import { encryptedStore } from './encrypted-store.js'
import { createGate, type ElectronLicenseState, type ElectronStateListener } from './gate.js'
import { registerIpcBridge } from './ipc.js'
import { isAllowedUrl } from './origin.js'
import type { EncryptionStatus } from './renderer-types.js'
import type { RevalidationTiming } from './schedule.js'

export interface ElectronLicensingOptions
  extends Omit<LicensingOptions, 'store' | 'machine' | 'fetch'> {
  /** Electron's modules: `{ app, safeStorage, net, ipcMain, powerMonitor }`. */
  electron: ElectronModules
  /** Where the grant lives. Default: `<userData>/<storeName>.json`, locked and atomic. */
  store?: LicenseStore | undefined
  /** The record's file name without `.json`. Default `license`. */
  storeName?: string | undefined
  /** Default: the OS machine id, salted with `machineSalt`, labelled with the host name. */
  machine?: Machine | undefined
  /** Salt for the default machine fingerprint. Default: the organization id. */
  machineSalt?: string | undefined
  /** Default: `net.fetch`, which follows the system proxy, PAC and proxy authentication. */
  fetch?: typeof fetch | undefined
  /** Keep the grant in plain text when the OS has no keyring. Default true. */
  allowPlainText?: boolean | undefined
  /**
   * Origins besides the app's own `file://` pages allowed to use the renderer bridge,
   * e.g. `http://localhost:5173` for a dev server or `app://bundle` for a custom protocol.
   */
  allowedOrigins?: readonly string[] | undefined
  /** Folders whose `file://` pages are the app's own. Default `[app.getAppPath()]`. */
  fileRoots?: readonly string[] | undefined
  /** Background revalidation timing; `random` is for tests. */
  revalidation?: (Partial<RevalidationTiming> & { random?: (() => number) | undefined }) | undefined
  /** Renderer-asked online checks are at most this often; others get the cache. Default 10 s. */
  rendererRefreshIntervalMs?: number | undefined
}

export interface ElectronLicensing {
  /**
   * Await this once before the first window: the state from the cache, with no
   * network. Registers the IPC bridge and starts background revalidation.
   */
  start(): Promise<ElectronLicenseState>
  /** Stops timers and listeners and removes the IPC handlers. */
  stop(): void
  /** The latest state, once there is one. */
  readonly state: ElectronLicenseState | undefined
  /** Whether the grant is encrypted at rest right now (meaningful after `app` is ready). */
  encryption(): EncryptionStatus
  check(options?: CheckOptions): Promise<ElectronLicenseState>
  refresh(): Promise<ElectronLicenseState>
  activate(key: string, options?: ActivateOptions): Promise<ElectronLicenseState>
  deactivate(): Promise<ElectronLicenseState>
  subscribe(listener: ElectronStateListener): () => void
  /** Opens the built-in activation page; resolves once it has loaded. */
  openActivationWindow<W extends ActivationBrowserWindow>(
    BrowserWindow: BrowserWindowClass<W>,
    options: ActivationWindowOptions,
  ): Promise<W>
  /** Core's licensing underneath, for anything the adapter does not wrap. */
  readonly licensing: Licensing
}

const DEFAULT_RENDERER_REFRESH_MS = 10_000

/** `net.fetch` takes no `URL` object; everything else passes through. */
export function netFetch(net: Pick<ElectronNet, 'fetch'>): typeof fetch {
  return (input, init) => net.fetch(input instanceof URL ? input.href : input, init)
}

/**
 * keygate for Electron main: Electron's defaults filled in (userData, net.fetch,
 * safeStorage, the host name), everything else delegated to core's `createLicensing`.
 */
export function createElectronLicensing(options: ElectronLicensingOptions): ElectronLicensing {
  const {
    electron,
    store: customStore,
    storeName,
    machine: customMachine,
    machineSalt,
    fetch: customFetch,
    allowPlainText,
    allowedOrigins = [],
    fileRoots,
    revalidation = {},
    rendererRefreshIntervalMs = DEFAULT_RENDERER_REFRESH_MS,
    ...core
  } = options
  const { app, safeStorage, net, ipcMain, powerMonitor } = electron
  const now = options.now ?? Date.now

  // `getPath('userData')` is valid before `ready`; safeStorage is only used after it.
  const userData = () => app.getPath('userData')
  const store = encryptedStore(
    customStore ?? createFileStore({ dir: userData(), name: storeName }),
    { safeStorage, allowPlainText },
  )
  const machine =
    customMachine ?? nodeMachine({ salt: machineSalt ?? options.organizationId, dir: userData() })
  const licensing = createLicensing({
    ...core,
    store,
    machine,
    fetch: customFetch ?? netFetch(net),
  })
  const { random, ...timing } = revalidation
  const gate = createGate({
    licensing,
    encryption: store.encryption,
    isOnline: () => net.isOnline(),
    powerMonitor,
    timing,
    random,
    now,
  })

  const trustedUrls = new Set<string>()
  const isAllowed = (url: string | undefined) =>
    isAllowedUrl(url, {
      fileRoots: fileRoots ?? [app.getAppPath()],
      allowedOrigins,
      trustedUrls,
    })
  let disposeIpc: (() => void) | undefined
  const ensureIpc = () => {
    if (ipcMain === undefined || disposeIpc !== undefined) return
    disposeIpc = registerIpcBridge({
      ipcMain,
      gate,
      isAllowed,
      minRefreshIntervalMs: rendererRefreshIntervalMs,
      now,
    })
  }

  return {
    async start() {
      // safeStorage cannot decrypt before `ready` (Windows, Linux).
      await app.whenReady()
      ensureIpc()
      return gate.start()
    },
    stop() {
      gate.stop()
      disposeIpc?.()
      disposeIpc = undefined
    },
    get state() {
      return gate.state
    },
    encryption: store.encryption,
    check: gate.check,
    refresh: gate.refresh,
    async activate(key, activateOptions) {
      // Before core takes a seat in Polar for a grant that could not be stored.
      store.assertWritable()
      return gate.activate(key, activateOptions)
    },
    deactivate: gate.deactivate,
    subscribe: gate.subscribe,
    async openActivationWindow(BrowserWindow, windowOptions) {
      ensureIpc()
      const { window, url, loaded } = openActivationWindow(BrowserWindow, {
        productName: app.getName(),
        ...windowOptions,
      })
      trustedUrls.add(url)
      await loaded
      return window
    },
    licensing,
  }
}
