import type {
  KeygateRendererApi,
  RendererErrorData,
  RendererLicenseState,
} from './renderer-types.js'

/** What the page's script is given, embedded as JSON. */
export interface ActivationPageConfig {
  productName: string
  /** Checked `https:` links; main opens them in the browser. */
  buyUrl?: string
  portalUrl?: string
}

/**
 * The activation page's script. It runs in the page, not here: it is embedded with
 * `Function.prototype.toString`, so it must stay self-contained (no imports, no
 * closures over this module); types are checked like any other code. Every sentence
 * about the license comes with the state or error, from core's `describe()` in main.
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
  const status = q<HTMLParagraphElement>('#status')
  const summary = q<HTMLParagraphElement>('#summary')
  const hint = q<HTMLParagraphElement>('#hint')
  const form = q<HTMLFormElement>('#form')
  const input = q<HTMLInputElement>('#key')
  const submit = q<HTMLButtonElement>('#activate')
  const buy = q<HTMLAnchorElement>('#buy')
  const progress = q<HTMLParagraphElement>('#progress')
  const message = q<HTMLDivElement>('#message')
  const licensedActions = q<HTMLDivElement>('#licensed')
  const check = q<HTMLButtonElement>('#check')
  const done = q<HTMLButtonElement>('#continue')
  const footer = q<HTMLElement>('#footer')
  const portal = q<HTMLAnchorElement>('#portal')
  const deactivate = q<HTMLButtonElement>('#deactivate')
  const devices = q<HTMLElement>('#devices')
  const deviceList = q<HTMLUListElement>('#device-list')
  let busy = false
  let holdUntil = 0
  // Bumped by each activation, so a device list that answers late is not shown over it.
  let attempt = 0

  if (config.buyUrl !== undefined) buy.href = config.buyUrl
  if (config.portalUrl !== undefined) portal.href = config.portalUrl

  const text = (selector: string, value: string) => {
    q(selector).textContent = value
  }
  /** A calm note under the form: what happened, and what to do. */
  const say = (error: RendererErrorData | undefined) => {
    message.hidden = error === undefined
    text('#message-title', error?.words.title ?? '')
    text('#message-detail', error?.words.detail ?? '')
    text('#message-action', error?.words.action ?? '')
  }
  /** The same note for something the page itself knows (an empty field, a missing preload). */
  const sayPlain = (title: string, detail = '') => {
    message.hidden = false
    text('#message-title', title)
    text('#message-detail', detail)
    text('#message-action', '')
  }

  const setBusy = (on: boolean, line: string) => {
    busy = on
    form.setAttribute('aria-busy', String(on))
    input.readOnly = on
    submit.textContent = on ? 'Activating…' : 'Activate'
    for (const button of [submit, check, deactivate, ...deviceList.querySelectorAll('button')]) {
      button.disabled = on
    }
    if (!on && Date.now() < holdUntil) submit.disabled = true
    progress.textContent = line
  }

  const render = (state: RendererLicenseState) => {
    // A trial runs the app but holds no key: the form (and Buy) stay, beside Continue.
    const trial = state.status === 'trial'
    const runs = state.status !== 'inactive'
    const licensed = runs && !trial
    const recheck =
      state.status === 'grace' ||
      (state.status === 'inactive' &&
        (state.reason === 'grace_expired' ||
          state.reason === 'clock_tampered' ||
          state.reason === 'tampered'))
    form.hidden = licensed
    if (licensed) devices.hidden = true
    buy.hidden = licensed || config.buyUrl === undefined
    licensedActions.hidden = !runs && !recheck
    done.hidden = !runs
    check.hidden = !recheck
    // The one primary action: Continue when the app may run, otherwise Check again.
    check.className = licensed ? 'secondary' : ''
    deactivate.hidden = !licensed
    portal.hidden = config.portalUrl === undefined
    footer.hidden = deactivate.hidden && portal.hidden
    status.textContent = state.words.title
    status.dataset.tone = state.status === 'active' ? 'ok' : runs ? 'wait' : ''
    // The masked key stays on one line (it has a hyphen a line could break at).
    const key = state.status === 'trial' ? undefined : state.license?.displayKey
    const parts = key === undefined ? [state.words.detail] : state.words.detail.split(key)
    summary.replaceChildren()
    parts.forEach((part, i) => {
      if (i > 0) {
        const span = document.createElement('span')
        span.className = 'key'
        span.textContent = key ?? ''
        summary.append(span)
      }
      summary.append(part)
    })
    hint.textContent = state.words.action ?? ''
    hint.hidden = hint.textContent === ''
  }

  const fail = (error: unknown) => {
    sayPlain('Something went wrong', error instanceof Error ? error.message : String(error))
  }

  // With a lease server, a key whose seats are all taken lists its other computers, each
  // with a button that frees its seat and activates this computer in its place.
  const showDevices = async (key: string) => {
    const mine = attempt
    devices.hidden = true
    deviceList.replaceChildren()
    if (api?.devices === undefined || api.freeDevice === undefined) return
    const listed = await api.devices(key)
    // No lease server (invalid_input), or it failed: the message above stands.
    if (!listed.ok || mine !== attempt || form.hidden) return
    for (const device of listed.devices.filter((d) => !d.current)) {
      const item = document.createElement('li')
      const name = document.createElement('span')
      name.textContent = device.label
      const when = document.createElement('span')
      when.className = 'when'
      when.textContent = `Activated ${device.activatedOn}`
      const about = document.createElement('div')
      about.append(name, when)
      const free = document.createElement('button')
      free.type = 'button'
      free.className = 'secondary'
      free.textContent = 'Free seat'
      free.setAttribute('aria-label', `Free the seat of ${device.label}`)
      free.addEventListener('click', async () => {
        if (busy || api.freeDevice === undefined) return
        say(undefined)
        setBusy(true, `Freeing the seat of ${device.label}…`)
        const freed = await api.freeDevice(device.id, key).catch((error: unknown) => {
          fail(error)
          return undefined
        })
        setBusy(false, '')
        if (freed === undefined) return
        if (!freed.ok) {
          say(freed.error)
          return
        }
        // The seat is free: activate this computer with the same key.
        devices.hidden = true
        input.value = key
        form.requestSubmit()
      })
      item.append(about, free)
      deviceList.append(item)
    }
    devices.hidden = deviceList.childElementCount === 0
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (busy || api === undefined) return
    const key = input.value.trim()
    if (key === '') {
      input.setAttribute('aria-invalid', 'true')
      sayPlain('Enter your license key.')
      input.focus()
      return
    }
    say(undefined)
    attempt += 1
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
      } else if (result.state.status === 'inactive') {
        input.setAttribute('aria-invalid', 'true')
        say(result.error)
        // The list is extra: if the bridge refuses it, the message already says what to do.
        if (result.error.code === 'activation_limit_reached') {
          void showDevices(key).catch(() => undefined)
        }
        if (result.error.code === 'rate_limited') {
          // Polar blocks the network for this long: a retry before it only extends the block.
          holdUntil = Date.now() + (result.error.retryAfter ?? 60) * 1000
          setTimeout(() => {
            if (!busy) submit.disabled = false
          }, holdUntil - Date.now())
        }
      }
      // Refused while licensed (another window activated meanwhile): the state says it all.
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
    say(undefined)
    setBusy(true, 'Checking your license…')
    let after = ''
    try {
      const state = await api.refresh()
      render(state)
      const code = state.error?.code
      if (state.status === 'active') after = 'Your license is confirmed.'
      else if (code === 'network' || code === 'timeout') after = 'Still no connection.'
      // Anything else is news the state's own words do not tell.
      else if (state.error !== undefined) say(state.error)
    } catch (error) {
      fail(error)
    } finally {
      setBusy(false, after)
    }
  })

  deactivate.addEventListener('click', async () => {
    if (busy || api === undefined) return
    say(undefined)
    setBusy(true, 'Deactivating this computer…')
    let after = ''
    try {
      const result = await api.deactivate()
      render(result.state)
      if (result.ok) after = 'This computer is deactivated and its seat is free.'
      else say(result.error)
    } catch (error) {
      fail(error)
    } finally {
      setBusy(false, after)
    }
  })

  done.addEventListener('click', () => window.close())

  if (api === undefined) {
    form.hidden = true
    sayPlain(
      "This window can't reach the app's license service.",
      exposed === undefined
        ? 'The keygate preload is missing.'
        : "This window's preload only lets it read the license. The activation window needs exposeLicenseApi({ mode: 'full' }), or no preload option at all.",
    )
    return
  }
  api.onChange((state) => {
    if (!busy) render(state)
  })
  api.status().then(render, fail)
}
