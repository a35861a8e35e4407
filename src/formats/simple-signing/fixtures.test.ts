/**
 * containers/image's GPG simple-signing fixtures (../shared/fixtures/containers-image,
 * from containers/image signature/fixtures, made by real gpg) with the
 * outcome containers/image's own tests assert for each; every test names the
 * upstream test. Fingerprints are signature/fixtures_info_test.go's.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import { digestOf, parseDigest } from '../../oci/digest.ts';
import { formatReference, parseReference } from '../../oci/reference.ts';
import { loadKeyring, verifySignedMessage } from './openpgp.ts';
import { parseAtomicSignaturePayload } from './payload.ts';
import { verifyAtomicSignature } from './verify.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../../shared/fixtures/containers-image');
const skip = existsSync(FIXTURES)
  ? false
  : `containers/image fixtures not found at ${FIXTURES} (they live outside the repository)`;

// signature/fixtures_info_test.go
const TestImageManifestDigest = parseDigest(
  'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55',
);
const TestImageSignatureReference = 'testing/manifest';
const TestKeyFingerprint = '08CD26E446E2E95249B7A405E932F44B23E8DD43';
const TestKeyFingerprintWithPassphrase = 'F2B501009F78B0B340221A12A3CD242DA6028093';
const TestKeyFingerprintPrimaryWithSubkey = 'B9F4CDB9FD8C475BFA340AC38D54A947EE396F36';
const TestKeyFingerprintSubkeyWithSubkey = '57D1D95BBC53BA0EAFF0718CD75B3109B3BAAEAF';
const TestKeyFingerprintPrimaryWithRevokedSubkey = '6D88C5A1993648A17B2BB0DC6B8499AF63388D63';

/** The copy stores git symlinks as small files holding the link target; follow them. */
function readFixture(path: string): Uint8Array | undefined {
  let file = resolve(FIXTURES, path);
  for (let hops = 0; hops < 4; hops++) {
    if (!existsSync(file)) return undefined;
    const content = readFileSync(file);
    const asText = content.toString('latin1');
    if (content.byteLength < 256 && /^\.\.?\/[\w./-]+$/.test(asText)) {
      file = resolve(dirname(file), asText);
      continue;
    }
    return new Uint8Array(content);
  }
  throw new Error(`symlink loop at ${path}`);
}
function fixture(path: string): Uint8Array {
  const content = readFixture(path);
  assert.ok(content !== undefined, `${path} is missing`);
  return content;
}
const variants = (v4: string) => [v4, `${v4}-v3`];
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const keyring = (...paths: string[]) => loadKeyring(paths.map(fixture));
/** policy.json's matchExact for an image named `name` (the tests' dirImageMock). */
const exactly = (name: string) => (signed: string) => {
  try {
    return formatReference(parseReference(signed)) === formatReference(parseReference(name));
  } catch {
    return false;
  }
};

describe('GPG fixtures: the OpenPGP mechanism', { skip }, () => {
  test('invalid-blob (v4, v3) verifies with the content and key fingerprint (mechanism_test.go TestGPGSigningMechanismVerify)', async () => {
    const ring = await keyring('pubring.gpg');
    for (const name of variants('invalid-blob.signature')) {
      const result = await verifySignedMessage(fixture(name), ring);
      assert.equal(text(result.payload), 'This is not JSON\n', name);
      assert.equal(result.fingerprint, TestKeyFingerprint, name);
    }
  });

  test('subkey (v4, v3) verifies, reporting the primary fingerprint (mechanism_test.go TestGPGSigningMechanismVerify)', async () => {
    const ring = await keyring('pubring.gpg');
    for (const name of variants('subkey.signature')) {
      const result = await verifySignedMessage(fixture(name), ring);
      assert.equal(
        text(result.payload),
        '{"critical":{"identity":{"docker-reference":"testing/manifest:latest"},"image":{"docker-manifest-digest":"sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"},"type":"atomic container signature"},"optional":{}}',
        name,
      );
      assert.equal(result.fingerprint, TestKeyFingerprintPrimaryWithSubkey, name);
      assert.equal(result.signingKeyFingerprint, TestKeyFingerprintSubkeyWithSubkey, name);
    }
  });

  test('empty and garbage blobs are refused (mechanism_test.go TestGPGSigningMechanismVerify "Completely invalid signature")', async () => {
    const ring = await keyring('pubring.gpg');
    for (const blob of [new Uint8Array(), new TextEncoder().encode('invalid signature')]) {
      await assert.rejects(
        verifySignedMessage(blob, ring),
        expectError('denied', 'GPG_SIGNATURE_INVALID'),
      );
    }
  });

  test('unsigned-literal is refused: literal data, not a signature (mechanism_test.go TestGPGSigningMechanismVerify)', async () => {
    await assert.rejects(
      verifySignedMessage(fixture('unsigned-literal.signature'), await keyring('pubring.gpg')),
      expectError('denied', 'GPG_SIGNATURE_INVALID', 'not signed'),
    );
  });

  test('unsigned-encrypted is refused: encrypted data, not a signature (mechanism_test.go TestGPGSigningMechanismVerify)', async () => {
    await assert.rejects(
      verifySignedMessage(fixture('unsigned-encrypted.signature'), await keyring('pubring.gpg')),
      expectError('denied', 'GPG_SIGNATURE_INVALID', 'encrypted'),
    );
  });

  test('expired is refused: the signature is past its expiry (mechanism_test.go TestGPGSigningMechanismVerify)', async () => {
    await assert.rejects(
      verifySignedMessage(fixture('expired.signature'), await keyring('pubring.gpg')),
      expectError('denied', 'GPG_SIGNATURE_EXPIRED'),
    );
  });

  test('corrupt (v4, v3) is refused (mechanism_test.go TestGPGSigningMechanismVerify; docker_test.go TestVerifyDockerManifestSignature)', async () => {
    const ring = await keyring('pubring.gpg');
    for (const name of variants('corrupt.signature')) {
      await assert.rejects(
        verifySignedMessage(fixture(name), ring),
        expectError('denied', 'GPG_SIGNATURE_INVALID'),
        name,
      );
    }
  });

  test('unknown-key (v4, v3) is refused (mechanism_test.go TestGPGSigningMechanismVerify; policy_eval_signedby_test.go)', async () => {
    const ring = await keyring('pubring.gpg');
    for (const name of variants('unknown-key.signature')) {
      await assert.rejects(
        verifySignedMessage(fixture(name), ring),
        expectError('denied', 'GPG_KEY_UNKNOWN', '5F9470E3BC6C3B55'),
        name,
      );
    }
  });

  test('subkey-revoked (v4, v3) is refused (mechanism_test.go TestGPGSigningMechanismVerify; simple_test.go TestVerifyAndExtractSignature)', async () => {
    const ring = await keyring('public-key-with-revoked-subkey.gpg');
    for (const name of variants('subkey-revoked.signature')) {
      await assert.rejects(
        verifySignedMessage(fixture(name), ring),
        expectError('denied', 'GPG_KEY_REVOKED'),
        name,
      );
    }
  });

  test('a key that is not in the keyring (mechanism_test.go TestNewEphemeralGPGSigningMechanism: empty keyring)', async () => {
    const ring = await loadKeyring([new Uint8Array()]);
    assert.deepEqual(ring.fingerprints, []);
    for (const name of variants('invalid-blob.signature')) {
      await assert.rejects(
        verifySignedMessage(fixture(name), ring),
        expectError('denied', 'GPG_KEY_UNKNOWN'),
      );
    }
  });
});

describe(
  'GPG fixtures: keyrings (mechanism_test.go TestNewEphemeralGPGSigningMechanism)',
  { skip },
  () => {
    test('public-key.gpg holds TestKeyFingerprint', async () => {
      assert.deepEqual((await keyring('public-key.gpg')).fingerprints, [TestKeyFingerprint]);
    });

    test('keys with subkeys report their primary fingerprint', async () => {
      assert.deepEqual((await keyring('public-key-with-subkey.gpg')).fingerprints, [
        TestKeyFingerprintPrimaryWithSubkey,
      ]);
      assert.deepEqual((await keyring('public-key-with-revoked-subkey.gpg')).fingerprints, [
        TestKeyFingerprintPrimaryWithRevokedSubkey,
      ]);
    });

    test('pubring.gpg concatenated twice: four keys, each copy merged into one', async () => {
      const pubring = fixture('pubring.gpg');
      const ring = await loadKeyring([new Uint8Array(Buffer.concat([pubring, pubring]))]);
      // Upstream lists each fingerprint twice; vouch merges copies of a key, as gpg's import does.
      assert.deepEqual(ring.fingerprints, [
        TestKeyFingerprintWithPassphrase,
        TestKeyFingerprint,
        TestKeyFingerprintPrimaryWithSubkey,
        TestKeyFingerprintPrimaryWithRevokedSubkey,
      ]);
    });

    test('two armored keys from two blobs, and both in one blob (gpgme reads that; x/crypto does not)', async () => {
      const [one, two] = [fixture('public-key-1.gpg'), fixture('public-key-2.gpg')];
      const expected = [TestKeyFingerprint, TestKeyFingerprintWithPassphrase];
      assert.deepEqual((await loadKeyring([one, two])).fingerprints, expected);
      assert.deepEqual(
        (await loadKeyring([new Uint8Array(Buffer.concat([one, two]))])).fingerprints,
        expected,
      );
    });

    test('secring.gpg (secret keys) gives their public keys', async () => {
      const ring = await keyring('secring.gpg');
      assert.ok(ring.fingerprints.includes(TestKeyFingerprint), ring.fingerprints.join());
      const result = await verifySignedMessage(fixture('invalid-blob.signature'), ring);
      assert.equal(result.fingerprint, TestKeyFingerprint);
    });

    test('"This is invalid" is refused', async () => {
      await assert.rejects(
        loadKeyring([new TextEncoder().encode('This is invalid')]),
        expectError('invalid', 'GPG_KEYRING_INVALID'),
      );
    });
  },
);

describe('GPG fixtures: payloads (simple_test.go)', { skip }, () => {
  test('image.signature: all optional fields (TestGetUntrustedSignatureInformationWithoutVerifying)', async () => {
    const { payload } = await verifySignedMessage(
      fixture('image.signature'),
      await keyring('public-key.gpg'),
    );
    assert.deepEqual(parseAtomicSignaturePayload(payload), {
      dockerManifestDigest: TestImageManifestDigest,
      dockerReference: TestImageSignatureReference,
      creator: 'atomic ',
      timestamp: 1458239713,
    });
  });

  test('no-optional-fields.signature: none (TestGetUntrustedSignatureInformationWithoutVerifying)', async () => {
    const { payload } = await verifySignedMessage(
      fixture('no-optional-fields.signature'),
      await keyring('public-key.gpg'),
    );
    assert.deepEqual(parseAtomicSignaturePayload(payload), {
      dockerManifestDigest: TestImageManifestDigest,
      dockerReference: TestImageSignatureReference,
    });
  });

  test('invalid-blob.signature: a valid signature of non-JSON is refused (TestVerifyAndExtractSignature; policy_eval_signedby_test.go)', async () => {
    await assert.rejects(
      verifyAtomicSignature(
        fixture('invalid-blob.signature'),
        await keyring('public-key.gpg'),
        { digest: TestImageManifestDigest },
        { acceptIdentity: () => true },
      ),
      expectError('denied', 'SIMPLE_SIGNING_INVALID'),
    );
  });
});

describe(
  'GPG fixtures: verifying an image (simple_test.go TestVerifyAndExtractSignature, docker_test.go TestVerifyDockerManifestSignature)',
  { skip },
  () => {
    const manifest = () => fixture('image.manifest.json');

    test('image.signature verifies for its manifest and identity', async () => {
      const result = await verifyAtomicSignature(
        fixture('image.signature'),
        await keyring('public-key.gpg'),
        { digest: digestOf(manifest()), manifest: manifest() },
        { acceptIdentity: exactly(TestImageSignatureReference) },
      );
      assert.equal(result.dockerReference, TestImageSignatureReference);
      assert.equal(result.dockerManifestDigest, TestImageManifestDigest);
      assert.equal(result.fingerprint, TestKeyFingerprint);
      // docker_test.go: "docker.io/testing/manifest" is the same reference.
      await verifyAtomicSignature(
        fixture('image.signature'),
        await keyring('public-key.gpg'),
        { digest: TestImageManifestDigest },
        { acceptIdentity: exactly(`docker.io/${TestImageSignatureReference}`) },
      );
    });

    test('subkey.signature verifies with the subkey key', async () => {
      const result = await verifyAtomicSignature(
        fixture('subkey.signature'),
        await keyring('public-key-with-subkey.gpg'),
        { digest: TestImageManifestDigest },
        { acceptIdentity: exactly('testing/manifest:latest') },
      );
      assert.equal(result.fingerprint, TestKeyFingerprintPrimaryWithSubkey);
      assert.equal(result.dockerReference, 'testing/manifest:latest');
    });

    test('a wrong manifest digest is refused', async () => {
      await assert.rejects(
        verifyAtomicSignature(
          fixture('image.signature'),
          await keyring('public-key.gpg'),
          { digest: digestOf(new TextEncoder().encode('unexpected manifest')) },
          { acceptIdentity: () => true },
        ),
        expectError('denied', 'SIMPLE_SIGNING_DIGEST_MISMATCH'),
      );
    });

    test('a wrong reference is refused, and the rule sees the signed reference', async () => {
      const seen: string[] = [];
      await assert.rejects(
        verifyAtomicSignature(
          fixture('image.signature'),
          await keyring('public-key.gpg'),
          { digest: TestImageManifestDigest },
          {
            acceptIdentity: (reference) => {
              seen.push(reference);
              return exactly('example.com/does-not/match')(reference);
            },
          },
        ),
        expectError('denied', 'SIMPLE_SIGNING_IDENTITY_MISMATCH'),
      );
      assert.deepEqual(seen, [TestImageSignatureReference]);
    });

    test('invalid-reference.signature is refused: its reference does not parse', async () => {
      await assert.rejects(
        verifyAtomicSignature(
          fixture('invalid-reference.signature'),
          await keyring('public-key.gpg'),
          { digest: TestImageManifestDigest },
          { acceptIdentity: exactly(TestImageSignatureReference) },
        ),
        expectError('denied', 'SIMPLE_SIGNING_IDENTITY_MISMATCH'),
      );
    });

    test('the v2s1 manifest with invalid signatures does not match', async () => {
      const invalidManifest = fixture('v2s1-invalid-signatures.manifest.json');
      await assert.rejects(
        verifyAtomicSignature(
          fixture('image.signature'),
          await keyring('public-key.gpg'),
          { digest: digestOf(invalidManifest), manifest: invalidManifest },
          { acceptIdentity: () => true },
        ),
        expectError('denied', 'SIMPLE_SIGNING_DIGEST_MISMATCH'),
      );
    });
  },
);

describe(
  'GPG fixtures: dir-img-* (policy_eval_signedby_test.go TestPRSignedByIsSignatureAuthorAccepted, TestPRSignedByIsRunningImageAllowed)',
  { skip },
  () => {
    /** Every signature-N of a dir: image, until the first missing, as containers/image reads them. */
    function signatures(dir: string): Uint8Array[] {
      const out: Uint8Array[] = [];
      for (let n = 1; ; n++) {
        const blob = readFixture(`${dir}/signature-${n}`);
        if (blob === undefined) return out;
        out.push(blob);
      }
    }
    /** Each signature's outcome for the image `dir` claimed as `name`: the key fingerprint, or the error code. */
    async function outcomes(dir: string, name: string, ...keys: string[]): Promise<string[]> {
      const manifest = fixture(`${dir}/manifest.json`);
      const ring = await keyring(...keys);
      const out: string[] = [];
      for (const blob of signatures(dir)) {
        try {
          const result = await verifyAtomicSignature(
            blob,
            ring,
            { digest: digestOf(manifest), manifest },
            { acceptIdentity: exactly(name) },
          );
          out.push(result.fingerprint);
        } catch (error) {
          out.push((error as { code: string }).code);
        }
      }
      return out;
    }

    test('dir-img-valid: accepted with public-key.gpg, and with public-key-1/2 in either order', async () => {
      for (const keys of [
        ['public-key.gpg'],
        ['public-key-1.gpg', 'public-key-1.gpg'],
        ['public-key-2.gpg', 'public-key-1.gpg'],
      ]) {
        assert.deepEqual(await outcomes('dir-img-valid', 'testing/manifest:latest', ...keys), [
          TestKeyFingerprint,
        ]);
      }
    });

    test('dir-img-valid as testing/manifest:notlatest: the identity is refused', async () => {
      assert.deepEqual(
        await outcomes('dir-img-valid', 'testing/manifest:notlatest', 'public-key.gpg'),
        ['SIMPLE_SIGNING_IDENTITY_MISMATCH'],
      );
    });

    test('dir-img-valid with a rule for this/does-not:match: refused', async () => {
      assert.deepEqual(await outcomes('dir-img-valid', 'this/does-not:match', 'public-key.gpg'), [
        'SIMPLE_SIGNING_IDENTITY_MISMATCH',
      ]);
    });

    test('dir-img-valid-2: two valid signatures; as notlatest, both refused', async () => {
      assert.deepEqual(
        await outcomes('dir-img-valid-2', 'testing/manifest:latest', 'public-key.gpg'),
        [TestKeyFingerprint, TestKeyFingerprint],
      );
      assert.deepEqual(
        await outcomes('dir-img-valid-2', 'testing/manifest:notlatest', 'public-key.gpg'),
        ['SIMPLE_SIGNING_IDENTITY_MISMATCH', 'SIMPLE_SIGNING_IDENTITY_MISMATCH'],
      );
    });

    test('dir-img-mixed: the first signature (invalid-blob) fails, the second verifies', async () => {
      assert.deepEqual(
        await outcomes('dir-img-mixed', 'testing/manifest:latest', 'public-key.gpg'),
        ['SIMPLE_SIGNING_INVALID', TestKeyFingerprint],
      );
    });

    test('dir-img-valid-subkey: accepted with public-key-with-subkey.gpg', async () => {
      assert.deepEqual(
        await outcomes(
          'dir-img-valid-subkey',
          'testing/manifest:latest',
          'public-key-with-subkey.gpg',
        ),
        [TestKeyFingerprintPrimaryWithSubkey],
      );
    });

    test('dir-img-modified-manifest: the signed digest does not match the manifest', async () => {
      assert.deepEqual(
        await outcomes('dir-img-modified-manifest', 'testing/manifest:latest', 'public-key.gpg'),
        ['SIMPLE_SIGNING_DIGEST_MISMATCH'],
      );
    });

    test('dir-img-manifest-digest-error: a schema1 manifest whose digest cannot be matched', async () => {
      assert.deepEqual(
        await outcomes(
          'dir-img-manifest-digest-error',
          'testing/manifest:latest',
          'public-key.gpg',
        ),
        ['SIMPLE_SIGNING_DIGEST_MISMATCH'],
      );
    });

    test('dir-img-no-manifest: a valid signature, but no manifest to check it against', async () => {
      assert.equal(readFixture('dir-img-no-manifest/manifest.json'), undefined);
      const [blob] = signatures('dir-img-no-manifest');
      assert.ok(blob !== undefined);
      // The signature itself verifies: only the missing manifest can refuse the image, and
      // without a manifest there is no digest to verify for (the store read fails first).
      const result = await verifySignedMessage(blob, await keyring('public-key.gpg'));
      assert.equal(result.fingerprint, TestKeyFingerprint);
    });

    test('dir-img-unsigned: no signatures at all', () => {
      assert.ok(readFixture('dir-img-unsigned/manifest.json') !== undefined);
      assert.deepEqual(signatures('dir-img-unsigned'), []);
    });
  },
);
