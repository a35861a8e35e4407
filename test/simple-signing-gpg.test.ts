/**
 * GPG simple signing against real peers on 127.0.0.1: a Distribution
 * registry, skopeo 1.9.3 and gpg with a throwaway GNUPGHOME, a file://
 * lookaside configured in a registries.d directory both tools read.
 *
 * - skopeo copy --sign-by signs → vouch verify --gpg-key accepts;
 * - vouch sign (key file, and a gpg fingerprint) → skopeo copy under a
 *   policy.json `signedBy` that key accepts, and refuses once the tag is
 *   moved to another image;
 * - skopeo standalone-verify accepts vouch's signatures, and vouch accepts
 *   skopeo standalone-sign's.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { digestHex } from '../src/oci/digest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { runVouch } from './helpers/cli.ts';
import { buildImage } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const execFileP = promisify(execFile);
const SKOPEO = '/usr/bin/skopeo';
const GPG = '/usr/bin/gpg';
const skip =
  !existsSync(SKOPEO) || !existsSync(GPG)
    ? `skopeo (${SKOPEO}) and gpg (${GPG}) are needed`
    : false;

describe('GPG simple signing with skopeo and gpg', { skip }, () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let gnupgHome: string;
  let registriesD: string;
  let lookaside: string;
  let fingerprint: string;
  let publicKeyFile: string;
  let secretKeyFile: string;
  let env: Record<string, string | undefined>;

  const gpg = async (args: readonly string[]) =>
    (
      await execFileP(GPG, ['--batch', '--no-tty', ...args], {
        env: { ...process.env, GNUPGHOME: gnupgHome },
        encoding: 'buffer',
        timeout: 60_000,
      })
    ).stdout;
  const skopeo = (args: readonly string[]) =>
    execFileP(SKOPEO, ['--registries.d', registriesD, ...args], {
      timeout: 60_000,
      env: { ...process.env, HOME: tmp, GNUPGHOME: gnupgHome },
    });
  const vouch = (args: readonly string[]) => runVouch(args, { env });

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-gpg-test-'));
    gnupgHome = join(tmp, 'gnupg');
    await mkdir(gnupgHome);
    await chmod(gnupgHome, 0o700);
    await gpg([
      '--passphrase',
      '',
      '--quick-gen-key',
      'vouch test <test@example.com>',
      'default',
      'default',
      'never',
    ]);
    const listing = (await gpg(['--with-colons', '--list-secret-keys'])).toString('utf8');
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
    assert.ok(fpr !== undefined, listing);
    fingerprint = fpr;
    publicKeyFile = join(tmp, 'public.gpg');
    await writeFile(publicKeyFile, await gpg(['--export', fingerprint]));
    secretKeyFile = join(tmp, 'secret.gpg');
    await writeFile(
      secretKeyFile,
      await gpg([
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--export-secret-keys',
        fingerprint,
      ]),
    );

    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });

    lookaside = join(tmp, 'lookaside');
    registriesD = join(tmp, 'registries.d');
    await mkdir(registriesD);
    await writeFile(
      join(registriesD, 'default.yaml'),
      `default-docker:\n  lookaside: file://${lookaside}\n  lookaside-staging: file://${lookaside}\n`,
    );
    env = {
      DOCKER_CONFIG: join(tmp, 'docker-config'),
      HOME: tmp,
      GNUPGHOME: gnupgHome,
      PATH: process.env.PATH,
    };
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    // gpg-agent of the throwaway home: stopped so it does not outlive the test.
    if (gnupgHome !== undefined) {
      await execFileP('gpgconf', ['--kill', 'gpg-agent'], {
        env: { ...process.env, GNUPGHOME: gnupgHome },
      }).catch(() => {});
    }
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  /** policy.json requiring a signature by the test key for the test registry. */
  async function signedByPolicy(): Promise<string> {
    const path = join(tmp, 'policy.json');
    await writeFile(
      path,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [registry.host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: publicKeyFile }],
          },
          dir: { '': [{ type: 'insecureAcceptAnything' }] },
        },
      }),
    );
    return path;
  }

  const signatures = async (repository: string, digest: string) => {
    const dir = join(lookaside, `${repository}@sha256=${digestHex(digest as never)}`);
    return existsSync(dir) ? (await readdir(dir)).sort() : [];
  };

  it('skopeo copy --sign-by signs; vouch verify --gpg-key accepts it, and refuses another tag', async () => {
    const image = await buildImage(client.repository('skopeo/app'), { tag: 'v1' });
    await skopeo([
      'copy',
      '--insecure-policy',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--sign-by',
      fingerprint,
      `docker://${registry.host}/skopeo/app:v1`,
      `docker://${registry.host}/skopeo/app:signed`,
    ]);
    assert.deepEqual(await signatures('skopeo/app', image.descriptor.digest), ['signature-1']);

    const ok = await vouch([
      'verify',
      '--gpg-key',
      publicKeyFile,
      '--registries.d',
      registriesD,
      `${registry.host}/skopeo/app:signed`,
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(
      ok.stdout,
      new RegExp(`signed with ${fingerprint} for ${registry.host}/skopeo/app:signed`),
    );

    // The signature names skopeo/app:signed: the same digest under v1 is not that identity.
    const other = await vouch([
      'verify',
      '--gpg-key',
      publicKeyFile,
      '--registries.d',
      registriesD,
      '-o',
      'json',
      `${registry.host}/skopeo/app:v1`,
    ]);
    assert.equal(other.code, 1, other.stdout + other.stderr);
    const report = JSON.parse(other.stdout) as { images: { rejected: { code: string }[] }[] };
    assert.deepEqual(
      report.images[0]?.rejected.map((r) => r.code),
      ['SIMPLE_SIGNING_IDENTITY_MISMATCH'],
    );
  });

  it('vouch sign --gpg-key KEYFILE passes skopeo copy under signedBy, only once, and fails after the tag moves', async () => {
    const repo = client.repository('vouch/keyfile');
    const image = await buildImage(repo, { tag: 'v1' });
    const args = [
      'sign',
      '--gpg-key',
      secretKeyFile,
      '--registries.d',
      registriesD,
      `${registry.host}/vouch/keyfile:v1`,
    ];
    const signed = await vouch(args);
    assert.equal(signed.code, 0, signed.stdout + signed.stderr);
    assert.match(signed.stdout, /signed, stored in file:/);
    const again = await vouch(args);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /already signed with this key/);
    assert.deepEqual(await signatures('vouch/keyfile', image.descriptor.digest), ['signature-1']);

    const policy = await signedByPolicy();
    const copy = (name: string) =>
      skopeo([
        'copy',
        '--policy',
        policy,
        '--src-tls-verify=false',
        `docker://${registry.host}/vouch/keyfile:v1`,
        `dir:${join(tmp, name)}`,
      ]);
    await copy('keyfile-ok');

    // The tag moves to another image: no signature names it, skopeo refuses.
    await buildImage(repo, { tag: 'v1' });
    await assert.rejects(copy('keyfile-moved'), (error: Error & { stderr?: string }) => {
      assert.match(String(error.stderr), /[Ss]ignature/);
      return true;
    });
    const moved = await vouch([
      'verify',
      '--gpg-key',
      publicKeyFile,
      '--registries.d',
      registriesD,
      `${registry.host}/vouch/keyfile:v1`,
    ]);
    assert.equal(moved.code, 1, moved.stdout + moved.stderr);
    assert.match(moved.stdout, /GPG_NO_SIGNATURES/);
  });

  it('vouch sign --sign-by FINGERPRINT signs through gpg; skopeo standalone-verify accepts it', async () => {
    const repo = client.repository('vouch/gpg');
    const image = await buildImage(repo, { tag: 'v2' });
    const signed = await vouch([
      'sign',
      '--sign-by',
      fingerprint,
      '--registries.d',
      registriesD,
      `${registry.host}/vouch/gpg:v2`,
    ]);
    assert.equal(signed.code, 0, signed.stdout + signed.stderr);
    const manifestFile = join(tmp, 'gpg-manifest.json');
    await writeFile(manifestFile, image.bytes);
    const signatureFile = join(
      lookaside,
      `vouch/gpg@sha256=${digestHex(image.descriptor.digest)}`,
      'signature-1',
    );
    const { stdout } = await skopeo([
      'standalone-verify',
      manifestFile,
      `${registry.host}/vouch/gpg:v2`,
      fingerprint,
      signatureFile,
    ]);
    // skopeo 1.9.3 says which digest; the fingerprint it was asked for is the only key it accepts.
    assert.match(stdout, new RegExp(`Signature verified.*digest ${image.descriptor.digest}`));
    const policy = await signedByPolicy();
    await skopeo([
      'copy',
      '--policy',
      policy,
      '--src-tls-verify=false',
      `docker://${registry.host}/vouch/gpg:v2`,
      `dir:${join(tmp, 'gpg-ok')}`,
    ]);
  });

  it('skopeo standalone-sign makes a signature vouch verify accepts', async () => {
    const image = await buildImage(client.repository('skopeo/standalone'), { tag: 'v3' });
    const manifestFile = join(tmp, 'standalone-manifest.json');
    await writeFile(manifestFile, image.bytes);
    const dir = join(lookaside, `skopeo/standalone@sha256=${digestHex(image.descriptor.digest)}`);
    await mkdir(dir, { recursive: true });
    await skopeo([
      'standalone-sign',
      '-o',
      join(dir, 'signature-1'),
      manifestFile,
      `${registry.host}/skopeo/standalone:v3`,
      fingerprint,
    ]);
    const ok = await vouch([
      'verify',
      '--gpg-key',
      publicKeyFile,
      '--registries.d',
      registriesD,
      `${registry.host}/skopeo/standalone:v3`,
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.ok((await readFile(join(dir, 'signature-1'))).byteLength > 0);
  });

  it('a keyring without the signing key refuses every signature (GPG_KEY_UNKNOWN)', async () => {
    const otherHome = join(tmp, 'other-gnupg');
    await mkdir(otherHome);
    await chmod(otherHome, 0o700);
    const run = (args: readonly string[]) =>
      execFileP(GPG, ['--batch', '--no-tty', ...args], {
        env: { ...process.env, GNUPGHOME: otherHome },
        encoding: 'buffer',
      });
    await run([
      '--passphrase',
      '',
      '--quick-gen-key',
      'other <other@example.com>',
      'default',
      'default',
      'never',
    ]);
    const otherKey = join(tmp, 'other.gpg');
    await writeFile(otherKey, (await run(['--export'])).stdout);
    await execFileP('gpgconf', ['--kill', 'gpg-agent'], {
      env: { ...process.env, GNUPGHOME: otherHome },
    }).catch(() => {});
    const result = await vouch([
      'verify',
      '--gpg-key',
      otherKey,
      '--registries.d',
      registriesD,
      `${registry.host}/skopeo/app:signed`,
    ]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /GPG_KEY_UNKNOWN/);
  });
});

describe('GPG flags refused before anything is fetched', () => {
  const vouch = (args: readonly string[]) => runVouch(args);

  it('--gpg-key and --sign-by together, a key that is neither a file nor a fingerprint, a layout, a digest alone', async () => {
    for (const args of [
      ['sign', '--gpg-key', 'a.gpg', '--sign-by', 'b.gpg', '127.0.0.1:1/app:v1'],
      ['sign', '--gpg-key', 'no-such-key-file', '127.0.0.1:1/app:v1'],
      ['sign', '--gpg-key', 'no-such-key-file', 'oci:./layout:v1'],
      ['sign', '--sign-by', 'no-such-key-file', `127.0.0.1:1/app@sha256:${'a'.repeat(64)}`],
      ['verify', '--gpg-key', 'pub.gpg', 'oci:./layout:v1'],
    ]) {
      const result = await vouch(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^vouch: /);
    }
  });

  it('a keyring that cannot be read or holds no key is invalid (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vouch-gpg-flags-'));
    try {
      const empty = join(dir, 'empty.gpg');
      await writeFile(empty, '');
      const garbage = join(dir, 'garbage.gpg');
      await writeFile(garbage, 'This is invalid');
      for (const keyring of [join(dir, 'missing.gpg'), empty, garbage]) {
        const result = await vouch(['verify', '--gpg-key', keyring, '127.0.0.1:1/app:v1']);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /--gpg-key|public keys|OpenPGP keys/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
