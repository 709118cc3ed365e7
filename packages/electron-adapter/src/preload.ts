import { contextBridge, ipcRenderer } from 'electron'
import type { ElectronPreloadModules } from './electron-types.js'
import { createRendererApi, readOnly } from './renderer-api.js'
import type { KeygateReadApi, KeygateRendererApi } from './renderer-types.js'

export { CHANNELS } from './channels.js'
export type { ElectronIpcRenderer, ElectronPreloadModules } from './electron-types.js'
export { createRendererApi } from './renderer-api.js'
export type {
  EncryptionStatus,
  KeygateErrorData,
  KeygateReadApi,
  KeygateRendererApi,
  RendererActionResult,
  RendererActiveState,
  RendererDevice,
  RendererDevicesResult,
  RendererErrorData,
  RendererGraceState,
  RendererInactiveState,
  RendererLicenseState,
} from './renderer-types.js'

export interface ExposeLicenseApiOptions {
  /**
   * `read` (default): `status()` and `onChange()` only, for the app's own windows.
   * `full`: also `activate`, `deactivate` and `refresh`, for the activation window;
   * main refuses those from any other window whatever its preload exposes.
   */
  mode?: 'read' | 'full' | undefined
  /** The global the page sees. Default `keygate` (`window.keygate`). */
  key?: string | undefined
  /** Electron's `contextBridge` and `ipcRenderer`; default: imported from `electron`. */
  electron?: ElectronPreloadModules | undefined
}

/**
 * Call from your preload script: publishes `window.keygate` through `contextBridge`, so
 * the page never touches `ipcRenderer`. Read-only unless `mode: 'full'` (least
 * privilege: a page that only shows the license cannot change it). Needs
 * `contextIsolation` (Electron's default).
 */
export function exposeLicenseApi(
  options: ExposeLicenseApiOptions & { mode: 'full' },
): KeygateRendererApi
export function exposeLicenseApi(options?: ExposeLicenseApiOptions): KeygateReadApi
export function exposeLicenseApi(
  options: ExposeLicenseApiOptions = {},
): KeygateReadApi | KeygateRendererApi {
  // Imported statically rather than injected by default: a sandboxed preload cannot
  // `import()`, and the API must exist before the page's own scripts run.
  const modules = options.electron ?? { contextBridge, ipcRenderer }
  const full = createRendererApi(modules.ipcRenderer)
  const api = options.mode === 'full' ? full : readOnly(full)
  modules.contextBridge.exposeInMainWorld(options.key ?? 'keygate', api)
  return api
}
