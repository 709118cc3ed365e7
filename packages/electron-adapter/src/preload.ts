import { contextBridge, ipcRenderer } from 'electron'
import type { ElectronPreloadModules } from './electron-types.js'
import { createRendererApi } from './renderer-api.js'
import type { KeygateRendererApi } from './renderer-types.js'

export { CHANNELS } from './channels.js'
export type { ElectronIpcRenderer, ElectronPreloadModules } from './electron-types.js'
export { createRendererApi } from './renderer-api.js'
export type {
  EncryptionStatus,
  KeygateErrorData,
  KeygateRendererApi,
  RendererActionResult,
  RendererActiveState,
  RendererGraceState,
  RendererInactiveState,
  RendererLicenseState,
} from './renderer-types.js'

export interface ExposeLicenseApiOptions {
  /** The global the page sees. Default `keygate` (`window.keygate`). */
  key?: string | undefined
  /** Electron's `contextBridge` and `ipcRenderer`; default: imported from `electron`. */
  electron?: ElectronPreloadModules | undefined
}

/**
 * Call from your preload script: publishes `window.keygate` (a `KeygateRendererApi`)
 * through `contextBridge`, so the page never touches `ipcRenderer`. Needs
 * `contextIsolation` (Electron's default).
 */
export function exposeLicenseApi(options: ExposeLicenseApiOptions = {}): KeygateRendererApi {
  // Imported statically rather than injected by default: a sandboxed preload cannot
  // `import()`, and the API must exist before the page's own scripts run.
  const modules = options.electron ?? { contextBridge, ipcRenderer }
  const api = createRendererApi(modules.ipcRenderer)
  modules.contextBridge.exposeInMainWorld(options.key ?? 'keygate', api)
  return api
}
