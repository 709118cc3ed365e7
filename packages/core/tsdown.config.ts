import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'admin/index': 'src/admin/index.ts',
  },
  format: ['esm', 'cjs'],
  platform: 'neutral',
  deps: {
    // Only the emulator's listen() imports node:http, lazily; it stays an import.
    neverBundle: [/^node:/],
    // valibot ships as one large file that Node parses whole on import; bundled, dist
    // holds only the part keygate uses (docs/benchmarks.md has the figures), and the .d.ts carries the valibot types it needs, so the
    // exported `Grant` and admin types need no valibot install.
    alwaysBundle: ['valibot'],
    // Anything else reaching the bundle is a mistake: fail the build.
    onlyBundle: ['valibot'],
  },
  // valibot is MIT-licensed: its notice ships beside the code bundled from it.
  copy: [{ from: 'node_modules/valibot/LICENSE.md', to: 'dist/licenses', rename: 'valibot.md' }],
  // Each entry exports its public API only, no internals for the other chunks to import.
  // Each entry exports its public API only, no internals for the other chunks to import.
  inputOptions: { preserveEntrySignatures: 'strict' },
  outputOptions: {
    codeSplitting: {
      // Chunks follow the folders. Everything outside online/, polar/, testing/ and admin/
      // (the start-up code: offline/ and the top-level modules, with what index.ts
      // re-exports) is one file shared by every entry; online/ and the HTTP client load on
      // first use, through their import(). Type declarations (.d.ts) are not grouped.
      groups: [
        {
          name: 'shared',
          test: /src[\\/](?!online[\\/]|polar[\\/]|testing[\\/]|admin[\\/]).*(?<!\.d)\.ts$|node_modules[\\/]valibot[\\/].*\.mjs$/,
        },
      ],
    },
  },
  dts: true,
  clean: true,
  fixedExtension: false,
})
