import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'admin/index': 'src/admin/index.ts',
  },
  format: 'esm',
  platform: 'neutral',
  deps: {
    // Only the emulator's listen() imports node:http, lazily; it stays an import.
    neverBundle: [/^node:/],
    // valibot ships as one 206 KB file that Node parses whole on import; bundled, dist
    // holds only the few KB keygate uses (importing core: ≈ 7 ms → 3 ms, see
    // docs/benchmarks.md), and the .d.ts carries the valibot types it needs, so the
    // exported `Grant` and admin types need no valibot install.
    alwaysBundle: ['valibot'],
    // Anything else reaching the bundle is a mistake: fail the build.
    onlyBundle: ['valibot'],
  },
  // valibot is MIT-licensed: its notice ships beside the code bundled from it.
  copy: [{ from: 'node_modules/valibot/LICENSE.md', to: 'dist/licenses', rename: 'valibot.md' }],
  dts: true,
  clean: true,
  fixedExtension: false,
})
