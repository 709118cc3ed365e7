export { ERROR_MESSAGES, INACTIVE_MESSAGES } from './activation-messages.js'
export {
  type ActivationPageOptions,
  activationPageHtml,
  activationPageUrl,
} from './activation-page.js'
export type { ActivationWindowOptions } from './activation-window.js'
export { CHANNELS } from './channels.js'
export {
  createElectronLicensing,
  type ElectronLicensing,
  type ElectronLicensingOptions,
  netFetch,
} from './electron-licensing.js'
export type {
  ActivationBrowserWindow,
  BrowserWindowClass,
  ElectronApp,
  ElectronInvokeEvent,
  ElectronIpcMain,
  ElectronModules,
  ElectronNet,
  ElectronPowerMonitor,
  ElectronSafeStorage,
} from './electron-types.js'
export {
  ENCRYPTED_HEADER,
  type EncryptedStore,
  type EncryptedStoreOptions,
  encryptedStore,
  encryptionStatus,
} from './encrypted-store.js'
export type { ElectronLicenseState, ElectronStateListener } from './gate.js'
export { toRendererState } from './renderer-state.js'
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
export { DEFAULT_TIMING, type RevalidationTiming } from './schedule.js'
