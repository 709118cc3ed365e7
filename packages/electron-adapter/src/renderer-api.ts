import { CHANNELS } from './channels.js'
import type { ElectronPreloadModules } from './electron-types.js'
import type {
  KeygateReadApi,
  KeygateRendererApi,
  RendererActionResult,
  RendererDevicesResult,
  RendererLicenseState,
} from './renderer-types.js'

type IpcRendererLike = ElectronPreloadModules['ipcRenderer']

/**
 * The renderer API over `ipcRenderer`. Listeners get the state only, never Electron's
 * event object (its `sender` would hand the page `ipcRenderer` itself).
 */
export function createRendererApi(ipcRenderer: IpcRendererLike): KeygateRendererApi {
  const listeners = new Set<(state: RendererLicenseState) => void>()
  const onChanged = (_event: unknown, ...args: unknown[]) => {
    // Main sends one argument, a RendererLicenseState (see ipc.ts).
    const state = args[0] as RendererLicenseState
    for (const listener of [...listeners]) {
      try {
        listener(state)
      } catch (error) {
        // One listener's bug must not starve the others.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  return {
    status: (): Promise<RendererLicenseState> => ipcRenderer.invoke(CHANNELS.status),
    activate: (key: string): Promise<RendererActionResult> =>
      ipcRenderer.invoke(CHANNELS.activate, String(key)),
    deactivate: (): Promise<RendererActionResult> => ipcRenderer.invoke(CHANNELS.deactivate),
    refresh: (): Promise<RendererLicenseState> => ipcRenderer.invoke(CHANNELS.refresh),
    devices: (key: string): Promise<RendererDevicesResult> =>
      ipcRenderer.invoke(CHANNELS.devices, String(key)),
    freeDevice: (activationId: string, key: string): Promise<RendererDevicesResult> =>
      ipcRenderer.invoke(CHANNELS.freeDevice, String(activationId), String(key)),
    onChange(listener) {
      if (typeof listener !== 'function') throw new TypeError('onChange takes a function')
      // Subscribe in main with the first listener, unsubscribe after the last.
      if (listeners.size === 0) {
        ipcRenderer.on(CHANNELS.changed, onChanged)
        void ipcRenderer.invoke(CHANNELS.subscribe).catch(() => undefined)
      }
      const wrapped = (state: RendererLicenseState) => listener(state)
      listeners.add(wrapped)
      return () => {
        if (!listeners.delete(wrapped) || listeners.size > 0) return
        ipcRenderer.removeListener(CHANNELS.changed, onChanged)
        void ipcRenderer.invoke(CHANNELS.unsubscribe).catch(() => undefined)
      }
    },
  }
}

/** Only what reads: a new object, so the page cannot reach the full API's functions. */
export function readOnly(api: KeygateRendererApi): KeygateReadApi {
  return { status: api.status, onChange: api.onChange }
}
