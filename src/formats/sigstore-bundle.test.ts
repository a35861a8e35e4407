import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { createKeySigner, verifySignature } from '../keys/signer.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import { OCI_EMPTY, OCI_MANIFEST } from '../oci/media-types.ts';
import { IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from './dsse.ts';
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  buildBundleReferrer,
  buildDsseBundle,
  publicKeyHint,
  readBundleReferrer,
} from './sigstore-bundle.ts';
import { parseBundle } from './sigstore-bundle-reader.ts';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = createKeySigner(privateKey);
const statement = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v1"}');
const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
const hint = publicKeyHint(spki);
const image = digestOf(new TextEncoder().encode('an image')) as Digest;

async function signedBundle(): Promise<Uint8Array> {
  const sig = await signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement));
  return buildDsseBundle({
    envelope: {
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: statement,
      signatures: [{ sig, keyid: '' }],
    },
    publicKeyHint: hint,
  });
}

const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('buildDsseBundle and parseBundle', () => {
  test('the bundle cosign 3 writes with a key: v0.3, public key hint, no tlog entries', async () => {
    const bytes = await signedBundle();
    const document = json(bytes);
    assert.deepEqual(Object.keys(document), ['mediaType', 'verificationMaterial', 'dsseEnvelope']);
    assert.equal(document.mediaType, BUNDLE_V03_MEDIA_TYPE);
    assert.deepEqual(document.verificationMaterial, { publicKey: { hint } });
    assert.deepEqual(Object.keys(document.dsseEnvelope), ['payload', 'payloadType', 'signatures']);
    assert.deepEqual(Object.keys(document.dsseEnvelope.signatures[0]), ['sig']);

    const parsed = parseBundle(bytes);
    assert.equal(parsed.version, '0.3');
    assert.deepEqual(parsed.material, { kind: 'public-key', hint });
    assert.equal(parsed.tlogEntries.length, 0);
    assert.equal(parsed.json, bytes);
    assert.equal(parsed.bundle.mediaType, BUNDLE_V03_MEDIA_TYPE);
    assert.equal(parsed.content.kind, 'dsse-envelope');
    if (parsed.content.kind !== 'dsse-envelope') return;
    const { envelope } = parsed.content;
    assert.deepEqual(envelope.payload, statement);
    const [signature] = envelope.signatures;
    assert.ok(signature !== undefined);
    assert.ok(
      verifySignature(publicKey, preAuthEncoding(envelope.payloadType, statement), signature.sig),
    );
  });

  test('the hint is base64(sha256(DER SubjectPublicKeyInfo)), as cosign computes it', () => {
    assert.equal(hint, createHash('sha256').update(spki).digest('base64'));
  });

  test('an empty hint is left out; more than one signature is refused when building', async () => {
    const sig = await signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement));
    const envelope = {
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: statement,
      signatures: [{ sig, keyid: '' }],
    };
    assert.deepEqual(json(buildDsseBundle({ envelope, publicKeyHint: '' })).verificationMaterial, {
      publicKey: {},
    });
    assert.throws(
      () =>
        buildDsseBundle({
          envelope: { ...envelope, signatures: [...envelope.signatures, ...envelope.signatures] },
          publicKeyHint: hint,
        }),
      expectError('invalid', 'INVALID_BUNDLE_INPUT'),
    );
  });

  test('reads the v0.1, v0.2 and v0.3 media types (both spellings of v0.3)', async () => {
    const document = json(await signedBundle());
    for (const [mediaType, version] of [
      [BUNDLE_V01_MEDIA_TYPE, '0.1'],
      [BUNDLE_V02_MEDIA_TYPE, '0.2'],
      [BUNDLE_V03_LEGACY_MEDIA_TYPE, '0.3'],
      [BUNDLE_V03_MEDIA_TYPE, '0.3'],
    ] as const) {
      assert.equal(parseBundle(encode({ ...document, mediaType })).version, version);
    }
  });

  test('a DSSE envelope with two signatures is refused', async () => {
    const document = json(await signedBundle());
    const [signature] = document.dsseEnvelope.signatures;
    document.dsseEnvelope.signatures = [signature, signature];
    assert.throws(
      () => parseBundle(encode(document)),
      expectError('denied', 'BUNDLE_INVALID', 'content.dsseEnvelope.signatures'),
    );
  });

  test('v0.3 refuses a certificate chain; v0.2 needs an inclusion proof on each entry', async () => {
    const document = json(await signedBundle());
    const chain = { x509CertificateChain: { certificates: [{ rawBytes: 'AAAA' }] } };
    assert.throws(
      () => parseBundle(encode({ ...document, verificationMaterial: chain })),
      expectError('denied', 'BUNDLE_INVALID'),
    );
    const v02 = parseBundle(
      encode({ ...document, mediaType: BUNDLE_V02_MEDIA_TYPE, verificationMaterial: chain }),
    );
    assert.equal(v02.material.kind, 'x509-chain');
    const entry = {
      logIndex: '1',
      logId: { keyId: 'AAAA' },
      kindVersion: { kind: 'dsse', version: '0.0.1' },
      integratedTime: '1',
      canonicalizedBody: 'AAAA',
    };
    const logged = {
      ...document,
      mediaType: BUNDLE_V02_MEDIA_TYPE,
      verificationMaterial: { publicKey: { hint }, tlogEntries: [entry] },
    };
    assert.throws(
      () => parseBundle(encode(logged)),
      expectError('denied', 'BUNDLE_INVALID', 'inclusionProof'),
    );
  });

  test('garbage is a clean BUNDLE_INVALID, never a raw exception', async () => {
    const document = json(await signedBundle());
    const bad: unknown[] = [
      'not json',
      '[]',
      '5',
      '{}',
      '{"mediaType":"application/json"}',
      '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}',
      '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","mediaType":"x"}',
      encode({ ...document, dsseEnvelope: { payload: 5 } }),
      encode({ ...document, dsseEnvelope: { ...document.dsseEnvelope, payload: '!!' } }),
      encode({ ...document, verificationMaterial: 'x' }),
      encode({ ...document, verificationMaterial: { publicKey: { hint: 5 } } }),
      encode({ ...document, messageSignature: { signature: 7 } }),
    ];
    for (const input of bad) {
      const bytes =
        typeof input === 'string' ? new TextEncoder().encode(input) : (input as Uint8Array);
      assert.throws(
        () => parseBundle(bytes, 'the test bundle'),
        expectError('denied', 'BUNDLE_INVALID', 'the test bundle'),
        new TextDecoder().decode(bytes),
      );
    }
  });
});

describe('buildBundleReferrer and readBundleReferrer', () => {
  const subject = { mediaType: OCI_MANIFEST, digest: image, size: 123 };
  const created = new Date('2026-11-22T04:26:38.512Z');

  test("writes WriteReferrer's manifest: empty config, one bundle layer, subject, annotations", async () => {
    const bundle = await signedBundle();
    const referrer = buildBundleReferrer({
      subject,
      bundle,
      predicateType: 'https://example.com/p',
      created,
    });
    const text = new TextDecoder().decode(referrer.manifest);
    assert.equal(
      text,
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_EMPTY}","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","artifactType":"${BUNDLE_V03_MEDIA_TYPE}"},` +
        `"layers":[{"mediaType":"${BUNDLE_V03_MEDIA_TYPE}","size":${bundle.byteLength},"digest":"${digestOf(bundle)}"}],` +
        `"annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://example.com/p","org.opencontainers.image.created":"2026-11-22T04:26:38Z"},` +
        `"subject":{"mediaType":"${OCI_MANIFEST}","size":123,"digest":"${image}"},"artifactType":"${BUNDLE_V03_MEDIA_TYPE}"}`,
    );
    assert.equal(referrer.descriptor.digest, digestOf(referrer.manifest));
    const parsed = parseManifest(referrer.manifest, OCI_MANIFEST, 'test');
    const contents = readBundleReferrer(parsed, image, 1 << 20);
    assert.ok(contents.ok);
    assert.equal(contents.layer.digest, digestOf(bundle));
    assert.equal(
      contents.annotations['dev.sigstore.bundle.predicateType'],
      'https://example.com/p',
    );
  });

  test('refuses a referrer of another image, other artifact types, layer counts and oversized bundles', async () => {
    const bundle = await signedBundle();
    const referrer = buildBundleReferrer({ subject, bundle, predicateType: 'p', created });
    const manifest = json(referrer.manifest);
    const read = (m: unknown, max = 1 << 20) =>
      readBundleReferrer(parseManifest(encode(m), OCI_MANIFEST, 'test'), image, max);
    const other = digestOf(new TextEncoder().encode('another image'));
    const problem = (m: unknown, max?: number) => {
      const result = read(m, max);
      return result.ok ? 'ok' : result.problem;
    };
    assert.equal(problem(manifest), 'ok');
    assert.equal(
      problem({ ...manifest, subject: { ...manifest.subject, digest: other } }),
      'subject-mismatch',
    );
    const { subject: _dropped, ...noSubject } = manifest;
    assert.equal(problem(noSubject), 'subject-mismatch');
    assert.equal(
      problem({ ...manifest, artifactType: 'application/vnd.example+json' }),
      'not-bundle-referrer',
    );
    assert.equal(problem({ ...manifest, layers: [] }), 'layer-invalid');
    assert.equal(
      problem({ ...manifest, layers: [manifest.layers[0], manifest.layers[0]] }),
      'layer-invalid',
    );
    assert.equal(
      problem({ ...manifest, layers: [{ ...manifest.layers[0], mediaType: 'application/json' }] }),
      'layer-invalid',
    );
    assert.equal(problem(manifest, bundle.byteLength - 1), 'bundle-too-large');
    const index = parseManifest(
      encode({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [],
      }),
      undefined,
      'test',
    );
    assert.equal(readBundleReferrer(index, image, 1 << 20).ok, false);
  });
});
