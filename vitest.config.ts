import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url))

// Tests import the packages by name; point those names at the sources so a test run
// never depends on a stale dist/. Subpaths first: aliases match by prefix.
const alias = [
  { find: /^@keygate\/core\/testing$/, replacement: src('core/src/testing/index.ts') },
  { find: /^@keygate\/core\/admin$/, replacement: src('core/src/admin/index.ts') },
  { find: /^@keygate\/core\/rules$/, replacement: src('core/src/polar/rules.ts') },
  { find: /^@keygate\/core\/lease$/, replacement: src('core/src/offline/lease/public.ts') },
  { find: /^@keygate\/core$/, replacement: src('core/src/index.ts') },
  { find: /^@keygate\/node-store\/files$/, replacement: src('node-store/src/files.ts') },
  { find: /^@keygate\/node-store$/, replacement: src('node-store/src/index.ts') },
  {
    find: /^@keygate\/electron-adapter\/preload$/,
    replacement: src('electron-adapter/src/preload.ts'),
  },
  { find: /^@keygate\/electron-adapter$/, replacement: src('electron-adapter/src/index.ts') },
  { find: /^@keygate\/server\/node$/, replacement: src('server/src/node.ts') },
  { find: /^@keygate\/server$/, replacement: src('server/src/index.ts') },
]

const project = (name: string, root: string, testTimeout = 10_000) => ({
  resolve: { alias },
  test: { name, root, include: ['test/**/*.test.ts', '*.test.ts'], testTimeout },
})

export default defineConfig({
  test: {
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'reports/vitest.json' }]]
      : ['default'],
    projects: [
      project('core', 'packages/core'),
      project('node-store', 'packages/node-store', 60_000),
      project('electron-adapter', 'packages/electron-adapter', 30_000),
      project('cli', 'packages/cli', 30_000),
      project('server', 'packages/server', 60_000),
      {
        resolve: { alias },
        test: { name: 'scenarios', root: 'test', include: ['**/*.test.ts'], testTimeout: 120_000 },
      },
    ],
  },
})
