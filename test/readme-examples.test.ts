import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createPolarEmulator } from '@keygate/core/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { run as keygate } from '../packages/cli/src/cli.js'

/**
 * The code blocks in the package READMEs, run or type-checked against the current API,
 * so an example a user copies cannot drift from the code. A block opts in with a word
 * after its language in the fence:
 *
 * - ```` ```js run ````: run with Node (`node --import tsx`, the workspace resolved to
 *   sources through the root tsconfig), must exit 0.
 * - ```` ```sh run ````: each `keygate …` line runs against the emulator (`--server`).
 * - ```` ```ts test ````: a vitest test file; imported here, so its tests run in this file.
 * - ```` ```ts check ````: type-checked with tsc (the `test` blocks are too).
 *
 * Unmarked blocks are illustrations (signatures, shapes) and are not checked. Each
 * README's first block must opt in: it is the example a user tries first.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const READMES = [
  'packages/core/README.md',
  'packages/core/TESTING.md',
  'packages/node-store/README.md',
  'packages/cli/README.md',
  'packages/electron-adapter/README.md',
]
const PROCESS_TIMEOUT_MS = 60_000

interface Block {
  readme: string
  /** The line of the opening fence (1-based); the code starts on the next one. */
  line: number
  lang: string
  mode: string | undefined
  code: string
}

function blocksOf(readme: string, text: string): Block[] {
  const blocks: Block[] = []
  let open: Omit<Block, 'code'> | undefined
  let body: string[] = []
  text.split('\n').forEach((content, index) => {
    if (open === undefined) {
      const fence = /^```(\w*)(?:\s+(\w+))?\s*$/.exec(content)
      if (fence) open = { readme, line: index + 1, lang: fence[1] ?? '', mode: fence[2] }
      body = []
    } else if (/^```\s*$/.test(content)) {
      blocks.push({ ...open, code: `${body.join('\n')}\n` })
      open = undefined
    } else {
      body.push(content)
    }
  })
  return blocks
}

const blocks = (
  await Promise.all(
    READMES.map(async (readme) => blocksOf(readme, await readFile(join(ROOT, readme), 'utf8'))),
  )
).flat()
const where = (block: Block) => `${block.readme}:${block.line}`
const marked = (lang: string, mode: string) =>
  blocks.filter((block) => block.lang === lang && block.mode === mode)

/**
 * Names examples leave to the reader (`myStore()`, `openMainWindow()`, a `polar` made in
 * an earlier block). Declared after the block, only when it uses and does not define one,
 * so tsc's line numbers stay the README's.
 */
const PLACEHOLDERS: Record<string, string> = {
  polar: "declare const polar: import('@keygate/core/testing').PolarEmulator",
  clock: 'declare const clock: number',
  createPolarEmulator: "import { createPolarEmulator } from '@keygate/core/testing'",
  expect: "import { expect } from 'vitest'",
  myStore: "declare function myStore(): import('@keygate/core').LicenseStore",
  openMainWindow: 'declare function openMainWindow(): void',
}

function withPlaceholders(code: string): string {
  const missing = Object.entries(PLACEHOLDERS).filter(([name]) => {
    const uses = new RegExp(`\\b${name}\\b`).test(code)
    const defines = new RegExp(
      `import\\s*\\{[^}]*\\b${name}\\b|(?:const|let|var|function)\\s+${name}\\b`,
    ).test(code)
    return uses && !defines
  })
  return [code, 'export {}', ...missing.map(([, declaration]) => declaration)].join('\n')
}

interface Exit {
  code: number | null
  output: string
}

function spawnNode(args: readonly string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

/** Shell words, enough for the README's command lines: quotes and `# comments`. */
function shellWords(line: string): string[] {
  const words: string[] = []
  for (const [word] of line.matchAll(/'[^']*'|"[^"]*"|#.*|\S+/g)) {
    if (word.startsWith('#')) break
    words.push(/^['"]/.test(word) ? word.slice(1, -1) : word)
  }
  return words
}

// Blocks that run go to the OS temp folder: tsx resolves `@keygate/*` there through the
// root tsconfig's paths (it does not inside node_modules).
const runDir = await mkdtemp(join(tmpdir(), 'keygate-readme-'))
afterAll(() => rm(runDir, { recursive: true, force: true }))

describe('package READMEs', () => {
  it.each(READMES)('%s opens with an example that is run or type-checked', (readme) => {
    const first = blocks.find((block) => block.readme === readme)
    expect(first?.mode, `the first code block of ${readme}`).toMatch(/^(run|test|check)$/)
  })

  it.each(marked('js', 'run').map((block) => [where(block), block] as const))(
    '%s runs with node and prints no full license key',
    async (_, block) => {
      const file = join(runDir, `example-${block.line}.mjs`)
      await writeFile(file, block.code)
      const { code, output } = await spawnNode(['--import', 'tsx', file])
      expect(code, output).toBe(0)
      expect(output).toMatch(/\S/)
      // Generated keys are an uppercase UUID: only Polar's `****-` form may be printed.
      expect(output).not.toMatch(/[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-/)
      expect(output).toContain('****-')
    },
  )

  it.each(marked('sh', 'run').map((block) => [where(block), block] as const))(
    '%s: every keygate command runs against the emulator',
    async (_, block) => {
      const polar = createPolarEmulator({ rateLimit: false })
      // The key the README's commands name by its masked form, with one seat taken.
      const key = polar.createKey({ key: 'ACME-5F0C2B7A-0D4E-4C1B-9A3E-7B2C1D9D7F20' })
      polar.addActivation(key, { label: "Ada's laptop" })
      const server = await polar.listen()
      try {
        const commands = block.code
          .split('\n')
          .map(shellWords)
          .filter((words) => words[0] === 'keygate')
        expect(commands.length).toBeGreaterThan(0)
        let stdout = ''
        for (const [, ...args] of commands) {
          const err: string[] = []
          const code = await keygate([...args, '--server', server.url], {
            env: { POLAR_ACCESS_TOKEN: polar.createAccessToken() },
            out: (text) => {
              stdout += `${text}\n`
            },
            err: (text) => err.push(text),
            now: () => polar.now(),
          })
          expect(code, `keygate ${args.join(' ')}: ${err.join('\n')}`).toBe(0)
        }
        expect(stdout).toContain("Ada's laptop")
      } finally {
        await server.close()
      }
    },
  )

  it('every ts example type-checks against the current API and Electron’s types', async () => {
    const typed = blocks.filter(
      (block) => block.lang === 'ts' && (block.mode === 'check' || block.mode === 'test'),
    )
    expect(typed.length).toBeGreaterThan(0)
    // Inside the repo so vitest, msw and @types/node resolve from the root node_modules;
    // under node_modules so no tsc, biome or vitest run of the workspace picks it up.
    const cache = join(ROOT, 'node_modules/.cache')
    await mkdir(cache, { recursive: true })
    const dir = await mkdtemp(join(cache, 'keygate-readme-'))
    try {
      const files = new Map<string, Block>()
      for (const block of typed) {
        const name = `${block.readme.replace(/[/.]/g, '_')}_${block.line}.mts`
        files.set(name, block)
        await writeFile(join(dir, name), withPlaceholders(block.code))
      }
      const src = (path: string) => join(ROOT, 'packages', path)
      const tsconfig = {
        extends: join(ROOT, 'tsconfig.base.json'),
        compilerOptions: {
          noEmit: true,
          paths: {
            '@keygate/core': [src('core/src/index.ts')],
            '@keygate/core/testing': [src('core/src/testing/index.ts')],
            '@keygate/core/admin': [src('core/src/admin/index.ts')],
            '@keygate/node-store': [src('node-store/src/index.ts')],
            '@keygate/cli': [src('cli/src/index.ts')],
            '@keygate/electron-adapter': [src('electron-adapter/src/index.ts')],
            '@keygate/electron-adapter/preload': [src('electron-adapter/src/preload.ts')],
          },
        },
        // Electron's types declare the `electron` module; the adapter's own copy.
        files: [...files.keys(), src('electron-adapter/node_modules/electron/electron.d.ts')],
      }
      await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc')
      const { code, output } = await spawnNode([tsc, '-p', dir, '--pretty', 'false'])
      // Report errors at the README's own line: the code starts the line after the fence.
      const report = output.replace(/^.*?([^/\\]+\.mts)\((\d+),(\d+)\)/gm, (all, name, line) => {
        const block = files.get(name)
        return block ? `${block.readme}:${block.line + Number(line)}` : all
      })
      expect(report).toBe('')
      expect(code).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

// A `test` block is a vitest file: importing it registers its tests under this describe.
for (const block of marked('ts', 'test')) {
  describe(`${where(block)} (as a vitest test)`, async () => {
    const file = join(runDir, `example-${block.line}.ts`)
    await writeFile(file, block.code)
    await import(pathToFileURL(file).href)
  })
}
