import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

/**
 * Every other test imports the sources; users import `dist/`, which our build
 * post-processes (bundled valibot and env-paths, builtins without ES module facades).
 * The demo imports the built packages by name, so running it proves the build works.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const built = ['packages/core/dist/index.js', 'packages/node-store/dist/index.js'].every((file) =>
  existsSync(`${root}/${file}`),
)
// `pnpm test` builds before vitest; a bare `vitest run` on a fresh clone has no dist yet.
const runIt = built || process.env.CI ? it : it.skip

describe('the built packages', () => {
  runIt('run the whole demo story from dist/ (pnpm demo without the build step)', async () => {
    expect(built, 'packages are not built: run `pnpm build` first').toBe(true)
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'demo/demo.ts'],
        // demo/tsconfig.json has no `paths`: @keygate/* resolve through node_modules to dist.
        {
          cwd: root,
          timeout: 60_000,
          env: { ...process.env, TSX_TSCONFIG_PATH: 'demo/tsconfig.json' },
        },
        (error, out) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out }),
      )
    })
    expect(stdout).toContain('Every step behaved as described.')
    expect(code).toBe(0)
  })
})

/** The files a built entry loads before any of its code runs: its static imports, recursively. */
function staticChunks(dir: string, entry: string): string[] {
  const seen = new Set<string>()
  const walk = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const code = readFileSync(join(dir, file), 'utf8')
    // ESM `import … from "./x.js"` / `import "./x.js"`, CJS `require("./x.cjs")`; not the
    // lazy forms (`import(…)`, and the CJS build's `Promise.resolve().then(() => require(…))`).
    const found = code.matchAll(/(?:from|import|(?<!=>\s*)require\()\s*["'`](\.\/[^"'`]+)["'`]/g)
    for (const [, target] of found) walk((target ?? '').slice(2))
  }
  walk(entry)
  return [...seen].sort()
}

describe('the built start-up path', () => {
  runIt(
    'core’s entry loads its start-up chunk only: online, HTTP, crypto, lease and trial code stay lazy',
    () => {
      const dir = join(root, 'packages/core/dist')
      for (const entry of ['index.js', 'index.cjs']) {
        const chunks = staticChunks(dir, entry)
        expect(chunks.length).toBeGreaterThanOrEqual(2)
        expect(
          chunks.filter((file) =>
            /online|http-client|schemas|record-mac|crypto-js|lease|trial/.test(file),
          ),
        ).toEqual([])
      }
    },
  )
})

/**
 * What an app's bundler keeps at start for createLicensing + createFileStore + nodeMachine
 * + check() (bench/entries/startup-app.ts): each kind of code is found by a string only it
 * holds, and must be in a chunk loaded later, never in what loads at start.
 */
const LAZY_CODE = {
  // offline/lease/: the JWS header type the verifier checks.
  'lease verifier': 'keygate-lease+jwt',
  // offline/trial/: the trial memory's MAC input.
  'trial code': 'keygate trial v1',
  // polar/: Polar's route.
  'Polar client': '/v1/customer-portal/license-keys/',
  // online/: the lease server's route.
  'lease server client': '/v1/renew',
}

describe('the bundled start-up path', () => {
  runIt(
    'holds no lease verifier, trial, Polar or lease-server code: a plain grant needs none',
    async () => {
      const entry = 'bench/entries/startup-app.ts'
      const result = await build({
        entryPoints: [join(root, entry)],
        outdir: join(root, 'test/.out/startup-bundle'),
        absWorkingDir: root,
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'node',
        splitting: true,
        write: false,
        metafile: true,
        logLevel: 'silent',
        // Through the packages' exports (dist), not the root tsconfig's source `paths`.
        tsconfigRaw: {},
      })
      const outputs = result.metafile.outputs
      // Each import() target is an entry point of its own chunk: match the app's entry.
      const start = Object.keys(outputs).find((path) => outputs[path]?.entryPoint === entry)
      const eager = new Set<string>()
      const visit = (path: string) => {
        if (eager.has(path)) return
        eager.add(path)
        for (const imported of outputs[path]?.imports ?? []) {
          if (imported.kind === 'import-statement' && !imported.external) visit(imported.path)
        }
      }
      visit(start ?? '')
      const text = (loaded: boolean) =>
        result.outputFiles
          .filter((file) => file.path.endsWith('.js'))
          .filter((file) => eager.has(file.path.slice(root.length).replace(/^\//, '')) === loaded)
          .map((file) => file.text)
          .join('\n')
      const atStart = text(true)
      const later = text(false)
      // The walk found the start-up code itself (its error messages), not an empty set.
      expect(atStart).toContain('[keygate]')
      for (const [what, marker] of Object.entries(LAZY_CODE)) {
        expect(later, `${what} is bundled at all`).toContain(marker)
        expect(atStart, `${what} loads at start`).not.toContain(marker)
      }
    },
  )
})
