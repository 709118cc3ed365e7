import { join } from 'node:path'
import {
  type ActivateOptions,
  type CheckOptions,
  createLicensing,
  type Keychain,
  KeygateError,
  type LicenseStore,
  type Licensing,
  type LicensingOptions,
  type Machine,
  maskKey,
  type RevalidationTiming,
} from '@keygate/core'
import { createFileStore, nodeMachine } from '@keygate/node-store'
import { type ActivationWindowOptions, activationWindows } from './activation-window.js'
import type {
  ActivationBrowserWindow,
  BrowserWindowClass,
  ElectronModules,
  ElectronNet,
  ManagingWebContents,
} from './electron-types.js'
import { type EncryptedStore, encryptedStore } from './encrypted-store.js'
import { createGate, type ElectronLicenseState, type ElectronStateListener } from './gate.js'
import { type BridgeAccess, registerIpcBridge } from './ipc.js'
import { isAllowedUrl } from './origin.js'
import { pacedFetch } from './paced-fetch.js'
import { safeStorageKeychain } from './record-key.js'
import type { EncryptionStatus } from './renderer-types.js'

export interface ElectronLicensingOptions
  extends Omit<LicensingOptions, 'store' | 'machine' | 'fetch' | 'keychain'> {
  /** Electron's modules: `{ app, safeStorage, net, ipcMain, powerMonitor }`. */
  electron: ElectronModules
  /**
   * Where the grant lives. Default: `<userData>/<storeName>.json`, locked and atomic,
   * encrypted with `safeStorage`. A store that encrypts by itself says so with
   * `encrypts: true` and is used as is (its states say `encryption: 'store'`); any other
   * is wrapped with `safeStorage` encryption.
   */
  store?: (LicenseStore & { readonly encrypts?: boolean | undefined }) | undefined
  /** The record's file name without `.json`. Default `license`. */
  storeName?: string | undefined
  /** Default: the OS machine id, salted with `machineSalt`, labelled with the host name. */
  machine?: Machine | undefined
  /** Salt for the default machine fingerprint. Default: the organization id. */
  machineSalt?: string | undefined
  /** Default: `net.fetch`, which follows the system proxy, PAC and proxy authentication. */
  fetch?: typeof fetch | undefined
  /**
   * Where the record's MAC key lives. Default with the default store: a key sealed with
   * `safeStorage` in `<userData>/<storeName>.key`, beside the record; with a custom `store`,
   * none unless given (e.g. `safeStorageKeychain`). `false`: no MAC (`integrity: 'none'`).
   */
  keychain?: Keychain | false | undefined
  /** Keep the grant in plain text when the OS has no keyring. Default true. */
  allowPlainText?: boolean | undefined
  /**
   * Origins besides the app's own `file://` pages allowed to read the license state,
   * e.g. `http://localhost:5173` for a dev server or `app://bundle` for a custom protocol.
   */
  allowedOrigins?: readonly string[] | undefined
  /** Folders whose `file://` pages are the app's own. Default `[app.getAppPath()]`. */
  fileRoots?: readonly string[] | undefined
  /** Background revalidation timing; `random` is for tests. */
  revalidation?: (Partial<RevalidationTiming> & { random?: (() => number) | undefined }) | undefined
  /** Renderer-asked online checks are at most this often; others get the cache. Default 10 s. */
  rendererRefreshIntervalMs?: number | undefined
  /** A window's next activation waits this long after its previous one ended. Default 3 s. */
  rendererActivationIntervalMs?: number | undefined
  /**
   * `https:` page where a license is bought: the activation window links it while the app
   * is not activated (during a trial too), opened in the browser with `electron.shell`.
   * The window's own `buyUrl` wins.
   */
  buyUrl?: string | undefined
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
  /** Whether the grant is encrypted at rest, as last seen (meaningful after `start()`). */
  encryption(): EncryptionStatus
  check(options?: CheckOptions): Promise<ElectronLicenseState>
  refresh(): Promise<ElectronLicenseState>
  /**
   * Activates the key on this machine. Refused (`forbidden`) while another key's grant
   * lets the app run: `deactivate()` first, so that key's seat is freed, not stranded.
   */
  activate(key: string, options?: ActivateOptions): Promise<ElectronLicenseState>
  deactivate(): Promise<ElectronLicenseState>
  subscribe(listener: ElectronStateListener): () => void
  /**
   * Opens the built-in activation page (or focuses it, when it is open) and resolves
   * with the state as the window closes: after Continue, an `active` (or `grace`) state,
   * so main can open the app; closed without activating, `inactive`.
   */
  openActivationWindow<W extends ActivationBrowserWindow>(
    BrowserWindow: BrowserWindowClass<W>,
    options?: ActivationWindowOptions,
  ): Promise<ElectronLicenseState>
  /**
   * Lets your own activation window (its pages must still be allowed) activate,
   * deactivate and refresh over the bridge, until it is destroyed or you call the
   * returned function. The built-in activation window needs no call.
   */
  allowLicenseChanges(webContents: ManagingWebContents): () => void
  /** Core's licensing underneath, for anything the adapter does not wrap. */
  readonly licensing: Licensing
}

const DEFAULT_RENDERER_REFRESH_MS = 10_000
const DEFAULT_RENDERER_ACTIVATION_MS = 3_000

/** `net.fetch` takes no `URL` object; everything else passes through. */
export function netFetch(net: Pick<ElectronNet, 'fetch'>): typeof fetch {
  return (input, init) => net.fetch(input instanceof URL ? input.href : input, init)
}

/** Whether `key` is the one behind Polar's `display_key` (`****-` + its last characters). */
function matchesDisplayKey(key: string, displayKey: string): boolean {
  const tail = displayKey.replace(/^\*+-?/, '')
  return tail !== '' && key.trim().endsWith(tail)
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
    keychain,
    allowedOrigins = [],
    fileRoots,
    revalidation = {},
    rendererRefreshIntervalMs = DEFAULT_RENDERER_REFRESH_MS,
    rendererActivationIntervalMs = DEFAULT_RENDERER_ACTIVATION_MS,
    buyUrl,
    ...core
  } = options
  const { app, safeStorage, net, ipcMain, powerMonitor, shell } = electron
  const now = options.now ?? Date.now

  // `getPath('userData')` is valid before `ready`; safeStorage is only used after it.
  const userData = () => app.getPath('userData')
  const store: Pick<EncryptedStore, 'encryption' | 'assertWritable'> & LicenseStore =
    customStore?.encrypts === true
      ? // Encrypting it again would only hide it from the store's own tools.
        Object.assign(Object.create(customStore) as LicenseStore, {
          encryption: (): EncryptionStatus => 'store',
          assertWritable: async () => undefined,
        })
      : encryptedStore(customStore ?? createFileStore({ dir: userData(), name: storeName }), {
          safeStorage,
          allowPlainText,
        })
  const machine =
    customMachine ?? nodeMachine({ salt: machineSalt ?? options.organizationId, dir: userData() })
  // The sealed key goes beside the record: known for the default store only; a custom
  // store brings its own keychain, or has none.
  const recordKey =
    keychain ??
    (customStore === undefined
      ? safeStorageKeychain({
          safeStorage,
          path: () => join(userData(), `${storeName ?? 'license'}.key`),
        })
      : false)
  const licensing = createLicensing({
    ...core,
    store,
    machine,
    ...(recordKey === false ? {} : { keychain: recordKey }),
    fetch: pacedFetch(customFetch ?? netFetch(net), { now }),
  })
  const { random, ...timing } = revalidation
  const gate = createGate({
    licensing,
    encryption: store.encryption,
    isOnline: () => net.isOnline(),
    powerMonitor,
    timing,
    random,
  })

  /** The one way in for an activation, from main's code and from the bridge alike. */
  async function activate(key: string, activateOptions?: ActivateOptions) {
    // Before core takes a seat in Polar for a grant that could not be stored.
    await store.assertWritable()
    // The record as it is now (another instance may have changed it), from the cache.
    const current = await gate.check({ online: 'never' })
    // A trial rests on no key: activating ends it.
    const held = current.status === 'inactive' ? undefined : current.license
    if (held !== undefined && !matchesDisplayKey(key, held.displayKey)) {
      // Core would store the new grant over this one and strand its seat in Polar.
      throw new KeygateError(
        'forbidden',
        `This computer is activated with license key ${held.displayKey}; ${maskKey(key)} was not activated. Deactivate this computer first (that frees its seat), then activate the other key.`,
      )
    }
    return gate.activate(key, activateOptions)
  }

  const windows = activationWindows({
    current: () => gate.state,
    fresh: () => gate.check({ online: 'never' }),
  })
  const managers = new Set<number>()

  const access = (sender: { readonly id: number }, url: string | undefined): BridgeAccess => {
    if (url === undefined || url === '') return 'none'
    if (windows.pageOf(sender.id) === url) return 'full'
    const allowed = isAllowedUrl(url, {
      fileRoots: fileRoots ?? [app.getAppPath()],
      allowedOrigins,
    })
    if (!allowed) return 'none'
    return managers.has(sender.id) ? 'full' : 'read'
  }

  let disposeIpc: (() => void) | undefined
  // Counts stop() calls: a start() still waiting for `ready` when stop() came registers nothing.
  let stops = 0
  const ensureIpc = () => {
    if (ipcMain === undefined || disposeIpc !== undefined) return
    disposeIpc = registerIpcBridge({
      ipcMain,
      actions: {
        get state() {
          return gate.state
        },
        check: gate.check,
        activate: (key) => activate(key),
        deactivate: gate.deactivate,
        refresh: gate.refresh,
        subscribe: gate.subscribe,
        devices: (key) => licensing.devices({ key }),
        freeDevice: (id, key) => licensing.freeDevice(id, { key }),
      },
      access,
      minRefreshIntervalMs: rendererRefreshIntervalMs,
      minActivationIntervalMs: rendererActivationIntervalMs,
      now,
      locale: () => app.getLocale?.(),
    })
  }

  return {
    async start() {
      // safeStorage cannot decrypt before `ready` (Windows, Linux).
      const stopsBefore = stops
      await app.whenReady()
      // Stopped meanwhile (the app quitting during start-up): the state, nothing started.
      if (stops !== stopsBefore) return gate.check({ online: 'never' })
      ensureIpc()
      return gate.start()
    },
    stop() {
      stops += 1
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
    activate,
    deactivate: gate.deactivate,
    subscribe: gate.subscribe,
    openActivationWindow(BrowserWindow, windowOptions = {}) {
      ensureIpc()
      return windows.show(BrowserWindow, {
        productName: app.getName(),
        shell,
        ...(buyUrl === undefined ? {} : { buyUrl }),
        ...windowOptions,
      })
    },
    allowLicenseChanges(webContents) {
      const { id } = webContents
      managers.add(id)
      webContents.once('destroyed', () => managers.delete(id))
      return () => {
        managers.delete(id)
      }
    },
    licensing,
  }
}
