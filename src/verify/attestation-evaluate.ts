/**
 * Deciding which attestations of an image count: a pure, synchronous
 * function of the evidence (attestation-evidence.ts), the trusted keys and
 * the predicate type asked for. No I/O.
 *
 * An attestation counts only if, in this order (cosign
 * pkg/cosign/verify.go verifyOCIAttestation, pkg/cosign/verifiers.go
 * IntotoSubjectClaimVerifier, pkg/policy/attestation.go; docs/formats.md
 * "Cosign attestations"):
 *
 * 1. its layer blob is a well-formed DSSE envelope (ENVELOPE_INVALID);
 * 2. one of its signatures verifies over PAE(payloadType, payload) with one
 *    of the trusted keys (SIGNATURE_INVALID) — before anything the envelope
 *    claims is believed;
 * 3. its payloadType is `application/vnd.in-toto+json` (PAYLOAD_TYPE_MISMATCH);
 * 4. the payload parses strictly as an in-toto statement, v1 or v0.1
 *    (STATEMENT_INVALID);
 * 5. some subject's digest is the image's digest (DIGEST_MISMATCH: a genuine
 *    attestation of another image, replayed here);
 * 6. the statement's `predicateType` is exactly the one asked for
 *    (PREDICATE_TYPE_MISMATCH). A valid attestation of another type is
 *    reported as not counted, never as satisfying the request
 *    (CVE-2022-35929). The layer's `predicateType` annotation is not
 *    consulted: it is not signed.
 *
 * Layers that could not be attestations at all (wrong media type, oversized,
 * envelope missing) are LAYER_INVALID. One counting attestation is enough.
 * With keys, certificates and Rekor bundles on an `.att` layer are not
 * consulted: the key alone decides.
 *
 * Keyless (`trust.identity`), step 2 is instead the keyless checks of
 * `sigstore/keyless.ts` on the layer turned into a DSSE Sigstore bundle
 * (`formats/classic-bundle.ts`): certificate chain, validity at signing
 * time, SCT, Rekor SET, a `dsse` 0.0.1 or `intoto` 0.0.1 log entry binding
 * this envelope, payload and certificate, the signature over the PAE, and
 * the certificate's identity and issuer (CERT_*, SCT_INVALID, TLOG_*,
 * SIGNATURE_INVALID). A layer without a certificate never counts keylessly
 * (CERT_MISSING). Steps 3-6 apply unchanged.
 *
 * Sigstore bundles stored as OCI referrers (cosign 3's form,
 * bundle-evidence.ts) go through the same checks from step 2 on, with the
 * bundle's DSSE envelope (the bundle reader already allowed exactly one
 * signature); a bundle holding a message signature instead of an envelope is
 * ENVELOPE_INVALID, a referrer that is not a readable bundle about this image
 * is LAYER_INVALID. With a key, the bundle's verification material and
 * transparency log entries are reported, not consulted, as for the `.att`
 * form; keylessly, the bundle as stored is what `sigstore/keyless.ts`
 * verifies. Each result says which form it came from (`source`).
 */
import type { KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { invalid, isVouchError, messageOf } from '../core/errors.ts';
import type { ClassicBundleProblemCode } from '../formats/classic-bundle.ts';
import type { KeylessProblemCode } from '../sigstore/keyless.ts';
import {
  type Envelope,
  IN_TOTO_PAYLOAD_TYPE,
  parseEnvelope,
  preAuthEncoding,
} from '../formats/dsse.ts';
import { parseStatement, type Statement, statementNames } from '../formats/in-toto.ts';
import type { JsonObject } from '../core/strict-json.ts';
import { verifySignature } from '../keys/signer.ts';
import type { Digest } from '../oci/digest.ts';
import type {
  AttestationEvidence,
  AttestationLayerEvidence,
  AttestationLayerEvidenceProblem,
} from './attestation-evidence.ts';
import type {
  BundleEvidence,
  BundleReferrerEvidence,
  BundleReferrerEvidenceProblem,
} from './bundle-evidence.ts';
import {
  type CertificateTrust,
  checkTrust,
  isKeyTrust,
  type SignedBy,
  type CosignTrust,
} from './evaluate.ts';

export interface AttestationPolicy {
  /**
   * The predicate type URI a statement must have to count. `null` lets every
   * type count: for listing what is attached (`vouch download`), never for a
   * decision that something of a particular type was attested.
   */
  readonly predicateType: string | null;
}

export type AttestationRejectionCode =
  | 'LAYER_INVALID'
  | 'ENVELOPE_INVALID'
  | 'SIGNATURE_INVALID'
  | 'PAYLOAD_TYPE_MISMATCH'
  | 'STATEMENT_INVALID'
  | 'DIGEST_MISMATCH'
  | 'PREDICATE_TYPE_MISMATCH'
  | KeylessProblemCode
  | ClassicBundleProblemCode;

/**
 * Where a statement was stored: a layer of cosign's `.att` manifest, or a
 * Sigstore bundle in an OCI referrer of the image (with the referrer
 * manifest's digest, the kind of verification material the bundle carries
 * and how many transparency log entries it holds, unchecked with a key).
 */
export type AttestationSource =
  | { readonly form: 'att' }
  | {
      readonly form: 'bundle';
      readonly referrer: Digest;
      readonly material?: 'public-key' | 'certificate' | 'x509-chain';
      readonly tlogEntries?: number;
    };

export type VerifiedAttestation = SignedBy & VerifiedAttestationFields;

export interface VerifiedAttestationFields {
  readonly source: AttestationSource;
  /** Position of the layer in the attestation manifest, or of the referrer among the bundle referrers. */
  readonly index: number;
  /** The layer's digest: the digest of the envelope (`.att`) or of the bundle. */
  readonly layer: Digest;
  readonly predicateType: string;
  /** The statement as signed (parsed), for output. */
  readonly statement: JsonObject;
  /** The envelope bytes as stored. */
  readonly envelope: Uint8Array;
}

export interface AttestationRejection {
  readonly code: AttestationRejectionCode;
  /** What was expected, what was found. */
  readonly message: string;
}

export interface RejectedAttestation {
  readonly source: AttestationSource;
  readonly index: number;
  readonly layer: Digest;
  readonly reason: AttestationRejection;
  /**
   * The trusted key that did verify the envelope, when a claim of the
   * statement failed (payload type, statement, digest, predicate type): a
   * genuine attestation, for something else.
   */
  readonly key?: number;
  /** The statement's predicate type, when the statement could be read. */
  readonly predicateType?: string;
  /** For LAYER_INVALID: what was wrong with the layer or the bundle referrer. */
  readonly problem?: AttestationLayerEvidenceProblem | BundleReferrerEvidenceProblem;
}

export interface AttestationVerdict {
  /** The image digest the statements were checked against. */
  readonly digest: Digest;
  /** The predicate type asked for (null: any). */
  readonly predicateType: string | null;
  /** The attestations that count; the image is verified when there is at least one. */
  readonly verified: readonly VerifiedAttestation[];
  /** Every other layer of the attestation manifest, with why it did not count. */
  readonly rejected: readonly RejectedAttestation[];
}

/** Decides which attestations in `evidence` count under `trust` and `policy`. */
export function evaluateAttestations(
  evidence: AttestationEvidence,
  trust: CosignTrust,
  policy: AttestationPolicy,
): AttestationVerdict {
  checkTrust(trust, 'attestations');
  if (
    policy.predicateType !== null &&
    (typeof policy.predicateType !== 'string' || policy.predicateType === '')
  ) {
    throw invalid('INVALID_PREDICATE_TYPE', 'the predicate type asked for must be a non-empty URI');
  }
  const digest = evidence.image.digest;
  const verified: VerifiedAttestation[] = [];
  const rejected: RejectedAttestation[] = evidence.rejectedLayers.map((layer) => ({
    source: ATT,
    index: layer.index,
    layer: layer.layer.digest,
    reason: { code: 'LAYER_INVALID', message: layer.reason },
    problem: layer.problem,
  }));
  for (const attestation of evidence.attestations) {
    const outcome = check(attestation, ATT, digest, trust, policy);
    if ('reason' in outcome) rejected.push(outcome);
    else verified.push(outcome);
  }
  rejected.sort((a, b) => a.index - b.index);
  // `.att` layers first, then bundle referrers, each in order.
  if (evidence.bundles !== undefined) {
    const bundles = evaluateBundleStatements(evidence.bundles, digest, trust, policy);
    verified.push(...bundles.verified);
    rejected.push(...bundles.rejected);
  }
  return { digest, predicateType: policy.predicateType, verified, rejected };
}

/**
 * The statements in the Sigstore bundle referrers of `digest`, through the
 * same checks as `.att` layers (see the module comment); in referrer order.
 * `evaluateAttestations` uses it, and signature verification for cosign 3's
 * bundle signatures (bundle-signatures.ts).
 */
export function evaluateBundleStatements(
  bundles: BundleEvidence,
  digest: Digest,
  trust: CosignTrust,
  policy: AttestationPolicy,
): { verified: VerifiedAttestation[]; rejected: RejectedAttestation[] } {
  const verified: VerifiedAttestation[] = [];
  const rejected: RejectedAttestation[] = bundles.rejectedReferrers.map((referrer) => ({
    source: { form: 'bundle', referrer: referrer.referrer },
    index: referrer.index,
    layer: referrer.referrer,
    reason: {
      // A root CA in the chain is refused as it is read, for what it is.
      code:
        referrer.problem === 'chain-includes-root' ? 'CERT_CHAIN_INCLUDES_ROOT' : 'LAYER_INVALID',
      message: referrer.reason,
    },
    problem: referrer.problem,
  }));
  for (const bundle of bundles.bundles) {
    const outcome = checkBundle(bundle, digest, trust, policy);
    if ('reason' in outcome) rejected.push(outcome);
    else verified.push(outcome);
  }
  rejected.sort((a, b) => a.index - b.index);
  return { verified, rejected };
}

const ATT: AttestationSource = { form: 'att' };

/** A bundle referrer's DSSE envelope, through the same checks as an `.att` layer's. */
function checkBundle(
  evidence: BundleReferrerEvidence,
  digest: Digest,
  trust: CosignTrust,
  policy: AttestationPolicy,
): VerifiedAttestation | RejectedAttestation {
  const { index, bundle } = evidence;
  const source: AttestationSource = {
    form: 'bundle',
    referrer: evidence.referrer,
    material: bundle.material.kind,
    tlogEntries: bundle.tlogEntries.length,
  };
  if (bundle.content.kind !== 'dsse-envelope') {
    return {
      source,
      index,
      layer: evidence.layer.digest,
      reason: {
        code: 'ENVELOPE_INVALID',
        message: `referrer ${index} (${evidence.referrer}): the bundle holds a message signature, not a DSSE envelope with an in-toto statement`,
      },
    };
  }
  return check(
    {
      index,
      layer: evidence.layer,
      envelope: bundle.content.envelopeJson,
      annotations: evidence.annotations,
    },
    source,
    digest,
    trust,
    policy,
    bundle.bundle,
  );
}

/**
 * Steps 2-6 for one envelope: an `.att` layer's, or the one in `stored`, a
 * Sigstore bundle kept as a referrer (which keyless verification checks as
 * a whole).
 */
function check(
  evidence: AttestationLayerEvidence,
  source: AttestationSource,
  digest: Digest,
  trust: CosignTrust,
  policy: AttestationPolicy,
  stored?: Bundle,
): VerifiedAttestation | RejectedAttestation {
  const { index } = evidence;
  const layer = evidence.layer.digest;
  const where =
    source.form === 'att'
      ? `layer ${index} (${layer})`
      : `bundle referrer ${index} (${source.referrer})`;
  const reject = (
    code: AttestationRejectionCode,
    message: string,
    extra: { key?: number; predicateType?: string } = {},
  ): RejectedAttestation => ({
    source,
    index,
    layer,
    reason: { code, message: `${where}: ${message}` },
    ...extra,
  });

  let envelope: Envelope;
  try {
    envelope = parseEnvelope(evidence.envelope, where);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return {
      source,
      index,
      layer,
      reason: { code: 'ENVELOPE_INVALID', message: messageOf(error) },
    };
  }

  const signedBy = isKeyTrust(trust)
    ? checkByKey(envelope, trust.keys)
    : checkByCertificate(evidence, trust, stored);
  if ('code' in signedBy) return reject(signedBy.code, signedBy.message);
  const key = signedBy.key;
  const claimed = (predicateType?: string) => ({
    ...(key === undefined ? {} : { key }),
    ...(predicateType === undefined ? {} : { predicateType }),
  });

  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return reject(
      'PAYLOAD_TYPE_MISMATCH',
      `the envelope's payloadType is ${JSON.stringify(envelope.payloadType)}, expected ${JSON.stringify(IN_TOTO_PAYLOAD_TYPE)}`,
      claimed(),
    );
  }

  let statement: Statement;
  try {
    statement = parseStatement(envelope.payload, where);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return {
      source,
      index,
      layer,
      reason: { code: 'STATEMENT_INVALID', message: messageOf(error) },
      ...claimed(),
    };
  }
  const { predicateType } = statement;

  if (!statementNames(statement, digest)) {
    return reject(
      'DIGEST_MISMATCH',
      `the statement is about ${describeSubjects(statement)}, not this image ${digest} (an attestation of another image, copied or replayed here)`,
      claimed(predicateType),
    );
  }

  if (policy.predicateType !== null && predicateType !== policy.predicateType) {
    return reject(
      'PREDICATE_TYPE_MISMATCH',
      `a valid attestation of type ${predicateType}, not of the type asked for (${policy.predicateType}); not counted`,
      claimed(predicateType),
    );
  }

  return {
    source,
    index,
    layer,
    ...signedBy,
    predicateType,
    statement: statement.document,
    envelope: evidence.envelope,
  };
}

/** Step 2 with keys: the first trusted key that verifies some signature of the envelope. */
function checkByKey(
  envelope: Envelope,
  keys: readonly KeyObject[],
): SignedBy | AttestationRejection {
  const pae = preAuthEncoding(envelope.payloadType, envelope.payload);
  // The keyid is an unauthenticated hint (DSSE): every signature is tried with every key.
  const key = keys.findIndex((candidate) =>
    envelope.signatures.some((signature) => verifySignature(candidate, pae, signature.sig)),
  );
  if (key !== -1) return { key };
  const which = keys.length === 1 ? 'the trusted key' : `any of the ${keys.length} trusted keys`;
  return {
    code: 'SIGNATURE_INVALID',
    message: `no signature of the envelope verifies over its PAE with ${which} (signed by another key, or altered)`,
  };
}

/**
 * Step 2 keylessly, verified for the identity: the bundle as stored, or the
 * `.att` layer turned into a DSSE bundle.
 */
function checkByCertificate(
  evidence: AttestationLayerEvidence,
  trust: CertificateTrust,
  stored: Bundle | undefined,
): SignedBy | AttestationRejection {
  const result =
    stored === undefined
      ? trust.verifyLayer('attestation', {
          blob: evidence.envelope,
          annotations: evidence.annotations,
        })
      : trust.verifyBundle(stored);
  if (!result.ok) return { code: result.code, message: result.message };
  return { certificate: result };
}

function describeSubjects(statement: Statement): string {
  const digests = statement.subjects.flatMap((subject) =>
    Object.entries(subject.digest).map(([algorithm, hex]) => truncate(`${algorithm}:${hex}`)),
  );
  const shown = digests.slice(0, 3).join(', ');
  return digests.length > 3 ? `${shown} and ${digests.length - 3} more` : shown;
}

function truncate(text: string): string {
  return text.length > 140 ? `${text.slice(0, 137)}...` : text;
}
