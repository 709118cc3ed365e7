import { createLicensing } from '@keygate/core'
import type { EmulatedKey } from '@keygate/core/testing'
import { createFileStore, nodeMachine } from '@keygate/node-store'
import { describe, expect, it } from 'vitest'
import { keygate, keygateInProcess, type Run, useEmulator, useTempDir } from './helpers.js'

/**
 * Issue 11.2: a license key is never printed (text or --json, errors included) and never
 * becomes a URL path segment. Polar generates keys as bare uppercase UUIDs too, which look
 * like key ids; imported keys can be anything, short ones included.
 */

const emulator = useEmulator()
const tempDir = useTempDir()

function seller(args: readonly string[]) {
  return keygate([...args, '--server', emulator.url], { POLAR_ACCESS_TOKEN: emulator.token })
}

/** Every full key must be absent from everything a person or a script could see. */
function expectNoKey(runs: readonly Run[], keys: readonly EmulatedKey[]) {
  for (const run of runs) {
    const seen = (run.stdout + run.stderr).toLowerCase()
    for (const key of keys) expect(seen).not.toContain(key.key.toLowerCase())
  }
  const paths = emulator.polar.requests.map((r) => r.path.toLowerCase()).join('\n')
  for (const key of keys) expect(paths).not.toContain(key.key.toLowerCase())
}

describe('a prefix-less key (an uppercase UUID) is a key, not a key id', () => {
  it('keys show, activations list and remove find it by the list, never by the path', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 2 })
    expect(key.key).toMatch(/^[0-9A-F-]{36}$/)
    const seat = polar.addActivation(key, { label: 'Ada’s laptop' })
    polar.addActivation(key, { label: 'desktop' })

    const show = await seller(['keys', 'show', key.key])
    expect(show.code).toBe(0)
    expect(show.stdout).toContain(`${key.displayKey} (id ${key.id})`)
    const showJson = await seller(['keys', 'show', key.key, '--json'])
    expect(JSON.parse(showJson.stdout)).toMatchObject({ id: key.id, display_key: key.displayKey })
    const list = await seller(['activations', 'list', key.key, '--json'])
    expect(JSON.parse(list.stdout).activations).toHaveLength(2)
    const remove = await seller(['activations', 'remove', key.key, seat.id])
    expect(remove.code).toBe(0)
    expect(polar.listActivations(key)).toHaveLength(1)
    // The same key lower-cased is neither this key (Polar matches exactly) nor an id.
    const lower = await seller(['keys', 'show', key.key.toLowerCase()])
    expect(lower.code).toBe(1)
    expect(lower.stderr).toContain('No license key or key id')
    expectNoKey([show, showJson, list, remove, lower], [key])
  })

  it('a short imported key is masked everywhere, even where Polar shows it whole', async () => {
    const { polar } = emulator
    const key = polar.createKey({ key: 'ZQ7X4K' })
    expect(key.displayKey).toBe('****-ZQ7X4K')
    const runs = await Promise.all([
      seller(['keys', 'show', key.id]),
      seller(['keys', 'show', key.id, '--json']),
      seller(['keys', 'list', '--all']),
      seller(['keys', 'list', '--all', '--json']),
    ])
    for (const run of runs) expect(run.code).toBe(0)
    expectNoKey(runs, [key])
  })
})

describe('secrets scan: every command, text and --json, against the emulator', () => {
  it('finds no full key in any output, error or request path, case-insensitively', async () => {
    const { polar, url } = emulator
    const bare = polar.createKey({ limitActivations: 3 })
    const prefixed = polar.createKey({ prefix: 'ACME', expiresAt: Date.now() + 86_400_000 })
    const imported = polar.createKey({ key: 'acme-lower-case-imported-key-0001' })
    const keys = [bare, prefixed, imported]
    const seat = polar.addActivation(prefixed, { label: 'laptop' })

    // An app's record on this machine, for keygate status.
    const dir = await tempDir()
    const licensing = createLicensing({
      organizationId: polar.organizationId,
      server: url,
      store: createFileStore({ dir }),
      machine: nodeMachine({ salt: polar.organizationId, dir }),
    })
    await licensing.activate(bare.key)

    // In-process: the same code as the bin (its first test runs real processes), and ~100
    // runs fit in the test's time.
    const cli = (args: readonly string[]) =>
      keygateInProcess([...args, '--server', url], { POLAR_ACCESS_TOKEN: emulator.token })
    const runs: Run[] = []
    for (const json of [[], ['--json']]) {
      for (const key of keys) {
        for (const ref of [key.key, key.id, key.displayKey]) {
          runs.push(await cli(['keys', 'show', ref, ...json]))
          runs.push(await cli(['activations', 'list', ref, ...json]))
        }
        runs.push(await cli(['keys', 'set-limit', key.key, '--activations', '5', ...json]))
        runs.push(await cli(['keys', 'extend', key.key, '--days', '30', ...json]))
        runs.push(await cli(['keys', 'revoke', key.key, ...json]))
        runs.push(await cli(['keys', 'enable', key.key, ...json]))
        // Failures that echo input: unknown activation, a typo, too many arguments.
        runs.push(await cli(['activations', 'remove', key.key, 'ffffffff', ...json]))
        runs.push(await cli(['keys', 'show', key.key, 'extra', ...json]))
        runs.push(await cli(['keys', 'shwo', key.key, ...json]))
        runs.push(await cli(['keys', 'show', `${key.key}X`, ...json]))
      }
      runs.push(await cli(['keys', 'list', ...json]))
      runs.push(await cli(['keys', 'list', '--all', ...json]))
      runs.push(await cli(['keys', 'list', '--search', bare.key, ...json]))
      runs.push(await cli(['activations', 'remove', prefixed.key, seat.id.slice(0, 8), ...json]))
      polar.revoke(bare)
      runs.push(await keygateInProcess(['status', '--dir', dir, ...json]))
      runs.push(await keygateInProcess(['status', '--dir', dir, '--online', ...json]))
      polar.grant(bare)
    }
    expect(runs.filter((r) => r.code === 0).length).toBeGreaterThan(40)
    expectNoKey(runs, keys)
  })
})
