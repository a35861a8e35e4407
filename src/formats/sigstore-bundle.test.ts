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

describe('parseBundle: bytes fields are base64 as the protobuf JSON mapping reads them', () => {
  // Every `bytes` field of a bundle (sigstore/protobuf-specs protos/sigstore_bundle.proto,
  // sigstore_common.proto, sigstore_rekor.proto, envelope.proto) holds base64 in JSON
  // (https://protobuf.dev/programming-guides/json/), as sigstore-go reads it with protojson.
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const entry = {
    logIndex: '7',
    logId: { keyId: b64('log id') },
    kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
    integratedTime: '1700000000',
    inclusionPromise: { signedEntryTimestamp: b64('set') },
    inclusionProof: {
      logIndex: '7',
      rootHash: b64('root hash'),
      treeSize: '8',
      hashes: [b64('hash 0'), b64('hash 1')],
      checkpoint: { envelope: 'origin\n8\nroot\n\n- sig\n' },
    },
    canonicalizedBody: b64('{"kind":"hashedrekord"}'),
  };
  const material = {
    x509CertificateChain: { certificates: [{ rawBytes: b64('leaf') }, { rawBytes: b64('ca') }] },
    tlogEntries: [entry],
    timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: b64('tsr') }] },
  };
  const messageBundle = () => ({
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: structuredClone(material),
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: b64('digest') },
      signature: b64('signature'),
    },
  });
  const dsseBundle = async () => ({
    ...json(await signedBundle()),
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: structuredClone(material),
  });
  const certificateBundle = () => {
    const doc = messageBundle();
    const { x509CertificateChain: _chain, ...rest } = doc.verificationMaterial;
    return {
      ...doc,
      mediaType: BUNDLE_V03_MEDIA_TYPE,
      verificationMaterial: { ...rest, certificate: { rawBytes: b64('leaf') } },
    };
  };
  /** Sets the value at a path such as `a.b[1].c` in a JSON document. */
  const setAt = (doc: unknown, path: string, value: unknown) => {
    const keys = path.split(/\.|\[(\d+)\]/).filter((key) => key !== undefined && key !== '');
    const last = keys.pop() as string;
    let node = doc as Record<string, unknown>;
    for (const key of keys) node = node[key] as Record<string, unknown>;
    node[last] = value;
  };
  const INVALID = 'INVALID!!!BASE64!!!ENCODING====';
  const fields: ReadonlyArray<readonly [string, 'message' | 'dsse' | 'certificate']> = [
    ['messageSignature.signature', 'message'],
    ['messageSignature.messageDigest.digest', 'message'],
    ['dsseEnvelope.payload', 'dsse'],
    ['dsseEnvelope.signatures[0].sig', 'dsse'],
    ['verificationMaterial.x509CertificateChain.certificates[1].rawBytes', 'message'],
    ['verificationMaterial.certificate.rawBytes', 'certificate'],
    ['verificationMaterial.tlogEntries[0].logId.keyId', 'message'],
    ['verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp', 'message'],
    ['verificationMaterial.tlogEntries[0].inclusionProof.rootHash', 'message'],
    ['verificationMaterial.tlogEntries[0].inclusionProof.hashes[1]', 'message'],
    ['verificationMaterial.tlogEntries[0].canonicalizedBody', 'message'],
    [
      'verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp',
      'message',
    ],
  ];
  const altered = async (
    kind: 'message' | 'dsse' | 'certificate',
    path: string,
    value: unknown,
  ) => {
    const doc =
      kind === 'message'
        ? messageBundle()
        : kind === 'certificate'
          ? certificateBundle()
          : await dsseBundle();
    setAt(doc, path, value);
    return encode(doc);
  };

  test('the unaltered bundles parse, with every bytes field decoded', async () => {
    const message = parseBundle(encode(messageBundle()));
    assert.equal(message.content.kind, 'message-signature');
    if (message.content.kind === 'message-signature') {
      assert.equal(Buffer.from(message.content.signature).toString(), 'signature');
    }
    assert.equal(parseBundle(encode(await dsseBundle())).content.kind, 'dsse-envelope');
    assert.equal(parseBundle(encode(certificateBundle())).material.kind, 'certificate');
  });

  for (const [path, kind] of fields) {
    test(`${path}: not base64 is BUNDLE_INVALID`, async () => {
      const bytes = await altered(kind, path, INVALID);
      assert.throws(() => parseBundle(bytes), expectError('denied', 'BUNDLE_INVALID', path));
    });
    test(`${path}: a number, or base64 mixing both alphabets, is BUNDLE_INVALID`, async () => {
      for (const value of [5, 'AB+_', 'AQ=']) {
        const bytes = await altered(kind, path, value);
        assert.throws(
          () => parseBundle(bytes),
          expectError('denied', 'BUNDLE_INVALID', path),
          JSON.stringify(value),
        );
      }
    });
    test(`${path}: URL-safe and unpadded base64 are read, as protojson reads them`, async () => {
      // "\xfb\xff" and 16 bytes of a signature-like value: URL-safe unpadded, then padded.
      for (const value of ['-_8', '-_8=', Buffer.from('abcdefghijklmnop').toString('base64url')]) {
        parseBundle(await altered(kind, path, value));
      }
    });
  }

  test('a DSSE payload in URL-safe unpadded base64 is the envelope the reader checks', async () => {
    const doc = await dsseBundle();
    setAt(doc, 'dsseEnvelope.payload', Buffer.from(statement).toString('base64url'));
    const parsed = parseBundle(encode(doc));
    assert.equal(parsed.content.kind, 'dsse-envelope');
    if (parsed.content.kind !== 'dsse-envelope') return;
    assert.deepEqual(parsed.content.envelope.payload, statement);
    assert.deepEqual(
      new Uint8Array(
        parsed.bundle.content.$case === 'dsseEnvelope'
          ? parsed.bundle.content.dsseEnvelope.payload
          : [],
      ),
      statement,
    );
    assert.equal(
      json(parsed.content.envelopeJson).payload,
      Buffer.from(statement).toString('base64'),
    );
  });

  test('a repeated bytes field that is not an array, or an element that is not a string, is BUNDLE_INVALID', async () => {
    const hashes = 'verificationMaterial.tlogEntries[0].inclusionProof.hashes';
    const notArray = messageBundle();
    setAt(notArray, hashes, b64('hash'));
    assert.throws(
      () => parseBundle(encode(notArray)),
      expectError('denied', 'BUNDLE_INVALID', 'inclusionProof.hashes'),
    );
    const nullElement = messageBundle();
    setAt(nullElement, hashes, [null]);
    assert.throws(
      () => parseBundle(encode(nullElement)),
      expectError('denied', 'BUNDLE_INVALID', 'inclusionProof.hashes[0]'),
    );
  });

  test('an inclusion proof without a checkpoint is BUNDLE_INVALID in a v0.1 bundle too', () => {
    // sigstore-go pkg/tlog/entry.go ParseTransparencyLogEntry: "inclusion proof missing required
    // checkpoint"; the sigstore-conformance case bundle-with-root-cert_fail carries such a proof.
    for (const checkpoint of [undefined, { envelope: '' }]) {
      const doc = messageBundle();
      setAt(doc, 'verificationMaterial.tlogEntries[0].inclusionProof.checkpoint', checkpoint);
      assert.throws(
        () => parseBundle(encode(doc)),
        expectError('denied', 'BUNDLE_INVALID', 'tlogEntries[0].inclusionProof.checkpoint'),
      );
    }
  });

  test('a negative log index is BUNDLE_INVALID', () => {
    // sigstore-go pkg/tlog/entry.go ParseTransparencyLogEntry refuses LogIndex < 0
    // (sigstore-conformance bundle-negative-log-index_fail).
    for (const logIndex of ['-1', -27246492]) {
      const doc = messageBundle();
      setAt(doc, 'verificationMaterial.tlogEntries[0].logIndex', logIndex);
      assert.throws(
        () => parseBundle(encode(doc)),
        expectError('denied', 'BUNDLE_INVALID', 'tlogEntries[0].logIndex'),
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
