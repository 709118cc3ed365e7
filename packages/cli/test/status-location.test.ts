import { join } from 'node:path'
import { serializeGrant } from '@keygate/core'
import { electronUserDataDir, encryptedStore } from '@keygate/electron-adapter'
import { createFileStore } from '@keygate/node-store'
import { describe, expect, it } from 'vitest'
import { grantFor, KEY, keygateInProcess, useTempDir, writeRecord } from './helpers.js'

/** Where status looks and what it can read there: the adapter's own facts, not copies. */

const tempDir = useTempDir()
const HOUR = 60 * 60 * 1000

describe('keygate status: Electron records', () => {
  it('a record the adapter encrypted with safeStorage: explained, exit 4, left as it was', async () => {
    const dir = await tempDir()
    // Sealed by the adapter itself (with a stand-in keyring), as an Electron app writes it.
    const safeStorage = {
      isEncryptionAvailable: () => true,
      encryptString: (text: string) => Buffer.from(text, 'utf8').reverse(),
      decryptString: (sealed: Buffer) => Buffer.from(sealed).reverse().toString('utf8'),
    }
    const store = createFileStore({ dir })
    await encryptedStore(store, { safeStorage }).write(serializeGrant(await grantFor(dir, HOUR)))
    const before = await store.read()
    const run = await keygateInProcess(['status', '--dir', dir])
    expect(run.code).toBe(4)
    expect(run.stdout).toMatch(/^License: +unknown$/m)
    expect(run.stdout).toMatch(/^Why: +the record is encrypted with the OS keyring/m)
    expect(run.stdout).toMatch(/^Record: .*license\.json \(not readable here\)$/m)
    expect(run.stdout + run.stderr).not.toContain(KEY)
    expect(await store.read()).toBe(before)
  })

  it("Electron's userData folder on each OS, as app.getPath('userData') gives it", () => {
    const home = '/home/ada'
    expect(electronUserDataDir('Acme Notes', { platform: 'linux', env: {}, home })).toBe(
      join(home, '.config', 'Acme Notes'),
    )
    expect(
      electronUserDataDir('Acme Notes', { platform: 'linux', env: { XDG_CONFIG_HOME: '' }, home }),
    ).toBe(join(home, '.config', 'Acme Notes'))
    expect(
      electronUserDataDir('Acme Notes', {
        platform: 'linux',
        env: { XDG_CONFIG_HOME: '/x/cfg' },
        home,
      }),
    ).toBe(join('/x/cfg', 'Acme Notes'))
    expect(electronUserDataDir('Acme Notes', { platform: 'darwin', env: {}, home })).toBe(
      join(home, 'Library', 'Application Support', 'Acme Notes'),
    )
    expect(
      electronUserDataDir('Acme Notes', { platform: 'win32', env: { APPDATA: 'C:/R' }, home }),
    ).toBe(join('C:/R', 'Acme Notes'))
  })
})

describe('keygate status --locale', () => {
  it('formats dates in the given language; a bad tag is a usage error', async () => {
    const dir = await tempDir()
    await writeRecord(dir, await grantFor(dir, HOUR))
    const german = await keygateInProcess(['status', '--dir', dir, '--locale', 'de-DE'])
    expect(german.code).toBe(0)
    // The activation was created on 2 January 2026.
    expect(german.stdout).toMatch(/^Activation: .*2\. Januar 2026/m)
    const bad = await keygateInProcess(['status', '--dir', dir, '--locale', 'not a tag!'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--locale takes a language tag')
  })
})
