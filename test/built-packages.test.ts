import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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
    'core’s entry loads its start-up chunk only: online, HTTP and crypto code stay lazy',
    () => {
      const dir = join(root, 'packages/core/dist')
      for (const entry of ['index.js', 'index.cjs']) {
        const chunks = staticChunks(dir, entry)
        expect(chunks.length).toBeGreaterThanOrEqual(2)
        expect(
          chunks.filter((file) => /online|http-client|schemas|record-mac|crypto-js/.test(file)),
        ).toEqual([])
      }
    },
  )
})
