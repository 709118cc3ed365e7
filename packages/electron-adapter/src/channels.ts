/**
 * IPC channel names shared by main and preload. Namespaced so they never collide with
 * the app's own channels. Kept free of imports: the preload bundles this file.
 */
export const CHANNELS = {
  status: 'keygate:status',
  activate: 'keygate:activate',
  deactivate: 'keygate:deactivate',
  refresh: 'keygate:refresh',
  subscribe: 'keygate:subscribe',
  unsubscribe: 'keygate:unsubscribe',
  /** With a lease server: the key's devices, and freeing one (activation window only). */
  devices: 'keygate:devices',
  freeDevice: 'keygate:free-device',
  /** Pushed from main to subscribed windows with `webContents.send`. */
  changed: 'keygate:changed',
} as const

/** The `invoke` channels main answers with `ipcMain.handle`. */
export const INVOKE_CHANNELS = [
  CHANNELS.status,
  CHANNELS.activate,
  CHANNELS.deactivate,
  CHANNELS.refresh,
  CHANNELS.subscribe,
  CHANNELS.unsubscribe,
  CHANNELS.devices,
  CHANNELS.freeDevice,
] as const
