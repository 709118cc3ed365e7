import { readFile, realpath } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

type Exports = string | { [condition: string]: Exports } | null | undefined

/** Picks the file Node's ESM loader would, for the conditions `node`, `import`, `default`. */
function pick(exports: Exports): string | undefined {
  if (typeof exports === 'string') return exports
  if (exports === null || exports === undefined) return undefined
  for (const condition of ['node', 'import', 'default']) {
    if (condition in exports) {
      const found = pick(exports[condition])
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** The folder of `name` as `fromPackage` sees it (pnpm: a link, or a sibling in the store). */
async function packageDir(fromPackage: string, name: string): Promise<string> {
  try {
    return await realpath(join(fromPackage, 'node_modules', name))
  } catch {
    // pnpm keeps a package's dependencies beside it: .pnpm/<pkg>/node_modules/<dep>.
    return await realpath(join(dirname(await realpath(fromPackage)), name))
  }
}

/**
 * The file URL `import name` loads from inside `fromPackage`, so a dependency's own cost
 * can be measured in a process that could not resolve it by name.
 */
export async function dependencyEntry(
  fromPackage: string,
  name: string,
): Promise<{ dir: string; url: string }> {
  const dir = await packageDir(fromPackage, name)
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
    exports?: Exports
    main?: string
  }
  let entry: string | undefined
  if (manifest.exports !== undefined) {
    const exports = manifest.exports
    entry = pick(
      typeof exports === 'object' && exports !== null && '.' in exports ? exports['.'] : exports,
    )
  }
  entry ??= manifest.main ?? 'index.js'
  return { dir, url: pathToFileURL(join(dir, entry)).href }
}
