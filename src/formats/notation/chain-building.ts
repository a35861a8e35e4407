/**
 * Building a chain from a certificate to a trusted root, as Go's
 * `Certificate.Verify` does for an RFC 3161 token's signer (tspclient-go
 * internal/cms/signed.go `verify`): parents are searched among the trusted
 * roots first, then among the intermediates the token carries; each link is
 * `CheckSignatureFrom`; each certificate must be valid at the given time and
 * carry no critical extension Go would not handle; an intermediate must be a
 * CA within its path length constraint; the extended key usages of the whole
 * chain must allow the requested usage (Go's `checkChainForKeyUsage`). Work is
 * bounded as Go bounds it: at most 100 signature checks
 * (`maxChainSignatureChecks`), and chains no longer than MAX_CHAIN_LENGTH.
 */
import { MAX_CHAIN_LENGTH } from './certificate-chain.ts';
import { sameBytes } from './der.ts';
import { checkSignatureFrom, EKU, type NotationCertificate, validAt } from './x509.ts';

const MAX_SIGNATURE_CHECKS = 100;

export interface ChainRequest {
  readonly leaf: NotationCertificate;
  readonly intermediates: readonly NotationCertificate[];
  readonly roots: readonly NotationCertificate[];
  /** Every certificate of the chain must be valid at this time. */
  readonly time: Date;
  /** The extended key usage the chain must allow. */
  readonly usage: string;
}

/** The first chain found (leaf first, a root last), or why there is none. */
export function buildChain(
  request: ChainRequest,
): { readonly chain: readonly NotationCertificate[] } | { readonly problem: string } {
  const leafProblem = certificateProblem(request.leaf, request.time);
  if (leafProblem !== undefined) return { problem: leafProblem };
  if (request.roots.some((root) => sameBytes(root.der, request.leaf.der))) {
    return usageAllowed([request.leaf], request.usage)
      ? { chain: [request.leaf] }
      : { problem: usageMessage(request.usage) };
  }
  const state = { checks: 0, hint: undefined as string | undefined, usageFailed: false };
  const found = extend([request.leaf], request, state);
  if (found !== undefined) return { chain: found };
  if (state.checks > MAX_SIGNATURE_CHECKS) {
    return {
      problem: `more than ${MAX_SIGNATURE_CHECKS} signature checks were needed to build a chain`,
    };
  }
  if (state.usageFailed) return { problem: usageMessage(request.usage) };
  return {
    problem: `"${request.leaf.subject}" does not chain to a trusted root${state.hint === undefined ? '' : ` (${state.hint})`}`,
  };
}

function extend(
  chain: NotationCertificate[],
  request: ChainRequest,
  state: { checks: number; hint: string | undefined; usageFailed: boolean },
): NotationCertificate[] | undefined {
  const child = chain[chain.length - 1];
  if (child === undefined || chain.length >= MAX_CHAIN_LENGTH) return undefined;
  const candidates: [NotationCertificate, 'root' | 'intermediate'][] = [
    ...request.roots.map((c): [NotationCertificate, 'root'] => [c, 'root']),
    ...request.intermediates.map((c): [NotationCertificate, 'intermediate'] => [c, 'intermediate']),
  ];
  for (const [candidate, kind] of candidates) {
    if (!sameBytes(candidate.rawSubject, child.rawIssuer)) continue;
    if (chain.some((c) => alreadyInChain(c, candidate))) continue;
    if (++state.checks > MAX_SIGNATURE_CHECKS) return undefined;
    const signature = checkSignatureFrom(child, candidate);
    if (signature !== undefined) {
      state.hint ??= `"${candidate.subject}" did not sign "${child.subject}": ${signature}`;
      continue;
    }
    const invalid =
      certificateProblem(candidate, request.time) ?? caProblem(candidate, kind, chain);
    if (invalid !== undefined) {
      state.hint ??= invalid;
      continue;
    }
    const next = [...chain, candidate];
    if (kind === 'root') {
      if (usageAllowed(next, request.usage)) return next;
      state.usageFailed = true;
      continue;
    }
    const found = extend(next, request, state);
    if (found !== undefined || state.checks > MAX_SIGNATURE_CHECKS) return found;
  }
  return undefined;
}

/** Go's `alreadyInChain`: the same subject and key are not used twice. */
function alreadyInChain(a: NotationCertificate, b: NotationCertificate): boolean {
  return sameBytes(a.rawSubject, b.rawSubject) && sameBytes(a.spki, b.spki);
}

/** What Go's `isValid` checks of any certificate: handled extensions, validity. */
function certificateProblem(cert: NotationCertificate, time: Date): string | undefined {
  const [unhandled] = cert.unhandledCriticalExtensions;
  if (unhandled !== undefined) {
    return `"${cert.subject}" has the critical extension ${unhandled}, which is not supported`;
  }
  if (!validAt(cert, time)) {
    return `"${cert.subject}" is not valid at ${time.toISOString()}: it is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`;
  }
  return undefined;
}

/** Go's `isValid` for CA certificates: intermediates are CAs; path lengths hold. */
function caProblem(
  cert: NotationCertificate,
  kind: 'root' | 'intermediate',
  below: readonly NotationCertificate[],
): string | undefined {
  const constraints = cert.basicConstraints;
  if (kind === 'intermediate' && constraints?.ca !== true) {
    return `"${cert.subject}" is not a CA certificate`;
  }
  if (constraints?.pathLen !== undefined && below.length - 1 > constraints.pathLen) {
    return `"${cert.subject}" allows ${constraints.pathLen} intermediates below it, the chain has ${below.length - 1}`;
  }
  return undefined;
}

/**
 * Go's `checkChainForKeyUsage` for one usage: every certificate that names
 * extended key usages names this one or anyExtendedKeyUsage.
 */
function usageAllowed(chain: readonly NotationCertificate[], usage: string): boolean {
  return chain.every((cert) => {
    const purposes = cert.extKeyUsage?.purposes ?? [];
    return purposes.length === 0 || purposes.includes(EKU.any) || purposes.includes(usage);
  });
}

function usageMessage(usage: string): string {
  return `the chain's extended key usages do not allow ${usage === EKU.timeStamping ? 'timeStamping' : usage}`;
}
