/**
 * The attestation verification use-case, as verify.ts is for signatures: for
 * each image, gather the `.att` layers and the Sigstore bundle referrers
 * (I/O), then decide with
 * `evaluateAttestations` (pure). Images are verified concurrently with a
 * bound; one image's failure never stops the others. Every image ends in one
 * of four statuses:
 *
 * - `verified`: at least one attestation of the type asked for counts;
 * - `denied`: none counts — no attestations (NO_ATTESTATIONS), or none valid
 *   of that type (NO_VALID_ATTESTATION), or a manifest that may not be
 *   examined (TOO_MANY_ATTESTATIONS, ATTESTATION_MANIFEST_INVALID);
 * - `invalid`: the image does not exist or cannot be named;
 * - `unavailable`: the evidence could not be gathered.
 */
import { denied, type VouchError } from '../core/errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { Stores } from '../registry/open.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import {
  type AttestationPolicy,
  type AttestationVerdict,
  evaluateAttestations,
} from './attestation-evaluate.ts';
import {
  type AttestationEvidence,
  type AttestationGatherLimits,
  fetchAttestations,
} from './attestation-evidence.ts';
import { checkTrust, type CosignTrust } from './evaluate.ts';
import { imageFields, verifyEachImage, verifyTarget } from './verify-common.ts';
import type { ImageStatus } from './verify.ts';

export interface AttestationVerification {
  /** The image as the caller named it. */
  readonly image: string;
  readonly status: ImageStatus;
  /** The digest verified; absent when the image could not be resolved. */
  readonly digest?: Digest;
  /** The manifest's media type, when it was resolved through a tag. */
  readonly mediaType?: string;
  /** Where the attestations were looked for (`repo:sha256-<hex>.att`). */
  readonly attestationLocation?: string;
  /** Where the bundle referrers were listed (`repo@sha256:<hex> (referrers)`). */
  readonly referrersLocation?: string;
  /** Which attestations counted and why the others did not; absent when no evidence was gathered. */
  readonly verdict?: AttestationVerdict;
  /** Why the image is not verified (any status but `verified`). */
  readonly error?: VouchError;
}

export interface VerifyAttestationOptions {
  readonly trust: CosignTrust;
  readonly policy: AttestationPolicy;
  readonly limits?: AttestationGatherLimits;
  /** Images verified at once; 8 unless given. */
  readonly concurrency?: number;
}

/**
 * Verifies the attestations of one image in `store`. Never throws for a
 * problem with the image; throws `invalid` only for unusable options.
 */
export async function verifyImageAttestations(
  store: ImageStore,
  target: ManifestTarget,
  image: string,
  options: VerifyAttestationOptions,
): Promise<AttestationVerification> {
  checkOptions(options);
  return verifyTarget(
    store,
    target,
    image,
    (resolved) => fetchAttestations(store, resolved, options.limits),
    ({ attestationLocation, bundles }) => ({
      attestationLocation,
      ...(bundles === undefined ? {} : { referrersLocation: bundles.referrersLocation }),
    }),
    (evidence) => decideAttestations(evidence, options),
  );
}

/**
 * Verifies the attestations of each image (as a user types it), opening
 * stores through `stores`. Results come back in the order of `images`.
 */
export async function verifyAttestationsOfImages(
  stores: Stores,
  images: readonly string[],
  options: VerifyAttestationOptions,
): Promise<AttestationVerification[]> {
  checkOptions(options);
  return verifyEachImage(stores, images, options.concurrency, (store, target, image) =>
    verifyImageAttestations(store, target, image, options),
  );
}

/** The verdict on already gathered evidence, as a result. */
export function decideAttestations(
  evidence: AttestationEvidence,
  options: Pick<VerifyAttestationOptions, 'trust' | 'policy'>,
): AttestationVerification {
  const verdict = evaluateAttestations(evidence, options.trust, options.policy);
  const { image, attestationLocation, bundles } = evidence;
  const referrersLocation = bundles?.referrersLocation;
  const base = {
    image: image.reference,
    ...imageFields(image),
    attestationLocation,
    ...(referrersLocation === undefined ? {} : { referrersLocation }),
    verdict,
  };
  const places =
    referrersLocation === undefined
      ? attestationLocation
      : `${attestationLocation} and the bundle referrers at ${referrersLocation}`;
  if (verdict.verified.length > 0) return { ...base, status: 'verified' };
  const total = verdict.rejected.length;
  const wanted = verdict.predicateType === null ? '' : ` of type ${verdict.predicateType}`;
  if (total === 0) {
    const att = `${evidence.attestationManifest === undefined ? 'nothing at' : 'an empty attestation manifest at'} ${attestationLocation}`;
    const where =
      referrersLocation === undefined ? att : `${att}, no bundle referrers at ${referrersLocation}`;
    return {
      ...base,
      status: 'denied',
      error: denied(
        'NO_ATTESTATIONS',
        `${image.reference}: no attestations found for ${image.digest} (${where})`,
      ),
    };
  }
  // Valid attestations of other types are named, so a typo in --type is easy to spot.
  const otherTypes = [
    ...new Set(
      verdict.rejected
        .filter((r) => r.reason.code === 'PREDICATE_TYPE_MISMATCH')
        .map((r) => r.predicateType as string),
    ),
  ];
  const others =
    otherTypes.length === 0 ? '' : `; valid attestations of other types: ${otherTypes.join(', ')}`;
  return {
    ...base,
    status: 'denied',
    error: denied(
      'NO_VALID_ATTESTATION',
      `${image.reference}: none of the ${total} attestation${total === 1 ? '' : 's'} at ${places} is a valid attestation${wanted} for ${image.digest}${others}`,
    ),
  };
}

function checkOptions(options: VerifyAttestationOptions): void {
  checkTrust(options.trust, 'attestations');
}
