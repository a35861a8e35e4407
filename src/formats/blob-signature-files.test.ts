import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createKeylessSigstore, type KeylessSigstore } from '../../test/helpers/keyless.ts';
import { encodeStdBase64 } from '../core/base64.ts';
import { encodePem } from '../keys/pem.ts';
import {
  encodeCertificateFile,
  encodeSignatureFile,
  parseCertificateChainFile,
  parseCertificateFile,
  parseSignatureFile,
} from './blob-signature-files.ts';
import { buildMessageSignatureBundle, publicKeyHint } from './sigstore-bundle.ts';
import { parseBundle } from './sigstore-bundle-reader.ts';

const text = (value: string) => new TextEncoder().encode(value);
const codeOf = (run: () => unknown) => {
  try {
    run();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('cosign 2 signature files', () => {
  const signature = new Uint8Array([0x30, 0x45, 0x02, 0x20, 1, 2, 3, 0xff]);

  test('what --output-signature writes is read back, with or without a final newline', () => {
    const written = encodeSignatureFile(signature);
    assert.equal(new TextDecoder().decode(written), encodeStdBase64(signature));
    assert.deepEqual(parseSignatureFile(written), signature);
    assert.deepEqual(parseSignatureFile(text(`${encodeStdBase64(signature)}\n`)), signature);
  });

  test('raw signature bytes are read as they are (cosign base64-encodes what is not base64)', () => {
    assert.deepEqual(parseSignatureFile(signature), signature);
  });

  test('an empty or oversized file is BLOB_SIGNATURE_INVALID', () => {
    assert.equal(
      codeOf(() => parseSignatureFile(new Uint8Array())),
      'BLOB_SIGNATURE_INVALID',
    );
    assert.equal(
      codeOf(() => parseSignatureFile(text('\n'))),
      'BLOB_SIGNATURE_INVALID',
    );
    assert.equal(
      codeOf(() => parseSignatureFile(new Uint8Array(2048).fill(0x80))),
      'BLOB_SIGNATURE_INVALID',
    );
  });
});

describe('cosign 2 certificate files', () => {
  let sigstore: KeylessSigstore;
  before(async () => {
    sigstore = await createKeylessSigstore();
  });

  test('--output-certificate writes base64 of the PEM; PEM and base64 PEM both read back', () => {
    const written = encodeCertificateFile(sigstore.root);
    const pem = encodePem('CERTIFICATE', sigstore.root);
    assert.equal(new TextDecoder().decode(written), Buffer.from(pem).toString('base64'));
    assert.deepEqual(parseCertificateFile(written), sigstore.root);
    assert.deepEqual(parseCertificateFile(text(pem)), sigstore.root);
  });

  test('a certificate file holds exactly one X.509 certificate', () => {
    const pem = encodePem('CERTIFICATE', sigstore.root);
    assert.equal(
      codeOf(() => parseCertificateFile(text(pem + pem))),
      'CERT_INVALID',
    );
    assert.equal(
      codeOf(() => parseCertificateFile(text('garbage!'))),
      'CERT_INVALID',
    );
    assert.equal(
      codeOf(() => parseCertificateFile(text(encodePem('CERTIFICATE', text('not der'))))),
      'CERT_INVALID',
    );
    assert.equal(
      codeOf(() => parseCertificateFile(text(encodePem('PUBLIC KEY', sigstore.root)))),
      'CERT_INVALID',
    );
  });

  test('a chain file holds one or more certificates, in order', () => {
    const pem = encodePem('CERTIFICATE', sigstore.root);
    assert.deepEqual(parseCertificateChainFile(text(pem + pem)), [sigstore.root, sigstore.root]);
    assert.equal(
      codeOf(() => parseCertificateChainFile(text('no pem here'))),
      'CERT_INVALID',
    );
  });
});

describe('buildMessageSignatureBundle', () => {
  test('a v0.3 bundle with the hint and the message signature, read back strictly', () => {
    const digest = new Uint8Array(32).fill(7);
    const signature = new Uint8Array([1, 2, 3]);
    const hint = publicKeyHint(new Uint8Array([9, 9, 9]));
    const bytes = buildMessageSignatureBundle({
      digestAlgorithm: 'SHA2_256',
      digest,
      signature,
      publicKeyHint: hint,
    });
    const parsed = parseBundle(bytes);
    assert.equal(parsed.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(parsed.material, { kind: 'public-key', hint });
    assert.deepEqual(parsed.content, {
      kind: 'message-signature',
      digestAlgorithm: 'SHA2_256',
      digest,
      signature,
    });
    assert.equal(parsed.tlogEntries.length, 0);
    assert.equal(
      codeOf(() =>
        buildMessageSignatureBundle({
          digestAlgorithm: 'SHA2_256',
          digest,
          signature: new Uint8Array(),
          publicKeyHint: '',
        }),
      ),
      'INVALID_BUNDLE_INPUT',
    );
  });
});
