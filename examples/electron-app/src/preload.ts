// Runs in the sandboxed preload: publishes `window.keygate` for the page.
import { exposeLicenseApi } from '@keygate/electron-adapter/preload'

exposeLicenseApi()
