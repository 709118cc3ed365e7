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
  // Each entry exports its public API only, no internals for the other chunks to import.
  inputOptions: { preserveEntrySignatures: 'strict' },
  outputOptions: {
    codeSplitting: {
      // What index.js shares with the chunks loaded on first use (the online code, the HTTP
      // client) and with testing/admin goes in one file: importing core loads two files, not
      // four (Node spends ≈ 0.5 ms loading each ES module, see docs/benchmarks.md).
      groups: [
        {
          name: 'shared',
          test: /src[\\/](errors|polar-types|client-options|input-basics|request-rules|grant|evaluate|stored-record|machine)\.ts$|node_modules[\\/]valibot[\\/].*\.mjs$/,
        },
      ],
    },
  },
  dts: true,
  clean: true,
  fixedExtension: false,
})
