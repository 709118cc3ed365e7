import { fileURLToPath } from 'node:url'

// The prebuilt preloads sit beside this module in dist/ (see tsdown.config.ts). They are
// single CommonJS files requiring only `electron`, as a sandboxed preload must be.

/**
 * The read-only preload for the app's own windows: `window.keygate` with `status()` and
 * `onChange()` only. Pass it as `webPreferences.preload`.
 */
export const preloadPath: string = fileURLToPath(new URL('./app-preload.cjs', import.meta.url))

/** The full preload, for the activation window only (its default). */
export const activationPreloadPath: string = fileURLToPath(
  new URL('./activation-preload.cjs', import.meta.url),
)
