/**
 * Bundles the CLI (src/cli/bin.ts) into dist/bin/ with Rollup, so that a
 * one-shot command reads three files instead of ~45 modules: Node's ESM
 * loader spends about 0.6 ms on each module it resolves, reads and links,
 * more than a short command spends on its own work (docs/benchmarks.md).
 * The library's own dist/** (tsc) is untouched.
 *
 * Chunks follow the commands, not every combination of lazy imports (which
 * is what esbuild's and Rollup's automatic splitting produce: ~28 chunks for
 * `vouch verify`):
 *
 * - the entry (vouch.js): bin.ts, the command table and what they import
 *   (bin.ts must not await at top level: the chunks import from it);
 * - one chunk per command: the command module and every module only that
 *   command imports statically;
 * - `common`: what `vouch verify` (the command with a start-up target,
 *   issue 3) imports statically and other commands import too (the registry
 *   client, OCI types, keys, output helpers), except modules that import,
 *   directly or through other modules, an npm package or a Node module Node
 *   does not load at start-up; verify then reads the entry, `common` and its
 *   own chunk, and no code only signing uses (~170 KB of it);
 * - everything else (shared by commands but not on verify's path, such as the
 *   attach engine of sign and attest, or reached only behind a lazy
 *   `import()`, such as the Sigstore bundle reader) is grouped by the set of
 *   commands, or else of lazy imports, that reach it, as automatic splitting
 *   would: sign reads about ten files, which its key decryption dwarfs.
 *
 * npm packages stay external, loaded by Node from node_modules as they are
 * when running from source (undici and @sigstore/* load behind import()),
 * except `yaml`: its Node build is CommonJS in some 70 files, which Node
 * resolves and reads one by one (about 47 ms of a `vouch verify
 * --containers-policy` that reads registries.d). The bundle takes yaml's own
 * ES module build instead (browser/dist/, the same sources), grouped like
 * vouch's modules by the commands reaching it, so only commands reading YAML
 * load it; its ISC licence is written beside the bundle as
 * THIRD-PARTY-NOTICES. The two builds tell nodes apart alike (Symbol.for
 * keys, so a node of one is a node to the other) and differ only where they
 * touch Node: the ES build warns with console.warn instead of
 * process.emitWarning, reads `!!binary` (YAML 1.1) into a Uint8Array instead
 * of a Buffer, and has no LOG_TOKENS / LOG_STREAM debug printing.
 * Sources are TypeScript with erasable syntax only; Node's own type stripper
 * turns them into JavaScript, as it does when the sources run directly.
 *
 * Usage: node --disable-warning=ExperimentalWarning scripts/bundle-cli.ts [OUTDIR]
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { builtinModules, createRequire, stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { type GetManualChunk, type ManualChunkMeta, rollup } from '@rollup/wasm-node';
import ts from 'typescript';

const outdir = process.argv[2] ?? 'dist/bin';
const ENTRY = new URL('../src/cli/bin.ts', import.meta.url).pathname;
const SRC = new URL('../src/', import.meta.url).pathname;
const ENTRY_NAME = 'vouch';
/** The command whose shared modules make up `common` (see above). */
const HOT_COMMAND = 'verify';
/** Longest chunk name before it is shortened (file names stop at 255 bytes). */
const MAX_CHUNK_NAME = 120;
/**
 * Commands, and the command-sized paths a command imports lazily: `verify
 * --notary` (cli/verify-notary.ts) gets chunks of its own rather than
 * loading `vouch trust`'s whole chunk for the TUF code the two share.
 */
const COMMAND = /\/src\/cli\/(?:commands\/[^/]+|verify-notary)\.ts$/;

/**
 * Node modules a one-shot command loads anyway (Node's start-up snapshot or
 * every command's path): importing them statically from `common` costs
 * nothing. Any other external import keeps its module out of `common`.
 */
const CHEAP_EXTERNALS = new Set([
  'node:buffer',
  'node:crypto',
  'node:events',
  'node:fs',
  'node:fs/promises',
  'node:os',
  'node:path',
  'node:stream',
  'node:timers/promises',
  'node:url',
  'node:util',
]);

/** npm packages bundled in (see above): their directory and the ES module entry inside it. */
const BUNDLED = new Map([['yaml', 'browser/dist/index.js']]);
const require = createRequire(import.meta.url);
const packageDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));

const isExternal = (id: string): boolean =>
  id.startsWith('node:') || builtinModules.includes(id) || (!/^[./]/.test(id) && !BUNDLED.has(id));
/** A module of a bundled npm package (by its resolved path). */
const isBundledPackage = (id: string): boolean => id.includes('/node_modules/');

/** Assigns each module to its chunk, computed once from the whole module graph. */
function chunksByCommand(): GetManualChunk {
  let assignment: Map<string, string> | undefined;
  return (id: string, meta: ManualChunkMeta) => {
    assignment ??= assign(meta);
    return assignment.get(id);
  };
}

function assign(meta: ManualChunkMeta): Map<string, string> {
  const local = [...meta.getModuleIds()].filter((id) => !isExternal(id));
  const info = (id: string) => {
    const module = meta.getModuleInfo(id);
    if (module === null) throw new Error(`rollup has no module ${id}`);
    return module;
  };
  /** Everything `root` imports statically, itself included. */
  const closure = (root: string): Set<string> => {
    const seen = new Set<string>([root]);
    for (const id of seen) {
      for (const next of info(id).importedIds) if (!isExternal(next)) seen.add(next);
    }
    return seen;
  };
  const lazyRoots = new Set(
    local.flatMap((id) => info(id).dynamicallyImportedIds.filter((next) => !isExternal(next))),
  );
  const entryClosure = closure(ENTRY);
  const reachedBy = new Map<string, string[]>(local.map((id) => [id, []]));
  for (const root of lazyRoots) {
    for (const id of closure(root)) reachedBy.get(id)?.push(root);
  }
  // Loading a module loads what it imports, so a module importing a costly
  // one is costly too. Keeping costly modules out of `common` also keeps the
  // chunk graph acyclic: a group's modules import `common`, never the reverse.
  // A bundled npm package costs as much to run as it did when external.
  const costly = new Set(
    local.filter(
      (id) =>
        isBundledPackage(id) ||
        info(id).importedIds.some((next) => isExternal(next) && !CHEAP_EXTERNALS.has(next)),
    ),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const id of local) {
      if (!costly.has(id) && info(id).importedIds.some((next) => costly.has(next))) {
        costly.add(id);
        grew = true;
      }
    }
  }
  // Named by path, not base name: src/verify/verify.ts and src/notation/verify.ts
  // reached by the same roots must not share a chunk (and so each other's imports).
  // A chunk many lazy imports share would get a name longer than a file name
  // may be (255 bytes): keep its first root and a digest of the whole list.
  const name = (roots: readonly string[]) => {
    const names = roots
      .map((root) => relative(SRC, root).replace(/\.ts$/, '').replaceAll('/', '-'))
      .sort();
    const joined = names.join('+');
    if (joined.length <= MAX_CHUNK_NAME) return joined;
    const digest = createHash('sha256').update(joined).digest('hex').slice(0, 12);
    return `${names[0]}+${names.length - 1}-more-${digest}`;
  };

  const hotPath = closure(ENTRY.replace(/bin\.ts$/, `commands/${HOT_COMMAND}.ts`));
  const chunkOf = (id: string): string => {
    // A manual chunk named as the entry is the entry chunk.
    if (entryClosure.has(id)) return ENTRY_NAME;
    const roots = reachedBy.get(id) ?? [];
    const commands = roots.filter((root) => COMMAND.test(root));
    // Only a module no other lazy import reaches belongs to one command: one
    // that a lazy import of another command also reaches (a notation module
    // importing a Notary v1 helper) would load that command's whole chunk.
    if (commands.length === 1 && roots.length === 1) return name(commands);
    // Named by every root, not only the commands: a Notary v1 helper that the
    // notation verifier also imports would otherwise sit in the chunk of
    // `trust` and `verify --notary`, and `notation verify` would load all of it.
    if (commands.length > 1 && hotPath.has(id) && !costly.has(id)) return 'common';
    return name(roots);
  };
  // Every module is named: Rollup would pull an unnamed dependency into the
  // first manual chunk that imports it.
  return new Map(local.map((id) => [id, chunkOf(id)]));
}

/**
 * A chunk as Node reads it fastest: without comments (a quarter of the
 * sources' bytes, which every one-shot command reads, decodes and scans),
 * and in ASCII, non-ASCII characters written as `\u` escapes. One non-ASCII
 * character anywhere makes V8 hold and scan the whole file as two-byte
 * text. TypeScript's printer re-prints the same program (ES modules kept
 * verbatim, nothing transpiled); escapes mean the same characters in
 * strings, templates, regular expressions and identifiers (the sources use
 * no `String.raw`).
 */
function leanChunk(code: string): string {
  // The entry's `#!/usr/bin/env node` line is kept by the printer.
  const printed = ts.transpileModule(code, {
    fileName: 'chunk.js',
    compilerOptions: {
      allowJs: true,
      removeComments: true,
      target: ts.ScriptTarget.ESNext,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
    },
  }).outputText;
  // Code units, not code points (no u flag): an astral character becomes its surrogate pair.
  return printed.replace(
    /[^\0-\x7f]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const bundle = await rollup({
  input: { [ENTRY_NAME]: ENTRY },
  external: isExternal,
  plugins: [
    {
      name: 'bundled-packages',
      resolveId(source) {
        const entry = BUNDLED.get(source);
        return entry === undefined ? null : join(packageDir(source), entry);
      },
    },
    {
      name: 'strip-types',
      transform(code, id) {
        return id.endsWith('.ts') ? { code: stripTypeScriptTypes(code), map: null } : null;
      },
    },
    {
      name: 'lean-output',
      renderChunk(code) {
        return { code: leanChunk(code), map: null };
      },
    },
  ],
  onwarn(warning) {
    throw new Error(`rollup: ${warning.message}`);
  },
});
await bundle.write({
  dir: outdir,
  format: 'es',
  entryFileNames: '[name].js',
  chunkFileNames: 'chunks/[name]-[hash].js',
  manualChunks: chunksByCommand(),
});
await bundle.close();

// The licences of the bundled npm code (ISC for yaml: its text must ship with copies).
const notices = await Promise.all(
  [...BUNDLED.keys()].map(async (name) => {
    const dir = packageDir(name);
    const { version, license } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      version: string;
      license: string;
    };
    const text = await readFile(join(dir, 'LICENSE'), 'utf8');
    return `${name} ${version} (${license}), bundled into the chunks of this directory:\n\n${text.trim()}\n`;
  }),
);
await writeFile(
  join(outdir, 'THIRD-PARTY-NOTICES'),
  `The vouch command (this directory) includes code of these npm packages.\n\n${notices.join('\n')}`,
);
