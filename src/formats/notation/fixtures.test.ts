/**
 * Real Notary Project signatures made by the notation CLI
 * (../shared/fixtures/notation, from notaryproject/notation
 * test/e2e/testdata; see its README for the expected outcomes): every
 * envelope and signature manifest reads, every envelope's signature
 * verifies with its own leaf, envelopes and manifests are rebuilt byte for
 * byte, and what vouch signs with the suite's key (config/localkeys/e2e.key)
 * has the headers notation's have.
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { decode, type Tag } from 'cbor2';
import { expectError } from '../../../test/helpers/assertions.ts';
import { notationFixtures } from '../../../test/helpers/notation.ts';
import { parseDigest } from '../../oci/digest.ts';
import { buildCose, parseCoseEnvelope } from './cose.ts';
import type { NotationEnvelope, NotationEnvelopeMediaType } from './envelope.ts';
import { buildJws, parseJwsEnvelope } from './jws.ts';
import { parseNotationEnvelope } from './parse-envelope.ts';
import {
  type NotationSignRequest,
  notationKeySigner,
  verifyNotationSignature,
} from './signature.ts';
import {
  buildNotationSignatureManifest,
  certificateThumbprints,
  type NotationSignatureManifest,
  parseNotationSignatureManifest,
} from './signature-manifest.ts';

const FIXTURES = notationFixtures() ?? '';
const skip =
  FIXTURES !== ''
    ? false
    : 'notation fixtures not found beside the checkout (they live outside the repository)';

const read = (path: string) => new Uint8Array(readFileSync(resolve(FIXTURES, path)));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface StoredSignature {
  readonly layout: string;
  readonly manifestBytes: Uint8Array;
  readonly manifest: NotationSignatureManifest;
  readonly envelopeBytes: Uint8Array;
}

/** The referrers of each layout's image: every image manifest index.json (or an index it lists) names that has a subject. */
function referrers(layout: string): Uint8Array[] {
  const blob = (digest: string) =>
    read(`registry/oci_layout/${layout}/blobs/sha256/${digest.slice('sha256:'.length)}`);
  const found = new Map<string, Uint8Array>();
  const visit = (manifests: { mediaType: string; digest: string }[]) => {
    for (const descriptor of manifests) {
      const bytes = blob(descriptor.digest);
      const document = JSON.parse(text(bytes)) as { manifests?: []; subject?: unknown };
      if (descriptor.mediaType === 'application/vnd.oci.image.index.v1+json')
        visit(document.manifests ?? []);
      else if (document.subject !== undefined) found.set(descriptor.digest, bytes);
    }
  };
  visit(
    (JSON.parse(text(read(`registry/oci_layout/${layout}/index.json`))) as { manifests: [] })
      .manifests,
  );
  return [...found.values()];
}

function storedSignatures(): StoredSignature[] {
  const out: StoredSignature[] = [];
  for (const layout of readdirSync(resolve(FIXTURES, 'registry/oci_layout'))) {
    if (layout === 'e2e-invalid-signature') continue; // its layer is not an envelope: see below
    for (const manifestBytes of referrers(layout)) {
      const manifest = parseNotationSignatureManifest(manifestBytes);
      const envelopeBytes = read(
        `registry/oci_layout/${layout}/blobs/sha256/${manifest.envelope.digest.slice('sha256:'.length)}`,
      );
      assert.equal(`sha256:${sha256(envelopeBytes)}`, manifest.envelope.digest);
      out.push({ layout, manifestBytes, manifest, envelopeBytes });
    }
  }
  return out;
}

/** The request that would make `envelope`: same content, the recorded signature and timestamp replayed. */
function replay(envelope: NotationEnvelope): NotationSignRequest {
  return {
    targetArtifact: envelope.targetArtifact,
    certificateChain: envelope.certificateChain,
    signingTime: envelope.signingTime,
    ...(envelope.expiry === undefined ? {} : { expiry: envelope.expiry }),
    ...(envelope.signingAgent === undefined ? {} : { signingAgent: envelope.signingAgent }),
    signer: async () => envelope.signature,
    ...(envelope.timestampToken === undefined
      ? {}
      : { timestamp: async () => envelope.timestampToken ?? new Uint8Array() }),
  };
}

const build = (mediaType: NotationEnvelopeMediaType, request: NotationSignRequest) =>
  mediaType === 'application/cose' ? buildCose(request) : buildJws(request);

describe('notation CLI fixtures', { skip }, () => {
  test('every signature manifest in the layouts reads, names its image and its envelope’s chain, and verifies', () => {
    const signatures = storedSignatures();
    assert.equal(signatures.length, 7);
    for (const { layout, manifest, envelopeBytes } of signatures) {
      assert.equal(manifest.form, 'config-media-type', layout);
      const image = (
        JSON.parse(text(read(`registry/oci_layout/${layout}/index.json`))) as {
          manifests: { digest: string; annotations?: Record<string, string> }[];
        }
      ).manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'v1');
      assert.equal(manifest.subject.digest, image?.digest, layout);
      const envelope = parseNotationEnvelope(manifest.envelopeMediaType, envelopeBytes);
      verifyNotationSignature(envelope);
      assert.deepEqual(
        manifest.thumbprints,
        certificateThumbprints(envelope.certificateChain),
        layout,
      );
      assert.equal(
        manifest.annotations['org.opencontainers.image.created'],
        envelope.signingTime.toISOString().replace('.000Z', 'Z'),
        layout,
      );
      assert.equal(envelope.targetArtifact.digest, manifest.subject.digest, layout);
      assert.equal(envelope.targetArtifact.size, manifest.subject.size, layout);
    }
  });

  test('what the layouts are about is in the envelopes, for the verifier to judge', () => {
    const byLayout = new Map(
      storedSignatures().map((s) => [
        s.layout,
        parseNotationEnvelope(s.manifest.envelopeMediaType, s.envelopeBytes),
      ]),
    );
    // e2e-expired-signature: an expiry one minute after signing, long past.
    const expired = byLayout.get('e2e-expired-signature');
    assert.equal(expired?.expiry?.toISOString(), '2023-06-27T05:21:21.000Z');
    assert.equal(expired?.signingTime.toISOString(), '2023-06-27T05:20:21.000Z');
    // e2e-with-expired-cert: signed by expired_e2e.crt, valid for one day in 2023.
    const expiredCert = byLayout.get('e2e-with-expired-cert');
    assert.deepEqual(
      expiredCert?.certificateChain[0],
      new Uint8Array(new X509Certificate(read('config/localkeys/expired_e2e.crt')).raw),
    );
    // e2e-valid-signature: signed by e2e.crt, the suite's trust store.
    assert.deepEqual(byLayout.get('e2e-valid-signature')?.certificateChain, [
      new Uint8Array(new X509Certificate(read('config/localkeys/e2e.crt')).raw),
    ]);
    // The timestamped pair: a real RFC 3161 token, and one whose token is the text "invalid\n".
    assert.equal(byLayout.get('e2e-with-timestamped-signature')?.timestampToken?.[0], 0x30);
    assert.equal(
      text(
        byLayout.get('e2e-with-invalid-timestamped-signature')?.timestampToken ?? new Uint8Array(),
      ),
      'invalid\n',
    );
    assert.deepEqual(byLayout.get('e2e-with-timestamped-signature')?.targetArtifact.annotations, {
      purpose: 'e2e',
    });
  });

  test('e2e-invalid-signature is refused: its signature layer is a text file, not an envelope', () => {
    const [manifestBytes] = referrers('e2e-invalid-signature');
    assert.ok(manifestBytes !== undefined);
    assert.throws(
      () => parseNotationSignatureManifest(manifestBytes),
      expectError('denied', 'NOTATION_MANIFEST_INVALID', 'application/vnd.oci.image.layer.v1.tar'),
    );
    const layer = read(
      'registry/oci_layout/e2e-invalid-signature/blobs/sha256/9a8decdf3775708f4eed16859f19561d730cad40b1af0dcfc37ac1e5f879a934',
    );
    assert.equal(text(layer), 'invalid signature\n');
    for (const mediaType of ['application/jose+json', 'application/cose']) {
      assert.throws(
        () => parseNotationEnvelope(mediaType, layer),
        expectError('denied', 'NOTATION_ENVELOPE_INVALID'),
      );
    }
  });

  test('the blob signatures read and verify; malformed.jws.sig is refused', () => {
    for (const [file, parse] of [
      ['blob.jws.sig', parseJwsEnvelope],
      ['blob.cose.sig', parseCoseEnvelope],
    ] as const) {
      const envelope = parse(read(`signatures/${file}`));
      verifyNotationSignature(envelope);
      assert.equal(envelope.signatureAlgorithm, 'PS256');
      assert.equal(envelope.signingAgent, 'notation-go/1.3.0+unreleased');
      assert.deepEqual(envelope.targetArtifact, {
        mediaType: 'application/octet-stream',
        digest: 'sha256:c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4',
        size: 11357,
      });
      assert.ok((envelope.timestampToken?.byteLength ?? 0) > 1000);
    }
    assert.throws(
      () => parseJwsEnvelope(read('signatures/malformed.jws.sig')),
      expectError('denied', 'NOTATION_ENVELOPE_INVALID'),
    );
  });

  test('a changed signature or payload of a real envelope no longer verifies', () => {
    const bytes = read('signatures/blob.cose.sig');
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.byteLength - 1] = (flipped[flipped.byteLength - 1] ?? 0) ^ 1;
    assert.throws(
      () => verifyNotationSignature(parseCoseEnvelope(flipped)),
      expectError('denied', 'NOTATION_SIGNATURE_INVALID', 'does not match'),
    );
    const jws = JSON.parse(text(read('signatures/blob.jws.sig'))) as { payload: string };
    jws.payload = Buffer.from(
      Buffer.from(jws.payload, 'base64url').toString().replace('11357', '11358'),
    ).toString('base64url');
    assert.throws(
      () =>
        verifyNotationSignature(parseJwsEnvelope(new TextEncoder().encode(JSON.stringify(jws)))),
      expectError('denied', 'NOTATION_SIGNATURE_INVALID', 'does not match'),
    );
  });

  test('envelopes notation-go 1.3 wrote in UTC are rebuilt byte for byte, JWS and COSE, timestamps included', async () => {
    const rebuilt = [
      ['application/jose+json', 'signatures/blob.jws.sig'],
      ['application/cose', 'signatures/blob.cose.sig'],
      ...storedSignatures()
        .filter((s) =>
          /"io\.cncf\.notary\.signingTime":"[^"]*Z"/.test(protectedHeaderText(s.envelopeBytes)),
        )
        .filter((s) => s.layout !== 'e2e-with-invalid-timestamped-signature') // re-indented by hand
        .map((s) => [
          s.manifest.envelopeMediaType,
          `registry/oci_layout/${s.layout}/blobs/sha256/${s.manifest.envelope.digest.slice(7)}`,
        ]),
    ] as [NotationEnvelopeMediaType, string][];
    assert.equal(rebuilt.length, 4);
    for (const [mediaType, path] of rebuilt) {
      const original = read(path);
      const envelope = parseNotationEnvelope(mediaType, original);
      assert.equal(sha256(await build(mediaType, replay(envelope))), sha256(original), path);
    }
  });

  test('notation’s signature manifests are rebuilt byte for byte from their envelopes', () => {
    for (const { layout, manifestBytes, manifest, envelopeBytes } of storedSignatures()) {
      const built = buildNotationSignatureManifest({
        subject: manifest.subject,
        envelope: envelopeBytes,
        envelopeMediaType: manifest.envelopeMediaType,
      });
      assert.equal(built.descriptor.digest, `sha256:${sha256(manifestBytes)}`, layout);
    }
  });

  test('signing with the suite’s key writes the headers notation writes (all but times and signature)', async () => {
    const privateKey = createPrivateKey(
      readFileSync(resolve(FIXTURES, 'config/localkeys/e2e.key')),
    );
    const certificate = new Uint8Array(new X509Certificate(read('config/localkeys/e2e.crt')).raw);
    const request: NotationSignRequest = {
      targetArtifact: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9',
        size: 517,
      },
      certificateChain: [certificate],
      signingTime: new Date(),
      signingAgent: 'Notation/1.0.0',
      signer: notationKeySigner(privateKey),
    };
    const jwsFixture = read(
      'registry/oci_layout/e2e-valid-signature/blobs/sha256/c9af07e038b2b1a463e648986ad7273157511ffeba0b689f33e5472bae471f50',
    );
    const expiredFixture = read(
      'registry/oci_layout/e2e-expired-signature/blobs/sha256/b5f927564088f65dad86c81bcdd0b55415a8b4c9a0a5391107210e0cdb305cc7',
    );
    const TIMES = ['io.cncf.notary.signingTime', 'io.cncf.notary.expiry'];
    const withoutTimes = (header: string) =>
      Object.entries(JSON.parse(header) as Record<string, unknown>).map(([k, v]) => [
        k,
        TIMES.includes(k) ? 'time' : v,
      ]);
    for (const [fixture, extra] of [
      [jwsFixture, {}],
      [expiredFixture, { expiry: new Date(Date.now() + 60_000) }],
    ] as const) {
      const ours = await buildJws({ ...request, ...extra });
      assert.deepEqual(
        withoutTimes(protectedHeaderText(ours)),
        withoutTimes(protectedHeaderText(fixture)),
      );
      const [a, b] = [ours, fixture].map((e) => JSON.parse(text(e)) as Record<string, unknown>);
      assert.deepEqual(Object.keys(a ?? {}), Object.keys(b ?? {}));
      assert.deepEqual(a?.header, b?.header);
      assert.equal(a?.payload, b?.payload);
      verifyNotationSignature(parseJwsEnvelope(ours));
      const manifest = buildNotationSignatureManifest({
        subject: { ...request.targetArtifact, digest: parseDigest(request.targetArtifact.digest) },
        envelope: ours,
        envelopeMediaType: 'application/jose+json',
      });
      assert.deepEqual(parseNotationSignatureManifest(manifest.manifest).thumbprints, [
        'e38aea13f2b051f7183cca64a51ee676f4d4456f41d9fecf15eb367efc7343b9',
      ]);
    }

    // COSE: notation-go's blob.cose.sig (another key) has the same labels in the same order.
    const coseFixture = read('signatures/blob.cose.sig');
    const ours = await buildCose({
      ...request,
      signingAgent: 'notation-go/1.3.0+unreleased',
      timestamp: async () => parseCoseEnvelope(coseFixture).timestampToken ?? new Uint8Array(),
    });
    verifyNotationSignature(parseCoseEnvelope(ours));
    const [mine, theirs] = [ours, coseFixture].map(coseHeaders);
    assert.deepEqual(
      [...(mine?.protected ?? [])].map(([k, v]) => [
        k,
        k === 'io.cncf.notary.signingTime' ? 'time' : v,
      ]),
      [...(theirs?.protected ?? [])].map(([k, v]) => [
        k,
        k === 'io.cncf.notary.signingTime' ? 'time' : v,
      ]),
    );
    assert.deepEqual(
      [...(mine?.unprotected.keys() ?? [])],
      [...(theirs?.unprotected.keys() ?? [])],
    );
    assert.deepEqual(
      mine?.unprotected.get('io.cncf.notary.signingAgent'),
      theirs?.unprotected.get('io.cncf.notary.signingAgent'),
    );
    assert.deepEqual(mine?.unprotected.get(33), [certificate]);
  });
});

function protectedHeaderText(envelope: Uint8Array): string {
  return Buffer.from(
    (JSON.parse(text(envelope)) as { protected: string }).protected,
    'base64url',
  ).toString();
}

/** A COSE envelope's headers in encoded order (Maps keep insertion order). */
function coseHeaders(envelope: Uint8Array) {
  const options = { preferMap: true, ignoreGlobalTags: true } as const;
  const [protectedBytes, unprotected] = (decode(envelope, options) as Tag).contents as [
    Uint8Array,
    Map<unknown, unknown>,
  ];
  return { protected: decode(protectedBytes, options) as Map<unknown, unknown>, unprotected };
}
