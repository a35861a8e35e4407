/**
 * The installed `vouch` command is a Rollup bundle (scripts/bundle-cli.ts),
 * not the sources the other tests run in-process. This builds the bundle
 * afresh into a temporary directory laid out like the installed package
 * (dist/bin/ under package.json, node_modules beside it) and runs it as a process: the
 * command table, the chunks loaded lazily (the OCI layout store, each
 * command), the npm packages left external (undici for many images,
 * @sigstore/tuf's seeds for the shipped trusted root) and `--version`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { copyWritable, notationFixtures } from './helpers/notation.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

describe('the bundled CLI', () => {
  let dir: string;
  let bin: string;
  let registry: RunningRegistry;
  const env = { ...process.env, VOUCH_PASSWORD: 'bundle-test', DOCKER_CONFIG: '/nonexistent' };
  const vouch = (...args: string[]) => run(process.execPath, [bin, ...args], { env });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-bundle-'));
    const pkg = join(dir, 'package');
    await run(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        join(ROOT, 'scripts/bundle-cli.ts'),
        join(pkg, 'dist/bin'),
      ],
      {
        cwd: ROOT,
      },
    );
    await cp(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    await symlink(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    bin = join(pkg, 'dist/bin/vouch.js');
    registry = await startRegistry();
  });

  after(async () => {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('every file of the bundle is ASCII and carries no comments (what Node reads at start-up)', async () => {
    const bin = join(dir, 'package/dist/bin');
    const files = ['vouch.js', ...(await readdir(join(bin, 'chunks'))).map((f) => `chunks/${f}`)];
    assert.ok(files.length > 10);
    for (const file of files) {
      const code = await readFile(join(bin, file), 'utf8');
      assert.doesNotMatch(code, /[\u0080-\uffff]/, `${file} has a non-ASCII character`);
      assert.doesNotMatch(code, /^\s*(?:\/\*\*|\/\/ )/m, `${file} has a comment line`);
    }
  });

  test('--version reads the package version', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const { stdout } = await vouch('--version');
    assert.equal(stdout.trim(), `vouch ${version}`);
  });

  test('signs and verifies an OCI layout, and many registry images (the undici transport)', async () => {
    const layout = join(dir, 'layout');
    await run(process.execPath, [join(ROOT, 'scripts/demo-image.ts'), layout, '1.0']);
    await vouch('generate-key-pair', '--output-key-prefix', join(dir, 'cosign'));
    await vouch('sign', '--key', join(dir, 'cosign.key'), `oci:${layout}:1.0`);
    const one = await vouch('verify', '--key', join(dir, 'cosign.pub'), `oci:${layout}:1.0`);
    assert.match(one.stdout, /verified/);

    // More than 8 images: the CLI loads undici, an external package, from a chunk.
    const images = Array.from({ length: 9 }, (_, i) => `${registry.host}/bundle/app-${i}:1.0`);
    for (const image of images) await vouch('copy', `oci:${layout}:1.0`, image);
    await vouch('sign', '--key', join(dir, 'cosign.key'), ...images);
    const many = await vouch('verify', '--key', join(dir, 'cosign.pub'), '-o', 'json', ...images);
    const results = JSON.parse(many.stdout) as { ok: boolean; images: { status: string }[] };
    assert.equal(results.ok, true);
    assert.deepEqual(
      results.images.map((image) => image.status),
      images.map(() => 'verified'),
    );
  });

  test('policy evaluate with a CEL attestation condition (YAML, CEL and attest chunks)', async () => {
    const layout = join(dir, 'policy-layout');
    await run(process.execPath, [join(ROOT, 'scripts/demo-image.ts'), layout, '1.0']);
    const key = join(dir, 'policy');
    await vouch('generate-key-pair', '--output-key-prefix', key);
    const image = `${registry.host}/bundle/policy:1.0`;
    await vouch('copy', `oci:${layout}:1.0`, image);
    await vouch('sign', '--key', `${key}.key`, image);
    const predicate = join(dir, 'predicate.json');
    await writeFile(predicate, JSON.stringify({ builder: 'bundle-test' }));
    await vouch(
      'attest',
      '--key',
      `${key}.key`,
      '--type',
      'https://example.com/build/v1',
      '--predicate',
      predicate,
      image,
    );
    const policy = join(dir, 'policy.yaml');
    const write = (builder: string) =>
      writeFile(
        policy,
        [
          'apiVersion: vouch.dev/v1alpha1',
          'kind: ImagePolicy',
          'name: bundle',
          'authorities:',
          `  release: { key: { file: ${key}.pub } }`,
          'rules:',
          '  - name: mine',
          `    images: [${registry.host}/bundle/**]`,
          '    authorities: [release]',
          '    attestations:',
          '      - name: build',
          '        predicateType: https://example.com/build/v1',
          `        condition: predicate.builder == "${builder}"`,
          '',
        ].join('\n'),
      );
    await write('bundle-test');
    const allowed = await vouch('policy', 'evaluate', '--policy', policy, '-o', 'json', image);
    assert.equal(
      (JSON.parse(allowed.stdout) as { images: { result: string }[] }).images[0]?.result,
      'allowed',
    );
    await write('someone-else');
    await assert.rejects(vouch('policy', 'evaluate', '--policy', policy, image), {
      code: 1,
      stdout: /predicate\.builder == "someone-else"/,
    });
  });

  test('a verification failure keeps its exit code through the bundle', async () => {
    const layout = join(dir, 'unsigned');
    await run(process.execPath, [join(ROOT, 'scripts/demo-image.ts'), layout, '1.0']);
    await assert.rejects(vouch('verify', '--key', join(dir, 'cosign.pub'), `oci:${layout}:1.0`), {
      code: 1,
    });
  });

  test('keyless regexps are Go RE2 through the bundle; verify --key never loads the engine', async () => {
    const layout = join(dir, 'regexp');
    await run(process.execPath, [join(ROOT, 'scripts/demo-image.ts'), layout, '1.0']);
    await vouch('sign', '--key', join(dir, 'cosign.key'), `oci:${layout}:1.0`);
    const hook = join(dir, 're2-hook.mjs');
    await writeFile(
      hook,
      [
        "import { registerHooks } from 'node:module';",
        'registerHooks({',
        '  resolve(specifier, context, next) {',
        "    if (specifier === '@bufbuild/re2') process.stderr.write('RE2 LOADED\\n');",
        '    return next(specifier, context);',
        '  },',
        '});',
        '',
      ].join('\n'),
    );
    const hooked = (...args: string[]) =>
      run(process.execPath, ['--import', hook, bin, ...args], { env });
    const issuer = ['--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com'];

    const keyed = await hooked('verify', '--key', join(dir, 'cosign.pub'), `oci:${layout}:1.0`);
    assert.match(keyed.stdout, /verified/);
    assert.doesNotMatch(keyed.stderr, /RE2 LOADED/);
    await assert.rejects(
      hooked('verify', '--certificate-identity-regexp', '(a)\\1', ...issuer, `oci:${layout}:1.0`),
      { code: 2, stderr: /RE2 LOADED[\s\S]*invalid escape sequence: `\\1`/ },
    );
    // `\-` is Go syntax JavaScript's u flag refuses: accepted, the image has no keyless signature.
    await assert.rejects(
      vouch(
        'verify',
        '--offline',
        '--certificate-identity-regexp',
        'https://github\\.com/chainguard\\-images/.+',
        ...issuer,
        `oci:${layout}:1.0`,
      ),
      { code: 1, stdout: /CERT_MISSING/ },
    );
  });

  test('notation verify loads no chunk of the Notary v1 (TUF) client', async () => {
    const chunks = join(dir, 'package/dist/bin/chunks');
    const tuf: string[] = [];
    for (const name of await readdir(chunks)) {
      const code = await readFile(join(chunks, name), 'utf8');
      if (code.includes('function updateTrustedMetadata(')) tuf.push(name);
    }
    assert.equal(tuf.length, 1, `chunks defining updateTrustedMetadata: ${tuf.join(', ')}`);
    const hook = join(dir, 'chunk-hook.mjs');
    await writeFile(
      hook,
      [
        "import { registerHooks } from 'node:module';",
        'registerHooks({',
        '  resolve(specifier, context, next) {',
        "    process.stderr.write('LOADED ' + specifier + '\\n');",
        '    return next(specifier, context);',
        '  },',
        '});',
        '',
      ].join('\n'),
    );
    const fixtures = notationFixtures();
    assert.ok(fixtures !== undefined, 'the notation fixtures are missing');
    const config = join(dir, 'notation');
    const store = join(config, 'truststore/x509/ca/e2e');
    await mkdir(store, { recursive: true });
    await cp(join(fixtures, 'config/localkeys/e2e.crt'), join(store, 'e2e.crt'));
    await cp(
      join(fixtures, 'config/trustpolicies/trustpolicy.json'),
      join(config, 'trustpolicy.json'),
    );
    const layout = join(dir, 'notation-layout');
    await copyWritable(join(fixtures, 'registry/oci_layout/e2e-valid-signature'), layout);
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', hook, bin, 'notation', 'verify', `oci:${layout}:v1`],
      { env: { ...env, NOTATION_CONFIG: config, VOUCH_CACHE_DIR: join(dir, 'cache') } },
    );
    assert.match(stdout, /: verified/);
    assert.match(stderr, /LOADED .*notation/);
    assert.doesNotMatch(stderr, new RegExp(`LOADED .*${tuf[0]}`));
  });

  test('verify --containers-policy (GPG signedBy) reads registries.d with the yaml bundled in, and loads neither node_modules/yaml nor pkijs', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'nistP256',
      userIDs: [{ name: 'bundle test', email: 'bundle@example.com' }],
      format: 'binary',
    });
    const gpgDir = join(dir, 'gpg');
    await mkdir(gpgDir);
    await writeFile(join(gpgDir, 'secret.gpg'), privateKey);
    await writeFile(join(gpgDir, 'public.gpg'), publicKey);
    const registriesD = join(gpgDir, 'registries.d');
    await mkdir(registriesD);
    await writeFile(
      join(registriesD, 'test.yaml'),
      `docker:\n  ${registry.host}:\n    lookaside: file://${join(gpgDir, 'lookaside')}\n`,
    );
    const image = `${registry.host}/bundle/gpg:1.0`;
    const layout = join(gpgDir, 'layout');
    await run(process.execPath, [join(ROOT, 'scripts/demo-image.ts'), layout, '1.0']);
    await vouch('copy', `oci:${layout}:1.0`, image);
    await vouch(
      'sign',
      '--gpg-key',
      join(gpgDir, 'secret.gpg'),
      '--registries.d',
      registriesD,
      image,
    );
    const policy = join(gpgDir, 'policy.json');
    await writeFile(
      policy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${registry.host}/bundle`]: [
              { type: 'signedBy', keyType: 'GPGKeys', keyPath: join(gpgDir, 'public.gpg') },
            ],
          },
        },
      }),
    );
    const hook = join(gpgDir, 'yaml-hook.mjs');
    await writeFile(
      hook,
      [
        "import { registerHooks } from 'node:module';",
        'registerHooks({',
        '  resolve(specifier, context, next) {',
        '    const resolved = next(specifier, context);',
        "    if (/\\/node_modules\\/(?:yaml|pkijs|asn1js)\\//.test(resolved.url)) process.stderr.write('LOADED ' + resolved.url + '\\n');",
        '    return resolved;',
        '  },',
        '});',
        '',
      ].join('\n'),
    );
    const { stdout, stderr } = await run(
      process.execPath,
      [
        '--import',
        hook,
        bin,
        'verify',
        '--containers-policy',
        policy,
        '--registries.d',
        registriesD,
        image,
      ],
      { env },
    );
    assert.match(stdout, /: allowed/);
    assert.match(stdout, /signedBy: holds: file:\/\//);
    assert.doesNotMatch(stderr, /LOADED/);
    // A registries.d the bundled yaml cannot read is refused as before, with its line.
    await writeFile(join(registriesD, 'test.yaml'), 'docker: [unclosed\n');
    await assert.rejects(
      vouch('verify', '--containers-policy', policy, '--registries.d', registriesD, image),
      { code: 2, stderr: /test\.yaml \(line 2, column 1\): Flow sequence/ },
    );
  });

  test('ships the licence of the npm code bundled in (yaml, ISC)', async () => {
    const notices = await readFile(join(dir, 'package/dist/bin/THIRD-PARTY-NOTICES'), 'utf8');
    const licence = await readFile(join(ROOT, 'node_modules/yaml/LICENSE'), 'utf8');
    assert.match(notices, /\byaml\b/);
    assert.ok(notices.includes(licence.trim()), 'the yaml licence text is missing');
  });

  test('shows the shipped Sigstore trusted root (read from @sigstore/tuf beside the bundle)', async () => {
    const { stdout } = await vouch('trusted-root', 'show', '-o', 'json');
    assert.match(stdout, /rekor\.sigstore\.dev/);
  });
});
