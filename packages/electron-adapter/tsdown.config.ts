import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: { index: 'src/index.ts', preload: 'src/preload.ts' },
  format: ['esm', 'cjs'],
  platform: 'node',
  dts: true,
  clean: true,
  fixedExtension: false,
  deps: { neverBundle: ['electron'] },
})
