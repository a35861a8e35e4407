/**
 * cosign 3's image signatures (`cosign sign --new-bundle-format`, its default;
 * sigstore/cosign@d6d86c22 cmd/cosign/cli/sign/sign.go signDigestBundle): not
 * a simple-signing payload in a `.sig` layer but a Sigstore bundle referrer
 * whose DSSE envelope holds an in-toto statement about the image with
 * predicate type `https://sigstore.dev/cosign/sign/v1`, an empty predicate,
 * and cosign's `-a` annotations on the subject. Pure: decides on the bundle
 * evidence (bundle-evidence.ts) with no I/O.
 *
 * Such a bundle counts as a signature only if it passes every check of an
 * attestation (attestation-evaluate.ts: a key or, keylessly, the certificate
 * verifies the envelope's PAE,
 * the payload type is in-toto, the statement parses, a subject is this
 * digest) with exactly that predicate type — bundles of other types are
 * attestations, not signatures, and are left out of the report — and then
 * the signature policy:
 * - required annotations (`-a`) must be on the subject naming the image, as
 *   exact strings (ANNOTATION_MISMATCH);
 * - a required signed identity cannot be satisfied: the statement names no
 *   `docker-reference` (IDENTITY_MISMATCH);
 * - with a key, a required transparency log is not satisfied by a bundle,
 *   whose log entries this version verifies only keylessly (TLOG_MISSING);
 *   keylessly the log entry is always required and verified.
 *
 * Which bundles are attestations is decided on the statement's predicate
 * type before anything is verified: that claim is unauthenticated, but it
 * only keeps attestations that fail verification (another signer, another
 * identity) out of the signature report; it never makes a bundle count, as
 * a bundle that verifies is the very statement that claimed another type.
 */
import { isVouchError } from '../core/errors.ts';
import { parseStatement } from '../formats/in-toto.ts';
import { COSIGN_SIGN_PREDICATE_TYPE } from '../formats/sigstore-bundle.ts';
import { isJsonObject, type JsonValue } from '../core/strict-json.ts';
import { type Digest, digestAlgorithm, digestHex } from '../oci/digest.ts';
import {
  type AttestationRejectionCode,
  evaluateBundleStatements,
  type RejectedAttestation,
  type VerifiedAttestation,
} from './attestation-evaluate.ts';
import type { BundleEvidence, BundleReferrerEvidence } from './bundle-evidence.ts';
import type { Policy, CosignTrust } from './evaluate.ts';

export type BundleSignatureRejectionCode =
  | Exclude<AttestationRejectionCode, 'PREDICATE_TYPE_MISMATCH'>
  | 'ANNOTATION_MISMATCH'
  | 'IDENTITY_MISMATCH'
  | 'TLOG_MISSING';

export type RejectedBundleSignature = Omit<RejectedAttestation, 'reason'> & {
  readonly reason: { readonly code: BundleSignatureRejectionCode; readonly message: string };
};

export interface BundleSignatureVerdict {
  /** Where the referrers were listed. */
  readonly referrersLocation: string;
  /** The cosign 3 signatures that count; each `statement` is the signed statement. */
  readonly verified: readonly VerifiedAttestation[];
  /** The others, with why; attestations of other predicate types are left out. */
  readonly rejected: readonly RejectedBundleSignature[];
}

/** Decides which bundle referrers in `bundles` are cosign 3 signatures that count. */
export function evaluateBundleSignatures(
  bundles: BundleEvidence,
  trust: CosignTrust,
  policy: Policy = {},
): BundleSignatureVerdict {
  const digest = bundles.image.digest;
  const candidates: BundleEvidence = {
    ...bundles,
    bundles: bundles.bundles.filter((bundle) => !claimsOtherPredicateType(bundle)),
  };
  const statements = evaluateBundleStatements(candidates, digest, trust, {
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
  });
  const verified: VerifiedAttestation[] = [];
  const rejected: RejectedBundleSignature[] = [];
  for (const candidate of statements.rejected) {
    const { code } = candidate.reason;
    if (code === 'PREDICATE_TYPE_MISMATCH') continue;
    rejected.push({ ...candidate, reason: { code, message: candidate.reason.message } });
  }
  for (const signature of statements.verified) {
    const problem = policyProblem(signature, digest, policy);
    if (problem === undefined) verified.push(signature);
    else {
      const { statement: _statement, envelope: _envelope, ...rest } = signature;
      rejected.push({
        ...rest,
        reason: {
          code: problem.code,
          message: `bundle referrer ${signature.index} (${referrerOf(signature)}): ${problem.message}`,
        },
      });
    }
  }
  rejected.sort((a, b) => a.index - b.index);
  return { referrersLocation: bundles.referrersLocation, verified, rejected };
}

/** Whether the bundle's (unverified) statement parses and names a predicate type other than a signature's. */
function claimsOtherPredicateType(evidence: BundleReferrerEvidence): boolean {
  const { content } = evidence.bundle;
  if (content.kind !== 'dsse-envelope') return false;
  try {
    return parseStatement(content.envelope.payload).predicateType !== COSIGN_SIGN_PREDICATE_TYPE;
  } catch (error) {
    if (isVouchError(error)) return false;
    throw error;
  }
}

function referrerOf(signature: VerifiedAttestation): string {
  return signature.source.form === 'bundle' ? signature.source.referrer : signature.layer;
}

function policyProblem(
  signature: VerifiedAttestation,
  digest: Digest,
  policy: Policy,
): { code: BundleSignatureRejectionCode; message: string } | undefined {
  if (policy.identityRule !== undefined) {
    return {
      code: 'IDENTITY_MISMATCH',
      message:
        'a cosign 3 bundle signature names no docker-reference, so it cannot satisfy a required signed identity',
    };
  }
  if (policy.requireTlog === true && !('certificate' in signature)) {
    return {
      code: 'TLOG_MISSING',
      message:
        'with a key, the transparency log entries of a Sigstore bundle are not verified by this version of vouch, so it cannot satisfy a required log',
    };
  }
  const required = Object.entries(policy.annotations ?? {});
  if (required.length === 0) return undefined;
  const annotations = subjectAnnotations(signature.statement.subject, digest);
  const missing = required.filter(([key, value]) => annotations?.[key] !== value);
  if (missing.length === 0) return undefined;
  return {
    code: 'ANNOTATION_MISMATCH',
    message: `the statement's subject does not carry ${missing
      .map(([key, value]) => `${JSON.stringify(key)}=${JSON.stringify(value)}`)
      .join(', ')} (signed annotations: ${JSON.stringify(annotations ?? {})})`,
  };
}

/** The annotations of the subject naming `digest`, or undefined when it has none. */
function subjectAnnotations(
  subjects: JsonValue | undefined,
  digest: Digest,
): Readonly<Record<string, JsonValue>> | undefined {
  if (!Array.isArray(subjects)) return undefined;
  const algorithm = digestAlgorithm(digest);
  for (const subject of subjects as readonly JsonValue[]) {
    if (!isJsonObject(subject)) continue;
    const digests = subject.digest;
    if (!isJsonObject(digests) || digests[algorithm] !== digestHex(digest)) continue;
    const annotations = subject.annotations;
    if (isJsonObject(annotations)) return annotations;
  }
  return undefined;
}
