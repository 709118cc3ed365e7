import { join } from 'node:path'
import { storeContract } from '@keygate/core/testing'
import { createFileStore } from '@keygate/node-store'
import { afterEach, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from './temp-dir.js'

afterEach(removeTempDirs)

storeContract({ describe, it, expect }, async () => createFileStore({ dir: await tempDir() }), {
  name: 'createFileStore',
})

// The folder does not exist yet on a first run: every operation must cope.
storeContract(
  { describe, it, expect },
  async () => createFileStore({ dir: join(await tempDir(), 'first', 'run'), name: 'pro' }),
  { name: 'createFileStore in a folder not created yet' },
)
