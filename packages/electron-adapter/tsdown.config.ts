import { defineConfig, type UserConfig } from 'tsdown'

// A ready-to-use preload: one CommonJS file requiring nothing but `electron`, since a
// sandboxed preload can load no package, no other file and no ES module. One build per
// file, so no chunk is shared between them.
const prebuiltPreload = (name: string): UserConfig => ({
  entry: { [name]: `src/${name}.ts` },
  format: 'cjs',
  platform: 'node',
  dts: false,
  clean: false,
  fixedExtension: true,
  deps: { neverBundle: ['electron'] },
})

export default defineConfig([
  {
    entry: { index: 'src/index.ts', preload: 'src/preload.ts' },
    format: ['esm', 'cjs'],
    platform: 'node',
    dts: true,
    clean: true,
    fixedExtension: false,
    deps: { neverBundle: ['electron'] },
  },
  prebuiltPreload('app-preload'),
  prebuiltPreload('activation-preload'),
])
