import { KeygateError } from '@keygate/core'
import { CHANNELS, INVOKE_CHANNELS } from './channels.js'
import type { ElectronInvokeEvent, ElectronIpcMain } from './electron-types.js'
import type { ElectronLicenseState, Gate } from './gate.js'
import { originOf } from './origin.js'
import { toErrorData, toRendererState } from './renderer-state.js'
import type { RendererActionResult, RendererLicenseState } from './renderer-types.js'

/** Longer than any key Polar issues or imports; refuses junk before it reaches core. */
const MAX_KEY_LENGTH = 1024

export interface IpcBridgeOptions {
  ipcMain: ElectronIpcMain
  gate: Gate
  /** Whether a frame at this URL may use the bridge. */
  isAllowed: (url: string | undefined) => boolean
  /** Renderer-asked online checks closer together than this get the cached state. */
  minRefreshIntervalMs: number
  now: () => number
}

type Sender = ElectronInvokeEvent['sender']
type InvokeChannel = (typeof INVOKE_CHANNELS)[number]

const rendererView = (state: ElectronLicenseState): RendererLicenseState =>
  toRendererState(state, state.encryption)

/**
 * Registers the `keygate:*` handlers. Every call is refused unless the calling frame
 * is one of the app's own pages, and no answer ever carries the key. Returns a
 * function that removes the handlers.
 */
export function registerIpcBridge(options: IpcBridgeOptions): () => void {
  const { ipcMain, gate, isAllowed } = options
  const subscribers = new Map<number, Sender>()
  let lastRefresh = Number.NEGATIVE_INFINITY

  const view = async (): Promise<RendererLicenseState> =>
    rendererView(gate.state ?? (await gate.check({ online: 'never' })))

  const guard = (event: ElectronInvokeEvent, channel: string) => {
    const url = event.senderFrame?.url
    if (!isAllowed(url)) {
      // The origin only: a URL's path or query may hold something private.
      const origin = url === undefined ? 'a closed frame' : (originOf(url) ?? 'an unknown page')
      throw new KeygateError(
        'forbidden',
        `Refused ${channel} from ${origin}: only the app's own pages may use the license bridge. Add the origin to allowedOrigins if it is yours.`,
      )
    }
  }

  const activate = async (key: unknown): Promise<RendererActionResult> => {
    if (typeof key !== 'string' || key.trim() === '' || key.length > MAX_KEY_LENGTH) {
      const error = new KeygateError(
        'invalid_input',
        'Enter the license key exactly as it appears in your purchase email.',
      )
      return { ok: false, error: error.toJSON(), state: await view() }
    }
    try {
      return { ok: true, state: rendererView(await gate.activate(key)) }
    } catch (error) {
      return { ok: false, error: toErrorData(error, key), state: await view() }
    }
  }

  const deactivate = async (): Promise<RendererActionResult> => {
    try {
      return { ok: true, state: rendererView(await gate.deactivate()) }
    } catch (error) {
      return { ok: false, error: toErrorData(error), state: await view() }
    }
  }

  const refresh = async (): Promise<RendererLicenseState> => {
    // A renderer stuck in a loop must not spend the office's shared rate limit.
    if (options.now() - lastRefresh < options.minRefreshIntervalMs) return view()
    lastRefresh = options.now()
    return rendererView(await gate.refresh())
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
    }

  for (const channel of INVOKE_CHANNELS) {
    ipcMain.handle(channel, async (event, ...args) => {
      guard(event, channel)
      return handlers[channel](event, args)
    })
  }

  const unsubscribeGate = gate.subscribe((state) => {
    const payload = rendererView(state)
    for (const [id, sender] of subscribers) {
      if (sender.isDestroyed()) {
        subscribers.delete(id)
        continue
      }
      // The window may have navigated elsewhere since it subscribed.
      if (!isAllowed(sender.getURL())) continue
      try {
        sender.send(CHANNELS.changed, payload)
      } catch {
        // Closed between the check and the send: forget it.
        subscribers.delete(id)
      }
    }
  })

  return () => {
    unsubscribeGate()
    subscribers.clear()
    for (const channel of INVOKE_CHANNELS) ipcMain.removeHandler(channel)
  }
}
