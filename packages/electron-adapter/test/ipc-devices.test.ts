import { afterEach, describe, expect, it } from 'vitest'
import { CHANNELS } from '../src/channels.js'
import type { RendererDevicesResult } from '../src/renderer-types.js'
import { type FakeSender, FakeWindow, fakeApp, fakeSender, invokeEvent } from './fakes.js'
import { harness } from './harness.js'

// The devices channels of the bridge: the activation window lists a key's devices and
// frees one through the lease server; app pages may not; without a server, a clear error.

const LEASE = 'https://lease.example'
const DEVICE = { id: '5c6c902d-0000-4000-8000-000000000001', label: 'Old laptop', meta: {} }

const made: Array<ReturnType<typeof harness>> = []
afterEach(() => {
  for (const h of made.splice(0)) h.gate.stop()
})

async function setup(withServer: boolean) {
  const seen: Array<{ path: string; body: Record<string, unknown> }> = []
  let live = [DEVICE]
  const leaseFetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const body = (await request.json()) as Record<string, unknown>
    const path = new URL(request.url).pathname
    seen.push({ path, body })
    if (path === '/v1/devices/free') {
      live = live.filter((d) => d.id !== body.activation_id)
      return Response.json({ freed: body.activation_id })
    }
    const devices = live.map((d) => ({
      ...d,
      created_at: '2026-02-01T10:00:00Z',
      modified_at: null,
      current: false,
    }))
    return Response.json({ devices, limit_activations: 1 })
  }
  // The user's locale (app.getLocale()) dates each device, as it does the state's words.
  const app = { ...fakeApp('/nonexistent/userData'), getLocale: () => 'de-DE' }
  const h = harness({
    electron: { app },
    gate: withServer
      ? {
          fetch: leaseFetch as typeof fetch,
          leaseServer: { url: LEASE, publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } },
        }
      : {},
  })
  made.push(h)
  await h.gate.start()
  const call = <T>(sender: FakeSender, channel: string, ...rest: unknown[]) =>
    h.ipcMain.invoke(channel, invokeEvent(sender), ...rest) as Promise<T>
  void h.gate.openActivationWindow(FakeWindow)
  const window = FakeWindow.made.at(-1) as FakeWindow
  const page = fakeSender(window.url, window.webContents.id)
  return { h, call, page, seen }
}

describe('the devices channels', () => {
  it('lists the key’s devices and frees one, for the activation window', async () => {
    const { h, call, page, seen } = await setup(true)
    const listed = await call<RendererDevicesResult>(page, CHANNELS.devices, h.key.key)
    expect(listed).toEqual({
      ok: true,
      devices: [
        {
          id: DEVICE.id,
          label: 'Old laptop',
          createdAt: Date.parse('2026-02-01T10:00:00Z'),
          activatedOn: '1. Februar 2026',
          current: false,
        },
      ],
    })
    const freed = await call<RendererDevicesResult>(page, CHANNELS.freeDevice, DEVICE.id, h.key.key)
    expect(freed).toEqual({ ok: true, devices: [] })
    expect(seen.map((s) => s.path)).toEqual(['/v1/devices', '/v1/devices/free', '/v1/devices'])
    expect(seen[1]?.body).toMatchObject({ activation_id: DEVICE.id })
    expect(JSON.stringify([listed, freed])).not.toContain(h.key.key)
  })

  it('refuses an app page (read access only)', async () => {
    const { h, call } = await setup(true)
    const appPage = fakeSender('file:///nonexistent/app/index.html')
    await expect(call(appPage, CHANNELS.devices, h.key.key)).rejects.toMatchObject({
      code: expect.stringMatching(/forbidden/),
    })
  })

  it('without a lease server: ok false, invalid_input saying one is needed', async () => {
    const { h, call, page } = await setup(false)
    const listed = await call<RendererDevicesResult>(page, CHANNELS.devices, h.key.key)
    expect(listed).toMatchObject({
      ok: false,
      error: { code: 'invalid_input', words: { title: expect.any(String) } },
    })
    expect(!listed.ok && listed.error.message).toMatch(/lease server/)
  })
})
