/**
 * Who a keyless signature must come from: the certificate identity policy
 * cosign's `--certificate-identity[-regexp]`, `--certificate-oidc-issuer[-regexp]`
 * and `--certificate-github-workflow-*` options express
 * (sigstore/cosign cmd/cosign/cli/options/certificate.go;
 * pkg/cosign/verify.go CheckCertificatePolicy, validateCertExtensions), and
 * the claims read from a Fulcio certificate to check it against.
 *
 * Differences from cosign, all toward strictness:
 *
 * - a regular expression is anchored (it must match the whole value, as
 *   `^(?:re)$` would): cosign's Go `regexp.MatchString` finds a match
 *   anywhere, so `https://github.com/org/` would also accept
 *   `https://evil.example/?https://github.com/org/`. Otherwise it is read
 *   as cosign reads it, with Go's RE2 syntax (go-regexp.ts);
 * - an exact value is compared exactly (never as a pattern, the footgun of
 *   @sigstore/verify's policy, docs/formats.md "Sigstore keyless verification");
 * - both a subject and an issuer are required (cosign requires them on the
 *   command line too; here the type has no way to leave them out).
 *
 * The subject is matched against the certificate's SAN (URI or email, as
 * Fulcio issues exactly one). The issuer is read as sigstore-js reads it
 * (@sigstore/verify key/index.js getSigner): the DER UTF8String of OID
 * 1.3.6.1.4.1.57264.1.8 when present, else the raw value of the deprecated
 * 1.3.6.1.4.1.57264.1.1. The GitHub workflow claims are the raw values of
 * the deprecated OIDs .1.2-.1.6, compared exactly, as cosign's
 * `CertExtensions` getters read them.
 */
// Types only: policies load this module to compile identities; @sigstore/* only keyless checks need.
import type { X509Certificate } from '@sigstore/core';
import { invalid } from '../core/errors.ts';
import { compileGoRegexp, type GoRegexp, GoRegexpError } from './go-regexp.ts';

/** A value to match: exactly, or by an anchored regular expression. */
export type ValueMatcher =
  | { readonly exact: string }
  | {
      /** The pattern as the user wrote it (for messages). */
      readonly regexp: string;
      /** The pattern, compiled as Go compiles it. */
      readonly pattern: GoRegexp;
    };

/** The GitHub Actions workflow claims cosign can require (Fulcio OIDs 1.3.6.1.4.1.57264.1.2-.6). */
export interface GithubWorkflowClaims {
  /** OID .1.2, `--certificate-github-workflow-trigger` (e.g. `push`). */
  readonly trigger?: string;
  /** OID .1.3, `--certificate-github-workflow-sha` (the commit). */
  readonly sha?: string;
  /** OID .1.4, `--certificate-github-workflow-name`. */
  readonly name?: string;
  /** OID .1.5, `--certificate-github-workflow-repository` (`owner/repo`). */
  readonly repository?: string;
  /** OID .1.6, `--certificate-github-workflow-ref` (e.g. `refs/heads/main`). */
  readonly ref?: string;
}

/** The identity a certificate must carry for a keyless signature to count. */
export interface CertificateIdentity {
  /** The certificate's subject (SAN): an email, a workflow URI, ... */
  readonly subject: ValueMatcher;
  /** The OIDC issuer that vouched for the subject. */
  readonly issuer: ValueMatcher;
  /** Workflow claims that must each be present with exactly this value. */
  readonly github?: GithubWorkflowClaims;
}

/** What a Fulcio certificate claims about its holder. */
export interface CertificateClaims {
  /** The SAN (URI or email); empty when the certificate has none. */
  readonly subject: string;
  /** The OIDC issuer; empty when the certificate has none. */
  readonly issuer: string;
  /** The GitHub workflow claims present in the certificate. */
  readonly github: GithubWorkflowClaims;
}

/** An exact matcher. */
export function exactly(value: string): ValueMatcher {
  return { exact: value };
}

/**
 * A matcher for the whole value by `source`, a regular expression in Go's
 * RE2 syntax (as cosign's). The pattern is compiled on its own, never
 * spliced into `^(?:...)$`: `a)|(.*` would otherwise anchor nothing. Throws
 * `invalid` INVALID_REGEXP, with the parser's reason, when RE2 refuses it.
 */
export function matchingRegexp(source: string, what = 'the regular expression'): ValueMatcher {
  try {
    return { regexp: source, pattern: compileGoRegexp(source) };
  } catch (error) {
    if (!(error instanceof GoRegexpError)) throw error;
    throw invalid(
      'INVALID_REGEXP',
      `${what} ${JSON.stringify(source)} is not a valid regular expression (Go RE2 syntax, as cosign's: no backreferences or lookaround): ${error.message}`,
      { cause: error },
    );
  }
}

/** Whether `value` satisfies `matcher`. */
export function matches(matcher: ValueMatcher, value: string): boolean {
  return 'exact' in matcher ? matcher.exact === value : matcher.pattern.matchesWhole(value);
}

/** The matcher as a person would read it. */
export function describeMatcher(matcher: ValueMatcher): string {
  return 'exact' in matcher
    ? JSON.stringify(matcher.exact)
    : `a match of /^(?:${matcher.regexp})$/`;
}

const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const GITHUB_OIDS: Readonly<Record<keyof GithubWorkflowClaims, string>> = {
  trigger: '1.3.6.1.4.1.57264.1.2',
  sha: '1.3.6.1.4.1.57264.1.3',
  name: '1.3.6.1.4.1.57264.1.4',
  repository: '1.3.6.1.4.1.57264.1.5',
  ref: '1.3.6.1.4.1.57264.1.6',
};
const UTF8_STRING_TAG = 0x0c;

/** The claims of a (verified) Fulcio certificate. */
export function certificateClaims(certificate: X509Certificate): CertificateClaims {
  const v2 = certificate.extension(OID_ISSUER_V2);
  // A malformed value is no issuer, never a parse error out of a verification.
  const issuer =
    v2 !== undefined
      ? (derUtf8String(v2.value) ?? '')
      : (certificate.extension(OID_ISSUER_V1)?.value.toString('utf8') ?? '');
  const github: Partial<Record<keyof GithubWorkflowClaims, string>> = {};
  for (const [claim, oid] of Object.entries(GITHUB_OIDS) as [
    keyof GithubWorkflowClaims,
    string,
  ][]) {
    const extension = certificate.extension(oid);
    if (extension !== undefined) github[claim] = extension.value.toString('utf8');
  }
  return { subject: certificate.subjectAltName ?? '', issuer, github };
}

/**
 * The text of a DER UTF8String (tag 0x0c, definite minimal length, nothing
 * after it); undefined for anything else.
 */
function derUtf8String(der: Uint8Array): string | undefined {
  if (der[0] !== UTF8_STRING_TAG || der.length < 2) return undefined;
  const first = der[1] as number;
  let length: number;
  let start: number;
  if (first < 0x80) {
    [length, start] = [first, 2];
  } else if (first === 0x81 && (der[2] ?? 0) >= 0x80) {
    [length, start] = [der[2] as number, 3];
  } else if (first === 0x82 && (der[2] ?? 0) > 0) {
    [length, start] = [((der[2] as number) << 8) | (der[3] ?? 0), 4];
  } else {
    return undefined;
  }
  if (der.length !== start + length) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(der.subarray(start));
  } catch {
    return undefined;
  }
}

export type IdentityProblemCode =
  'CERT_ISSUER_MISMATCH' | 'CERT_IDENTITY_MISMATCH' | 'CERT_CLAIM_MISMATCH';

export interface IdentityProblem {
  readonly code: IdentityProblemCode;
  /** What was expected, what was found. */
  readonly message: string;
}

/** Why `claims` do not satisfy `identity`, or undefined when they do. */
export function identityProblem(
  claims: CertificateClaims,
  identity: CertificateIdentity,
): IdentityProblem | undefined {
  if (!matches(identity.issuer, claims.issuer)) {
    return {
      code: 'CERT_ISSUER_MISMATCH',
      message: `the certificate was issued for OIDC issuer ${found(claims.issuer)}, but ${describeMatcher(identity.issuer)} is required`,
    };
  }
  if (!matches(identity.subject, claims.subject)) {
    return {
      code: 'CERT_IDENTITY_MISMATCH',
      message: `the certificate's identity is ${found(claims.subject)}, but ${describeMatcher(identity.subject)} is required`,
    };
  }
  for (const [claim, wanted] of Object.entries(identity.github ?? {}) as [
    keyof GithubWorkflowClaims,
    string | undefined,
  ][]) {
    if (wanted === undefined) continue;
    const value = claims.github[claim];
    if (value !== wanted) {
      return {
        code: 'CERT_CLAIM_MISMATCH',
        message: `the certificate's GitHub workflow ${claim} (OID ${GITHUB_OIDS[claim]}) is ${found(value ?? '')}, but ${JSON.stringify(wanted)} is required`,
      };
    }
  }
  return undefined;
}

function found(value: string): string {
  if (value === '') return 'absent';
  const quoted = JSON.stringify(value);
  return quoted.length > 200 ? `${quoted.slice(0, 197)}...` : quoted;
}
