// The app's page: shows the license state it gets over the bridge (never the key). Its
// preload is read-only: changing the license happens in the activation window.
import type { KeygateReadApi, RendererLicenseState } from '@keygate/electron-adapter/preload'

declare global {
  interface Window {
    keygate: KeygateReadApi
  }
}

const status = document.querySelector<HTMLParagraphElement>('#license')

function show(state: RendererLicenseState): void {
  if (status === null) return
  // Core's describe() words, sent by main in the user's locale: dates already formatted.
  status.textContent = `${state.words.title}: ${state.words.detail}`
  if (state.encryption === 'unavailable') {
    status.textContent += ' (stored without OS encryption: no keyring on this system)'
  }
}

window.keygate.onChange(show)
window.keygate.status().then(show, (error: unknown) => {
  if (status) status.textContent = `License bridge unavailable: ${String(error)}`
})
