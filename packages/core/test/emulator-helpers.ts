import { createPolarEmulator, type PolarEmulatorOptions } from '@keygate/core/testing'

/** Shared setup for the emulator tests: a frozen clock moved only by `advance`. */
export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0)
export const BASE = 'https://api.polar.sh/v1/customer-portal/license-keys'

export interface Reply {
  status: number
  headers: Headers
  text: string
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON fields
  json: any
}

export function setup(options: PolarEmulatorOptions = {}) {
  const emulator = createPolarEmulator({ now: () => T0, rateLimit: false, ...options })
  const org = emulator.organizationId

  async function call(
    endpoint: string,
    body: unknown,
    init: { headers?: Record<string, string>; method?: string } = {},
  ): Promise<Reply> {
    const res = await emulator.fetch(`${BASE}/${endpoint}`, {
      method: init.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...init.headers },
      ...(init.method === 'GET'
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    const text = await res.text()
    let json: unknown = null
    try {
      json = text === '' ? null : JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, text, json }
  }

  return {
    emulator,
    org,
    call,
    activate: (key: string, extra: Record<string, unknown> = {}) =>
      call('activate', { key, organization_id: org, label: 'Laptop', ...extra }),
    validate: (key: string, extra: Record<string, unknown> = {}) =>
      call('validate', { key, organization_id: org, ...extra }),
    deactivate: (key: string, activationId: string) =>
      call('deactivate', { key, organization_id: org, activation_id: activationId }),
  }
}
