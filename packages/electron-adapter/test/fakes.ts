import type { PolarEmulator } from '@keygate/core/testing'
import type { BrowserWindowConstructorOptions, WebContents } from 'electron'
import type {
  ActivationBrowserWindow,
  ActivationWebContents,
  ElectronApp,
  ElectronInvokeEvent,
  ElectronIpcMain,
  ElectronNet,
  ElectronPowerMonitor,
  ElectronSafeStorage,
} from '../src/electron-types.js'

// Small fakes typed as Electron's own interfaces (through the adapter's Picks), so a
// change in Electron's types that breaks the adapter breaks these too.

export interface FakeSafeStorage extends ElectronSafeStorage {
  available: boolean
  backend: ReturnType<NonNullable<ElectronSafeStorage['getSelectedStorageBackend']>>
  /**
   * The OS keyring recreated (Linux's login keyring reset, macOS's keychain reset): new
   * text seals and opens, what was sealed before never opens again.
   */
  resetKeyring(): void
}

/**
 * Which `safeStorage` an Electron has: `sync` (up to 38), `both` (the asynchronous API
 * added, the synchronous one deprecated), `async` (46 on: the synchronous one removed).
 */
export type SafeStorageShape = 'sync' | 'both' | 'async'

/**
 * A reversible "encryption" bound to one OS user: text sealed for `user` only opens
 * for `user`, as safeStorage's keyring key is per user and per machine. Both APIs seal
 * alike, as Electron's asynchronous API opens what the synchronous one sealed.
 */
export function fakeSafeStorage(user = 'alice', shape: SafeStorageShape = 'sync'): FakeSafeStorage {
  let tag = Buffer.from(`sealed-for:${user}:`)
  let resets = 0
  const encrypt = (plainText: string) => {
    if (!storage.available) throw new Error('Encryption is not available.')
    const body = Buffer.from(plainText, 'utf8').map((byte) => byte ^ 0x5a)
    return Buffer.concat([tag, body])
  }
  const decrypt = (encrypted: Buffer) => {
    if (!storage.available) throw new Error('Decryption is not available.')
    if (!encrypted.subarray(0, tag.length).equals(tag)) {
      throw new Error(
        'Error while decrypting the ciphertext provided to safeStorage.decryptString.',
      )
    }
    return Buffer.from(encrypted.subarray(tag.length).map((byte) => byte ^ 0x5a)).toString('utf8')
  }
  const storage: FakeSafeStorage = {
    available: true,
    backend: 'gnome_libsecret',
    getSelectedStorageBackend: () => storage.backend,
    resetKeyring: () => {
      resets += 1
      tag = Buffer.from(`sealed-for:${user}~${resets}:`)
    },
  }
  if (shape !== 'async') {
    storage.isEncryptionAvailable = () => storage.available
    storage.encryptString = encrypt
    storage.decryptString = decrypt
  }
  if (shape !== 'sync') {
    storage.isAsyncEncryptionAvailable = async () => storage.available
    storage.encryptStringAsync = async (plainText) => encrypt(plainText)
    storage.decryptStringAsync = async (encrypted) => ({
      shouldReEncrypt: false,
      result: decrypt(encrypted),
    })
  }
  return storage
}

export function fakeApp(userData: string, appPath = '/opt/Acme/resources/app.asar'): ElectronApp {
  return {
    whenReady: async () => undefined,
    getPath: () => userData,
    getName: () => 'Acme Editor',
    getAppPath: () => appPath,
  }
}

export interface FakeNet extends ElectronNet {
  online: boolean
}

export function fakeNet(polar: Pick<PolarEmulator, 'fetch'>): FakeNet {
  const net: FakeNet = {
    online: true,
    fetch: (input, init) => polar.fetch(input, init),
    isOnline: () => net.online,
  }
  return net
}

export interface FakePowerMonitor extends ElectronPowerMonitor {
  emit(event: 'resume'): void
  listenerCount(): number
}

export function fakePowerMonitor(): FakePowerMonitor {
  const listeners = new Set<() => void>()
  return {
    on: (_event, listener) => listeners.add(listener),
    removeListener: (_event, listener) => listeners.delete(listener),
    emit: () => {
      for (const listener of listeners) listener()
    },
    listenerCount: () => listeners.size,
  }
}

export interface FakeSender {
  readonly id: number
  url: string
  destroyed: boolean
  readonly sent: Array<{ channel: string; args: unknown[] }>
  send(channel: string, ...args: unknown[]): void
  isDestroyed(): boolean
  getURL(): string
}

let nextWebContentsId = 1

/** `id`: a window's `webContents.id`, for the sender of its page. */
export function fakeSender(url: string, id = nextWebContentsId++): FakeSender {
  const sender: FakeSender = {
    id,
    url,
    destroyed: false,
    sent: [],
    send: (channel, ...args) => {
      sender.sent.push({ channel, args })
    },
    isDestroyed: () => sender.destroyed,
    getURL: () => sender.url,
  }
  return sender
}

/** An invoke from `sender`'s main frame (or from a frame at `frameUrl`, or a closed one). */
export function invokeEvent(
  sender: FakeSender,
  frameUrl: string | null = sender.url,
): ElectronInvokeEvent {
  return { sender, senderFrame: frameUrl === null ? null : { url: frameUrl } }
}

type Listener = Parameters<ElectronIpcMain['handle']>[1]

export interface FakeIpcMain extends ElectronIpcMain {
  readonly handlers: Map<string, Listener>
  /** What `ipcRenderer.invoke` would get: the handler's value (or its rejection). */
  invoke(channel: string, event: ElectronInvokeEvent, ...args: unknown[]): Promise<unknown>
}

export function fakeIpcMain(): FakeIpcMain {
  const handlers = new Map<string, Listener>()
  return {
    handlers,
    handle(channel, listener) {
      // Electron refuses a second handler for one channel; so does the fake.
      if (handlers.has(channel))
        throw new Error(`Attempted to register a second handler for '${channel}'`)
      handlers.set(channel, listener)
    },
    removeHandler(channel) {
      handlers.delete(channel)
    },
    async invoke(channel, event, ...args) {
      const handler = handlers.get(channel)
      if (handler === undefined) throw new Error(`No handler registered for '${channel}'`)
      return handler(event, ...args)
    },
  }
}

type WindowOpenHandler = Parameters<WebContents['setWindowOpenHandler']>[0]
type PermissionRequestHandler = Parameters<
  ActivationWebContents['session']['setPermissionRequestHandler']
>[0]
type PermissionCheckHandler = Parameters<
  ActivationWebContents['session']['setPermissionCheckHandler']
>[0]

/** A BrowserWindow as far as the activation window uses it; `made` lists every one. */
export class FakeWindow implements ActivationBrowserWindow {
  static made: FakeWindow[] = []
  readonly loaded: string[] = []
  readonly listeners = new Map<string, Array<(...args: unknown[]) => void>>()
  destroyed = false
  focused = 0
  openHandler: WindowOpenHandler | undefined
  permissionRequest: PermissionRequestHandler | undefined
  permissionCheck: PermissionCheckHandler | undefined
  readonly webContents: ActivationWebContents & { emit(event: string): { prevented: boolean } }

  constructor(readonly options: BrowserWindowConstructorOptions) {
    FakeWindow.made.push(this)
    const contentsListeners = new Map<string, Array<(event: { preventDefault(): void }) => void>>()
    this.webContents = {
      id: nextWebContentsId++,
      setWindowOpenHandler: (handler) => {
        this.openHandler = handler
      },
      on: (event, listener) => {
        contentsListeners.set(event, [...(contentsListeners.get(event) ?? []), listener])
      },
      session: {
        setPermissionRequestHandler: (handler) => {
          this.permissionRequest = handler
        },
        setPermissionCheckHandler: (handler) => {
          this.permissionCheck = handler
        },
      },
      /** Fires a navigation-like event; says whether a listener cancelled it. */
      emit(event) {
        let prevented = false
        for (const listener of contentsListeners.get(event) ?? []) {
          listener({ preventDefault: () => (prevented = true) })
        }
        return { prevented }
      },
    }
  }

  /** The page the window shows, as its `webContents` would send from it. */
  get url(): string {
    return this.loaded.at(-1) ?? ''
  }

  async loadURL(url: string): Promise<void> {
    this.loaded.push(url)
  }

  on(event: 'close' | 'closed', listener: () => void): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener])
    return this
  }

  focus(): void {
    this.focused += 1
  }

  isDestroyed(): boolean {
    return this.destroyed
  }

  /** What the page's Continue (`window.close()`) or the title bar's close button does. */
  close(): void {
    if (this.destroyed) return
    for (const listener of this.listeners.get('close') ?? []) listener()
    this.destroyed = true
    for (const listener of this.listeners.get('closed') ?? []) listener()
  }

  /**
   * As Electron closes: `close`, then the window is destroyed and `closed` fires in a
   * later task. Resolves with the number of other windows open at that moment (`open`).
   */
  async closeLater(open: () => number): Promise<number> {
    for (const listener of this.listeners.get('close') ?? []) listener()
    await new Promise((resolve) => setImmediate(resolve))
    const others = open()
    this.destroyed = true
    for (const listener of this.listeners.get('closed') ?? []) listener()
    return others
  }
}
