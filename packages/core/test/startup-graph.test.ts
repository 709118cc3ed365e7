import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// What an app bundles and parses at start to call check() is the static import graph of
// licensing.ts. The start-up boundary is a folder: offline/ (and the few top-level
// modules it needs) load at start, online/ and polar/ only behind one `import()`. Read from
// the sources, so a static import that drags the online code back in fails here, before any
// bundle is measured (docs/benchmarks.md). No file names: only folders.

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../src')

const folderOf = (module: string) => (module.includes('/') ? (module.split('/')[0] ?? '.') : '.')
const LAZY = new Set(['online', 'polar'])

interface Imports {
  /** Modules loaded with this one: value imports and re-exports (type-only ones are erased). */
  static: string[]
  /** `import('…')` targets: separate chunks, loaded when that code runs. */
  dynamic: string[]
}

function importsOf(file: string): Imports {
  const text = readFileSync(join(SRC, file), 'utf8')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: Imports = { static: [], dynamic: [] }
  const local = (specifier: string) =>
    relative(SRC, join(dirname(join(SRC, file)), specifier)).replace(/\.js$/, '.ts')

  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      // `import { type A }` still loads the module under verbatimModuleSyntax: only
      // `import type` is erased.
      if (statement.importClause?.isTypeOnly) continue
      found.static.push(statement.moduleSpecifier.text)
    }
    if (
      ts.isExportDeclaration(statement) &&
      statement.moduleSpecifier !== undefined &&
      ts.isStringLiteral(statement.moduleSpecifier) &&
      !statement.isTypeOnly
    ) {
      found.static.push(statement.moduleSpecifier.text)
    }
  }
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.dynamic.push(node.arguments[0].text)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return {
    static: found.static.filter((s) => s.startsWith('.')).map(local),
    dynamic: found.dynamic.filter((s) => s.startsWith('.')).map(local),
  }
}

/** Every source module reachable from `entry` through static imports, `entry` included. */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>()
  const walk = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const next of importsOf(file).static) walk(next)
  }
  walk(entry)
  return seen
}

function allModules(folder: string): string[] {
  return readdirSync(join(SRC, folder))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => (folder === '.' ? name : `${folder}/${name}`))
}

describe('the start-up boundary is the offline/ folder', () => {
  it('offline/ imports nothing of online/ or polar/, statically or lazily', () => {
    const modules = allModules('offline')
    expect(modules.length).toBeGreaterThan(3)
    const crossings = modules.flatMap((module) => {
      const { static: eager, dynamic } = importsOf(module)
      return [...eager, ...dynamic]
        .filter((target) => LAZY.has(folderOf(target)))
        .map((target) => `${module} → ${target}`)
    })
    expect(crossings).toEqual([])
  })
})

describe('the start-up module graph (createLicensing and check)', () => {
  const graph = staticGraph('licensing.ts')

  it('holds what the offline check runs: offline/ and top-level modules only', () => {
    // Also proves the walk itself works: a broken parser would find nothing.
    const folders = new Set([...graph].map(folderOf))
    expect(folders).toEqual(new Set(['.', 'offline']))
    expect([...graph].filter((module) => folderOf(module) === 'offline').length).toBeGreaterThan(3)
  })

  it('reaches the online code through one import() of the online/ folder', () => {
    const dynamic = [...graph].flatMap((module) =>
      importsOf(module).dynamic.map((target) => ({ module, target })),
    )
    // Besides the online code, only crypto/ loads lazily: the record's MAC (an app with a
    // keychain) and the pure-JS hash and curve (a runtime without Node's crypto).
    const intoOnline = dynamic.filter(({ target }) => folderOf(target) === 'online')
    expect(intoOnline.map(({ module }) => module)).toEqual(['licensing.ts'])
    const others = dynamic.filter(({ target }) => folderOf(target) !== 'online')
    expect(others.map(({ target }) => folderOf(target))).toEqual(others.map(() => 'crypto'))
    expect(others.length).toBeGreaterThan(0)
    // The crypto/ chunks lean on the start-up code (already loaded), never on the online code.
    for (const { target } of others) {
      const folders = new Set([...staticGraph(target)].map(folderOf))
      expect([...folders].filter((folder) => LAZY.has(folder))).toEqual([])
    }
    const [target] = importsOf('licensing.ts').dynamic
    expect(folderOf(target ?? '')).toBe('online')
    const online = staticGraph(target ?? '')
    expect(new Set([...online].map(folderOf))).toEqual(new Set(['.', 'offline', 'online', 'polar']))
  })

  it('tells re-exports, type-only imports and import() apart', () => {
    expect(importsOf('index.ts').static).toContain('licensing.ts')
    // `export type { … } from` is erased: polar/types.ts's schemas never load with it.
    expect(importsOf('polar/types.ts').static.filter((m) => m.startsWith('polar/'))).toEqual([])
    // The public createPolarClient loads the HTTP client on its first request.
    expect(importsOf('polar/client.ts').dynamic).toHaveLength(1)
  })
})
