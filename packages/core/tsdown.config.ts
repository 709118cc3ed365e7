import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'admin/index': 'src/admin/index.ts',
    'rules/index': 'src/polar/rules.ts',
    'lease/index': 'src/offline/lease/public.ts',
  },
  format: ['esm', 'cjs'],
  platform: 'neutral',
  deps: {
    // Only the emulator's listen() imports node:http, lazily; it stays an import.
    neverBundle: [/^node:/],
    // valibot ships as one large file that Node parses whole on import; bundled, dist
    // holds only the part keygate uses (docs/benchmarks.md has the figures), and the .d.ts carries the valibot types it needs, so the
    // exported `Grant` and admin types need no valibot install. The @noble hashes and curve
    // likewise: bundled, the pure-JS fallbacks are one small lazy file instead of two
    // packages' module graphs, loaded only where Node's crypto is absent.
    alwaysBundle: ['valibot', /^@noble\//],
    // Anything else reaching the bundle is a mistake: fail the build.
    onlyBundle: ['valibot', /^@noble\//],
  },
  // valibot is MIT-licensed: its notice ships beside the code bundled from it.
  copy: [
    { from: 'node_modules/valibot/LICENSE.md', to: 'dist/licenses', rename: 'valibot.md' },
    { from: 'node_modules/@noble/hashes/LICENSE', to: 'dist/licenses', rename: 'noble-hashes.txt' },
    {
      from: 'node_modules/@noble/ed25519/LICENSE',
      to: 'dist/licenses',
      rename: 'noble-ed25519.txt',
    },
  ],
  // Each entry exports its public API only, no internals for the other chunks to import.
  inputOptions: { preserveEntrySignatures: 'strict' },
  outputOptions: {
    codeSplitting: {
      // Chunks follow the folders. Everything outside online/, polar/, testing/, admin/,
      // crypto/ and offline/'s subfolders (the start-up code: the files of offline/ and the
      // top-level modules, with what index.ts re-exports) is one file shared by every entry;
      // online/ and the HTTP client load on first use, through their import(). offline/lease/
      // and offline/trial/ are a chunk each, loaded by the start-up code only for a record (or
      // app) with a lease server or a trial. crypto/ holds what only some apps need: the
      // record's MAC (a keychain), and the pure-JS hash and curve with the @noble code they
      // use (a runtime without Node's crypto). Type declarations (.d.ts) are not grouped.
      groups: [
        {
          name: 'record-mac',
          test: /src[\\/]crypto[\\/]record-mac\.ts$/,
          priority: 2,
        },
        { name: 'lease', test: /src[\\/]offline[\\/]lease[\\/].*(?<!\.d)\.ts$/, priority: 2 },
        { name: 'trial', test: /src[\\/]offline[\\/]trial[\\/].*(?<!\.d)\.ts$/, priority: 2 },
        {
          name: 'crypto-js',
          test: /src[\\/]crypto[\\/].*(?<!\.d)\.ts$|node_modules[\\/]@noble[\\/]/,
          priority: 1,
        },
        {
          // First: a group also takes in its modules' dependencies, and the start-up modules
          // the crypto/ files import must stay here (else `shared` would import them at start).
          name: 'shared',
          test: /src[\\/](?!online[\\/]|polar[\\/]|testing[\\/]|admin[\\/]|crypto[\\/]|offline[\\/][^\\/]+[\\/]).*(?<!\.d)\.ts$|node_modules[\\/]valibot[\\/].*\.mjs$/,
          priority: 3,
        },
      ],
    },
  },
  // Start-up cost is parse cost: Node compiles every byte of a module it loads. Fully minified
  // but function names kept, so a stack trace from a user's app names the function (and the
  // column of the shipped file) with no source map to ship: maps with their sources were
  // most of the package (test/packed-files.test.ts).
  minify: { compress: true, mangle: { keepNames: true }, codegen: { removeWhitespace: true } },
  dts: true,
  clean: true,
  fixedExtension: false,
})
