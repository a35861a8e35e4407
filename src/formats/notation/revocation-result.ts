/**
 * Revocation results as notation-core-go reports them
 * (revocation/result/results.go) and notation-go decides on them
 * (verifier/verifier.go `revocationFinalResult`): per certificate `ok`,
 * `revoked`, `unknown` (could not be determined: no answer, an answer that
 * does not verify or has expired, OCSP status unknown) or `non-revokable`
 * (no OCSP or CRL information, and always the root); for the chain, revoked
 * if any certificate is, else unknown if any is, else ok.
 */

export type CertificateRevocationResult = 'ok' | 'revoked' | 'unknown' | 'non-revokable';
export type RevocationMethod = 'ocsp' | 'crl' | 'ocsp-fallback-crl' | 'none';

/** What one OCSP server or CRL distribution point said, or why it said nothing. */
export interface ServerResult {
  readonly result: CertificateRevocationResult;
  /** The OCSP or CRL URL; empty when there was none. */
  readonly server: string;
  readonly method: 'ocsp' | 'crl' | 'none';
  readonly error?: string;
}

export interface CertificateRevocation {
  readonly subject: string;
  readonly result: CertificateRevocationResult;
  readonly method: RevocationMethod;
  /** OCSP results first, then CRL results when OCSP fell back to CRLs. */
  readonly servers: readonly ServerResult[];
}

export interface ChainRevocation {
  readonly result: 'ok' | 'revoked' | 'unknown';
  /** One per certificate of the chain, leaf first. */
  readonly certificates: readonly CertificateRevocation[];
  /** Why the result is not `ok`: the certificate (nearest the leaf) and what went wrong. */
  readonly problem?: { readonly index: number; readonly subject: string; readonly message: string };
}

/** The chain's result from its certificates' (leaf first). */
export function chainRevocation(certificates: readonly CertificateRevocation[]): ChainRevocation {
  const decisive = (result: CertificateRevocationResult) =>
    certificates.findIndex((c) => c.result === result);
  for (const result of ['revoked', 'unknown'] as const) {
    const index = decisive(result);
    const cert = certificates[index];
    if (cert !== undefined) {
      return {
        result,
        certificates,
        problem: { index, subject: cert.subject, message: describe(cert) },
      };
    }
  }
  return { result: 'ok', certificates };
}

/** A chain whose revocation could not be checked at all (notation's `InvalidChainError`). */
export function uncheckedChain(message: string): ChainRevocation {
  return {
    result: 'unknown',
    certificates: [],
    problem: { index: 0, subject: '', message },
  };
}

function describe(cert: CertificateRevocation): string {
  const errors = cert.servers
    .filter((s) => s.error !== undefined)
    .map((s) => `${s.method.toUpperCase()} ${s.server || '(no server)'}: ${s.error}`);
  if (cert.result === 'revoked') {
    const by = cert.servers.find((s) => s.result === 'revoked');
    return `revoked according to ${by?.method.toUpperCase() ?? 'its issuer'} ${by?.server ?? ''}`.trim();
  }
  return errors.length > 0 ? errors.join('; ') : 'its revocation status could not be determined';
}
