/**
 * Deciding which signatures of an image count (docs/design.md principle 2): a pure,
 * synchronous function of the evidence gathered by `evidence.ts`, the trusted
 * keys and the policy. No I/O.
 *
 * A signature counts only if, in this order (docs/formats.md "Verifying
 * (cosign and containers/image)"):
 *
 * 1. its signature verifies over the exact payload bytes with one of the
 *    trusted keys (SIGNATURE_INVALID otherwise) — checked first, so nothing an
 *    unauthenticated payload claims is reported as if it meant anything;
 * 1a. if the layer carries a Rekor bundle (`dev.sigstore.cosign/bundle`), its
 *    signed entry timestamp verifies with a trusted transparency log and the
 *    log entry binds this signature, key and payload (TLOG_* codes, see
 *    sigstore/rekor.ts); a layer without one counts by its key alone unless
 *    the policy requires the log (TLOG_MISSING);
 * 2. the payload parses strictly as a simple-signing payload, with
 *    containers/image's exact-fields rules (PAYLOAD_INVALID);
 * 3. its `docker-manifest-digest` is the digest of the image being verified
 *    (DIGEST_MISMATCH: a genuine signature for another image, replayed or
 *    copied here) — this is what binds a signature to an image;
 * 4. every required annotation (`-a key=value`) is in `optional` with exactly
 *    that string value (ANNOTATION_MISMATCH), compared as cosign does;
 * 5. with an `identityRule` (`vouch verify --signed-identity`, a policy
 *    authority's `signedIdentity`), the payload's `docker-reference`
 *    satisfies that containers-policy.json rule for the image as named
 *    (IDENTITY_MISMATCH), as containers/image's policy does. Without one, as in cosign, the
 *    `docker-reference` is reported but not required, so signatures survive
 *    copying between registries.
 *
 * Layers that could not be signatures at all (wrong media type, no signature
 * annotation, oversized, payload missing) are LAYER_INVALID. One counting
 * signature is enough for the image, as in cosign and containers/image.
 *
 * A bundle is checked whenever it is present, as cosign does: a bundle that
 * does not verify is evidence of tampering, not an absence of evidence. It
 * is not required by default, because the log is optional for key-based
 * signatures (vouch's own, containers/image's without `rekorPublicKey`) and
 * an unsigned annotation can always be stripped: only `requireTlog` makes
 * the log a condition. With no `trust.tlogs`, no log is trusted, so a
 * signature carrying a bundle does not count (TLOG_LOG_UNKNOWN).
 *
 * A certificate annotation on a layer is not consulted with keys: the
 * signature is verified by the key.
 *
 * Keyless (`trust.identity`): step 1 and 1a are instead the keyless checks
 * of `sigstore/keyless.ts` on the layer turned into a Sigstore bundle
 * (`formats/classic-bundle.ts`): the certificate chains to a CA of the trust
 * root valid at signing time, its SCT verifies, the Rekor SET verifies and
 * the log entry binds this signature, payload and certificate, the signature
 * verifies with the certificate's key, and the certificate's identity and
 * issuer are the ones required (CERT_*, SCT_INVALID, TLOG_*,
 * SIGNATURE_INVALID). A layer without a certificate never counts keylessly
 * (CERT_MISSING), nor one without a Rekor bundle (TLOG_MISSING). Steps 2-5
 * apply unchanged.
 */
import type { KeyObject } from 'node:crypto';
import { invalid, isVouchError, messageOf } from '../core/errors.ts';
import {
  type AnnotationMismatch,
  parseSimpleSigningPayload,
  type SimpleSigningPayload,
  unmatchedAnnotations,
} from '../formats/simple-signing.ts';
import type { JsonObject } from '../core/strict-json.ts';
import type { IdentityRule } from '../formats/containers-policy/policy-json.ts';
import {
  describeIdentityRule,
  matchesSignedIdentity,
} from '../formats/containers-policy/signed-identity.ts';
import type { Digest } from '../oci/digest.ts';
import type { ImageReference } from '../oci/reference.ts';
import { verifySignature } from '../keys/signer.ts';
import { BUNDLE_ANNOTATION } from '../formats/signature-manifest.ts';
// Types only: the keyless code is reached through `CertificateTrust.verifyLayer`.
import type { ClassicBundleProblemCode, ClassicLayer } from '../formats/classic-bundle.ts';
import type { CertificateIdentity } from '../sigstore/certificate-identity.ts';
import type { BundleVerification, KeylessProblemCode, KeylessSigner } from '../sigstore/keyless.ts';
import type { Bundle } from '@sigstore/bundle';
import type { ClassicLayerKind, LayerVerification } from './certificate-trust.ts';
import { checkRekorBundle, type TlogProblemCode } from '../sigstore/rekor.ts';
import type { TransparencyLog } from '../sigstore/trusted-root.ts';
import type { Evidence, LayerEvidenceProblem, SignatureEvidence } from './evidence.ts';

/** Who may have signed: trusted keys, or a certificate identity under a trust root. */
export type CosignTrust = KeyTrust | CertificateTrust;

export interface KeyTrust {
  /** Public keys; a signature counts if any of them verifies it. */
  readonly keys: readonly KeyObject[];
  /**
   * Transparency logs whose signed entry timestamps are trusted, for the
   * signatures that carry a Rekor bundle. Absent: none.
   */
  readonly tlogs?: readonly TransparencyLog[];
}

/**
 * Keyless: a Fulcio certificate with this identity, checked against a trust
 * root. Built by `certificateTrust` (verify/certificate-trust.ts), the module
 * that loads @sigstore/*, so that key verification never does.
 */
export interface CertificateTrust {
  readonly identity: CertificateIdentity;
  /** The keyless checks of one classic layer, for `identity`. */
  readonly verifyLayer: (kind: ClassicLayerKind, layer: ClassicLayer) => LayerVerification;
  /**
   * The keyless checks of a Sigstore bundle stored as such (an OCI referrer,
   * cosign 3), for `identity`; a DSSE bundle's envelope is checked as it is
   * in the bundle.
   */
  readonly verifyBundle: (bundle: Bundle) => BundleVerification;
}

/** Whether `trust` is by keys (rather than a certificate identity). */
export function isKeyTrust(trust: CosignTrust): trust is KeyTrust {
  return 'keys' in trust;
}

/** Throws `invalid` NO_TRUSTED_KEYS for key trust without a key. */
export function checkTrust(trust: CosignTrust, what: string): void {
  if (isKeyTrust(trust) && trust.keys.length === 0) {
    throw invalid('NO_TRUSTED_KEYS', `at least one public key is needed to verify ${what}`);
  }
}

export interface Policy {
  /** Required `optional` entries of the payload, compared as exact strings. */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * A containers-policy.json `signedIdentity` rule the payload's
   * `docker-reference` must satisfy for the image `intended` (the reference
   * it is checked under), decided by formats/containers-policy/signed-identity.ts
   * as containers/image's sigstoreSigned does. Absent: not checked.
   */
  readonly identityRule?: { readonly rule: IdentityRule; readonly intended: ImageReference };
  /**
   * Count only signatures logged in a trusted transparency log: a signature
   * without a Rekor bundle is TLOG_MISSING. Off by default.
   */
  readonly requireTlog?: boolean;
}

export type RejectionCode =
  | 'SIGNATURE_INVALID'
  | 'PAYLOAD_INVALID'
  | 'DIGEST_MISMATCH'
  | 'ANNOTATION_MISMATCH'
  | 'IDENTITY_MISMATCH'
  | 'LAYER_INVALID'
  | 'TLOG_MISSING'
  | TlogProblemCode
  | KeylessProblemCode
  | ClassicBundleProblemCode;

/** Where and when a transparency log recorded a signature (its verified Rekor bundle). */
export interface LoggedSignature {
  /** Hex log ID of the log that signed the entry timestamp. */
  readonly logId: string;
  /** The log's URL, when the trust material names one. */
  readonly logUrl?: string;
  readonly logIndex: number;
  /** Seconds since the Unix epoch at which the log integrated the entry. */
  readonly integratedTime: number;
}

/** What verified a signature: one of `trust.keys` (its index), or a certificate. */
export type SignedBy =
  | { readonly key: number; readonly certificate?: never }
  | { readonly certificate: KeylessSigner; readonly key?: never };

export type VerifiedSignature = SignedBy & VerifiedSignatureFields;

export interface VerifiedSignatureFields {
  /** Position of the layer in the signature manifest. */
  readonly index: number;
  /** The layer's digest: the digest of the payload. */
  readonly layer: Digest;
  /** The identity the signer claimed (`critical.identity.docker-reference`). */
  readonly dockerReference: string;
  /** The payload's `optional` object as signed (cosign's `-a` annotations), or null. */
  readonly annotations: JsonObject | null;
  /** The verified Rekor bundle, when the signature carries one (always, keylessly). */
  readonly tlog?: LoggedSignature;
}

export interface Rejection {
  readonly code: RejectionCode;
  /** What was expected, what was found. */
  readonly message: string;
}

export interface RejectedSignature {
  readonly index: number;
  readonly layer: Digest;
  readonly reason: Rejection;
  /**
   * The trusted key that did verify the signature, when it was a claim of the
   * payload that failed (digest, annotations, identity): a genuine signature,
   * for something else.
   */
  readonly key?: number;
  /** For LAYER_INVALID: what was wrong with the layer. */
  readonly problem?: LayerEvidenceProblem;
}

export interface Verdict {
  /** The image digest the signatures were checked against. */
  readonly digest: Digest;
  /** The signatures that count; the image is verified when there is at least one. */
  readonly verified: readonly VerifiedSignature[];
  /** Every other layer of the signature manifest, with why it did not count. */
  readonly rejected: readonly RejectedSignature[];
}

/** Decides which signatures in `evidence` count under `trust` and `policy`. */
export function evaluate(evidence: Evidence, trust: CosignTrust, policy: Policy = {}): Verdict {
  checkTrust(trust, 'signatures');
  const digest = evidence.image.digest;
  const verified: VerifiedSignature[] = [];
  const rejected: RejectedSignature[] = evidence.rejectedLayers.map((layer) => ({
    index: layer.index,
    layer: layer.layer.digest,
    reason: { code: 'LAYER_INVALID', message: layer.reason },
    problem: layer.problem,
  }));
  for (const signature of evidence.signatures) {
    const outcome = check(signature, digest, trust, policy);
    if ('reason' in outcome) rejected.push(outcome);
    else verified.push(outcome);
  }
  rejected.sort((a, b) => a.index - b.index);
  return { digest, verified, rejected };
}

function check(
  evidence: SignatureEvidence,
  digest: Digest,
  trust: CosignTrust,
  policy: Policy,
): VerifiedSignature | RejectedSignature {
  const { index, payload } = evidence;
  const layer = evidence.layer.digest;
  const where = `layer ${index} (${layer})`;
  const reject = (code: RejectionCode, message: string, key?: number): RejectedSignature => ({
    index,
    layer,
    reason: { code, message: `${where}: ${message}` },
    ...(key === undefined ? {} : { key }),
  });

  const signer = isKeyTrust(trust)
    ? checkByKey(evidence, trust, policy)
    : checkByCertificate(evidence, trust);
  if ('code' in signer) return reject(signer.code, signer.message, signer.key);
  const { signedBy, tlog } = signer;
  const key = signedBy.key;

  let parsed: SimpleSigningPayload;
  try {
    parsed = parseSimpleSigningPayload(payload, where);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return {
      index,
      layer,
      reason: { code: 'PAYLOAD_INVALID', message: messageOf(error) },
      ...(key === undefined ? {} : { key }),
    };
  }

  if (parsed.dockerManifestDigest !== digest) {
    return reject(
      'DIGEST_MISMATCH',
      `the payload is signed for image ${parsed.dockerManifestDigest}, not for this image ${digest} (a signature of another image, copied or replayed here)`,
      key,
    );
  }

  const mismatches = unmatchedAnnotations(parsed, policy.annotations ?? {});
  if (mismatches.length > 0) {
    return reject('ANNOTATION_MISMATCH', mismatches.map(describeMismatch).join('; '), key);
  }

  if (policy.identityRule !== undefined) {
    const { rule, intended } = policy.identityRule;
    if (!matchesSignedIdentity(rule, intended, parsed.dockerReference)) {
      return reject(
        'IDENTITY_MISMATCH',
        `the signed docker-reference ${quote(parsed.dockerReference)} is not accepted by ${describeIdentityRule(rule, intended)}`,
        key,
      );
    }
  }

  return {
    index,
    layer,
    ...signedBy,
    dockerReference: parsed.dockerReference,
    annotations: parsed.optional,
    ...(tlog === undefined ? {} : { tlog }),
  };
}

interface Signer {
  readonly signedBy: SignedBy;
  readonly tlog?: LoggedSignature;
}

interface SignerProblem extends Rejection {
  /** The key that verified the signature, when the log check failed after it. */
  readonly key?: number;
}

/** Step 1 and 1a with keys: the signature, then the Rekor bundle if any. */
function checkByKey(
  evidence: SignatureEvidence,
  trust: KeyTrust,
  policy: Policy,
): Signer | SignerProblem {
  const { payload, signature } = evidence;
  const key = trust.keys.findIndex((candidate) => verifySignature(candidate, payload, signature));
  if (key === -1) {
    const keys =
      trust.keys.length === 1 ? 'the trusted key' : `any of the ${trust.keys.length} trusted keys`;
    return {
      code: 'SIGNATURE_INVALID',
      message: `the signature does not verify over the payload with ${keys} (signed by another key, or altered)`,
    };
  }
  const bundle = evidence.annotations[BUNDLE_ANNOTATION];
  if (bundle === undefined) {
    if (policy.requireTlog === true) {
      return {
        code: 'TLOG_MISSING',
        message:
          'the signature carries no Rekor bundle, and signatures must be logged in a transparency log',
        key,
      };
    }
    return { signedBy: { key } };
  }
  const publicKey = trust.keys[key] as KeyObject;
  const entry = checkRekorBundle(bundle, { payload, signature, publicKey }, trust.tlogs ?? []);
  if ('code' in entry) return { code: entry.code, message: entry.message, key };
  const { log, logIndex, integratedTime } = entry;
  return {
    signedBy: { key },
    tlog: {
      logId: log.logId,
      ...(log.baseUrl === '' ? {} : { logUrl: log.baseUrl }),
      logIndex,
      integratedTime,
    },
  };
}

/** Step 1 and 1a keylessly: the layer as a bundle, verified for the identity. */
function checkByCertificate(
  evidence: SignatureEvidence,
  trust: CertificateTrust,
): Signer | SignerProblem {
  const result = trust.verifyLayer('signature', {
    blob: evidence.payload,
    annotations: evidence.annotations,
  });
  if (!result.ok) return { code: result.code, message: result.message };
  return { signedBy: { certificate: result }, tlog: loggedSignatureOf(result) };
}

/** The first log entry of a keyless signature, as a key signature's would be reported. */
export function loggedSignatureOf(signer: KeylessSigner): LoggedSignature {
  const [entry] = signer.tlog as [KeylessSigner['tlog'][number]];
  return {
    logId: entry.logId,
    ...(entry.logUrl === undefined ? {} : { logUrl: entry.logUrl }),
    logIndex: entry.logIndex,
    integratedTime: entry.integratedTime,
  };
}

function describeMismatch(mismatch: AnnotationMismatch): string {
  const { key, expected, found } = mismatch;
  const required = `required annotation ${quote(key)}=${quote(expected)}`;
  if (found === undefined) return `${required} is not signed`;
  return `${required}: the signed value is ${truncate(JSON.stringify(found))}`;
}

function quote(text: string): string {
  return truncate(JSON.stringify(text));
}

function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
