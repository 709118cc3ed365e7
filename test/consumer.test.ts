import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * What a user gets from npm: every package is packed as `pnpm publish` would pack it,
 * and the tarballs are installed with npm into a new project outside the workspace, so
 * nothing resolves through a workspace link, a TypeScript path or vitest's aliases.
 * Then that project runs a Node gate (ESM and CommonJS) against the emulator, type-checks
 * an ESM and a CommonJS Electron main against Electron's own types, and runs `keygate`.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = join(root, 'test', 'consumer')
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PackageJson

interface PackageJson {
  name: string
  version: string
  private?: boolean
  main?: string
  types?: string
  bin?: string | Record<string, string>
  exports?: unknown
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  packageManager?: string
}

/** Whatever packages/* holds today (a new package is packed and checked without an edit). */
const packages = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: readJson(join(dir, 'package.json')) }))
  .filter(({ manifest }) => manifest.private !== true)

// `pnpm test` builds before vitest; a bare `vitest run` on a fresh clone has no dist yet.
const built = packages.every(({ dir }) => existsSync(join(dir, 'dist')))
const describeIt = built || process.env.CI ? describe : describe.skip

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? cleanEnv(),
        timeout: options.timeout ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** A failed step shows its own output, not only "expected 1 to be 0". */
function expectOk(result: Run, what: string): string {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code}\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

/**
 * The environment without what pnpm or npm set for the script running this test: a
 * consumer's npm must not inherit the workspace's configuration. The registry, cache and
 * proxy settings stay, so the install works wherever the workspace's own install did.
 */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const keep =
    /^npm_config_(registry|cache|userconfig|https?_proxy|proxy|noproxy|strict_ssl|cafile)$/i
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|pnpm_)/i.test(name) || keep.test(name)),
  )
  return { ...env, ...extra }
}

/** pnpm, as the workspace pins it: the one running this test, or the pinned version via npx. */
function pnpm(): { command: string; prefix: string[] } {
  const execPath = process.env.npm_execpath
  if (execPath !== undefined && /pnpm/.test(basename(execPath))) {
    return { command: process.execPath, prefix: [execPath] }
  }
  const pinned = readJson(join(root, 'package.json')).packageManager ?? 'pnpm@10'
  return { command: 'npx', prefix: ['--yes', pinned] }
}

/** Every file a manifest points at: exports targets (types included), main, types, bin. */
function manifestTargets(manifest: PackageJson): string[] {
  const targets: string[] = []
  const walk = (value: unknown) => {
    if (typeof value === 'string') targets.push(value)
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk)
  }
  walk(manifest.exports)
  walk(manifest.main)
  walk(manifest.types)
  walk(manifest.bin)
  return [...new Set(targets)].map((target) => target.replace(/^\.\//, ''))
}

interface Tarball {
  name: string
  file: string
  entries: string[]
  manifest: PackageJson
  license: string
}

const TEST_FILE = /(^|\/)(test|tests|__tests__|__mocks__|fixtures)\/|\.(test|spec)\.[cm]?[jt]sx?$/

// Generous: npm downloads Electron's package and TypeScript on a cold cache.
describeIt('the packed packages, installed with npm in a new project', { timeout: 180_000 }, () => {
  let work = ''
  let project = ''
  const tarballs: Tarball[] = []
  let emulator: ChildProcess | undefined
  let polar: { url: string; organizationId: string; key: string } | undefined

  beforeAll(async () => {
    expect(built, 'packages are not built: run `pnpm build` first').toBe(true)
    work = await mkdtemp(join(tmpdir(), 'keygate-consumer-'))
    const packed = join(work, 'tarballs')
    project = join(work, 'app')
    await mkdir(packed)
    await mkdir(project)

    const { command, prefix } = pnpm()
    for (const { dir } of packages) {
      // pnpm, not npm: it turns `workspace:*` into the version, as `pnpm publish` does.
      expectOk(
        await run(command, [...prefix, 'pack', '--pack-destination', packed], {
          cwd: dir,
          env: process.env,
        }),
        `pnpm pack in ${dir}`,
      )
    }
    const files = (await readdir(packed)).filter((file) => file.endsWith('.tgz'))
    for (const file of files) {
      const path = join(packed, file)
      const entries = expectOk(await run('tar', ['-tzf', path], { cwd: work }), `tar -tzf ${file}`)
        .split('\n')
        .filter((line) => line.length > 0)
      const manifest = JSON.parse(
        expectOk(
          await run('tar', ['-xzOf', path, 'package/package.json'], { cwd: work }),
          `reading ${file}`,
        ),
      ) as PackageJson
      const license = entries.includes('package/LICENSE')
        ? expectOk(await run('tar', ['-xzOf', path, 'package/LICENSE'], { cwd: work }), file)
        : ''
      tarballs.push({ name: manifest.name, file: path, entries, manifest, license })
    }

    const adapter = packages.find(({ manifest }) => manifest.name === '@keygate/electron-adapter')
    const electron = adapter?.manifest.devDependencies?.electron ?? 'latest'
    const typescript = readJson(join(root, 'node_modules', 'typescript', 'package.json')).version
    const dependencies = Object.fromEntries(tarballs.map((t) => [t.name, `file:${t.file}`]))
    await writeFile(
      join(project, 'package.json'),
      `${JSON.stringify(
        {
          name: 'keygate-consumer',
          version: '0.0.0',
          private: true,
          dependencies,
          devDependencies: { electron, typescript },
          // The packages depend on each other by version; these make npm take the tarballs
          // for those too, never a copy of the same name from the registry.
          overrides: Object.fromEntries(tarballs.map((t) => [t.name, `$${t.name}`])),
        },
        null,
        2,
      )}\n`,
    )
    await cp(fixtures, project, { recursive: true })
    expectOk(
      await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
        cwd: project,
        // Only Electron's types are needed: its postinstall would download the binary.
        env: cleanEnv({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }),
        timeout: 240_000,
      }),
      'npm install',
    )
  }, 300_000)

  afterAll(async () => {
    if (emulator !== undefined && emulator.exitCode === null) {
      const exited = new Promise((resolve) => emulator?.once('exit', resolve))
      emulator.kill('SIGTERM')
      await exited
    }
    if (work !== '') await rm(work, { recursive: true, force: true })
  })

  it('packs every package, each with LICENSE, README, its types and no test files', () => {
    expect(tarballs.map((t) => t.name).sort()).toEqual(
      packages.map(({ manifest }) => manifest.name).sort(),
    )
    for (const { name, entries, manifest, file, license } of tarballs) {
      const has = (path: string) => entries.includes(`package/${path}`)
      expect(has('LICENSE'), `${name}: LICENSE`).toBe(true)
      expect(license, `${name}: LICENSE`).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /)
      expect(has('README.md'), `${name}: README.md`).toBe(true)
      for (const target of manifestTargets(manifest)) {
        expect(has(target), `${name}: ${target} (named in package.json)`).toBe(true)
      }
      const exportsTypes = manifestTargets({ ...manifest, main: '', bin: '' }).filter((target) =>
        /\.d\.[cm]?ts$/.test(target),
      )
      expect(exportsTypes.length, `${name}: types in its exports`).toBeGreaterThan(0)
      expect(
        entries.filter((entry) => TEST_FILE.test(entry.replace(/^package\//, ''))),
        `${name}: test files in ${basename(file)}`,
      ).toEqual([])
      // The README's links to the package's own documents work in node_modules too.
      const readme = readFileSync(join(packageDir(name), 'README.md'), 'utf8')
      for (const [, target] of readme.matchAll(/\]\((?:\.\/)?([^)#\s:]+\.md)(?:#[^)]*)?\)/g)) {
        if (target === undefined || target.startsWith('../') || target.startsWith('/')) continue
        expect(has(target), `${name}: ${target}, linked from its README`).toBe(true)
      }
      expect(JSON.stringify(manifest), `${name}: workspace: left in package.json`).not.toContain(
        'workspace:',
      )
      for (const field of ['repository', 'homepage', 'bugs', 'keywords'] as const) {
        expect(manifest, `${name}: ${field}`).toHaveProperty(field)
      }
    }
  })

  it('runs a Node gate from the tarballs, as ESM and CommonJS: activate, offline check, deactivate', async () => {
    emulator = spawn(process.execPath, ['emulator.cjs'], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const output = emulator.stdout
    if (output === null) throw new Error('the emulator has no stdout')
    const [line] = await Promise.race([
      createInterface({ input: output })
        [Symbol.asyncIterator]()
        .next()
        .then(({ value }) => [value as string | undefined]),
      new Promise<never>((_, reject) =>
        emulator?.once('exit', (code) => reject(new Error(`the emulator exited ${code}`))),
      ),
    ])
    polar = JSON.parse(line ?? '{}') as { url: string; organizationId: string; key: string }
    expect(polar.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const { key } = polar
    const displayKey = `****-${key.slice(-6)}`

    const gate = async (script: string, step: string, dir: string) => {
      const result = await run(process.execPath, [script, step], {
        cwd: project,
        env: cleanEnv({
          KEYGATE_SERVER: polar?.url,
          KEYGATE_ORGANIZATION_ID: polar?.organizationId,
          KEYGATE_KEY: key,
          KEYGATE_DIR: join(work, dir),
        }),
      })
      expect(`${result.stdout}${result.stderr}`, 'the full key in output').not.toContain(key)
      return JSON.parse(expectOk(result, `node ${script} ${step}`)) as Record<string, unknown>
    }

    const active = { status: 'active', reason: null, displayKey }
    const esm = { module: 'esm', entry: 'dist/index.js' }
    const cjs = { module: 'cjs', entry: 'dist/index.cjs' }
    expect(await gate('gate.mjs', 'activate', 'store')).toEqual({ ...esm, ...active })
    // Fresh processes, offline: the grant the ESM build wrote is read by both builds.
    expect(await gate('gate.cjs', 'check', 'store')).toEqual({ ...cjs, ...active })
    expect(await gate('gate.mjs', 'check', 'store')).toEqual({ ...esm, ...active })
    expect(await gate('gate.cjs', 'deactivate', 'store')).toEqual({
      ...cjs,
      status: 'inactive',
      reason: 'not_activated',
      displayKey: null,
    })
    // The key has one seat: activating from another store succeeds only if it was freed.
    // Polar allows 3 requests a second per IP, across processes: the activation (validate,
    // activate) and the deactivation have used this second's.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await gate('gate.cjs', 'activate', 'other-store')).toEqual({ ...cjs, ...active })
  })

  const programs = {
    // skipLibCheck off: every declaration file core and node-store ship, both flavours.
    'the Node gate scripts (checkJs) as ESM and CommonJS': '.',
    'an Electron main as an ES module': 'electron-esm',
    'an Electron main as CommonJS': 'electron-cjs',
  }
  for (const [what, dir] of Object.entries(programs)) {
    it(`type-checks ${what} against the installed types (module: node16)`, async () => {
      const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc')
      const result = await run(process.execPath, [tsc, '-p', dir], { cwd: project })
      expect(`${result.stdout}${result.stderr}`).toBe('')
      expect(result.code).toBe(0)
    })
  }

  it('runs the keygate command from the installed tarball', async () => {
    const bin = join(project, 'node_modules', '.bin', 'keygate')
    const help = expectOk(await run(bin, ['--help'], { cwd: project }), 'keygate --help')
    expect(help).toMatch(/keygate/)
    const cli = tarballs.find((t) => t.name === '@keygate/cli')
    const version = expectOk(await run(bin, ['--version'], { cwd: project }), 'keygate --version')
    expect(version).toContain(cli?.manifest.version ?? 'missing')
  })

  it("imports '@keygate/cli' as a library without running a command", async () => {
    const code = "const cli = await import('@keygate/cli'); console.log(typeof cli.run)"
    const result = await run(
      process.execPath,
      ['--input-type=module', '-e', code, '--', 'keys', 'list'],
      { cwd: project },
    )
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('function')
    expect(result.code).toBe(0)
  })
})

function packageDir(name: string): string {
  const found = packages.find(({ manifest }) => manifest.name === name)
  if (found === undefined) throw new Error(`no package ${name} in packages/`)
  return found.dir
}
