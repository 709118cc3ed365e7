import type { PolarEmulator } from '@keygate/core/testing'
import type {
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
}

/**
 * A reversible "encryption" bound to one OS user: text sealed for `user` only opens
 * for `user`, as safeStorage's keyring key is per user and per machine.
 */
export function fakeSafeStorage(user = 'alice'): FakeSafeStorage {
  const tag = Buffer.from(`sealed-for:${user}:`)
  const storage: FakeSafeStorage = {
    available: true,
    backend: 'gnome_libsecret',
    isEncryptionAvailable: () => storage.available,
    getSelectedStorageBackend: () => storage.backend,
    encryptString(plainText) {
      if (!storage.available) throw new Error('Encryption is not available.')
      const body = Buffer.from(plainText, 'utf8').map((byte) => byte ^ 0x5a)
      return Buffer.concat([tag, body])
    },
    decryptString(encrypted) {
      if (!storage.available) throw new Error('Decryption is not available.')
      if (!encrypted.subarray(0, tag.length).equals(tag)) {
        throw new Error(
          'Error while decrypting the ciphertext provided to safeStorage.decryptString.',
        )
      }
      return Buffer.from(encrypted.subarray(tag.length).map((byte) => byte ^ 0x5a)).toString('utf8')
    },
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

let nextSenderId = 1

export function fakeSender(url: string): FakeSender {
  const sender: FakeSender = {
    id: nextSenderId++,
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
