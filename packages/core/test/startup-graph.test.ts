import { readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// What an app bundles and parses at start to call check() is the static import graph of
// licensing.ts; everything online must stay behind its one `import()`. Read from the
// sources, so a static import that drags the online code back in fails here, before any
// bundle is measured (docs/benchmarks.md, budget 3).

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../src')

/** Only activate, refresh, deactivate or check's online modes run these. */
const ONLINE_ONLY = [
  'licensing-online.ts',
  'seats.ts',
  'revalidate.ts',
  'grant-from-polar.ts',
  'polar-pause.ts',
  'request-rules.ts',
  'lazy-polar-client.ts',
  'client-options.ts',
  'polar-client.ts',
  'polar-transport.ts',
  'polar-errors.ts',
  'polar-schemas.ts',
  'retry.ts',
]

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

describe('the start-up module graph (createLicensing and check)', () => {
  const graph = staticGraph('licensing.ts')

  it('holds what the offline check runs', () => {
    // Also proves the walk itself works: a broken parser would find nothing.
    for (const module of [
      'stored-record.ts',
      'grant.ts',
      'evaluate.ts',
      'high-water.ts',
      'state-emitter.ts',
      'policy.ts',
      'input-basics.ts',
      'errors.ts',
    ]) {
      expect(graph, module).toContain(module)
    }
  })

  it('holds none of the online code', () => {
    expect([...graph].filter((module) => ONLINE_ONLY.includes(module))).toEqual([])
  })

  it('reaches the online code through one import() of licensing-online.ts', () => {
    const dynamic = [...graph].flatMap((module) =>
      importsOf(module).dynamic.map((target) => `${module} → ${target}`),
    )
    expect(dynamic).toEqual(['licensing.ts → licensing-online.ts'])
    const online = staticGraph('licensing-online.ts')
    for (const module of ['seats.ts', 'revalidate.ts', 'request-rules.ts', 'polar-client.ts']) {
      expect(online, module).toContain(module)
    }
  })

  it('tells re-exports, type-only imports and import() apart', () => {
    expect(importsOf('index.ts').static).toEqual(
      expect.arrayContaining(['licensing.ts', 'request-rules.ts', 'input-basics.ts']),
    )
    // `export type { … } from` is erased: polar-types.ts's schemas never load with it.
    expect(importsOf('polar-types.ts').static).not.toContain('polar-schemas.ts')
    expect(importsOf('lazy-polar-client.ts').dynamic).toEqual(['polar-client.ts'])
  })
})
