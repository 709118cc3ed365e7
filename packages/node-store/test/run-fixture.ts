import { execFile, execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const sources: Record<string, string> = {
  '@keygate/core': 'packages/core/src/index.ts',
  '@keygate/node-store': 'packages/node-store/src/index.ts',
}

/** The uid/gid of `nobody`, for running a fixture without root's bypass of file permissions. */
export const NOBODY = { uid: 65534, gid: 65534 }

/** Root ignores file permissions, so permission tests run their fixture as `nobody` then. */
export const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0

/**
 * Whether this machine lets us start Node as `nobody` (a sandbox may not map the uid, or
 * Node may live under root's home). Without it the permission cases cannot be checked as root.
 */
export const canRunAsNobody = (() => {
  if (!runningAsRoot) return false
  try {
    execFileSync(process.execPath, ['-e', '0'], { ...NOBODY, stdio: 'ignore', timeout: 10_000 })
    return true
  } catch {
    return false
  }
})()

/**
 * Bundles a TypeScript fixture with the package sources into `outDir` (which another user
 * can read, unlike a checkout under root's home), runs it with plain Node, and returns
 * its last stdout line parsed as JSON.
 */
export async function runFixture<T>(
  fixture: string,
  args: readonly string[],
  outDir: string,
  options: { uid?: number; gid?: number } = {},
): Promise<T> {
  const outfile = join(outDir, fixture.replace(/\.ts$/, '.mjs'))
  await build({
    entryPoints: [fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    // Bundled CommonJS dependencies use require() and __filename, which ES modules lack.
    banner: {
      js: [
        "import { createRequire as __fixtureRequire } from 'node:module'",
        "import { fileURLToPath as __fixturePath } from 'node:url'",
        'const require = __fixtureRequire(import.meta.url)',
        'const __filename = __fixturePath(import.meta.url)',
      ].join(';'),
    },
    plugins: [
      {
        name: 'keygate-sources',
        setup(builder) {
          builder.onResolve({ filter: /^@keygate\/(core|node-store)$/ }, (a) => ({
            path: join(root, sources[a.path] ?? a.path),
          }))
        },
      },
    ],
  })
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [outfile, ...args],
      { timeout: 30_000, ...options },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${fixture} failed: ${error.message}\n${stderr}`))
        const last = stdout.trim().split('\n').at(-1) ?? ''
        resolve(JSON.parse(last) as T)
      },
    )
  })
}
