// The prebuilt full preload (dist/activation-preload.cjs): the activation window's default.
import { exposeLicenseApi } from './preload.js'

exposeLicenseApi({ mode: 'full' })
