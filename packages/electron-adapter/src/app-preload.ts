// The prebuilt read-only preload (dist/app-preload.cjs): `webPreferences.preload` for the
// app's own windows, as is.
import { exposeLicenseApi } from './preload.js'

exposeLicenseApi()
