import type { InactiveReason, KeygateErrorCode } from '@keygate/core'
import type {
  KeygateErrorData,
  KeygateRendererApi,
  RendererLicenseState,
} from './renderer-types.js'

/** What the page's script is given, embedded as JSON. */
export interface ActivationPageConfig {
  productName: string
  errors: Readonly<Record<KeygateErrorCode, string>>
  inactive: Readonly<Record<InactiveReason, string>>
}

/**
 * The activation page's script. It runs in the page, not here: it is embedded with
 * `Function.prototype.toString`, so it must stay self-contained (no imports, no
 * closures over this module); types are checked like any other code.
 */
export function activationPageScript(config: ActivationPageConfig): void {
  const exposed = (window as unknown as { keygate?: Partial<KeygateRendererApi> }).keygate
  // A preload exposing only the read-only API cannot activate: say so rather than fail.
  const full = typeof exposed?.activate === 'function' && typeof exposed.deactivate === 'function'
  const api = full ? (exposed as KeygateRendererApi) : undefined
  const q = <E extends HTMLElement>(selector: string): E => {
    const element = document.querySelector<E>(selector)
    if (element === null) throw new Error(`activation page: ${selector} is missing`)
    return element
  }
  const heading = q<HTMLHeadingElement>('#heading')
  const summary = q<HTMLParagraphElement>('#summary')
  const detail = q<HTMLParagraphElement>('#detail')
  const form = q<HTMLFormElement>('#form')
  const input = q<HTMLInputElement>('#key')
  const submit = q<HTMLButtonElement>('#activate')
  const progress = q<HTMLParagraphElement>('#progress')
  const message = q<HTMLParagraphElement>('#message')
  const check = q<HTMLButtonElement>('#check')
  const deactivate = q<HTMLButtonElement>('#deactivate')
  const done = q<HTMLButtonElement>('#continue')
  const devices = q<HTMLElement>('#devices')
  const deviceList = q<HTMLUListElement>('#device-list')
  const DAY = 24 * 60 * 60 * 1000
  let busy = false
  let holdUntil = 0

  const date = (ms: number) =>
    new Date(ms).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' })
  const moreDays = (n: number) => `${n} more ${n === 1 ? 'day' : 'days'}`
  const say = (text: string) => {
    message.textContent = text
    message.hidden = text === ''
  }
  const errorText = (error: KeygateErrorData) =>
    (config.errors[error.code] ?? error.message).replace(
      '{seconds}',
      String(Math.ceil(error.retryAfter ?? 60)),
    )

  const setBusy = (on: boolean, text: string) => {
    busy = on
    form.setAttribute('aria-busy', String(on))
    input.readOnly = on
    submit.textContent = on ? 'Activating…' : 'Activate'
    for (const button of [submit, check, deactivate]) button.disabled = on
    if (!on && Date.now() < holdUntil) submit.disabled = true
    progress.textContent = text
  }

  const render = (state: RendererLicenseState) => {
    const licensed = state.status !== 'inactive'
    form.hidden = licensed
    deactivate.hidden = !licensed
    done.hidden = !licensed
    check.hidden = !(
      state.status === 'grace' ||
      (state.status === 'inactive' &&
        (state.reason === 'grace_expired' || state.reason === 'clock_tampered'))
    )
    const more = state.status === 'inactive' ? (state.detail ?? '') : ''
    detail.textContent = more === '' ? '' : `Details: ${more}`
    detail.hidden = more === ''
    heading.textContent = licensed
      ? `${config.productName} is activated`
      : `Activate ${config.productName}`
    if (state.status === 'active') {
      const until = state.expiresAt === null ? '' : ` It is valid until ${date(state.expiresAt)}.`
      summary.textContent = `This computer is activated with license key ${state.license.displayKey}.${until}`
    } else if (state.status === 'grace') {
      const left = moreDays(Math.max(0, Math.ceil((state.graceEndsAt - Date.now()) / DAY)))
      summary.textContent =
        state.why === 'unreachable'
          ? `Your license couldn't be checked because the license server can't be reached. The app keeps working for ${left} (until ${date(state.graceEndsAt)}). Connect to the internet and choose Check again.`
          : `Your license is due for its regular online check. The app keeps working for ${left} (until ${date(state.graceEndsAt)}) while it is checked.`
    } else {
      const key = state.license === undefined ? '' : ` (license key ${state.license.displayKey})`
      summary.textContent = `${config.inactive[state.reason]}${key}`
    }
  }

  // With a lease server, a key whose seats are all taken lists them, each with a button
  // that frees it and activates this computer in its place.
  const showDevices = async (key: string) => {
    devices.hidden = true
    deviceList.replaceChildren()
    if (api?.devices === undefined || api.freeDevice === undefined) return
    const listed = await api.devices(key)
    if (!listed.ok) return // no lease server (invalid_input), or it failed: the message stands
    for (const device of listed.devices.filter((d) => !d.current)) {
      const item = document.createElement('li')
      item.textContent = `${device.label}, activated ${date(device.createdAt)} `
      const free = document.createElement('button')
      free.type = 'button'
      free.className = 'secondary'
      free.textContent = 'Free this seat'
      free.addEventListener('click', async () => {
        if (busy || api.freeDevice === undefined) return
        setBusy(true, `Freeing the seat of ${device.label}…`)
        const freed = await api.freeDevice(device.id, key).catch((error: unknown) => {
          fail(error)
          return undefined
        })
        setBusy(false, '')
        if (freed === undefined) return
        if (!freed.ok) {
          say(errorText(freed.error))
          return
        }
        devices.hidden = true
        input.value = key
        form.requestSubmit()
      })
      item.append(free)
      deviceList.append(item)
    }
    devices.hidden = deviceList.childElementCount === 0
  }

  const fail = (error: unknown) => {
    const text = error instanceof Error ? error.message : String(error)
    say(`Something went wrong: ${text}`)
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (busy || api === undefined) return
    const key = input.value.trim()
    if (key === '') {
      input.setAttribute('aria-invalid', 'true')
      say('Enter your license key.')
      input.focus()
      return
    }
    say('')
    devices.hidden = true
    setBusy(true, 'Activating your license…')
    let after = ''
    try {
      const result = await api.activate(key)
      render(result.state)
      if (result.ok) {
        input.value = ''
        input.removeAttribute('aria-invalid')
        after = 'Activated. Thank you!'
      } else {
        input.setAttribute('aria-invalid', 'true')
        say(errorText(result.error))
        if (result.error.code === 'activation_limit_reached') void showDevices(key).catch(fail)
        if (result.error.code === 'rate_limited') {
          // Polar blocks the network for this long: a retry before it only extends the block.
          holdUntil = Date.now() + (result.error.retryAfter ?? 60) * 1000
          setTimeout(() => {
            if (!busy) submit.disabled = false
          }, holdUntil - Date.now())
        }
      }
    } catch (error) {
      fail(error)
    } finally {
      setBusy(false, after)
      if (form.hidden) done.focus()
      else input.focus()
    }
  })

  check.addEventListener('click', async () => {
    if (busy || api === undefined) return
    say('')
    setBusy(true, 'Checking your license…')
    let after = ''
    try {
      const state = await api.refresh()
      render(state)
      if (state.error !== undefined) say(errorText(state.error))
      else if (state.status === 'active') after = 'Your license is confirmed.'
    } catch (error) {
      fail(error)
    } finally {
      setBusy(false, after)
    }
  })

  deactivate.addEventListener('click', async () => {
    if (busy || api === undefined) return
    say('')
    setBusy(true, 'Deactivating this computer…')
    let after = ''
    try {
      const result = await api.deactivate()
      render(result.state)
      if (result.ok) after = 'This computer is deactivated and its seat is free.'
      else say(errorText(result.error))
    } catch (error) {
      fail(error)
    } finally {
      setBusy(false, after)
    }
  })

  done.addEventListener('click', () => window.close())

  if (api === undefined) {
    form.hidden = true
    say(
      exposed === undefined
        ? "This window can't reach the app's license service (the keygate preload is missing)."
        : "This window's preload only lets it read the license. The activation window needs exposeLicenseApi({ mode: 'full' }), or no preload option at all.",
    )
    return
  }
  api.onChange((state) => {
    if (!busy) render(state)
  })
  api.status().then(render, fail)
}
