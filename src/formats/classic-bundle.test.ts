/**
 * Classic cosign layers as Sigstore v0.1 bundles: the real public-good
 * signature converts field by field as sigstore-go's example does, and what
 * a keyless layer lacks or garbles is named by its code.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import {
  createKeylessSigstore,
  GITHUB_ISSUER,
  mintKeylessAttestation,
} from '../../test/helpers/keyless.ts';
import { isVouchError } from '../core/errors.ts';
import {
  bundleOfClassicAttestation,
  bundleOfClassicSignature,
  type ClassicLayer,
} from './classic-bundle.ts';
import { BUNDLE_V01_MEDIA_TYPE } from './sigstore-bundle.ts';
import { parseContainersSignature } from './containers-signature.ts';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  RFC3161_TIMESTAMP_ANNOTATION,
} from './cosign-signature.ts';
import { encodeEnvelope, IN_TOTO_PAYLOAD_TYPE, parseEnvelope } from './dsse.ts';

const SIGNATURE = resolve(
  import.meta.dirname,
  '../../../shared/fixtures/containers-image/dir-img-cosign-fulcio-rekor-valid/signature-1',
);
const skip = existsSync(SIGNATURE) ? false : `fixture not found at ${SIGNATURE}`;

function fixture(change: (annotations: Record<string, string>) => void = () => {}): ClassicLayer {
  const signature = parseContainersSignature(readFileSync(SIGNATURE));
  const annotations = { ...signature.annotations };
  change(annotations);
  return { blob: signature.payload, annotations };
}

function throwsCode(run: () => unknown, code: string): void {
  assert.throws(
    run,
    (error) => isVouchError(error) && error.code === code && error.category === 'denied',
  );
}

describe('bundleOfClassicSignature', { skip }, () => {
  test('the public-good fixture: leaf only, SET as inclusion promise, digest of the payload', () => {
    const layer = fixture();
    const bundle = bundleOfClassicSignature(layer);
    assert.equal(bundle.mediaType, BUNDLE_V01_MEDIA_TYPE);
    const material = bundle.verificationMaterial;
    assert.equal(material.content.$case, 'x509CertificateChain');
    if (material.content.$case === 'x509CertificateChain') {
      // The chain annotation is not carried: intermediates come from the trust root.
      assert.equal(material.content.x509CertificateChain.certificates.length, 1);
    }
    const [entry] = material.tlogEntries;
    assert.equal(entry?.logIndex, '11605770');
    assert.equal(entry?.integratedTime, '1674247893');
    assert.deepEqual(entry?.kindVersion, { kind: 'hashedrekord', version: '0.0.1' });
    assert.equal(
      Buffer.from(entry?.logId?.keyId ?? [])
        .toString('hex')
        .slice(0, 8),
      'c0d23d6a',
    );
    assert.ok(entry?.inclusionPromise !== undefined);
    assert.equal(bundle.content.$case, 'messageSignature');
    if (bundle.content.$case === 'messageSignature') {
      assert.deepEqual(
        bundle.content.messageSignature.messageDigest?.digest,
        createHash('sha256').update(layer.blob).digest(),
      );
    }
  });

  test('no certificate: CERT_MISSING; not a PEM certificate: CERT_INVALID', () => {
    throwsCode(
      () => bundleOfClassicSignature(fixture((a) => delete a[CERTIFICATE_ANNOTATION])),
      'CERT_MISSING',
    );
    throwsCode(
      () => bundleOfClassicSignature(fixture((a) => (a[CERTIFICATE_ANNOTATION] = ' '))),
      'CERT_MISSING',
    );
    throwsCode(
      () =>
        bundleOfClassicSignature(fixture((a) => (a[CERTIFICATE_ANNOTATION] = 'not a certificate'))),
      'CERT_INVALID',
    );
  });

  test('no Rekor bundle: TLOG_MISSING; a malformed one: TLOG_BUNDLE_INVALID', () => {
    throwsCode(
      () => bundleOfClassicSignature(fixture((a) => delete a[BUNDLE_ANNOTATION])),
      'TLOG_MISSING',
    );
    throwsCode(
      () => bundleOfClassicSignature(fixture((a) => (a[BUNDLE_ANNOTATION] = '{"Payload":{}}'))),
      'TLOG_BUNDLE_INVALID',
    );
  });

  test('a malformed RFC 3161 timestamp annotation: TIMESTAMP_INVALID', () => {
    throwsCode(
      () => bundleOfClassicSignature(fixture((a) => (a[RFC3161_TIMESTAMP_ANNOTATION] = '{}'))),
      'TIMESTAMP_INVALID',
    );
  });
});

describe('bundleOfClassicAttestation', () => {
  test('the envelope becomes the bundle DSSE; two signatures are ENVELOPE_INVALID', async () => {
    const sigstore = await createKeylessSigstore();
    const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
    const minted = await mintKeylessAttestation(
      sigstore,
      { subject: 'https://example.test/workflow', issuer: GITHUB_ISSUER },
      statement,
    );
    const bundle = bundleOfClassicAttestation(minted);
    assert.equal(bundle.content.$case, 'dsseEnvelope');
    if (bundle.content.$case === 'dsseEnvelope') {
      assert.equal(bundle.content.dsseEnvelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
      assert.deepEqual(bundle.content.dsseEnvelope.payload, statement);
    }
    assert.deepEqual(bundle.verificationMaterial.tlogEntries[0]?.kindVersion, {
      kind: 'dsse',
      version: '0.0.1',
    });

    const envelope = parseEnvelope(minted.blob);
    const [signature] = envelope.signatures;
    assert.ok(signature !== undefined);
    const doubled = encodeEnvelope({ ...envelope, signatures: [signature, signature] });
    throwsCode(() => bundleOfClassicAttestation({ ...minted, blob: doubled }), 'ENVELOPE_INVALID');
    throwsCode(
      () => bundleOfClassicAttestation({ ...minted, blob: Buffer.from('{}') }),
      'ENVELOPE_INVALID',
    );
  });
});
