import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: 'esm',
  platform: 'node',
  dts: true,
  clean: true,
  fixedExtension: false,
  // Only the adapter's record location is used (a path helper and a header): inlined, so
  // installing the CLI never pulls in Electron, the adapter's peer dependency.
  deps: { onlyBundle: ['@keygate/electron-adapter'] },
})
