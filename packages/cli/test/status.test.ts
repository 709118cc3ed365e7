import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLicensing, type InactiveReason } from '@keygate/core'
import { createFileStore, nodeMachine } from '@keygate/node-store'
import { describe, expect, it } from 'vitest'
import {
  ACTIVATION_ID,
  DAY,
  grantFor,
  KEY,
  keygate,
  useEmulator,
  useTempDir,
  writeRecord,
} from './helpers.js'

/** `keygate status` as a real process, on records written with the real file store. */

const tempDir = useTempDir()
const HOUR = DAY / 24

async function status(dir: string, ...extra: string[]) {
  const run = await keygate(['status', '--dir', dir, ...extra])
  expect(run.stdout + run.stderr).not.toContain(KEY)
  return run
}

describe('keygate status: each license state', () => {
  it('active: shows why, the masked key, the activation id and the offline allowance', async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, HOUR))
    const run = await status(dir)
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^License: +active$/m)
    expect(run.stdout).toMatch(/Why: +validated online 1 h ago; next online check in 2[23] h/)
    expect(run.stdout).toContain('****-9D7F20')
    expect(run.stdout).toContain(ACTIVATION_ID)
    expect(run.stdout).toMatch(/Grace: +not needed; offline, the app keeps running until /)
    expect(run.stdout).toContain(join(dir, 'license.json'))
  })

  it("a clock behind Polar's: 'Validated' counts on this machine's clock", async () => {
    const dir = await tempDir()
    // Polar's Date header said 3 h later than this machine's clock at the validation.
    const grant = await grantFor(dir, HOUR)
    await writeRecord(dir, {
      ...grant,
      validatedAt: grant.validatedAt + 3 * HOUR,
      localValidatedAt: grant.validatedAt,
    })
    const run = await status(dir)
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^Validated: .*\(1 h ago\)$/m)
  })

  it('grace: says how many days are left', async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, 2 * DAY + HOUR / 2))
    const run = await status(dir)
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^License: +grace$/m)
    expect(run.stdout).toMatch(/Grace: +4 days 23 h left \(ends /)
  })

  it('inactive, not activated: there is no record', async () => {
    const dir = await tempDir()
    const run = await status(dir)
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/^License: +inactive \(not_activated\)$/m)
    expect(run.stdout).toContain('Enter the license key in the app.')
  })

  it('inactive, grace expired: offline for longer than the grace period', async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, 8 * DAY))
    const run = await status(dir)
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/inactive \(grace_expired\)/)
    expect(run.stdout).toContain('Connect to the internet')
  })

  it('inactive, expired: the key passed its expiry', async () => {
    const dir = await tempDir()
    const grant = await grantFor(dir, HOUR)
    grant.license.expiresAt = new Date(Date.now() - DAY).toISOString()
    await writeRecord(dir, grant)
    const run = await status(dir)
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/inactive \(expired\)/)
    expect(run.stdout).toContain('keygate keys extend')
  })

  it('inactive, machine mismatch: a record copied from elsewhere, or the app uses its own salt', async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, HOUR, { fingerprint: 'f'.repeat(64) }))
    const run = await status(dir)
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/inactive \(machine_mismatch\)/)
    expect(run.stdout).toContain('--salt')

    const salted = await nodeMachine({ salt: 'com.acme.app', dir }).fingerprint()
    await writeRecord(dir, await grantFor(dir, HOUR, { fingerprint: salted }))
    expect((await status(dir, '--salt', 'com.acme.app')).code).toBe(0)
  })

  it('inactive, clock tampered: the clock reads earlier than a time already seen', async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, HOUR, { clockHighWater: Date.now() + 3 * HOUR }))
    const run = await status(dir)
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/inactive \(clock_tampered\)/)
    expect(run.stdout).toContain('Set the clock')
  })

  const verdicts: Array<[InactiveReason, string, RegExp]> = [
    ['revoked', 'License key is no longer active.', /keygate keys enable/],
    ['key_not_found', 'Not found', /Enter the current key/],
    ['activation_not_found', 'Not found', /activation was removed/],
    ['conditions_mismatch', 'License key does not match required conditions', /another machine/],
    ['usage_exhausted', 'License key only has 0 more usages.', /keygate keys set-limit/],
  ]
  it.each(verdicts)(
    'inactive, %s: the verdict Polar gave, with its detail',
    async (reason, detail, hint) => {
      const dir = await tempDir()
      await writeRecord(
        dir,
        await grantFor(dir, HOUR, { verdict: { reason, detail, at: Date.now() } }),
      )
      const run = await status(dir)
      expect(run.code).toBe(3)
      expect(run.stdout).toMatch(new RegExp(`^License: +inactive \\(${reason}\\)$`, 'm'))
      expect(run.stdout).toContain(detail)
      expect(run.stdout).toMatch(hint)
    },
  )

  it('revoked: each sentence once, and the key shown as revoked, not granted', async () => {
    const dir = await tempDir()
    // As core stores a verdict: its own sentence, then Polar's words.
    const detail =
      'The seller revoked or disabled this license key. (Polar: "License key is no longer active.")'
    const verdict = { reason: 'revoked' as const, detail, at: Date.now() }
    await writeRecord(dir, await grantFor(dir, HOUR, { verdict }))
    const run = await status(dir)
    expect(run.code).toBe(3)
    expect(run.stdout.match(/revoked or disabled this license key/gi)).toHaveLength(1)
    expect(run.stdout.match(/no longer active/gi)).toHaveLength(1)
    expect(run.stdout).toMatch(/^Why: +The seller revoked or disabled this license key\.$/m)
    expect(run.stdout).toMatch(/^Polar said: +"License key is no longer active\."$/m)
    expect(run.stdout).not.toContain('status granted')
    expect(run.stdout).toContain('status revoked or disabled')
    const json = JSON.parse((await status(dir, '--json')).stdout)
    expect(json.keyStatus).toBe('revoked or disabled')
  })
})

describe('keygate status: records it cannot read', () => {
  it('explains a damaged record and leaves it exactly as it was', async () => {
    const dir = await tempDir()
    const damaged = `{"v":1,"key":"${KEY}","organizationId":`
    await writeRecord(dir, damaged)
    const run = await status(dir)
    expect(run.code).toBe(4)
    expect(run.stdout).toMatch(/^License: +unknown: the record cannot be read$/m)
    expect(run.stdout).toContain('not valid JSON')
    expect(run.stdout).toContain('moves it aside and asks for the key again')
    expect(await readFile(join(dir, 'license.json'), 'utf8')).toBe(damaged)
  })

  it('explains a record that is JSON but not a grant, without quoting the key', async () => {
    const dir = await tempDir()
    await writeRecord(dir, JSON.stringify({ v: 1, key: KEY, organizationId: 42 }))
    const run = await status(dir)
    expect(run.code).toBe(4)
    expect(run.stdout).toContain('not a keygate grant')
  })

  it('explains a record the store cannot read (a folder where the file should be)', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, 'license.json'))
    const run = await status(dir)
    expect(run.code).toBe(4)
    expect(run.stdout).toContain('it is a folder, not a file')
  })

  it('explains a record from a newer keygate and one encrypted by an Electron app', async () => {
    const dir = await tempDir()
    await writeRecord(dir, JSON.stringify({ v: 99 }))
    const newer = await status(dir)
    expect(newer.code).toBe(4)
    expect(newer.stdout).toContain('newer keygate')
    await writeRecord(dir, 'keygate-safestorage:1\nAAAA')
    const encrypted = await status(dir)
    expect(encrypted.code).toBe(4)
    expect(encrypted.stdout).toContain('encrypted with the OS keyring')
  })
})

describe('keygate status: options and output', () => {
  it('prints the state as JSON for scripts, without the key', async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, 2 * DAY))
    const run = await status(dir, '--json')
    expect(run.code).toBe(0)
    const out = JSON.parse(run.stdout)
    expect(out).toMatchObject({ readable: true, online: false, state: { status: 'grace' } })
    expect(out.state.license.displayKey).toBe('****-9D7F20')
  })

  it("takes the app's grace period when it changed the default", async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, 8 * DAY))
    const run = await status(dir, '--grace-days', '14')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/Grace: +5 days 23 h left/)
  })

  it.runIf(process.platform === 'linux')(
    "--app-name finds the record in Electron's userData folder",
    async () => {
      const home = await tempDir()
      const electronDir = join(home, 'config', 'Acme Notes')
      await writeRecord(electronDir, await grantFor(electronDir, HOUR))
      const run = await keygate(['status', '--app-name', 'Acme Notes'], {
        XDG_CONFIG_HOME: join(home, 'config'),
        XDG_DATA_HOME: join(home, 'data'),
      })
      expect(run.code).toBe(0)
      expect(run.stdout).toContain(join(electronDir, 'license.json'))
    },
  )

  it('needs --dir or --app-name (exit 2)', async () => {
    const run = await keygate(['status'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--dir DIR')
  })
})

describe('keygate status --online', () => {
  const emulator = useEmulator()

  it('validates with Polar as the app would: a revoked key turns the record inactive', async () => {
    const dir = await tempDir()
    const { polar, url } = emulator
    const key = polar.createKey({ prefix: 'ACME' })
    const machine = nodeMachine({ salt: polar.organizationId, dir })
    const licensing = createLicensing({
      organizationId: polar.organizationId,
      server: url,
      store: createFileStore({ dir }),
      machine,
    })
    expect((await licensing.activate(key.key)).status).toBe('active')

    const offline = await keygate(['status', '--dir', dir])
    expect(offline.code).toBe(0)
    expect(offline.stdout).toContain(key.displayKey)

    polar.revoke(key)
    const requestsBefore = polar.requests.length
    expect((await keygate(['status', '--dir', dir])).code).toBe(0)
    expect(polar.requests.length).toBe(requestsBefore)

    const online = await keygate(['status', '--dir', dir, '--online'])
    expect(online.code).toBe(3)
    expect(online.stdout).toMatch(/inactive \(revoked\)/)
    // The app's own sentence and Polar's words, each once; the key no longer "granted".
    expect(online.stdout.match(/revoked or disabled/gi)).toHaveLength(2)
    expect(online.stdout).toMatch(/^Why: +The seller revoked or disabled this license key\.$/m)
    expect(online.stdout).toMatch(/^Key: .*status revoked or disabled;/m)
    expect(online.stdout).not.toContain('status granted')
    expect(online.stdout + online.stderr).not.toContain(key.key)
    expect(polar.requests.at(-1)).toMatchObject({ endpoint: 'validate', status: 404 })
  })

  it('reports an unreachable Polar beside the cached state, and changes nothing', async () => {
    const dir = await tempDir()
    const { polar, url } = emulator
    const key = polar.createKey()
    const licensing = createLicensing({
      organizationId: polar.organizationId,
      server: url,
      store: createFileStore({ dir }),
      machine: nodeMachine({ salt: polar.organizationId, dir }),
    })
    await licensing.activate(key.key)
    const before = await readFile(join(dir, 'license.json'), 'utf8')
    polar.setOffline(true)
    try {
      const run = await keygate(['status', '--dir', dir, '--online'])
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^License: +active$/m)
      expect(run.stdout).toMatch(/Online check: +failed: .*could not reach/)
    } finally {
      polar.setOffline(false)
    }
    expect(await readFile(join(dir, 'license.json'), 'utf8')).toBe(before)
  })

  it('does not go online with a record bound to another machine', async () => {
    const dir = await tempDir()
    const { polar } = emulator
    await writeRecord(
      dir,
      await grantFor(dir, HOUR, { fingerprint: 'f'.repeat(64), server: emulator.url }),
    )
    const before = polar.requests.length
    const run = await keygate(['status', '--dir', dir, '--online'])
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/machine_mismatch/)
    expect(polar.requests.length).toBe(before)
  })
})
