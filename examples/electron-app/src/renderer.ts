// The app's page: shows the license state it gets over the bridge (never the key). Its
// preload is read-only: changing the license happens in the activation window.
import type { KeygateReadApi, RendererLicenseState } from '@keygate/electron-adapter/preload'

declare global {
  interface Window {
    keygate: KeygateReadApi
  }
}

const status = document.querySelector<HTMLParagraphElement>('#license')

function describe(state: RendererLicenseState): string {
  switch (state.status) {
    case 'active':
      return `Licensed (${state.license.displayKey}).`
    case 'grace': {
      const days = Math.ceil((state.graceEndsAt - Date.now()) / 86_400_000)
      return `Licensed, offline: ${days} day(s) left to reconnect.`
    }
    case 'inactive':
      return `Not licensed: ${state.reason}.`
  }
}

function show(state: RendererLicenseState): void {
  if (status) status.textContent = describe(state)
  if (state.encryption === 'unavailable' && status) {
    status.textContent += ' (stored without OS encryption: no keyring on this system)'
  }
}

window.keygate.onChange(show)
window.keygate.status().then(show, (error: unknown) => {
  if (status) status.textContent = `License bridge unavailable: ${String(error)}`
})
