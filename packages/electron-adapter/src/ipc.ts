import { type Device, KeygateError } from '@keygate/core'
import { CHANNELS, INVOKE_CHANNELS } from './channels.js'
import type { ElectronInvokeEvent, ElectronIpcMain } from './electron-types.js'
import type { ElectronLicenseState, ElectronStateListener } from './gate.js'
import { originOf } from './origin.js'
import { createPacer } from './paced-fetch.js'
import { toErrorData, toRendererState, type WordsOptions } from './renderer-state.js'
import type {
  RendererActionResult,
  RendererDevice,
  RendererDevicesResult,
  RendererLicenseState,
} from './renderer-types.js'

/** Longer than any key Polar issues or imports; refuses junk before it reaches core. */
const MAX_KEY_LENGTH = 1024

/**
 * What a frame may do: `read` (status and changes) for the app's own pages, `full`
 * (also activate, deactivate, refresh) for the activation window only.
 */
export type BridgeAccess = 'none' | 'read' | 'full'

/** What the bridge calls in main: the same functions main's own code calls. */
export interface LicenseActions {
  readonly state: ElectronLicenseState | undefined
  check(options: { online: 'never' }): Promise<ElectronLicenseState>
  activate(key: string): Promise<ElectronLicenseState>
  deactivate(): Promise<ElectronLicenseState>
  refresh(): Promise<ElectronLicenseState>
  subscribe(listener: ElectronStateListener): () => void
  /** Through the lease server (core throws `invalid_input` without one). */
  devices(key: string): Promise<Device[]>
  freeDevice(activationId: string, key: string): Promise<void>
}

export interface IpcBridgeOptions {
  ipcMain: ElectronIpcMain
  actions: LicenseActions
  /** What a frame at `url` inside `sender` may do. */
  access: (sender: { readonly id: number }, url: string | undefined) => BridgeAccess
  /** Renderer-asked online checks closer together than this get the cached state. */
  minRefreshIntervalMs: number
  /** A renderer's next activation waits this long after the previous one ended. */
  minActivationIntervalMs: number
  now: () => number
  /** The user's locale (`app.getLocale()`) for the words each state and error carries. */
  locale?: (() => string | undefined) | undefined
}

type Sender = ElectronInvokeEvent['sender']
type InvokeChannel = (typeof INVOKE_CHANNELS)[number]

/** Channels that change the license or reach Polar: the activation window only. */
const FULL_ONLY: ReadonlySet<string> = new Set([
  CHANNELS.activate,
  CHANNELS.deactivate,
  CHANNELS.refresh,
  CHANNELS.devices,
  CHANNELS.freeDevice,
])

/**
 * Registers the `keygate:*` handlers. Every call is refused unless the calling frame
 * is one of the app's own pages, changes only from the activation window, and no
 * answer ever carries the key. Returns a function that removes the handlers.
 */
export function registerIpcBridge(options: IpcBridgeOptions): () => void {
  const { ipcMain, actions, access, now } = options
  const subscribers = new Map<number, Sender>()
  const wordsFor = (): WordsOptions => ({ locale: localeOf(options.locale), now: now() })
  const rendererView = (state: ElectronLicenseState): RendererLicenseState =>
    toRendererState(state, state.encryption, wordsFor())
  const errorData = (error: unknown, key?: string) => toErrorData(error, key, wordsFor())
  // Field by field, like the states; the date in the same words as describe()'s dates.
  const deviceView = (device: Device): RendererDevice => ({
    id: device.id,
    label: device.label,
    createdAt: device.createdAt,
    current: device.current,
    activatedOn: formatDate(device.createdAt, localeOf(options.locale)),
  })
  // Policies of the adapter's one throttle (the pacer under `net.fetch`): one online check
  // per interval from renderers, and one activation per interval after the previous
  // ended. A page looping `activate()` or `refresh()` (a bug, an injected script) must
  // not spend the office's shared rate limit.
  const refreshes = createPacer({ now, requests: 1, windowMs: options.minRefreshIntervalMs })
  const activations = createPacer({ now, requests: 1, windowMs: options.minActivationIntervalMs })
  let changing = false

  const view = async (): Promise<RendererLicenseState> =>
    rendererView(actions.state ?? (await actions.check({ online: 'never' })))

  const guard = (event: ElectronInvokeEvent, channel: string) => {
    const url = event.senderFrame?.url
    const granted = access(event.sender, url)
    const origin = url === undefined ? 'a closed frame' : (originOf(url) ?? 'an unknown page')
    // The origin only: a URL's path or query may hold something private.
    if (granted === 'none') {
      throw new KeygateError(
        'forbidden',
        `Refused ${channel} from ${origin}: only the app's own pages may use the license bridge. Add the origin to allowedOrigins if it is yours.`,
      )
    }
    if (granted === 'read' && FULL_ONLY.has(channel)) {
      throw new KeygateError(
        'forbidden',
        `Refused ${channel} from ${origin}: only the activation window may activate, deactivate or check the license online; app windows may read its state.`,
      )
    }
  }

  const paced = async (waitMs: number): Promise<RendererActionResult> => {
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000))
    const error = new KeygateError(
      'rate_limited',
      `Another license change from a window is running or has just ended: wait ${retryAfter} s, then try again.`,
      { retryAfter },
    )
    return { ok: false, error: errorData(error), state: await view() }
  }

  const activate = async (key: unknown): Promise<RendererActionResult> => {
    if (typeof key !== 'string' || key.trim() === '' || key.length > MAX_KEY_LENGTH) {
      const error = new KeygateError(
        'invalid_input',
        'Enter the license key exactly as it appears in your purchase email.',
      )
      return { ok: false, error: errorData(error), state: await view() }
    }
    if (changing) return paced(options.minActivationIntervalMs)
    const wait = activations.next()
    if (wait > 0) return paced(wait)
    changing = true
    try {
      return { ok: true, state: rendererView(await actions.activate(key)) }
    } catch (error) {
      return { ok: false, error: errorData(error, key), state: await view() }
    } finally {
      changing = false
      activations.mark()
    }
  }

  const deactivate = async (): Promise<RendererActionResult> => {
    if (changing) return paced(options.minActivationIntervalMs)
    changing = true
    try {
      return { ok: true, state: rendererView(await actions.deactivate()) }
    } catch (error) {
      return { ok: false, error: errorData(error), state: await view() }
    } finally {
      changing = false
    }
  }

  const refresh = async (): Promise<RendererLicenseState> => {
    // A renderer stuck in a loop must not spend the office's shared rate limit.
    if (refreshes.take() > 0) return view()
    return rendererView(await actions.refresh())
  }

  const goodKey = (key: unknown): key is string =>
    typeof key === 'string' && key.trim() !== '' && key.length <= MAX_KEY_LENGTH
  const listDevices = async (key: unknown): Promise<RendererDevicesResult> => {
    if (!goodKey(key)) return { ok: false, error: errorData(invalidKey()) }
    try {
      const listed = await actions.devices(key)
      return { ok: true, devices: listed.map(deviceView) }
    } catch (error) {
      return { ok: false, error: errorData(error, key) }
    }
  }
  const freeDevice = async (id: unknown, key: unknown): Promise<RendererDevicesResult> => {
    if (!goodKey(key)) return { ok: false, error: errorData(invalidKey()) }
    if (typeof id !== 'string' || !/^[0-9a-fA-F-]{1,64}$/.test(id)) {
      const error = new KeygateError('invalid_input', 'That device could not be found.')
      return { ok: false, error: errorData(error) }
    }
    if (changing) {
      const error = new KeygateError(
        'rate_limited',
        'Another license change from a window is running: wait a moment, then try again.',
        { retryAfter: 1 },
      )
      return { ok: false, error: errorData(error) }
    }
    changing = true
    try {
      await actions.freeDevice(id, key)
    } catch (error) {
      return { ok: false, error: errorData(error, key) }
    } finally {
      changing = false
    }
    return listDevices(key)
  }

  const handlers: Record<InvokeChannel, (event: ElectronInvokeEvent, args: unknown[]) => unknown> =
    {
      [CHANNELS.status]: () => view(),
      [CHANNELS.activate]: (_event, args) => activate(args[0]),
      [CHANNELS.deactivate]: () => deactivate(),
      [CHANNELS.refresh]: () => refresh(),
      [CHANNELS.subscribe]: (event) => {
        subscribers.set(event.sender.id, event.sender)
      },
      [CHANNELS.unsubscribe]: (event) => {
        subscribers.delete(event.sender.id)
      },
      [CHANNELS.devices]: (_event, args) => listDevices(args[0]),
      [CHANNELS.freeDevice]: (_event, args) => freeDevice(args[0], args[1]),
    }

  for (const channel of INVOKE_CHANNELS) {
    ipcMain.handle(channel, async (event, ...args) => {
      guard(event, channel)
      return handlers[channel](event, args)
    })
  }

  const unsubscribe = actions.subscribe((state) => {
    const payload = rendererView(state)
    for (const [id, sender] of subscribers) {
      if (sender.isDestroyed()) {
        subscribers.delete(id)
        continue
      }
      // The window may have navigated elsewhere since it subscribed.
      if (access(sender, sender.getURL()) === 'none') continue
      try {
        sender.send(CHANNELS.changed, payload)
      } catch {
        // Closed between the check and the send: forget it.
        subscribers.delete(id)
      }
    }
  })

  return () => {
    unsubscribe()
    subscribers.clear()
    for (const channel of INVOKE_CHANNELS) ipcMain.removeHandler(channel)
  }
}

/**
 * The user's locale when Intl accepts it, else undefined (the runtime's own):
 * `app.getLocale()` answers '' on Windows before `ready` or without the locales folder,
 * and describe() would throw a RangeError on it, failing every answer and every push.
 */
function localeOf(locale: (() => string | undefined) | undefined): string | undefined {
  const value = locale?.()
  if (value === undefined || value === '') return undefined
  try {
    Intl.getCanonicalLocales(value)
    return value
  } catch {
    return undefined
  }
}

function formatDate(ms: number, locale: string | undefined): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'long' }).format(ms)
}

function invalidKey(): KeygateError {
  return new KeygateError(
    'invalid_input',
    'Enter the license key exactly as it appears in your purchase email.',
  )
}
