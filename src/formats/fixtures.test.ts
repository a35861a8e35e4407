/**
 * Real cosign and containers/image signatures (../shared/fixtures/containers-image,
 * from containers/image signature/fixtures; see its README for the expected
 * outcomes) read through formats/: payloads parse, digests and identities are
 * what the README says, cosign-made payloads are rebuilt byte for byte, and
 * the signatures survive a round trip through a `.sig` manifest.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { hasCode } from '../core/errors.ts';
import { digestOf } from '../oci/digest.ts';
import {
  appendSignatureLayer,
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  readSignatureManifest,
  SIGNATURE_ANNOTATION,
  type SignatureImage,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from './cosign-signature.ts';
import {
  type ContainersSigstoreSignature,
  layerOfContainersSignature,
  parseContainersSignature,
} from './containers-signature.ts';
import { buildSimpleSigningPayload, parseSimpleSigningPayload } from './simple-signing.ts';
import { parseManifest } from '../oci/manifest.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/containers-image');
const skip = existsSync(FIXTURES)
  ? false
  : `containers/image fixtures not found at ${FIXTURES} (they live outside the repository)`;

/**
 * The copy stores git symlinks as small text files holding the link target
 * (`dir-img-cosign-mixed/manifest.json` is `../dir-img-cosign-valid/manifest.json`);
 * follow them.
 */
function readFixture(path: string): Buffer | undefined {
  let file = resolve(FIXTURES, path);
  for (let hops = 0; hops < 4; hops++) {
    if (!existsSync(file)) return undefined;
    const content = readFileSync(file);
    const asText = content.toString('latin1');
    if (content.byteLength < 256 && /^\.\.?\/[\w./-]+$/.test(asText)) {
      file = resolve(dirname(file), asText);
      continue;
    }
    return content;
  }
  throw new Error(`symlink loop at ${path}`);
}

function signature(path: string): ContainersSigstoreSignature {
  const content = readFixture(path);
  assert.ok(content !== undefined, `${path} is missing`);
  return parseContainersSignature(content, path);
}

interface Expectation {
  readonly dir: string;
  readonly signatures: number;
  /** Identity of every simple-signing payload in the directory. */
  readonly identity?: string;
  /** Whether the payload digest is the sha256 of manifest.json; undefined: no manifest. */
  readonly digestMatches?: boolean;
  readonly annotations?: readonly string[];
  readonly madeBy?: 'cosign' | 'containers/image';
}

const SINGLE = '192.168.64.2:5000/cosign-signed-single-sample';
const EXPECTATIONS: readonly Expectation[] = [
  {
    dir: 'dir-img-cosign-valid',
    signatures: 1,
    identity: SINGLE,
    digestMatches: true,
    madeBy: 'cosign',
  },
  {
    dir: 'dir-img-cosign-valid-2',
    signatures: 2,
    identity: SINGLE,
    digestMatches: true,
    madeBy: 'cosign',
  },
  // signature-1 is signed by another key: formats/ cannot tell, the verifier will.
  {
    dir: 'dir-img-cosign-mixed',
    signatures: 2,
    identity: SINGLE,
    digestMatches: true,
    madeBy: 'cosign',
  },
  {
    dir: 'dir-img-cosign-valid-with-tag',
    signatures: 1,
    identity: '192.168.64.2:5000/skopeo-signed:tag',
    digestMatches: true,
    madeBy: 'containers/image',
  },
  {
    dir: 'dir-img-cosign-key-rekor-valid',
    signatures: 1,
    identity: '192.168.64.2:5000/cosign-signed/key-1',
    digestMatches: true,
    annotations: [BUNDLE_ANNOTATION],
    madeBy: 'cosign',
  },
  {
    dir: 'dir-img-cosign-fulcio-rekor-valid',
    signatures: 1,
    identity: '192.168.64.2:5000/cosign-signed/fulcio-rekor-1',
    digestMatches: true,
    annotations: [BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION],
    madeBy: 'cosign',
  },
  {
    dir: 'dir-img-cosign-pki-valid',
    signatures: 1,
    identity: 'localhost:5000/test',
    digestMatches: true,
    annotations: [CERTIFICATE_ANNOTATION],
    madeBy: 'cosign',
  },
  {
    dir: 'dir-img-cosign-modified-manifest',
    signatures: 1,
    identity: SINGLE,
    digestMatches: false,
  },
  // A schema 1 manifest: its bytes do not hash to the signed digest either.
  {
    dir: 'dir-img-cosign-manifest-digest-error',
    signatures: 1,
    identity: SINGLE,
    digestMatches: false,
  },
  { dir: 'dir-img-cosign-no-manifest', signatures: 1, identity: SINGLE },
];

describe('containers/image cosign fixtures', { skip }, () => {
  for (const expected of EXPECTATIONS) {
    test(`${expected.dir}: payloads parse with the expected digest and identity`, () => {
      const manifest = readFixture(`${expected.dir}/manifest.json`);
      assert.equal(manifest === undefined, expected.digestMatches === undefined);
      for (let n = 1; n <= expected.signatures; n++) {
        const path = `${expected.dir}/signature-${n}`;
        const sig = signature(path);
        assert.equal(sig.mimeType, SIMPLE_SIGNING_MEDIA_TYPE);
        const payload = parseSimpleSigningPayload(sig.payload, path);
        assert.equal(payload.dockerReference, expected.identity, path);
        if (manifest !== undefined) {
          assert.equal(
            payload.dockerManifestDigest === digestOf(manifest),
            expected.digestMatches,
            path,
          );
        }
        for (const key of [SIGNATURE_ANNOTATION, ...(expected.annotations ?? [])]) {
          assert.ok(Object.hasOwn(sig.annotations, key), `${path} lacks ${key}`);
        }
        if (expected.madeBy === 'cosign') {
          // cosign's payload is rebuilt byte for byte from its two facts.
          const rebuilt = buildSimpleSigningPayload({
            dockerReference: payload.dockerReference,
            dockerManifestDigest: payload.dockerManifestDigest,
          });
          assert.deepEqual(Buffer.from(rebuilt), Buffer.from(sig.payload), path);
          assert.equal(payload.optional, null);
        }
      }
    });
  }

  test('the valid image is sha256:634a8f35… and its signature names it', () => {
    const manifest = readFixture('dir-img-cosign-valid/manifest.json');
    assert.ok(manifest !== undefined);
    assert.equal(
      digestOf(manifest),
      'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00',
    );
  });

  test('the containers/image payload carries creator and timestamp', () => {
    const payload = parseSimpleSigningPayload(
      signature('dir-img-cosign-valid-with-tag/signature-1').payload,
    );
    assert.equal(payload.creator, 'containers/image 5.21.2-dev');
    assert.equal(payload.timestamp, 1657296609);
  });

  test('the schema 1 manifest is not a manifest vouch reads', () => {
    const manifest = readFixture('dir-img-cosign-manifest-digest-error/manifest.json');
    assert.ok(manifest !== undefined);
    assert.throws(() => parseManifest(manifest, undefined, 'fixture'), /schema 1/);
  });

  test('other-attachment is not a simple-signing signature', () => {
    const sig = signature('dir-img-cosign-other-attachment/signature-1');
    assert.equal(sig.mimeType, 'text/plain');
    assert.throws(
      () => parseSimpleSigningPayload(sig.payload),
      (error: unknown) => hasCode(error, 'SIMPLE_SIGNING_INVALID'),
    );
    const image = buildSigImage([sig]);
    const contents = readSignatureManifest(parseManifest(image.manifest, image.mediaType, 'test'));
    assert.deepEqual(contents.candidates, []);
    assert.equal(contents.rejected[0]?.problem, 'not-simple-signing');
  });

  test('signatures survive a round trip through a .sig manifest, annotations intact', () => {
    const sigs = [
      'dir-img-cosign-valid/signature-1',
      'dir-img-cosign-valid-2/signature-2',
      'dir-img-cosign-mixed/signature-1',
      'dir-img-cosign-key-rekor-valid/signature-1',
      'dir-img-cosign-fulcio-rekor-valid/signature-1',
      'dir-img-cosign-pki-valid/signature-1',
      'dir-img-cosign-other-attachment/signature-1',
    ].map(signature);
    const image = buildSigImage(sigs);
    const contents = readSignatureManifest(parseManifest(image.manifest, image.mediaType, 'test'));
    assert.deepEqual(
      contents.candidates.map((c) => c.index),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      contents.rejected.map((r) => [r.index, r.problem]),
      [[6, 'not-simple-signing']],
    );
    contents.candidates.forEach((candidate, i) => {
      const sig = sigs[i] as ContainersSigstoreSignature;
      assert.deepEqual(candidate.annotations, { ...sig.annotations });
      assert.equal(candidate.layer.digest, digestOf(sig.payload));
      assert.equal(candidate.layer.size, sig.payload.byteLength);
      assert.deepEqual(
        Buffer.from(candidate.signature),
        Buffer.from(sig.annotations[SIGNATURE_ANNOTATION] ?? '', 'base64'),
      );
    });
    // The PKI signature is stored wrapped at 76 columns; it is kept as stored and decoded whole.
    const pki = contents.candidates[5];
    assert.ok(pki !== undefined);
    assert.ok(pki.signatureBase64.includes('\n'));
    assert.equal(pki.signature.byteLength, 512);
  });

  test('re-adding a fixture signature is idempotent', () => {
    const sig = signature('dir-img-cosign-valid/signature-1');
    const image = buildSigImage([sig]);
    const again = appendSignatureLayer(
      { manifest: parseManifest(image.manifest, image.mediaType, 'test'), config: image.config },
      layerOfContainersSignature(sig),
    );
    assert.equal(again.changed, false);
    assert.deepEqual(again.image.manifest, image.manifest);
  });
});

function buildSigImage(sigs: readonly ContainersSigstoreSignature[]): SignatureImage {
  let image: SignatureImage | undefined;
  for (const sig of sigs) {
    const base =
      image === undefined
        ? undefined
        : {
            manifest: parseManifest(image.manifest, image.mediaType, 'test'),
            config: image.config,
          };
    const result = appendSignatureLayer(base, layerOfContainersSignature(sig));
    image = result.image;
  }
  assert.ok(image !== undefined);
  return image;
}
