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
  keygateInProcess,
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
  it('active: the words, the masked key, the activation id and the offline allowance', async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, HOUR))
    const run = await status(dir)
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^License: +active$/m)
    expect(run.stdout).toMatch(/^Summary: +Licensed$/m)
    expect(run.stdout).toMatch(
      /^Detail: +This computer is activated with the license key \*{4}-9D7F20\.$/m,
    )
    expect(run.stdout).toMatch(/^Next check: +in 2[23] h/m)
    expect(run.stdout).toMatch(/^Offline until: +.+ \(in 6 days 2[23] h\)$/m)
    expect(run.stdout).toContain(ACTIVATION_ID)
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

  it('inactive, machine mismatch: --salt when the app sets its own machine salt', async () => {
    const dir = await tempDir()
    const salted = await nodeMachine({ salt: 'com.acme.app', dir }).fingerprint()
    await writeRecord(dir, await grantFor(dir, HOUR, { fingerprint: salted }))
    const run = await status(dir)
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/inactive \(machine_mismatch\)/)
    expect((await status(dir, '--salt', 'com.acme.app')).code).toBe(0)
  })

  it('revoked: each sentence once, and the key shown as revoked, not granted', async () => {
    const dir = await tempDir()
    // As older keygate versions stored a verdict: their own sentence, then Polar's words.
    const detail =
      'The seller revoked or disabled this license key. (Polar: "License key is no longer active.")'
    const verdict = { reason: 'revoked' as const, detail, at: Date.now() }
    await writeRecord(dir, await grantFor(dir, HOUR, { verdict }))
    const run = await status(dir)
    expect(run.code).toBe(3)
    expect(run.stdout.match(/revoked or disabled (this|the) license key/gi)).toHaveLength(1)
    expect(run.stdout.match(/no longer active/gi)).toHaveLength(2) // the title, and Polar's words
    expect(run.stdout).toMatch(
      /^Detail: +The seller revoked or disabled the license key \*{4}-9D7F20\.$/m,
    )
    expect(run.stdout).toMatch(/^Polar said: +"License key is no longer active\."$/m)
    expect(run.stdout).not.toContain('status granted')
    expect(run.stdout).toContain('status revoked or disabled')
    const json = JSON.parse((await status(dir, '--json')).stdout)
    expect(json.keyStatus).toBe('revoked or disabled')
    expect(json.facts.verdict.detail).toBe('License key is no longer active.')
  })
})

/** Every sentence a line holds, as a person reads them. */
function sentences(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.replace(/^[A-Za-z ]+: +/, ''))
    .flatMap((value) => value.split(/(?<=[.!?])\s+/))
    .map((sentence) => sentence.trim().toLowerCase())
    .filter((sentence) => sentence.length > 0)
}

type Case = {
  /** Writes the record (or nothing) into dir. */
  record: (dir: string) => Promise<void>
  code: number
  license: RegExp
  /** The key's status as the Key line must say it; undefined: no Key line. */
  keyStatus?: string
}

const verdict = (reason: InactiveReason, detail: string) => async (dir: string) =>
  writeRecord(dir, await grantFor(dir, HOUR, { verdict: { reason, detail, at: Date.now() } }))

/** One record per inactive reason the CLI can meet: the compiler asks for a new reason. */
const REASON_CASES: Record<Exclude<InactiveReason, 'not_activated'>, Case> = {
  grace_expired: {
    record: async (dir) => writeRecord(dir, await grantFor(dir, 8 * DAY)),
    code: 3,
    license: /inactive \(grace_expired\)/,
    keyStatus: 'granted',
  },
  revoked: {
    record: verdict('revoked', 'License key is no longer active.'),
    code: 3,
    license: /inactive \(revoked\)/,
    keyStatus: 'revoked or disabled',
  },
  expired: {
    record: async (dir) => {
      const grant = await grantFor(dir, HOUR)
      grant.license.expiresAt = new Date(Date.now() - DAY).toISOString()
      await writeRecord(dir, grant)
    },
    code: 3,
    license: /inactive \(expired\)/,
    keyStatus: 'granted',
  },
  key_not_found: {
    record: verdict('key_not_found', 'Not found'),
    code: 3,
    license: /inactive \(key_not_found\)/,
    keyStatus: 'unknown to Polar',
  },
  activation_not_found: {
    record: verdict('activation_not_found', 'Not found'),
    code: 3,
    license: /inactive \(activation_not_found\)/,
    keyStatus: 'granted',
  },
  machine_mismatch: {
    record: async (dir) =>
      writeRecord(dir, await grantFor(dir, HOUR, { fingerprint: 'f'.repeat(64) })),
    code: 3,
    license: /inactive \(machine_mismatch\)/,
    keyStatus: 'granted',
  },
  clock_tampered: {
    record: async (dir) =>
      writeRecord(dir, await grantFor(dir, HOUR, { clockHighWater: Date.now() + 3 * HOUR })),
    code: 3,
    license: /inactive \(clock_tampered\)/,
    keyStatus: 'granted',
  },
  tampered: {
    record: verdict('tampered', 'the record was changed'),
    code: 3,
    license: /inactive \(tampered\)/,
    keyStatus: 'granted',
  },
  conditions_mismatch: {
    record: verdict('conditions_mismatch', 'License key does not match required conditions'),
    code: 3,
    license: /inactive \(conditions_mismatch\)/,
    keyStatus: 'granted',
  },
  usage_exhausted: {
    record: verdict('usage_exhausted', 'License key only has 0 more usages.'),
    code: 3,
    license: /inactive \(usage_exhausted\)/,
    keyStatus: 'granted',
  },
  trial_expired: {
    record: async (dir) => writeRecord(dir, trialRecord(Date.now() - 20 * DAY, 14)),
    code: 3,
    license: /inactive \(trial_expired\)/,
  },
}

/** A trial record as core writes it without a keychain, started at `startedAt`. */
function trialRecord(startedAt: number, days: number): string {
  const trial = { startedAt, endsAt: startedAt + days * DAY, clockHighWater: startedAt }
  return `${JSON.stringify({ v: 1, trial }, null, 2)}\n`
}

describe('keygate status: a trial', () => {
  it('says the days left and the end date', async () => {
    const dir = await tempDir()
    await writeRecord(dir, trialRecord(Date.now() - 5 * DAY - HOUR, 14))
    const run = await status(dir, '--locale', 'en-US')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^License: +trial$/m)
    expect(run.stdout).toMatch(/^Summary: +Trial: 9 days left$/m)
    expect(run.stdout).toMatch(/^Trial: +9 days left, ends \w+ \d+, \d{4}/m)
    expect(run.stdout).toMatch(/^Integrity: +none/m)
    const json = JSON.parse((await status(dir, '--json')).stdout)
    expect(json).toMatchObject({ kind: 'trial', state: { status: 'trial' } })
    expect(json.facts.trial.signed).toBe(false)
  })
})

const CASES: Array<[string, Case]> = [
  [
    'active',
    {
      record: async (dir) => writeRecord(dir, await grantFor(dir, HOUR)),
      code: 0,
      license: /^active$/,
      keyStatus: 'granted',
    },
  ],
  [
    'grace',
    {
      record: async (dir) => writeRecord(dir, await grantFor(dir, 2 * DAY)),
      code: 0,
      license: /^grace$/,
      keyStatus: 'granted',
    },
  ],
  [
    'revoked in the snapshot',
    {
      record: async (dir) => {
        const grant = await grantFor(dir, HOUR)
        grant.license.status = 'revoked'
        await writeRecord(dir, grant)
      },
      code: 3,
      license: /inactive \(revoked\)/,
      keyStatus: 'revoked',
    },
  ],
  ['not_activated', { record: async () => {}, code: 3, license: /inactive \(not_activated\)/ }],
  [
    'not_activated, damaged record',
    { record: (dir) => writeRecord(dir, '{"v":1,'), code: 4, license: /^unknown$/ },
  ],
  [
    'encrypted record',
    {
      record: (dir) => writeRecord(dir, 'keygate-safestorage:1\nAAAA'),
      code: 4,
      license: /^unknown$/,
    },
  ],
  ...Object.entries(REASON_CASES),
]

describe('keygate status: every state and reason, in plain words', () => {
  it.each(CASES)('%s', async (_name, { record, code, license, keyStatus }) => {
    const dir = await tempDir()
    await record(dir)
    const run = await keygateInProcess(['status', '--dir', dir])
    expect(run.stdout + run.stderr).not.toContain(KEY)
    expect(run.code).toBe(code)
    expect(run.stdout.match(/^License: +(.*)$/m)?.[1]).toMatch(license)

    const said = sentences(run.stdout)
    expect(said.filter((s, i) => said.indexOf(s) !== i)).toEqual([])
    // No raw timestamp, no HTTP route, no error number.
    expect(run.stdout).not.toMatch(/\d{4}-\d{2}-\d{2}/)
    expect(run.stdout).not.toMatch(/\/v1\/|\[(GET|POST|PATCH|DELETE)\]/)
    expect(run.stdout).not.toMatch(/\bE[A-Z]{3,}\b|UND_ERR/)
    if (keyStatus === undefined) expect(run.stdout).not.toMatch(/^Key:/m)
    else expect(run.stdout).toMatch(new RegExp(`^Key: .*; status ${keyStatus};`, 'm'))

    // The words in --json are the ones printed.
    const out = JSON.parse((await keygateInProcess(['status', '--dir', dir, '--json'])).stdout)
    if (out.kind !== 'foreign') {
      expect(run.stdout).toContain(out.words.title)
      expect(run.stdout).toContain(out.words.detail)
    }
  })
})

describe('keygate status: records it cannot read', () => {
  it('explains a damaged record and leaves it exactly as it was', async () => {
    const dir = await tempDir()
    const damaged = `{"v":1,"key":"${KEY}","organizationId":`
    await writeRecord(dir, damaged)
    const run = await status(dir)
    expect(run.code).toBe(4)
    expect(run.stdout).toMatch(/^License: +unknown$/m)
    expect(run.stdout).toMatch(
      /^Detail: +The saved license on this computer could not be read \(it is not valid JSON\)\.$/m,
    )
    expect(run.stdout).toMatch(/^Record: .* \(damaged\)$/m)
    expect(await readFile(join(dir, 'license.json'), 'utf8')).toBe(damaged)
  })

  it('explains a record that is JSON but not a grant, without quoting the key', async () => {
    const dir = await tempDir()
    await writeRecord(dir, JSON.stringify({ v: 1, key: KEY, organizationId: 42 }))
    const run = await status(dir)
    expect(run.code).toBe(4)
    expect(run.stdout).toContain('not a keygate license record')
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
    expect(JSON.parse((await status(dir, '--json')).stdout)).toMatchObject({
      readable: false,
      kind: 'foreign',
      problem: expect.stringContaining('Electron safeStorage'),
    })
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
    expect(out.words).toEqual({ title: 'Licensed', detail: expect.any(String) })
    expect(out.facts).toMatchObject({ displayKey: '****-9D7F20', keyStatus: 'granted' })
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
    expect(online.stdout).toMatch(/^Detail: +The seller revoked or disabled the license key /m)
    expect(online.stdout).toMatch(/^Polar said: +"License key is no longer active\."$/m)
    expect(online.stdout).toMatch(/^Key: .*status revoked or disabled;/m)
    // What the record rests on: a plain file store without a keychain is tamper-evident only.
    expect(online.stdout).toMatch(/^Integrity: +none: tamper-evident only/m)
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
      expect(run.stdout).toMatch(
        /^Online check: +Cannot reach the license server\. This computer could not connect/m,
      )
      expect(run.stdout).not.toMatch(/\/v1\/|UND_ERR|ECONNREFUSED/)
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
