import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { defineConfig } from 'tsdown'

/** The folder of a package as `from` (a file) would import it. */
const packageDir = (name: string, from: string) => dirname(createRequire(from).resolve(name))
const envPathsDir = packageDir('env-paths', import.meta.url)
const isSafeFilenameDir = packageDir('is-safe-filename', join(envPathsDir, 'index.js'))

// env-paths does `import process from 'node:process'`. Node builds the ES module facade of
// a builtin by reading every export, so that import creates process.stdin, stdout and
// stderr: ≈ 2 ms at start-up for an object that is the global `process` anyway.
const GLOBAL_PROCESS = '\0keygate:global-process'
const globalProcess = {
  name: 'keygate:global-process',
  resolveId: (id: string) => (id === 'node:process' ? GLOBAL_PROCESS : null),
  load: (id: string) => (id === GLOBAL_PROCESS ? 'export default globalThis.process' : null),
}

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: 'esm',
  platform: 'node',
  deps: {
    // env-paths (and the name check it imports) is ≈ 50 lines: bundled, importing the store
    // loads no extra files (≈ 1 ms less at start; see docs/benchmarks.md).
    alwaysBundle: ['env-paths', 'is-safe-filename'],
    // Anything else reaching the bundle is a mistake: fail the build.
    onlyBundle: ['env-paths', 'is-safe-filename'],
  },
  plugins: [globalProcess],
  // Both are MIT-licensed: their notices ship beside the code bundled from them.
  copy: [
    { from: join(envPathsDir, 'license'), to: 'dist/licenses', rename: 'env-paths.txt' },
    {
      from: join(isSafeFilenameDir, 'license'),
      to: 'dist/licenses',
      rename: 'is-safe-filename.txt',
    },
  ],
  dts: true,
  clean: true,
  fixedExtension: false,
})
