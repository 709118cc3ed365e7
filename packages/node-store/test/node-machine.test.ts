import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { KeygateError } from '@keygate/core'
import { LABEL_MAX_LENGTH } from '@keygate/core/rules'
import {
  commandSource,
  defaultMachineIdSources,
  type MachineIdSource,
  nodeMachine,
} from '@keygate/node-store'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseIoreg, parseRegQuery } from '../src/machine-id-sources.js'
import { sha256Hex } from '../src/sha256-hex.js'
import { runFixture } from './run-fixture.js'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(async () => {
  vi.unstubAllGlobals()
  await removeTempDirs()
})

const RAW = '3F2504E0-4F89-41D3-9A0C-0305E82C3301'

function fixed(value: string | null, name = 'fixed'): MachineIdSource & { reads: number } {
  const source = {
    name,
    reads: 0,
    async read() {
      source.reads++
      return value
    },
  }
  return source
}

const failing: MachineIdSource = {
  name: 'failing',
  read: async () => Promise.reject(new Error('EACCES')),
}
const hanging: MachineIdSource = { name: 'hanging', read: () => new Promise(() => undefined) }

// These tests are about deriving the fingerprint from the sources: the cache (on by
// default, tested in startup-spawns.test.ts) is off, so every instance derives it.
describe('nodeMachine: fingerprint', () => {
  it('is a salted SHA-256: 64 hex characters, never the raw id, memoized per instance', async () => {
    const source = fixed(RAW)
    const machine = nodeMachine({ cache: false, salt: 'acme-notes', sources: [source] })
    const fingerprint = await machine.fingerprint()
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/)
    expect(fingerprint).not.toContain(RAW.toLowerCase().replace(/-/g, '').slice(0, 8))
    expect(await machine.fingerprint()).toBe(fingerprint)
    expect(source.reads).toBe(1)
    expect(await machine.source()).toBe('fixed')
  })

  it('keeps the value of earlier releases, so grants already on disk still match', async () => {
    // Computed with node:crypto's createHash('sha256'), which earlier releases used.
    expect(
      await nodeMachine({ cache: false, salt: 'acme-notes', sources: [fixed(RAW)] }).fingerprint(),
    ).toBe('cbce6f71a9a0965c18f96936d70dac92a93cb79a62ecdd3c8c847665d0c05469')
  })

  it('hashes like node:crypto for any text, with or without the Web Crypto global', async () => {
    const texts = [
      '',
      'acme:1',
      'ключ-🚀:install:0123456789abcdef0123456789abcdef',
      'x'.repeat(1000),
    ]
    const expected = texts.map((t) => createHash('sha256').update(t).digest('hex'))
    expect(await Promise.all(texts.map(sha256Hex))).toEqual(expected)
    // A runtime started without the global (--no-experimental-global-webcrypto).
    vi.stubGlobal('crypto', undefined)
    expect(await Promise.all(texts.map(sha256Hex))).toEqual(expected)
  })

  it('is stable across instances and differs with the salt', async () => {
    const a = await nodeMachine({
      cache: false,
      salt: 'app-a',
      sources: [fixed(RAW)],
    }).fingerprint()
    const again = await nodeMachine({
      cache: false,
      salt: 'app-a',
      sources: [fixed(RAW)],
    }).fingerprint()
    const b = await nodeMachine({
      cache: false,
      salt: 'app-b',
      sources: [fixed(RAW)],
    }).fingerprint()
    const otherMachine = await nodeMachine({
      cache: false,
      salt: 'app-a',
      sources: [fixed('9b2d1c3e-0000-4000-8000-00000000beef')],
    }).fingerprint()
    expect(again).toBe(a)
    expect(b).not.toBe(a)
    expect(otherMachine).not.toBe(a)
  })

  it('ignores case and surrounding whitespace in the OS id', async () => {
    const upper = await nodeMachine({
      cache: false,
      salt: 's',
      sources: [fixed(`${RAW}\n`)],
    }).fingerprint()
    const lower = await nodeMachine({
      cache: false,
      salt: 's',
      sources: [fixed(RAW.toLowerCase())],
    }).fingerprint()
    expect(upper).toBe(lower)
  })

  it('tries sources in order, skipping failing, hanging and placeholder ids', async () => {
    const machine = nodeMachine({
      cache: false,
      salt: 's',
      timeoutMs: 50,
      sources: [
        failing,
        hanging,
        fixed(null, 'empty'),
        fixed('uninitialized\n', 'systemd first boot'),
        fixed('00000000-0000-0000-0000-000000000000', 'zeros'),
        fixed('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'ones'),
        fixed(RAW, 'good'),
      ],
    })
    expect(await machine.source()).toBe('good')
    expect(await machine.fingerprint()).toBe(
      await nodeMachine({ cache: false, salt: 's', sources: [fixed(RAW)] }).fingerprint(),
    )
  })

  it('refuses an empty salt', () => {
    expect(() => nodeMachine({ cache: false, salt: '' })).toThrow(KeygateError)
  })

  it('is the same in another process (the real OS sources)', async () => {
    const dir = await tempDir()
    const here = nodeMachine({ cache: false, salt: 'cross-process', dir })
    const child = await runFixture<{ fingerprint: string; source: string }>(
      'fingerprint.ts',
      ['cross-process', dir],
      await tempDir(),
    )
    expect(child.fingerprint).toBe(await here.fingerprint())
    expect(child.source).toBe(await here.source())
  })
})

describe('nodeMachine: fallback install id', () => {
  it('creates a random install id in dir (0600) and keeps using it', async () => {
    const dir = await tempDir()
    const machine = nodeMachine({ cache: false, salt: 's', dir, sources: [failing] })
    const fingerprint = await machine.fingerprint()
    expect(await machine.source()).toBe('install-id')
    const id = (await readFile(join(dir, 'install-id'), 'utf8')).trim()
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(fingerprint).not.toContain(id)
    if (process.platform !== 'win32') {
      expect((await stat(join(dir, 'install-id'))).mode & 0o777).toBe(0o600)
    }
    const later = nodeMachine({ cache: false, salt: 's', dir, sources: [] })
    expect(await later.fingerprint()).toBe(fingerprint)
    const elsewhere = nodeMachine({ cache: false, salt: 's', dir: await tempDir(), sources: [] })
    expect(await elsewhere.fingerprint()).not.toBe(fingerprint)
  })

  it('agrees on one id when many instances start at once', async () => {
    const dir = join(await tempDir(), 'fresh')
    const prints = await Promise.all(
      Array.from({ length: 8 }, () =>
        nodeMachine({ cache: false, salt: 's', dir, sources: [] }).fingerprint(),
      ),
    )
    expect(new Set(prints).size).toBe(1)
    expect(await readdir(dir)).toEqual(['install-id'])
  })

  it('replaces a damaged install id and keeps the damaged file aside', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'install-id'), 'not an id')
    const machine = nodeMachine({ cache: false, salt: 's', dir, sources: [] })
    expect(await machine.fingerprint()).toMatch(/^[0-9a-f]{64}$/)
    const names = await readdir(dir)
    expect(names).toContain('install-id')
    expect(names.some((name) => name.startsWith('install-id.unreadable-'))).toBe(true)
  })

  it('fails with a store error when the id cannot be kept, and retries on the next call', async () => {
    const root = await tempDir()
    const dir = join(root, 'blocked')
    await writeFile(dir, 'a file where the folder should be')
    const machine = nodeMachine({ cache: false, salt: 's', dir, sources: [] })
    await expect(machine.fingerprint()).rejects.toMatchObject({ code: 'store' })
    await rm(dir)
    await mkdir(dir)
    expect(await machine.fingerprint()).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('nodeMachine: a slow OS source', () => {
  /** Hangs on the first read (a busy machine at login), answers at once afterwards. */
  function slowOnce(): MachineIdSource & { reads: number } {
    const source = {
      name: 'slow once',
      reads: 0,
      read: () =>
        source.reads++ === 0 ? new Promise<string>(() => undefined) : Promise.resolve(RAW),
    }
    return source
  }

  it('is asked again before the install id takes over: one slow read must not make this another machine', async () => {
    const dir = await tempDir()
    const source = slowOnce()
    const machine = nodeMachine({ cache: false, salt: 's', dir, timeoutMs: 20, sources: [source] })
    expect(await machine.fingerprint()).toBe(
      await nodeMachine({ cache: false, salt: 's', sources: [fixed(RAW)] }).fingerprint(),
    )
    expect(await machine.source()).toBe('slow once')
    expect(source.reads).toBe(2)
    expect(await readdir(dir)).toEqual([])
  })

  it('falls back to the install id when a source never answers, and keeps it', async () => {
    const dir = await tempDir()
    const slow = nodeMachine({ cache: false, salt: 's', dir, timeoutMs: 20, sources: [hanging] })
    expect(await slow.source()).toBe('install-id')
    const again = nodeMachine({ cache: false, salt: 's', dir, timeoutMs: 20, sources: [hanging] })
    expect(await again.fingerprint()).toBe(await slow.fingerprint())
  })
})

describe('nodeMachine: label', () => {
  it('defaults to the host name, cleaned and cut to Polar-friendly length', async () => {
    expect(await nodeMachine({ salt: 's', sources: [] }).label()).toBe(
      hostname().trim().slice(0, LABEL_MAX_LENGTH) || 'This device',
    )
    expect(await nodeMachine({ salt: 's', label: "  Ann's\tMacBook\0 " }).label()).toBe(
      "Ann's MacBook",
    )
    const long = await nodeMachine({ salt: 's', label: '🚀'.repeat(500) }).label()
    expect(Array.from(long)).toHaveLength(LABEL_MAX_LENGTH)
    expect(await nodeMachine({ salt: 's', label: '\n\t' }).label()).toBe('This device')
  })
})

describe('OS sources', () => {
  it('reads the id from ioreg and reg query output', () => {
    expect(
      parseIoreg(
        '+-o MacBookPro18,3  <class IOPlatformExpertDevice>\n    "IOPlatformSerialNumber" = "C02XYZ"\n    "IOPlatformUUID" = "564D0E2A-1B2C-4D5E-8F90-1234567890AB"\n',
      ),
    ).toBe('564D0E2A-1B2C-4D5E-8F90-1234567890AB')
    expect(
      parseRegQuery(
        '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n    MachineGuid    REG_SZ    6b29fc40-ca47-1067-b31d-00dd010662da\r\n\r\n',
      ),
    ).toBe('6b29fc40-ca47-1067-b31d-00dd010662da')
    expect(parseIoreg('nothing here')).toBeNull()
    expect(parseRegQuery('ERROR: The system was unable to find the specified registry key')).toBe(
      null,
    )
  })

  it.runIf(process.platform !== 'win32')(
    'runs a command source and parses its output',
    async () => {
      const source = commandSource(
        'node says',
        process.execPath,
        ['-e', 'console.log("id: 6b29fc40-ca47-1067-b31d-00dd010662da;")'],
        (stdout) => /id: (\S+);/.exec(stdout)?.[1] ?? null,
      )
      expect(await source.read(new AbortController().signal)).toBe(
        '6b29fc40-ca47-1067-b31d-00dd010662da',
      )
      const machine = nodeMachine({ salt: 's', sources: [source] })
      expect(await machine.source()).toBe('node says')
    },
  )

  it('looks in the right place on each OS', () => {
    expect(defaultMachineIdSources('linux').map((s) => s.name)).toEqual([
      '/etc/machine-id',
      '/var/lib/dbus/machine-id',
    ])
    expect(defaultMachineIdSources('darwin').map((s) => s.name)).toEqual(['IOPlatformUUID'])
    expect(defaultMachineIdSources('win32').map((s) => s.name)).toEqual(['MachineGuid'])
  })
})
