export type { RevalidationTiming } from '@keygate/core'
export {
  type ActivationPageInput,
  type ActivationPageOptions,
  activationPageHtml,
  activationPageUrl,
} from './activation-page.js'
export { ACTIVATION_PARTITION, type ActivationWindowOptions } from './activation-window.js'
export { CHANNELS } from './channels.js'
export {
  createElectronLicensing,
  type ElectronLicensing,
  type ElectronLicensingOptions,
  netFetch,
} from './electron-licensing.js'
export type {
  ActivationBrowserWindow,
  ActivationWebContents,
  BrowserWindowClass,
  ElectronApp,
  ElectronInvokeEvent,
  ElectronIpcMain,
  ElectronModules,
  ElectronNet,
  ElectronPowerMonitor,
  ElectronSafeStorage,
  ElectronSafeStorageAsync,
  ElectronShell,
  ManagingWebContents,
  PreventableEvent,
} from './electron-types.js'
export {
  ENCRYPTED_HEADER,
  type EncryptedStore,
  type EncryptedStoreOptions,
  encryptedStore,
  encryptionStatus,
} from './encrypted-store.js'
export type { ElectronLicenseState, ElectronStateListener } from './gate.js'
export { activationPreloadPath, preloadPath } from './preload-paths.js'
export { type SafeStorageKeychainOptions, safeStorageKeychain } from './record-key.js'
export {
  DEFAULT_STORE_NAME,
  electronUserDataDir,
  type UserDataOptions,
} from './record-location.js'
export { toErrorData, toRendererState, type WordsOptions } from './renderer-state.js'
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
