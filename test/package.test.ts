/**
 * What the published package offers: every layer with an index.ts is a
 * subpath export (`vouch/admission`, `vouch/policy`, …) whose types and code
 * point into dist/ where `npm run build` puts them, and `files` ships dist/,
 * the sigstore-conformance client
 * and the policy's JSON Schema. A layer added without its export, or an
 * export naming a file the build never writes, fails here rather than for
 * the first user who imports it.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');

interface PackageJson {
  readonly files: readonly string[];
  readonly exports: Record<string, string | { types: string; default: string }>;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('package.json', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  const layers: string[] = [];
  for (const entry of await readdir(join(ROOT, 'src'), { withFileTypes: true })) {
    if (entry.isDirectory() && (await exists(join(ROOT, 'src', entry.name, 'index.ts')))) {
      layers.push(entry.name);
    }
  }

  it('exports every layer, types and code from dist/', () => {
    assert.ok(layers.includes('admission') && layers.includes('policy'), layers.join(' '));
    for (const layer of layers) {
      assert.deepEqual(
        pkg.exports[`./${layer}`],
        { types: `./dist/${layer}/index.d.ts`, default: `./dist/${layer}/index.js` },
        `exports["./${layer}"]`,
      );
    }
    assert.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', default: './dist/index.js' });
  });

  it('ships every exported file: dist/ and the policy schema', async () => {
    assert.deepEqual([...pkg.files].sort(), ['bin/sigstore-conformance', 'dist', 'schema']);
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
        assert.ok(
          pkg.files.some((dir) => file.startsWith(`./${dir}/`)) || file === './package.json',
          `${subpath} -> ${file} is in the package`,
        );
        // dist/ is built; everything else must exist as it is.
        if (!file.startsWith('./dist/')) assert.ok(await exists(join(ROOT, file)), file);
      }
    }
    assert.equal(pkg.exports['./schema/policy.schema.json'], './schema/policy.schema.json');
  });
});
