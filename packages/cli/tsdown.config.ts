import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: 'esm',
  platform: 'node',
  dts: true,
  clean: true,
  fixedExtension: false,
  // @keygate/electron-adapter is a devDependency and so inlined (only its record location
  // is used: a path helper and the encrypted-record header): installing the CLI never
  // pulls in Electron, the adapter's peer dependency.
})
