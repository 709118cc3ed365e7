import { describe, expect, it, vi } from 'vitest'
import type { ElectronPreloadModules } from '../src/electron-types.js'
import type { KeygateRendererApi, RendererLicenseState } from '../src/renderer-types.js'

// The real `electron` package only works inside Electron: give the preload entry fakes.
const electron = vi.hoisted(() => {
  type Listener = (event: unknown, ...args: unknown[]) => void
  const listeners = new Map<string, Set<Listener>>()
  const invoked: Array<{ channel: string; args: unknown[] }> = []
  const exposed = new Map<string, unknown>()
  return {
    listeners,
    invoked,
    exposed,
    emit(channel: string, ...args: unknown[]) {
      for (const listener of listeners.get(channel) ?? [])
        listener({ sender: 'ipcRenderer!' }, ...args)
    },
    contextBridge: {
      exposeInMainWorld(apiKey: string, api: unknown) {
        exposed.set(apiKey, api)
      },
    },
    ipcRenderer: {
      async invoke(channel: string, ...args: unknown[]) {
        invoked.push({ channel, args })
        return { status: 'inactive', reason: 'not_activated', encryption: 'os' }
      },
      on(channel: string, listener: Listener) {
        const set = listeners.get(channel) ?? new Set()
        set.add(listener)
        listeners.set(channel, set)
        return this
      },
      removeListener(channel: string, listener: Listener) {
        listeners.get(channel)?.delete(listener)
        return this
      },
    },
  }
})
vi.mock('electron', () => ({
  contextBridge: electron.contextBridge,
  ipcRenderer: electron.ipcRenderer,
}))

const { exposeLicenseApi } = await import('../src/preload.js')

const STATE: RendererLicenseState = {
  status: 'inactive',
  reason: 'not_activated',
  encryption: 'os',
  words: { title: 'Not activated', detail: 'This computer has no license yet.' },
}

describe('exposeLicenseApi', () => {
  it('is read-only by default: status and onChange, nothing that changes the license', async () => {
    const returned = exposeLicenseApi()
    const api = electron.exposed.get('keygate') as Record<string, unknown>
    expect(Object.keys(api).sort()).toEqual(['onChange', 'status'])
    expect(returned).toBe(api)
    expect(Object.values(api).every((value) => typeof value === 'function')).toBe(true)
    expect(JSON.stringify(Object.keys(api))).not.toContain('ipcRenderer')
    electron.invoked.length = 0
  })

  it('puts the full API on window.keygate through contextBridge for the activation window', async () => {
    exposeLicenseApi({ mode: 'full' })
    const api = electron.exposed.get('keygate') as KeygateRendererApi
    expect(Object.keys(api).sort()).toEqual([
      'activate',
      'deactivate',
      'devices',
      'freeDevice',
      'onChange',
      'refresh',
      'status',
    ])

    await api.status()
    await api.activate('ACME-KEY')
    await api.deactivate()
    await api.refresh()
    expect(electron.invoked.map((i) => [i.channel, ...i.args])).toEqual([
      ['keygate:status'],
      ['keygate:activate', 'ACME-KEY'],
      ['keygate:deactivate'],
      ['keygate:refresh'],
    ])
  })

  it('passes listeners the state only, never the IPC event', () => {
    electron.invoked.length = 0
    const fakes: ElectronPreloadModules = {
      contextBridge: electron.contextBridge,
      ipcRenderer: electron.ipcRenderer,
    }
    const api = exposeLicenseApi({ key: 'license', electron: fakes, mode: 'full' })
    const first = vi.fn()
    const second = vi.fn()
    const offFirst = api.onChange(first)
    const offSecond = api.onChange(second)
    electron.emit('keygate:changed', STATE)
    expect(first.mock.calls).toEqual([[STATE]])
    expect(second.mock.calls).toEqual([[STATE]])

    // Subscribed in main once, unsubscribed after the last listener left.
    offFirst()
    expect(electron.invoked.map((i) => i.channel)).toEqual(['keygate:subscribe'])
    offSecond()
    offSecond()
    expect(electron.invoked.map((i) => i.channel)).toEqual([
      'keygate:subscribe',
      'keygate:unsubscribe',
    ])
    expect(electron.listeners.get('keygate:changed')?.size).toBe(0)
    electron.emit('keygate:changed', STATE)
    expect(first).toHaveBeenCalledTimes(1)
  })
})
