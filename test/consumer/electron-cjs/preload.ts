// The preload, type-checked in the same module system as the main beside it.
import { exposeLicenseApi, type KeygateRendererApi } from '@keygate/electron-adapter/preload'

const api: KeygateRendererApi = exposeLicenseApi({ mode: 'full' })
void api.status()
