import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// What an app bundles and parses at start to call check() is the static import graph of
// licensing.ts. The start-up boundary is a folder: the files of offline/ (and the few
// top-level modules it needs) load at start, online/ and polar/ only behind one `import()`,
// and offline/'s subfolders (lease/, trial/) behind their own, for the records that need
// them. Read from the sources, so a static import that drags that code back in fails here,
// before any bundle is measured (docs/benchmarks.md). No file names: only folders.

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../src')

/** `offline`, `offline/lease`, `.` for a top-level module. */
const folderOf = (module: string) => dirname(module)
const LAZY = new Set(['online', 'polar'])
/** Under a folder of `LAZY`: online or Polar code. */
const isOnline = (folder: string) => LAZY.has(folder.split('/')[0] ?? '')

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

/** The modules of `folder` and of its subfolders. */
function allModules(folder: string): string[] {
  return readdirSync(join(SRC, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => (folder === '.' ? name : `${folder}/${name}`))
}

/** The names a module exports as functions of its own (`export function f` / `async function`). */
function exportedFunctions(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  return source.statements.flatMap((statement) =>
    ts.isFunctionDeclaration(statement) &&
    statement.name !== undefined &&
    statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
      ? [statement.name.text]
      : [],
  )
}

describe('the start-up boundary is the offline/ folder', () => {
  it('offline/ (its subfolders too) imports nothing of online/ or polar/, statically or lazily', () => {
    const modules = allModules('offline')
    expect(modules.length).toBeGreaterThan(3)
    expect(new Set(modules.map(folderOf))).toEqual(
      new Set(['offline', 'offline/lease', 'offline/trial']),
    )
    const crossings = modules.flatMap((module) => {
      const { static: eager, dynamic } = importsOf(module)
      return [...eager, ...dynamic]
        .filter((target) => isOnline(folderOf(target)))
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
    // Besides the online code, what only some records or apps need loads lazily: crypto/
    // (the record's MAC under a keychain; the pure-JS hash and curve for a runtime without
    // Node's crypto), offline/lease/ (a lease server) and offline/trial/ (a trial).
    const intoOnline = dynamic.filter(({ target }) => folderOf(target) === 'online')
    expect(intoOnline.map(({ module }) => module)).toEqual(['licensing.ts'])
    const others = dynamic.filter(({ target }) => folderOf(target) !== 'online')
    expect(new Set(others.map(({ target }) => folderOf(target)))).toEqual(
      new Set(['crypto', 'offline/lease', 'offline/trial']),
    )
    // These chunks lean on the start-up code (already loaded), never on the online code.
    for (const { target } of others) {
      const folders = new Set([...staticGraph(target)].map(folderOf))
      expect([...folders].filter(isOnline)).toEqual([])
    }
    const [target] = importsOf('licensing.ts').dynamic
    expect(folderOf(target ?? '')).toBe('online')
    const online = staticGraph(target ?? '')
    // The lease code loads with it only under a lease server (licensing.ts), never statically.
    expect(new Set([...online].map(folderOf))).toEqual(new Set(['.', 'offline', 'online', 'polar']))
  })

  it('loads no lease verifier and no trial code: a plain grant needs neither', () => {
    // By what the code does, not where it lives: verifying a lease or a trial token, judging a
    // leased grant, and running a trial (its evaluation, MAC, start).
    const lazyOnly = [
      'verifyLease',
      'verifyLeaseAhead',
      'verifyTrialToken',
      'verifyTrialAhead',
      'leasedGrant',
      'evaluateLeased',
      'evaluateTrial',
      'sealTrial',
      'checkTrial',
      'startTrial',
      'trialStateOf',
    ]
    const defined = [...graph].flatMap((module) =>
      exportedFunctions(module).map((name) => `${module}: ${name}`),
    )
    // The probe sees the start-up code's own functions (it would find these names too).
    expect(defined).toContain('offline/evaluate.ts: evaluate')
    expect(defined.filter((entry) => lazyOnly.includes(entry.split(': ')[1] ?? ''))).toEqual([])
    const lazily = new Set(
      [...staticGraph('offline/lease/index.ts'), ...staticGraph('offline/trial/index.ts')].flatMap(
        exportedFunctions,
      ),
    )
    expect(lazyOnly.filter((name) => !lazily.has(name))).toEqual([])
  })

  it('tells re-exports, type-only imports and import() apart', () => {
    expect(importsOf('index.ts').static).toContain('licensing.ts')
    // `export type { … } from` is erased: polar/types.ts's schemas never load with it.
    expect(importsOf('polar/types.ts').static.filter((m) => m.startsWith('polar/'))).toEqual([])
    // The public createPolarClient loads the HTTP client on its first request.
    expect(importsOf('polar/client.ts').dynamic).toHaveLength(1)
  })
})
