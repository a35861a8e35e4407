/**
 * `vouch sign-blob` → `vouch verify-blob` with keys of every type cosign
 * signs blobs with (ECDSA P-256 and P-384, Ed25519, RSA), as a bundle and as
 * cosign 2's signature file, by path and by digest; tampering with the file,
 * the bundle or the key is refused.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { publicKeyHint } from '../src/formats/sigstore-bundle.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { runVouch } from './helpers/cli.ts';

const KEYS: ReadonlyArray<
  readonly [string, () => { privateKey: KeyObject; publicKey: KeyObject }, string]
> = [
  ['ECDSA P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'SHA2_256'],
  ['ECDSA P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'SHA2_384'],
  ['Ed25519', () => generateKeyPairSync('ed25519'), 'SHA2_512'],
  ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }), 'SHA2_256'],
];

describe('sign-blob and verify-blob', () => {
  let dir: string;
  let file: string;
  let sha256: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-blob-'));
    file = join(dir, 'release.tar.gz');
    await writeFile(file, 'the release\n');
    sha256 = `sha256:${createHash('sha256').update('the release\n').digest('hex')}`;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, generate, algorithm] of KEYS) {
    describe(name, () => {
      const slug = name.replace(/\W+/g, '-');
      let key: string;
      let pub: string;
      let otherPub: string;
      let bundle: string;
      let signature: string;
      let spki: Uint8Array;

      before(async () => {
        const pair = generate();
        key = join(dir, `${slug}.key`);
        pub = join(dir, `${slug}.pub`);
        otherPub = join(dir, `${slug}-other.pub`);
        bundle = join(dir, `${slug}.sigstore.json`);
        signature = join(dir, `${slug}.sig`);
        await writeFile(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
        await writeFile(pub, publicKeyToPem(pair.publicKey));
        await writeFile(otherPub, publicKeyToPem(generate().publicKey));
        spki = new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' }));
        const run = await runVouch([
          'sign-blob',
          '--key',
          key,
          '--bundle',
          bundle,
          '--output-signature',
          signature,
          file,
        ]);
        assert.equal(run.code, 0, run.stderr);
      });

      test('the bundle is cosign 3 sign-blob --key --bundle: v0.3, the key hint, the digest', async () => {
        const written = JSON.parse(await readFile(bundle, 'utf8')) as {
          mediaType: string;
          verificationMaterial: unknown;
          messageSignature: { messageDigest: { algorithm: string; digest: string } };
        };
        assert.equal(written.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
        assert.deepEqual(written.verificationMaterial, {
          publicKey: { hint: publicKeyHint(spki) },
        });
        const hash =
          { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' }[algorithm] ?? '';
        assert.deepEqual(written.messageSignature.messageDigest, {
          algorithm,
          digest: createHash(hash).update('the release\n').digest('base64'),
        });
      });

      test('the bundle verifies with the key, by path', async () => {
        const run = await runVouch([
          'verify-blob',
          '--key',
          pub,
          '--bundle',
          bundle,
          file,
          '-o',
          'json',
        ]);
        assert.equal(run.code, 0, run.stderr);
        const result = JSON.parse(run.stdout) as { ok: boolean; digest: string; tlog: unknown[] };
        assert.equal(result.ok, true);
        assert.equal(result.digest, sha256);
        assert.deepEqual(result.tlog, []);
      });

      test('cosign 2 signature file verifies with the key', async () => {
        const run = await runVouch(['verify-blob', '--key', pub, '--signature', signature, file]);
        assert.equal(run.code, 0, run.stderr);
      });

      test('by SHA-256 digest: verifies a SHA-256 signature; not pure Ed25519 (it covers the bytes) nor SHA-384', async () => {
        const run = await runVouch(['verify-blob', '--key', pub, '--signature', signature, sha256]);
        if (algorithm !== 'SHA2_256') {
          assert.equal(run.code, 1, run.stderr);
          assert.match(run.stdout, /NOT VERIFIED \(SIGNATURE_INVALID\)/);
        } else {
          assert.equal(run.code, 0, run.stderr);
        }
        if (algorithm === 'SHA2_256') {
          const viaBundle = await runVouch([
            'verify-blob',
            '--key',
            pub,
            '--bundle',
            bundle,
            sha256,
          ]);
          assert.equal(viaBundle.code, 0, viaBundle.stderr);
        }
      });

      test('another key, a changed file, a changed signature: not verified', async () => {
        const wrongKey = await runVouch([
          'verify-blob',
          '--key',
          otherPub,
          '--bundle',
          bundle,
          file,
        ]);
        assert.equal(wrongKey.code, 1);
        assert.match(wrongKey.stdout, /SIGNATURE_INVALID/);

        const changed = join(dir, `${slug}.changed`);
        await writeFile(changed, 'the release!\n');
        const changedFile = await runVouch([
          'verify-blob',
          '--key',
          pub,
          '--bundle',
          bundle,
          changed,
        ]);
        assert.equal(changedFile.code, 1);
        assert.match(changedFile.stdout, /DIGEST_MISMATCH/);
        const changedSig = await runVouch([
          'verify-blob',
          '--key',
          pub,
          '--signature',
          signature,
          changed,
        ]);
        assert.equal(changedSig.code, 1);
        assert.match(changedSig.stdout, /SIGNATURE_INVALID/);

        const tampered = JSON.parse(await readFile(bundle, 'utf8')) as {
          messageSignature: { signature: string };
        };
        const bytes = Buffer.from(tampered.messageSignature.signature, 'base64');
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
        tampered.messageSignature.signature = bytes.toString('base64');
        const tamperedPath = join(dir, `${slug}.tampered.json`);
        await writeFile(tamperedPath, JSON.stringify(tampered));
        const run = await runVouch(['verify-blob', '--key', pub, '--bundle', tamperedPath, file]);
        assert.equal(run.code, 1);
        assert.match(run.stdout, /SIGNATURE_INVALID/);
      });

      test('--require-tlog refuses the unlogged signature', async () => {
        const run = await runVouch([
          'verify-blob',
          '--key',
          pub,
          '--bundle',
          bundle,
          '--require-tlog',
          file,
        ]);
        assert.equal(run.code, 1);
        assert.match(run.stdout, /TLOG_MISSING/);
      });
    });
  }

  test('a bundle that is not JSON is not verified (exit 1), with the code in JSON output', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"mediaType":');
    const pub = join(dir, 'ECDSA-P-256.pub');
    const run = await runVouch([
      'verify-blob',
      '--key',
      pub,
      '--bundle',
      broken,
      file,
      '-o',
      'json',
    ]);
    assert.equal(run.code, 1);
    assert.equal(
      (JSON.parse(run.stdout) as { error: { code: string } }).error.code,
      'BUNDLE_INVALID',
    );
  });

  test('keyless sign-blob without a token source is a clear usage error (exit 2)', async () => {
    const run = await runVouch(['sign-blob', '--bundle', join(dir, 'x.json'), file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /needs an OIDC identity token/);
  });

  test('usage: one of --bundle and --signature; --key or an identity, not both', async () => {
    const pub = join(dir, 'ECDSA-P-256.pub');
    assert.equal((await runVouch(['verify-blob', '--key', pub, file])).code, 2);
    assert.equal(
      (
        await runVouch([
          'verify-blob',
          '--key',
          pub,
          '--certificate-identity',
          'a',
          '--certificate-oidc-issuer',
          'b',
          '--bundle',
          'x',
          file,
        ])
      ).code,
      2,
    );
  });
});
