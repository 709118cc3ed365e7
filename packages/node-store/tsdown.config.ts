import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { defineConfig } from 'tsdown'

/** The folder of a package as `from` (a file) would import it. */
const packageDir = (name: string, from: string) => dirname(createRequire(from).resolve(name))
const envPathsDir = packageDir('env-paths', import.meta.url)
const isSafeFilenameDir = packageDir('is-safe-filename', join(envPathsDir, 'index.js'))

// env-paths does `import process from 'node:process'`. Node builds the ES module facade of
// a builtin by reading every export, so that import creates process.stdin, stdout and
// stderr at start-up, for an object that is the global `process` anyway.
const GLOBAL_PROCESS = '\0keygate:global-process'
const globalProcess = {
  name: 'keygate:global-process',
  resolveId: (id: string) => (id === 'node:process' ? GLOBAL_PROCESS : null),
  load: (id: string) => (id === GLOBAL_PROCESS ? 'export default globalThis.process' : null),
}

// A static `import … from 'node:fs'` makes Node build the builtin's ES module facade, which
// reads every export: for node:fs that loads its lazy streams at start-up, and node:path
// and node:os cost something too. `process.getBuiltinModule` (Node ≥ 20.16) hands
// over the same objects without a facade, so the built files use it instead (measured in
// docs/benchmarks.md). Dynamic `import('node:…')` (lazy on purpose) is left alone.
const IMPORT_STATEMENT = /^import\s+([^'"]+?)\s+from\s+["'](node:[\w/]+)["'];?$/gm
const IMPORT_CLAUSE = /^(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\}|\*\s+as\s+([\w$]+))?$/

function builtinConstants(clause: string, id: string): string {
  const parts = IMPORT_CLAUSE.exec(clause.trim())
  if (parts === null) throw new Error(`unexpected import of ${id}: ${clause}`)
  const [, defaultName, named, namespace] = parts
  const module = `process.getBuiltinModule(${JSON.stringify(id)})`
  const lines: string[] = []
  for (const name of [defaultName, namespace]) {
    if (name !== undefined) lines.push(`const ${name} = ${module};`)
  }
  if (named !== undefined) {
    const bindings = named
      .split(',')
      .map((binding) => binding.trim())
      .filter((binding) => binding.length > 0)
      .map((binding) => binding.replace(/^([\w$]+)\s+as\s+([\w$]+)$/, '$1: $2'))
    lines.push(`const { ${bindings.join(', ')} } = ${module};`)
  }
  return lines.join('\n')
}

const builtinsWithoutFacade = {
  name: 'keygate:builtins-without-facade',
  renderChunk(code: string, chunk: { fileName: string }) {
    if (!chunk.fileName.endsWith('.js')) return null // the .d.ts keep their type imports
    return code.replace(IMPORT_STATEMENT, (_, clause: string, id: string) =>
      builtinConstants(clause, id),
    )
  },
}

export default defineConfig({
  entry: { index: 'src/index.ts', files: 'src/files.ts' },
  format: ['esm', 'cjs'],
  platform: 'node',
  deps: {
    // env-paths (and the name check it imports) is a few dozen lines: bundled, importing the
    // store loads no extra files (see docs/benchmarks.md).
    alwaysBundle: ['env-paths', 'is-safe-filename'],
    // Anything else reaching the bundle is a mistake: fail the build.
    onlyBundle: ['env-paths', 'is-safe-filename'],
  },
  plugins: [globalProcess, builtinsWithoutFacade],
  // Both are MIT-licensed: their notices ship beside the code bundled from them.
  copy: [
    { from: join(envPathsDir, 'license'), to: 'dist/licenses', rename: 'env-paths.txt' },
    {
      from: join(isSafeFilenameDir, 'license'),
      to: 'dist/licenses',
      rename: 'is-safe-filename.txt',
    },
  ],
  // Start-up cost is parse cost: Node compiles every byte of a module it loads. Fully minified
  // but function names kept, so a stack trace names the function with no source map to ship.
  minify: { compress: true, mangle: { keepNames: true }, codegen: { removeWhitespace: true } },
  dts: true,
  clean: true,
  fixedExtension: false,
})
