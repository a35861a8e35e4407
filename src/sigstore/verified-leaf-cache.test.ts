/**
 * `verifyBundle` reusing what it established about a certificate
 * (verified-leaf-cache.ts) for the next signature made with it: the reuse
 * happens, and nothing that is per signature is taken from it. Each refusal
 * below is of a bundle verified right after a genuine signature with the
 * same certificate (or subject) was accepted, so the certificate is known.
 * Then the signing window itself, on dates around the boundaries.
 */
import assert from 'node:assert/strict';
import { createHash, sign } from 'node:crypto';
import { before, describe, mock, test } from 'node:test';
import { X509Certificate } from '@sigstore/core';
import {
  bundleAnnotation,
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  type IssuedCertificate,
  issueCertificate,
  type KeylessSigstore,
  keylessTrustedRootJson,
  logBody,
} from '../../test/helpers/keyless.ts';
import { bundleOfClassicSignature } from '../formats/classic-bundle.ts';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  signatureLayer,
} from '../formats/cosign-signature.ts';
import { encodePem } from '../keys/pem.ts';
import { exactly } from './certificate-identity.ts';
import { type KeylessTrust, keylessTrustOf } from './keyless-trust.ts';
import { type BundleVerification, verifyBundle } from './keyless.ts';
import { parseTrustedRoot } from './trusted-root.ts';
import { inSigningWindow, signingWindow } from './verified-leaf-cache.ts';

const SIGNER = { subject: CHAINGUARD_IDENTITY, issuer: GITHUB_ISSUER };
const IDENTITY = { subject: exactly(CHAINGUARD_IDENTITY), issuer: exactly(GITHUB_ISSUER) };
const encoder = new TextEncoder();

let serial = 0;
/** A payload of its own for each signature. */
function payload(): Uint8Array {
  serial += 1;
  return encoder.encode(`{"critical":{"n":${serial}},"optional":null}`);
}

function trustOf(json: string): KeylessTrust {
  return keylessTrustOf(parseTrustedRoot(encoder.encode(json)));
}

interface Signed {
  readonly blob: Uint8Array;
  readonly annotations: Record<string, string>;
}

interface SignOptions {
  /** The log that records it; default the issuing Sigstore's. */
  readonly log?: KeylessSigstore;
  /** The signature the layer carries and the log records, base64; default a genuine one over the blob. */
  readonly signature?: string;
  /** The certificate the layer carries; default the signer's. */
  readonly presented?: IssuedCertificate;
  /** The Rekor bundle of another signature, in place of this one's. */
  readonly bundle?: string;
}

/** A classic `.sig` layer signed by `signer` (a certificate of `sigstore`), logged. */
async function signWith(
  sigstore: KeylessSigstore,
  signer: IssuedCertificate,
  blob: Uint8Array,
  options: SignOptions = {},
): Promise<Signed> {
  const signature = options.signature ?? sign('sha256', blob, signer.privateKey).toString('base64');
  const presented = options.presented ?? signer;
  const entry = await logBody(options.log ?? sigstore, {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: {
        hash: { algorithm: 'sha256', value: createHash('sha256').update(blob).digest('hex') },
      },
      signature: {
        content: signature,
        publicKey: { content: Buffer.from(presented.pem).toString('base64') },
      },
    },
  });
  const layer = signatureLayer({
    payload: blob,
    signatureBase64: signature,
    annotations: {
      [CERTIFICATE_ANNOTATION]: presented.pem,
      [CHAIN_ANNOTATION]: encodePem('CERTIFICATE', sigstore.root),
      [BUNDLE_ANNOTATION]: options.bundle ?? bundleAnnotation(entry),
    },
  });
  return { blob, annotations: { ...layer.descriptor.annotations } };
}

function verify(
  layer: Signed,
  trust: KeylessTrust,
  identity: Parameters<typeof verifyBundle>[3] = IDENTITY,
): BundleVerification {
  return verifyBundle(bundleOfClassicSignature(layer), layer.blob, trust, identity);
}

function assertRefused(result: BundleVerification, code: string): void {
  assert.equal(result.ok, false, 'must be refused');
  assert.equal(result.ok === false && result.code, code, result.ok ? '' : result.message);
}

describe('verifyBundle: a certificate already verified', () => {
  let sigstore: KeylessSigstore;
  /** Logs entries an hour later than `sigstore`: after its certificates' 10 minutes. */
  let laterLog: KeylessSigstore;
  /** Another CA, not trusted. */
  let stranger: KeylessSigstore;
  let trust: KeylessTrust;
  let signer: IssuedCertificate;

  before(async () => {
    sigstore = await createKeylessSigstore();
    laterLog = await createKeylessSigstore({ logClock: new Date(Date.now() + 3600_000) });
    stranger = await createKeylessSigstore();
    trust = trustOf(
      keylessTrustedRootJson({ cas: [sigstore], ctlogs: [sigstore], tlogs: [sigstore, laterLog] }),
    );
    signer = await issueCertificate(sigstore, SIGNER);
    // The certificate is known from here on.
    const first = verify(await signWith(sigstore, signer, payload()), trust);
    assert.equal(first.ok, true, first.ok ? '' : first.message);
  });

  test('a second signature with it verifies without parsing the certificate again', async (t) => {
    const layer = await signWith(sigstore, signer, payload());
    const parse = t.mock.method(X509Certificate, 'parse');
    const result = verify(layer, trust);
    assert.equal(result.ok, true, result.ok ? '' : result.message);
    assert.equal(parse.mock.callCount(), 0);
    assert.equal(result.ok && result.claims.subject, CHAINGUARD_IDENTITY);
    assert.equal(result.ok && result.claims.issuer, GITHUB_ISSUER);
    mock.restoreAll();
  });

  test('a certificate seen for the first time is parsed once (@sigstore/verify is handed it)', async (t) => {
    const layer = await signWith(sigstore, await issueCertificate(sigstore, SIGNER), payload());
    const parse = t.mock.method(X509Certificate, 'parse');
    const result = verify(layer, trust);
    assert.equal(result.ok, true, result.ok ? '' : result.message);
    assert.equal(parse.mock.callCount(), 1);
    mock.restoreAll();
  });

  test('a bad signature with it (logged as such): SIGNATURE_INVALID', async () => {
    const other = sign('sha256', payload(), signer.privateKey).toString('base64');
    assertRefused(
      verify(await signWith(sigstore, signer, payload(), { signature: other }), trust),
      'SIGNATURE_INVALID',
    );
  });

  test('its Rekor entry for another artifact: TLOG_BINDING_MISMATCH', async () => {
    const elsewhere = await signWith(sigstore, signer, payload());
    const layer = await signWith(sigstore, signer, payload(), {
      bundle: elsewhere.annotations[BUNDLE_ANNOTATION] as string,
    });
    assertRefused(verify(layer, trust), 'TLOG_BINDING_MISMATCH');
  });

  test('a Rekor entry naming another certificate: CERT_BINDING_MISMATCH', async () => {
    const other = await issueCertificate(sigstore, SIGNER);
    const blob = payload();
    const signature = sign('sha256', blob, signer.privateKey).toString('base64');
    // Logged with `other`, presented with `signer`.
    const logged = await signWith(sigstore, signer, blob, { signature, presented: other });
    const layer = await signWith(sigstore, signer, blob, {
      signature,
      bundle: logged.annotations[BUNDLE_ANNOTATION] as string,
    });
    assertRefused(verify(layer, trust), 'CERT_BINDING_MISMATCH');
  });

  test('signed after it expired (logged an hour later): CERT_EXPIRED', async () => {
    const result = verify(await signWith(sigstore, signer, payload(), { log: laterLog }), trust);
    assertRefused(result, 'CERT_EXPIRED');
  });

  test('another certificate for the same subject, by an untrusted CA: CERT_CHAIN_INVALID', async () => {
    const impostor = await issueCertificate(stranger, SIGNER);
    const result = verify(await signWith(stranger, impostor, payload(), { log: sigstore }), trust);
    assertRefused(result, 'CERT_CHAIN_INVALID');
  });

  test("another certificate for the same subject, signed with the known one's key: SIGNATURE_INVALID", async () => {
    const other = await issueCertificate(sigstore, SIGNER);
    const blob = payload();
    const signature = sign('sha256', blob, signer.privateKey).toString('base64');
    const layer = await signWith(sigstore, other, blob, { signature });
    assertRefused(verify(layer, trust), 'SIGNATURE_INVALID');
  });

  test('another trusted root, which does not name its CA: CERT_CHAIN_INVALID', async () => {
    const elsewhere = trustOf(
      keylessTrustedRootJson({ cas: [stranger], ctlogs: [sigstore], tlogs: [sigstore] }),
    );
    const layer = await signWith(sigstore, signer, payload());
    assert.equal(verify(layer, trust).ok, true);
    assertRefused(verify(layer, elsewhere), 'CERT_CHAIN_INVALID');
  });

  test('another identity asked for: CERT_IDENTITY_MISMATCH', async () => {
    const layer = await signWith(sigstore, signer, payload());
    const someone = {
      subject: exactly('https://example.com/someone'),
      issuer: exactly(GITHUB_ISSUER),
    };
    assertRefused(verify(layer, trust, someone), 'CERT_IDENTITY_MISMATCH');
  });

  test('a genuine signature made with it still verifies after all those refusals', async () => {
    const result = verify(await signWith(sigstore, signer, payload()), trust);
    assert.equal(result.ok, true, result.ok ? '' : result.message);
  });
});

describe('signingWindow', () => {
  const boundaries = [100, 200, 300];

  test('the stretch between the boundaries around the times', () => {
    assert.deepEqual(signingWindow(boundaries, [150, 199, 101]), { after: 100, before: 200 });
    assert.deepEqual(signingWindow(boundaries, [301]), { after: 300, before: Infinity });
    assert.deepEqual(signingWindow(boundaries, [99]), { after: -Infinity, before: 100 });
  });

  test('a time on a boundary is a window of its own (the library compares inclusively)', () => {
    assert.deepEqual(signingWindow(boundaries, [200, 200]), { at: 200 });
    assert.equal(signingWindow(boundaries, [200, 201]), undefined);
    assert.equal(signingWindow(boundaries, [199, 200]), undefined);
  });

  test('times on both sides of a boundary, none, or not numbers: no window', () => {
    assert.equal(signingWindow(boundaries, [150, 250]), undefined);
    assert.equal(signingWindow(boundaries, []), undefined);
    assert.equal(signingWindow(boundaries, [Number.NaN]), undefined);
    assert.equal(signingWindow([100, Number.NaN], [150]), undefined);
  });

  test('membership: strictly inside, or exactly at', () => {
    const window = { after: 100, before: 200 };
    assert.equal(inSigningWindow(window, 150), true);
    assert.equal(inSigningWindow(window, 100), false);
    assert.equal(inSigningWindow(window, 200), false);
    assert.equal(inSigningWindow(window, Number.NaN), false);
    assert.equal(inSigningWindow({ at: 200 }, 200), true);
    assert.equal(inSigningWindow({ at: 200 }, 200.5), false);
  });
});
