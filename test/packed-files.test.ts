import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

/**
 * What each package adds to an app that installs it, file by file as `npm pack` lists it:
 * a size within budget, no source map naming a file the tarball lacks (such a map is dead
 * weight, or worse, a debugger's dead end), and stack traces through the shipped JS that name
 * the function and point at the code that threw. consumer.test.ts installs the real tarballs; this test
 * only lists them, so it runs in seconds.
 */
const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * Unpacked KiB, README and types included; about 20% above today's. Before raising one,
 * look at what grew: source maps, a chunk duplicated between entries, a dependency bundled.
 */
const BUDGET_KIB: Record<string, number> = {
  '@keygate/core': 1000,
  '@keygate/node-store': 160,
  '@keygate/electron-adapter': 260,
  '@keygate/cli': 110,
  '@keygate/server': 70,
}
const DEFAULT_BUDGET_KIB = 100

interface Packed {
  name: string
  dir: string
  unpackedSize: number
  files: string[]
}

const dirs = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .filter((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private !== true)

// `pnpm test` builds before vitest; a bare `vitest run` on a fresh clone has no dist yet.
const built = dirs.every((dir) => existsSync(join(dir, 'dist')))
const describeIt = built || process.env.CI ? describe : describe.skip

function run(args: string[], cwd: string): Promise<string> {
  // Not the npm or pnpm configuration of the script running this test.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|pnpm_)/i.test(name)),
  )
  return new Promise((resolve, reject) => {
    execFile(
      args[0] ?? '',
      args.slice(1),
      { cwd, env, timeout: 60_000 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${args.join(' ')} in ${cwd}: ${error.message}\n${stderr}`))
          : resolve(stdout),
    )
  })
}

async function listPack(dir: string): Promise<Packed> {
  const [report] = JSON.parse(await run(['npm', 'pack', '--dry-run', '--json'], dir)) as {
    name: string
    unpackedSize: number
    files: { path: string }[]
  }[]
  if (report === undefined) throw new Error(`npm pack listed nothing in ${dir}`)
  return { ...report, dir, files: report.files.map((file) => file.path) }
}

/** Each shipped file's source map, and each map's sources, must be shipped too. */
function mapProblems({ dir, files }: Packed): string[] {
  const shipped = new Set(files)
  const referenced = new Set<string>()
  const problems: string[] = []
  for (const file of files.filter((path) => /\.[cm]?js$|\.d\.[cm]?ts$/.test(path))) {
    const url = /\/\/[#@] sourceMappingURL=(\S+)\s*$/.exec(
      readFileSync(join(dir, file), 'utf8'),
    )?.[1]
    if (url === undefined) continue
    if (url.startsWith('data:')) {
      problems.push(`${file}: an inline source map`)
      continue
    }
    const mapFile = posix.join(posix.dirname(file), url)
    if (!shipped.has(mapFile)) {
      problems.push(`${file} → ${mapFile}, not in the tarball`)
      continue
    }
    referenced.add(mapFile)
    const map = JSON.parse(readFileSync(join(dir, mapFile), 'utf8')) as {
      sourceRoot?: string
      sources: string[]
      sourcesContent?: (string | null)[]
    }
    for (const source of map.sources) {
      const path = posix.join(posix.dirname(mapFile), map.sourceRoot ?? '', source)
      if (!shipped.has(path)) problems.push(`${mapFile} → ${path}, not in the tarball`)
    }
    if (map.sourcesContent?.some((content) => content !== null)) {
      problems.push(`${mapFile}: carries sourcesContent beside the shipped sources`)
    }
  }
  for (const file of files.filter((path) => path.endsWith('.map') && !referenced.has(path))) {
    problems.push(`${file}: no shipped file points at it`)
  }
  return problems
}

/** `at [Module.]name [as export] (path/dist/file.js:line:column)`: name, file, line, column. */
const DIST_FRAME =
  /^\s+at (?:\w+\.)?([\w$]+)(?: \[as [\w$]+\])? \((?:file:\/\/)?(\/.+?\/dist\/[^:]+):(\d+):(\d+)\)$/m

describeIt('the packed packages, file by file', () => {
  const packed: Packed[] = []

  beforeAll(async () => {
    packed.push(...(await Promise.all(dirs.map(listPack))))
  }, 120_000)

  it('each package stays within its size budget (unpacked, as npm reports it)', () => {
    expect(packed.length).toBe(dirs.length)
    for (const { name, unpackedSize } of packed) {
      const budget = BUDGET_KIB[name] ?? DEFAULT_BUDGET_KIB
      const kib = Math.ceil(unpackedSize / 1024)
      expect(
        kib,
        `${name}: ${kib} KiB unpacked, over its ${budget} KiB budget`,
      ).toBeLessThanOrEqual(budget)
    }
  })

  it('ships no source map that names a file missing from the tarball, nor one nothing uses', () => {
    expect(packed.flatMap(mapProblems)).toEqual([])
  })

  // A user's crash report: the frame should name the function and point at the throw.
  for (const [format, code] of [
    [
      'ESM',
      "import { checkUuid4 } from '@keygate/core'\ntry { checkUuid4('organizationId', 'x') } catch (e) { console.log(e.stack) }",
    ],
    [
      'CommonJS',
      "try { require('@keygate/core').checkUuid4('organizationId', 'x') } catch (e) { console.log(e.stack) }",
    ],
  ] as const) {
    it(`a stack trace through core's shipped ${format} names the function and the line and column of the throw`, async () => {
      const dir = join(root, 'packages', 'core')
      const flags = format === 'ESM' ? ['--input-type=module'] : []
      // Imported by name from inside the package: through its exports map, as an app does.
      const stack = await run([process.execPath, ...flags, '-e', code], dir)
      const frame = DIST_FRAME.exec(stack)
      expect(frame, stack).not.toBeNull()
      const [, name = '', file = '', line = '0', column = '0'] = frame ?? []
      expect(name).toBe('checkUuid4')
      const text = readFileSync(file, 'utf8').split('\n')[Number(line) - 1] ?? ''
      expect(text.slice(Number(column) - 1)).toMatch(/^new [\w$.]*KeygateError\(/)
    })
  }
})
