import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made: string[] = []

/** A fresh folder under the OS temp dir; `removeTempDirs` deletes them all. */
export async function tempDir(prefix = 'keygate-node-store-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

export async function removeTempDirs(): Promise<void> {
  for (const dir of made.splice(0)) {
    await unlockTree(dir)
    await rm(dir, { recursive: true, force: true })
  }
}

/** Tests chmod things to 000; give them back so rm can walk in. */
async function unlockTree(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined)
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    const path = join(dir, entry.name)
    await chmod(path, 0o700).catch(() => undefined)
    if (entry.isDirectory()) await unlockTree(path)
  }
}
