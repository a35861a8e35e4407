/**
 * The checks of a signing certificate Fulcio has just issued, made before
 * the certificate signs anything that is logged or stored (issue: "Before
 * anything is written"): a Fulcio that is compromised, misconfigured or
 * impersonated must not get a signature out of vouch.
 *
 * 1. It is DER X.509 and its public key is the ephemeral key the run asked
 *    a certificate for (Fulcio signs whatever key the request names; a
 *    certificate for another key would make every signature fail to
 *    verify, or worse, bind someone else's key to this identity).
 * 2. It chains, at the time given, to a certificate authority of the
 *    trusted root (@sigstore/verify's chain builder, the one that checks
 *    every bundle verified later).
 * 3. It carries at least one SCT, and every SCT verifies against a CT log
 *    key of the trusted root (RFC 6962 §3.2 precertificate signature;
 *    @sigstore/verify's `verifySCTs`). Fulcio embeds the SCT
 *    (sigstore/fulcio docs/ctlog.md), and the public-good verifiers require
 *    one (`ctlogThreshold` 1), so a certificate without one could never be
 *    verified.
 *
 * The chain from the CA found (intermediates, then the root) is returned:
 * it is what cosign stores in the `dev.sigstore.cosign/chain` annotation,
 * Fulcio's own chain for the certificate.
 *
 * @sigstore/verify exports only its whole-bundle `Verifier`; the chain and
 * SCT steps are its `dist/key` modules, imported by path (the package has
 * no `exports` map, and its version is pinned exactly in package.json).
 *
 * Errors: VouchError `denied` SIGNING_CERTIFICATE_INVALID (not X.509, or
 * for another key), SIGNING_CERTIFICATE_UNTRUSTED (no chain to a trusted
 * CA), SIGNING_CERTIFICATE_SCT_INVALID (no SCT, or one that does not
 * verify).
 */
import type { KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { verifyCertificateChain } from '@sigstore/verify/dist/key/certificate.js';
import { verifySCTs } from '@sigstore/verify/dist/key/sct.js';
import { denied, messageOf } from '../core/errors.ts';
import { type CertificateClaims, certificateClaims } from './certificate-identity.ts';
import type { KeylessTrust } from './keyless-trust.ts';

export interface CheckedSigningCertificate {
  /** The leaf, DER. */
  readonly certificate: Uint8Array;
  /** The CA chain it verified to: intermediates first, the root last (DER). */
  readonly chain: readonly Uint8Array[];
  /** The identity it certifies: SAN, OIDC issuer, workflow claims. */
  readonly claims: CertificateClaims;
  /** The end of its validity. */
  readonly notAfter: Date;
}

/**
 * Checks the certificate `der` for `publicKey` against `trust` at `now`.
 * Throws `denied` (see the module comment); returns what it verified.
 */
export function checkSigningCertificate(
  der: Uint8Array,
  publicKey: KeyObject,
  trust: KeylessTrust,
  now: Date,
): CheckedSigningCertificate {
  let leaf: X509Certificate;
  try {
    leaf = X509Certificate.parse(Buffer.from(der));
  } catch (error) {
    throw denied(
      'SIGNING_CERTIFICATE_INVALID',
      `Fulcio returned a certificate that is not DER X.509: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const expected = publicKey.export({ format: 'der', type: 'spki' });
  if (!expected.equals(leaf.publicKey)) {
    throw denied(
      'SIGNING_CERTIFICATE_INVALID',
      'Fulcio returned a certificate for another public key than the one this run generated; nothing was signed with it',
    );
  }
  let path: X509Certificate[];
  try {
    path = verifyCertificateChain(now, leaf, trust.material.certificateAuthorities);
  } catch (error) {
    throw denied(
      'SIGNING_CERTIFICATE_UNTRUSTED',
      `Fulcio's certificate does not chain to a certificate authority of the trusted root: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const issuer = path[1];
  if (issuer === undefined) {
    throw denied(
      'SIGNING_CERTIFICATE_UNTRUSTED',
      "Fulcio's certificate is itself a trusted CA certificate, not one issued by it",
    );
  }
  let scts: readonly unknown[];
  try {
    scts = verifySCTs(leaf, issuer, trust.material.ctlogs);
  } catch (error) {
    throw denied(
      'SIGNING_CERTIFICATE_SCT_INVALID',
      `the SCT of Fulcio's certificate does not verify against a CT log of the trusted root: ${messageOf(error)}`,
      { cause: error },
    );
  }
  if (scts.length === 0) {
    throw denied(
      'SIGNING_CERTIFICATE_SCT_INVALID',
      "Fulcio's certificate carries no SCT: it was not logged in certificate transparency, and verifiers would refuse it",
    );
  }
  return {
    certificate: new Uint8Array(der),
    chain: path.slice(1).map((certificate) => new Uint8Array(certificate.root.toDER())),
    claims: certificateClaims(leaf),
    notAfter: leaf.notAfter,
  };
}
