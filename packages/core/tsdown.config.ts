import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'admin/index': 'src/admin/index.ts',
  },
  format: 'esm',
  platform: 'neutral',
  // Only the emulator's listen() imports node:http, lazily; it stays an import.
  external: [/^node:/],
  dts: true,
  clean: true,
  fixedExtension: false,
})
