import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createLicensing, memoryStore, staticMachine } from '@keygate/core'
import { afterEach, describe, expect, it } from 'vitest'
import { keygate } from './helpers.js'

/**
 * `keygate emulator` as a developer uses it: a real process, its URL hit over HTTP by an
 * app (core's createLicensing), its prompt driven through stdin.
 */

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const children: ChildProcessWithoutNullStreams[] = []

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
})

interface Emulator {
  child: ChildProcessWithoutNullStreams
  /** Resolves with the output once it matches (or rejects when the process ends first). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>
  send(line: string): void
  exited: Promise<number | null>
}

function start(args: readonly string[]): Emulator {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/cli/src/bin.ts', 'emulator', '--port', '0', ...args],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  children.push(child)
  let stdout = ''
  let from = 0
  const waiters = new Set<() => void>()
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    for (const wake of waiters) wake()
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  return {
    child,
    exited,
    send: (line) => child.stdin.write(`${line}\n`),
    // Each wait reads on from the end of the previous match.
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stdout.slice(from))
          if (match === null) return false
          from += match.index + match[0].length
          waiters.delete(wake)
          resolve(match)
          return true
        }
        const wake = () => void check()
        if (check()) return
        waiters.add(wake)
        void exited.then(() => {
          if (!check()) reject(new Error(`emulator exited; output so far:\n${stdout}`))
        })
      }),
  }
}

interface Banner {
  url: string
  organizationId: string
  token: string
  keys: Array<{ id: string; key: string; displayKey: string; limitActivations: number | null }>
}

function app(banner: Banner, machine: string) {
  return createLicensing({
    organizationId: banner.organizationId,
    server: banner.url,
    store: memoryStore(),
    machine: staticMachine(`fingerprint-${machine}`, machine),
  })
}

describe('keygate emulator', () => {
  it('serves Polar on 127.0.0.1 and plays the seller and the network from its prompt', async () => {
    const emulator = start(['--json', '--seats', '1', '--no-rate-limit'])
    const banner = JSON.parse((await emulator.waitFor(/^\{.*\}$/m))[0]) as Banner
    expect(banner.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(banner.organizationId).toMatch(/^[0-9a-f-]{36}$/)
    const [key] = banner.keys
    expect(key?.limitActivations).toBe(1)

    const laptop = app(banner, 'laptop')
    expect((await laptop.activate(key?.key ?? '')).status).toBe('active')

    emulator.send('offline')
    await emulator.waitFor(/^Offline/m)
    const offline = await laptop.refresh()
    expect(offline.status).toBe('active')
    expect(offline.error?.code).toBe('network')
    emulator.send('online')
    await emulator.waitFor(/^Online/m)

    emulator.send('revoke 1')
    await emulator.waitFor(/status revoked/)
    expect(await laptop.refresh()).toMatchObject({ status: 'inactive', reason: 'revoked' })

    emulator.send('key --prefix ACME --seats 2')
    const created = await emulator.waitFor(/^Key 2: (ACME-[0-9A-F-]{36}) \(id ([0-9a-f-]{36})/m)
    expect((await app(banner, 'desktop').activate(created[1] ?? '')).status).toBe('active')

    emulator.send('keys')
    const table = await emulator.waitFor(/^2 +\S+ +ACME-\S+ +granted +1 of 2 in use/m)
    expect(table[0]).toContain(created[2])

    // The seller commands work against it with the token it printed.
    const seller = await keygate(['keys', 'list', '--server', banner.url], {
      POLAR_ACCESS_TOKEN: banner.token,
    })
    expect(seller.code).toBe(0)
    expect(seller.stdout).toContain(created[2])

    emulator.send('nonsense')
    await emulator.waitFor(/^! Unknown command "nonsense"/m)
    emulator.send('quit')
    expect(await emulator.exited).toBe(0)
  })

  it('prints its URL, organization id, token and key for a person; serves on after stdin ends', async () => {
    const emulator = start(['--keys', '2'])
    const url = (await emulator.waitFor(/^Polar emulator: +(http:\/\/127\.0\.0\.1:\d+)$/m))[1]
    await emulator.waitFor(/^Organization id: +[0-9a-f-]{36}$/m)
    await emulator.waitFor(/^Access token: +polar_oat_\w+$/m)
    await emulator.waitFor(/^Test key: +TEST-[0-9A-F-]{36} \(id [0-9a-f-]{36}\)$/m)
    await emulator.waitFor(/^Test key: +TEST-/m)
    await emulator.waitFor(/Type help for commands/)
    emulator.child.stdin.end()
    // Without its prompt it keeps serving (e.g. started in the background) until a signal.
    const answer = await fetch(`${url}/v1/license-keys/`)
    expect(answer.status).toBe(401)
    emulator.child.kill('SIGTERM')
    expect(await emulator.exited).toBe(0)
  })

  it('--offline starts with every request dropped; online answers again', async () => {
    const emulator = start(['--offline', '--json'])
    const banner = JSON.parse((await emulator.waitFor(/^\{.*\}$/m))[0]) as Banner & {
      offline: boolean
    }
    expect(banner.offline).toBe(true)
    await expect(fetch(`${banner.url}/v1/license-keys/`)).rejects.toThrow()
    emulator.send('online')
    await emulator.waitFor(/^Online/m)
    expect((await fetch(`${banner.url}/v1/license-keys/`)).status).toBe(401)
    emulator.send('quit')
    expect(await emulator.exited).toBe(0)
  })

  it('refuses a bad option value with exit 2 before listening', async () => {
    const run = await keygate(['emulator', '--port', '99999'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--port must be a whole number from 0 to 65535')
  })
})
