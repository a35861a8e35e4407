/**
 * `verifyBundle` on the certificate chain of v0.1/v0.2 bundles
 * (`x509CertificateChain`), with bundles minted by an ephemeral Sigstore
 * (test/helpers/keyless.ts) and re-shaped as such a bundle: the leaf alone
 * verifies; a chain that carries a root CA certificate is refused with its
 * own code (sigstore-conformance bundle-with-root-cert_fail: "client should
 * reject this"), and so is a chain certificate that is not X.509. Both by
 * `verifyBundle` itself (the bundles of classic layers never pass the strict
 * reader) and, first, by the strict reader `parseBundle`.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import {
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  issueCertificate,
  type KeylessSigstore,
  keylessTrustedRootJson,
  mintKeylessBundle,
} from '../../test/helpers/keyless.ts';
import { encodeStdBase64 } from '../core/base64.ts';
import { BUNDLE_V02_MEDIA_TYPE } from '../formats/sigstore-bundle.ts';
import { parseBundle } from '../formats/sigstore-bundle-reader.ts';
import { exactly } from './certificate-identity.ts';
import { type KeylessTrust, keylessTrustOf } from './keyless-trust.ts';
import { verifyBundle } from './keyless.ts';
import { parseTrustedRoot } from './trusted-root.ts';

const SIGNER = { subject: CHAINGUARD_IDENTITY, issuer: GITHUB_ISSUER };
const IDENTITY = { subject: exactly(CHAINGUARD_IDENTITY), issuer: exactly(GITHUB_ISSUER) };
const STATEMENT = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v1"}');

describe('verifyBundle: the certificate chain of a v0.2 bundle', () => {
  let sigstore: KeylessSigstore;
  let trust: KeylessTrust;
  let minted: Record<string, unknown> & { verificationMaterial: Record<string, unknown> };
  let leaf: string;

  before(async () => {
    sigstore = await createKeylessSigstore();
    trust = keylessTrustOf(
      parseTrustedRoot(new TextEncoder().encode(keylessTrustedRootJson(sigstore))),
    );
    const { bundle } = await mintKeylessBundle(sigstore, SIGNER, STATEMENT);
    minted = JSON.parse(new TextDecoder().decode(bundle)) as typeof minted;
    leaf = (minted.verificationMaterial.certificate as { rawBytes: string }).rawBytes;
  });

  /** The minted bundle as a v0.2 bundle whose chain is `certificates` (base64 DER). */
  const chainBundle = (certificates: readonly string[]) => ({
    ...minted,
    mediaType: BUNDLE_V02_MEDIA_TYPE,
    verificationMaterial: {
      x509CertificateChain: { certificates: certificates.map((rawBytes) => ({ rawBytes })) },
      tlogEntries: minted.verificationMaterial.tlogEntries,
    },
  });
  const verifyChain = (certificates: readonly string[]) =>
    verifyBundle(bundleFromJSON(chainBundle(certificates)), undefined, trust, IDENTITY);
  /** What the strict reader says of the same bundle: its error code, or 'ok'. */
  const readChain = (certificates: readonly string[]) => {
    try {
      parseBundle(new TextEncoder().encode(JSON.stringify(chainBundle(certificates))));
      return 'ok';
    } catch (error) {
      return (error as { code?: string }).code;
    }
  };

  test('the strict reader refuses a root before anything else (leaving a certificate that is not X.509 to verifyBundle)', async () => {
    assert.equal(readChain([leaf]), 'ok');
    assert.equal(readChain([leaf, encodeStdBase64(sigstore.root)]), 'CERT_CHAIN_INCLUDES_ROOT');
    const stranger = await issueCertificate(sigstore, SIGNER);
    assert.equal(readChain([leaf, encodeStdBase64(stranger.certificate)]), 'ok');
    const garbage = encodeStdBase64(new TextEncoder().encode('not a cert'));
    assert.equal(readChain([leaf, garbage]), 'ok');
    assert.equal(
      readChain([leaf, garbage, encodeStdBase64(sigstore.root)]),
      'CERT_CHAIN_INCLUDES_ROOT',
    );
  });

  test('the leaf alone verifies', () => {
    const result = verifyChain([leaf]);
    assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.message}`);
  });

  test('a chain with the root CA certificate after the leaf: CERT_CHAIN_INCLUDES_ROOT', () => {
    const result = verifyChain([leaf, encodeStdBase64(sigstore.root)]);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.code, 'CERT_CHAIN_INCLUDES_ROOT');
    assert.match(result.message, /certificate 1 of the chain is a self-signed root/);
  });

  test("the root of another Sigstore is refused the same way (it is never the trust root's to give)", async () => {
    const other = await createKeylessSigstore();
    const result = verifyChain([leaf, encodeStdBase64(other.root)]);
    assert.equal(result.ok ? 'ok' : result.code, 'CERT_CHAIN_INCLUDES_ROOT');
  });

  test('a certificate that is not self-signed is ignored: the chain is built from the trust root', async () => {
    const stranger = await issueCertificate(sigstore, SIGNER);
    const result = verifyChain([leaf, encodeStdBase64(stranger.certificate)]);
    assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.message}`);
  });

  test('a chain certificate that is not DER X.509: CERT_INVALID', () => {
    const result = verifyChain([leaf, encodeStdBase64(new TextEncoder().encode('not a cert'))]);
    assert.equal(result.ok ? 'ok' : result.code, 'CERT_INVALID');
  });
});
