import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where `createElectronLicensing` keeps its record by default, for tools that look at it
 * from outside the app (`keygate status --app-name`): `<userData>/<DEFAULT_STORE_NAME>.json`.
 */

/** The record's file name without `.json` when the app passes no `storeName`. */
export const DEFAULT_STORE_NAME = 'license'

export interface UserDataOptions {
  /** Default `process.platform`. */
  platform?: NodeJS.Platform | undefined
  /** Default `process.env` (APPDATA, XDG_CONFIG_HOME). */
  env?: Readonly<Record<string, string | undefined>> | undefined
  /** Default `os.homedir()`. */
  home?: string | undefined
}

/**
 * Electron's `app.getPath('userData')` for an app named `appName`, computed without
 * Electron. It differs from node-store's data folder on Linux and Windows.
 */
export function electronUserDataDir(appName: string, options: UserDataOptions = {}): string {
  const platform = options.platform ?? process.platform
  const env = options.env ?? process.env
  const home = options.home ?? homedir()
  switch (platform) {
    case 'darwin':
      return join(home, 'Library', 'Application Support', appName)
    case 'win32':
      return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), appName)
    default:
      // Electron uses XDG_CONFIG_HOME only when it is set and not empty.
      return join(env.XDG_CONFIG_HOME || join(home, '.config'), appName)
  }
}
