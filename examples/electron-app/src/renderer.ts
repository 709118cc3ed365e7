// The app's page: shows the license state it gets over the bridge (never the key).
import type { KeygateRendererApi, RendererLicenseState } from '@keygate/electron-adapter/preload'

declare global {
  interface Window {
    keygate: KeygateRendererApi
  }
}

const status = document.querySelector<HTMLParagraphElement>('#license')
const deactivate = document.querySelector<HTMLButtonElement>('#deactivate')

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
deactivate?.addEventListener('click', async () => {
  const result = await window.keygate.deactivate()
  show(result.state)
})
