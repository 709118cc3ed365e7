import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
  format: 'esm',
  // The main entry runs anywhere fetch runs (Workers, Deno, Bun, Node); only ./node imports node:.
  platform: 'neutral',
  deps: { neverBundle: [/^node:/, /^@keygate\//, 'jose'] },
  dts: true,
  clean: true,
  fixedExtension: false,
})
