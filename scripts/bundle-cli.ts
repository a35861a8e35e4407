/**
 * Bundles the CLI (src/cli/bin.ts) into dist/bin/ with esbuild: one entry
 * file holding what every command needs, and a chunk per lazily imported
 * module (each command, the OCI layout store, the credential helpers) and
 * per group of modules those share. A one-shot `vouch verify` then reads a
 * few files instead of ~45 and skips resolving each import
 * (docs/benchmarks.md). The library's own dist/** (tsc) is untouched.
 *
 * npm packages stay external, loaded by Node from node_modules as they are
 * when running from source: undici and @sigstore/* are CommonJS imported
 * with import(), and esbuild gives a CommonJS chunk behind import() only a
 * default export, so `import('undici').then(({ Agent }) => ...)` would break.
 * Loading them from node_modules keeps them lazy and their exports intact.
 *
 * Usage: node scripts/bundle-cli.ts [OUTDIR]
 */
import { build } from 'esbuild-wasm';

const outdir = process.argv[2] ?? 'dist/bin';

await build({
  entryPoints: { vouch: 'src/cli/bin.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
