import { describe, expect, it } from 'vitest'
import { DAY, keygate, useEmulator } from './helpers.js'

/** `keygate keys …` as real processes against the emulator's organization API over HTTP. */

const emulator = useEmulator()

function seller(args: readonly string[], token = emulator.token) {
  return keygate([...args, '--server', emulator.url], { POLAR_ACCESS_TOKEN: token })
}

describe('keygate keys list', () => {
  it('prints a readable table, a page at a time, and walks every page with --all', async () => {
    const { polar } = emulator
    const benefit = crypto.randomUUID()
    const keys = Array.from({ length: 23 }, () => polar.createKey({ benefitId: benefit }))
    const page = await seller(['keys', 'list', '--benefit', benefit, '--limit', '10'])
    expect(page.code).toBe(0)
    const lines = page.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^ID +KEY +STATUS +SEATS +USAGE +EXPIRES +CUSTOMER$/)
    expect(lines.slice(1, 11).map((l) => l.split(/\s+/)[0])).toEqual(
      keys.slice(0, 10).map((k) => k.id),
    )
    expect(page.stdout).toContain('Page 1 of 3, 23 license keys. Next: --page 2, or --all.')

    const last = await seller([
      'keys',
      'list',
      '--benefit',
      benefit,
      '--limit',
      '10',
      '--page',
      '3',
    ])
    expect(last.stdout).toContain(keys[22]?.id)
    expect(last.stdout).toContain('Page 3 of 3')

    const all = await seller([
      'keys',
      'list',
      '--benefit',
      benefit,
      '--all',
      '--limit',
      '10',
      '--json',
    ])
    const out = JSON.parse(all.stdout)
    expect(out.total).toBe(23)
    expect(out.items.map((k: { id: string }) => k.id)).toEqual(keys.map((k) => k.id))
    for (const key of keys) expect(all.stdout).not.toContain(key.key)
  })

  it('finds a customer with --search and filters by status', async () => {
    const { polar } = emulator
    const wanted = polar.createKey({ status: 'disabled' })
    const email = await customerEmail(wanted.id)
    const found = await seller(['keys', 'list', '--search', email.toUpperCase()])
    expect(found.code).toBe(0)
    expect(found.stdout).toContain(wanted.id)
    expect(found.stdout.trim().split('\n')).toHaveLength(2)
    const disabled = await seller(['keys', 'list', '--status', 'disabled', '--all'])
    expect(disabled.stdout).toContain(wanted.id)
    expect(disabled.stdout).not.toMatch(/ granted /)
  })
})

/** The customer's email as the org API reports it (the CLI's JSON output). */
async function customerEmail(id: string): Promise<string> {
  const run = await seller(['keys', 'show', id, '--json'])
  return JSON.parse(run.stdout).customer.email
}

describe('seats: the same words in keys list, keys show and activations list', () => {
  it('says "1 of 2 in use" in each', async () => {
    const { polar } = emulator
    const benefit = crypto.randomUUID()
    const key = polar.createKey({ benefitId: benefit, limitActivations: 2 })
    polar.addActivation(key, { label: 'laptop' })
    const list = await seller(['keys', 'list', '--benefit', benefit])
    const row = list.stdout.split('\n').find((line) => line.startsWith(key.id))
    expect(row).toMatch(/ 1 of 2 in use /)
    const show = await seller(['keys', 'show', key.id])
    expect(show.stdout).toMatch(/^Seats: +1 of 2 in use$/m)
    const activations = await seller(['activations', 'list', key.id])
    expect(activations.stdout).toContain('seats 1 of 2 in use')
    const json = await seller(['keys', 'list', '--benefit', benefit, '--json'])
    expect(JSON.parse(json.stdout).items[0]).toMatchObject({
      limit_activations: 2,
      seats_in_use: 1,
    })
  })
})

describe('keygate keys show', () => {
  it('accepts the id, the masked key or the full key, and never prints the full key', async () => {
    const { polar } = emulator
    const key = polar.createKey({ prefix: 'SHOW', limitActivations: 2 })
    polar.addActivation(key, { label: 'Ada’s laptop' })
    for (const ref of [key.id, key.displayKey, key.key]) {
      const run = await seller(['keys', 'show', ref])
      expect(run.code).toBe(0)
      expect(run.stdout).toContain(`${key.displayKey} (id ${key.id})`)
      expect(run.stdout).toMatch(/^License key: +\*{4}-/m)
      expect(run.stdout).toMatch(/Seats: +1 of 2 in use/)
      expect(run.stdout).toContain('Ada’s laptop')
      expect(run.stdout + run.stderr).not.toContain(key.key)
    }
  })

  it('exits 1 with a clear message for a key Polar does not have, without echoing it', async () => {
    const unknown = 'ACME-00000000-0000-4000-8000-00000000ABCD'
    const run = await seller(['keys', 'show', unknown])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('No license key')
    expect(run.stderr).toContain('****-00ABCD')
    expect(run.stderr).not.toContain(unknown)
    const byId = await seller(['keys', 'show', crypto.randomUUID()])
    expect(byId.code).toBe(1)
    expect(byId.stderr).toContain('No license key or key id of this token')
  })
})

describe('keygate keys revoke, enable, extend, set-limit', () => {
  it('revokes and re-enables a key', async () => {
    const { polar } = emulator
    const key = polar.createKey()
    const revoked = await seller(['keys', 'revoke', key.id])
    expect(revoked.code).toBe(0)
    expect(revoked.stdout).toContain(`Revoked ${key.displayKey}`)
    expect(polar.getKey(key).status).toBe('revoked')
    const enabled = await seller(['keys', 'enable', key.displayKey])
    expect(enabled.code).toBe(0)
    expect(polar.getKey(key).status).toBe('granted')
  })

  it('extends from the current expiry, sets a date, or removes the expiry', async () => {
    const { polar } = emulator
    const expiresAt = Date.now() + 10 * DAY
    const key = polar.createKey({ expiresAt })
    expect((await seller(['keys', 'extend', key.id, '--days', '30'])).code).toBe(0)
    expect(polar.getKey(key).expiresAt).toBe(expiresAt + 30 * DAY)
    expect((await seller(['keys', 'extend', key.id, '--until', '2030-01-31'])).code).toBe(0)
    expect(polar.getKey(key).expiresAt).toBe(Date.parse('2030-01-31'))
    const never = await seller(['keys', 'extend', key.id, '--never'])
    expect(never.stdout).toContain('now expires: never')
    expect(polar.getKey(key).expiresAt).toBeNull()
  })

  it('extends an expired key from today, not from its past expiry', async () => {
    const { polar } = emulator
    const key = polar.createKey({ expiresAt: Date.now() - 100 * DAY })
    const before = Date.now()
    expect((await seller(['keys', 'extend', key.id, '--days', '7'])).code).toBe(0)
    const expiry = polar.getKey(key).expiresAt ?? 0
    expect(expiry).toBeGreaterThanOrEqual(before + 7 * DAY)
    expect(expiry).toBeLessThan(before + 8 * DAY)
  })

  it('--days on a key that never expires changes nothing, says why, and exits 0', async () => {
    const { polar } = emulator
    const key = polar.createKey({ expiresAt: null })
    const run = await seller(['keys', 'extend', key.id, '--days', '30'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`${key.displayKey} (id ${key.id}) never expires`)
    expect(run.stdout).toContain('nothing was changed')
    expect(run.stdout).toContain(`keygate keys extend ${key.id} --until DATE`)
    expect(polar.getKey(key).expiresAt).toBeNull()
    const json = await seller(['keys', 'extend', key.id, '--days', '30', '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({
      license_key_id: key.id,
      changed: false,
      reason: 'never_expires',
      expires_at: null,
    })
  })

  it('changes the activation and usage limits', async () => {
    const { polar } = emulator
    const key = polar.createKey({ limitActivations: 1, limitUsage: 10 })
    const run = await seller(['keys', 'set-limit', key.id, '--activations', '3', '--usage', 'none'])
    expect(run.code).toBe(0)
    expect(polar.getKey(key)).toMatchObject({ limitActivations: 3, limitUsage: null })
  })

  it('exits 1 naming the scope when the token may only read', async () => {
    const { polar } = emulator
    const key = polar.createKey()
    const readOnly = polar.createAccessToken({ scopes: ['license_keys:read'] })
    const run = await seller(['keys', 'revoke', key.id], readOnly)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('license_keys:write')
    expect(polar.getKey(key).status).toBe('granted')
  })
})

describe('keygate: tokens, usage errors, help', () => {
  it('exits 1 for a token Polar refuses (401), never printing it', async () => {
    const bogus = 'polar_oat_0000000000000000000000000000bogus'
    const run = await seller(['keys', 'list'], bogus)
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/does not accept this access token \(401\)/)
    expect(run.stderr + run.stdout).not.toContain(bogus)
  })

  it('exits 2 without POLAR_ACCESS_TOKEN, and refuses a --token flag', async () => {
    const missing = await keygate(['keys', 'list', '--server', emulator.url])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('POLAR_ACCESS_TOKEN')
    const flag = await keygate(['keys', 'list', '--token=polar_oat_secret'], {
      POLAR_ACCESS_TOKEN: emulator.token,
    })
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain('shell history')
    expect(flag.stderr).not.toContain('polar_oat_secret')
  })

  it('exits 2 for an unknown command or option, and prints help with exit 0', async () => {
    const unknown = await keygate(['keys', 'delete', 'x'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('Unknown command "keys delete"')
    const option = await keygate(['keys', 'revoke', 'x', '--force'])
    expect(option.code).toBe(2)
    expect(option.stderr).toContain("'--force'")
    const help = await keygate(['keys', 'extend', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain(
      'Usage: keygate keys extend KEY (--days N | --until DATE | --never)',
    )
    const version = await keygate(['--version'])
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })
})

describe('keygate keys rotate', () => {
  it('gives the key a new string and prints it masked; the old one stops working', async () => {
    const { polar } = emulator
    const key = polar.createKey({ prefix: 'ACME' })
    polar.addActivation(key, { label: 'laptop' })
    const run = await seller(['keys', 'rotate', key.key])
    expect(run.code).toBe(0)
    const rotated = polar.getKey(key.id)
    expect(rotated.key).not.toBe(key.key)
    expect(run.stdout).toContain(
      `Rotated license key ${key.id}: the new key is ${rotated.displayKey}.`,
    )
    expect(run.stdout + run.stderr).not.toContain(rotated.key)
    expect(run.stdout + run.stderr).not.toContain(key.key)
    // The old string is unknown now; the key and its seat are still there under the new one.
    const old = await fetch(`${emulator.url}/v1/customer-portal/license-keys/validate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: key.key, organization_id: polar.organizationId }),
    })
    expect(old.status).toBe(404)
    const shown = JSON.parse((await seller(['keys', 'show', rotated.displayKey, '--json'])).stdout)
    expect(shown.activations).toHaveLength(1)
  })

  it('--json: the masked key, and no full key', async () => {
    const { polar } = emulator
    const key = polar.createKey()
    const run = await seller(['keys', 'rotate', key.id, '--json'])
    expect(run.code).toBe(0)
    const out = JSON.parse(run.stdout)
    const rotated = polar.getKey(key.id)
    expect(out).toMatchObject({ id: key.id, rotated: true, display_key: rotated.displayKey })
    expect(out).not.toHaveProperty('key')
    expect(out).not.toHaveProperty('new_key')
    expect(run.stdout).not.toContain(rotated.key)
  })

  it('--show-new-key prints the full new key once, alone on a line, with a warning', async () => {
    const { polar } = emulator
    const key = polar.createKey()
    const run = await seller(['keys', 'rotate', key.displayKey, '--show-new-key'])
    expect(run.code).toBe(0)
    const rotated = polar.getKey(key.id)
    expect(run.stdout.split(rotated.key)).toHaveLength(2)
    expect(run.stdout.trim().split('\n').at(-1)).toBe(rotated.key)
    expect(run.stderr).toContain('This is the full new license key')
    expect(run.stdout + run.stderr).not.toContain(key.key)
    const json = await seller(['keys', 'rotate', key.id, '--show-new-key', '--json'])
    const again = polar.getKey(key.id)
    expect(JSON.parse(json.stdout)).toMatchObject({ rotated: true, new_key: again.key })
  })

  it('refuses a revoked key, as Polar does (exit 1, one --json error shape)', async () => {
    const { polar } = emulator
    const key = polar.createKey()
    polar.revoke(key)
    const run = await seller(['keys', 'rotate', key.id])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/only granted or disabled keys can be rotated/)
    expect(polar.getKey(key.id).key).toBe(key.key)
    const json = await seller(['keys', 'rotate', key.id, '--json'])
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'revoked', exitCode: 1 })
  })
})
