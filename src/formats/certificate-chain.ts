/**
 * The one check of the certificates a signature carries after its leaf (a
 * v0.1/v0.2 bundle's `x509CertificateChain`, cosign 2's
 * `--certificate-chain` file): none may be a self-signed root.
 *
 * Signers "MUST NOT include root CA certificates in bundles"
 * (sigstore/protobuf-specs protos/sigstore_bundle.proto
 * VerificationMaterial); the spec lets verifiers ignore one, but
 * sigstore-conformance's `bundle-with-root-cert_fail` says a client "should
 * reject this", and a root that travels with a signature only ever invites
 * trusting it. vouch builds every chain from the trusted root, so a root
 * here is refused before anything else reads the chain.
 *
 * Pure: node:crypto's X509Certificate parses (OpenSSL, strict DER).
 */
import { X509Certificate } from 'node:crypto';
import { messageOf } from '../core/errors.ts';

export interface ChainProblem {
  readonly code: 'CERT_INVALID' | 'CERT_CHAIN_INCLUDES_ROOT';
  readonly message: string;
}

/**
 * CERT_CHAIN_INCLUDES_ROOT if one of `rest` (the chain after the leaf) is a
 * self-signed root: it names itself as issuer (RFC 5280 §3.2 "self-issued")
 * and its own key verifies its signature. Otherwise CERT_INVALID if one is
 * not DER X.509. Undefined when neither.
 */
export function chainRootProblem(rest: readonly Uint8Array[]): ChainProblem | undefined {
  let invalid: ChainProblem | undefined;
  for (const [index, der] of rest.entries()) {
    const position = index + 1;
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(der);
    } catch (error) {
      invalid ??= {
        code: 'CERT_INVALID',
        message: `certificate ${position} of the chain is not DER X.509: ${messageOf(error)}`,
      };
      continue;
    }
    if (certificate.checkIssued(certificate) && selfSigned(certificate)) {
      return {
        code: 'CERT_CHAIN_INCLUDES_ROOT',
        message: `certificate ${position} of the chain is a self-signed root; a signature must not carry a root CA, roots come from the trusted root`,
      };
    }
  }
  return invalid;
}

function selfSigned(certificate: X509Certificate): boolean {
  try {
    return certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}
