import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { bundleFixture } from '../../../test/fixtures/build-fixture.js'

export { canRunAsNobody, NOBODY, runningAsRoot } from '../../../test/fixtures/build-fixture.js'

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
  const outfile = await bundleFixture(
    fixture,
    outDir,
    fileURLToPath(new URL('./fixtures/', import.meta.url)),
  )
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
