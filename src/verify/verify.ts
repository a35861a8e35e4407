/**
 * The verification use-case: for each image, gather the evidence (I/O), then
 * decide with `evaluate` (pure). Images are verified concurrently with a
 * bound; one image's failure never stops the others. Every image ends in one
 * of four statuses, which map to the error categories of docs/design.md:
 *
 * - `verified`: at least one signature counts;
 * - `denied`: none counts — unsigned (NO_SIGNATURES), every signature
 *   rejected (NO_VALID_SIGNATURE), or a signature manifest that may not be
 *   examined (TOO_MANY_SIGNATURES, SIGNATURE_MANIFEST_INVALID);
 * - `invalid`: the image does not exist or cannot be named;
 * - `unavailable`: the evidence could not be gathered (network, auth, 5xx).
 *
 * The evidence comes in two steps: the `.sig` layers, then, only when none
 * of them verifies the image, cosign 3's Sigstore bundle referrers; each
 * step is decided purely. The bundle code is loaded only for that second
 * step, so verifying an image by its `.sig` layers never loads it (a
 * one-shot `vouch verify` pays for every module it loads). `decide`, which
 * decides both at once, lives in decide.ts for the same reason.
 *
 * Transparency-log keys are trust material that may cost a file read: when
 * `trust.tlogs` is not given, they are loaded (`loadTlogs`, by default the
 * Sigstore public-good trusted root shipped with vouch) only once some
 * signature carries a Rekor bundle, and at most once per `verifyImages`.
 */
import { denied, type VouchError } from '../core/errors.ts';
import { BUNDLE_ANNOTATION } from '../formats/signature-manifest.ts';
import type { TransparencyLog } from '../sigstore/trusted-root.ts';
import type { Digest } from '../oci/digest.ts';
import type { Stores } from '../registry/open.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import {
  checkTrust,
  evaluate,
  isKeyTrust,
  type Policy,
  type CosignTrust,
  type Verdict,
} from './evaluate.ts';
import type { BundleSignatureVerdict } from './bundle-signatures.ts';
import { type Evidence, fetchSignatures, type GatherLimits } from './evidence.ts';
import { imageFields, verifyEachImage, verifyTarget } from './verify-common.ts';

export type ImageStatus = 'verified' | 'denied' | 'invalid' | 'unavailable';

export interface ImageVerification {
  /** The image as the caller named it. */
  readonly image: string;
  readonly status: ImageStatus;
  /** The digest verified; absent when the image could not be resolved. */
  readonly digest?: Digest;
  /** The manifest's media type, when it was resolved through a tag. */
  readonly mediaType?: string;
  /** Where the signatures were looked for (`repo:sha256-<hex>.sig`). */
  readonly signatureLocation?: string;
  /** Which signatures counted and why the others did not; absent when no evidence was gathered. */
  readonly verdict?: Verdict;
  /** cosign 3's signatures: Sigstore bundle referrers (absent when they were not looked for). */
  readonly bundleSignatures?: BundleSignatureVerdict;
  /** Why the image is not verified (any status but `verified`). */
  readonly error?: VouchError;
}

export interface VerifyOptions {
  readonly trust: CosignTrust;
  /**
   * Loads the trusted transparency logs when `trust.tlogs` is absent. Called
   * only when a signature carries a Rekor bundle. Default: the logs of the
   * Sigstore public-good trusted root shipped with vouch.
   */
  readonly loadTlogs?: () => Promise<readonly TransparencyLog[]>;
  readonly policy?: Policy;
  readonly limits?: GatherLimits;
  /** Images verified at once; 8 unless given. */
  readonly concurrency?: number;
}

/**
 * Verifies one image in `store`. Never throws for a problem with the image:
 * it is reported in the result. Throws `invalid` only for unusable options
 * (no keys).
 */
export async function verifyImage(
  store: ImageStore,
  target: ManifestTarget,
  image: string,
  options: VerifyOptions,
): Promise<ImageVerification> {
  checkOptions(options);
  return verifyTarget(
    store,
    target,
    image,
    (resolved) => fetchSignatures(store, resolved, options.limits),
    ({ signatureLocation }) => ({ signatureLocation }),
    async (evidence) => {
      const trusted = await withTlogs(evidence, options);
      const classic = verificationOf(evidence, trusted, undefined);
      // cosign 3's signatures (Sigstore bundle referrers) are looked for only
      // when the `.sig` layers do not verify the image already: one valid
      // signature is enough, and listing referrers costs a registry without
      // the referrers API two more requests per image.
      if (classic.status === 'verified') return classic;
      const [{ fetchBundleReferrers }, { evaluateBundleSignatures }] = await Promise.all([
        import('./bundle-evidence.ts'),
        import('./bundle-signatures.ts'),
      ]);
      const bundles = await fetchBundleReferrers(store, evidence.image, options.limits);
      const verdict = evaluateBundleSignatures(bundles, trusted.trust, trusted.policy);
      return verificationOf({ ...evidence, bundles }, trusted, verdict);
    },
  );
}

/**
 * Verifies each image (as a user types it: `host/repo:tag`, `repo@sha256:...`,
 * `oci:PATH:TAG`), opening stores through `stores`. Results come back in the
 * order of `images`.
 */
export async function verifyImages(
  stores: Stores,
  images: readonly string[],
  options: VerifyOptions,
): Promise<ImageVerification[]> {
  checkOptions(options);
  const shared: VerifyOptions = {
    ...options,
    loadTlogs: once(options.loadTlogs ?? publicGoodTlogs),
  };
  return verifyEachImage(stores, images, options.concurrency, (store, target, image) =>
    verifyImage(store, target, image, shared),
  );
}

/**
 * `options` with `trust.tlogs` filled in when the evidence needs them: some
 * signature carries a Rekor bundle and no logs were given.
 */
export async function withTlogs(
  evidence: Evidence,
  options: VerifyOptions,
): Promise<VerifyOptions> {
  // Keyless trust carries its trust root; key trust may name its logs.
  if (!isKeyTrust(options.trust) || options.trust.tlogs !== undefined) return options;
  const needed = evidence.signatures.some(
    (signature) => signature.annotations[BUNDLE_ANNOTATION] !== undefined,
  );
  if (!needed) return options;
  const tlogs = await (options.loadTlogs ?? publicGoodTlogs)();
  return { ...options, trust: { ...options.trust, tlogs } };
}

async function publicGoodTlogs(): Promise<readonly TransparencyLog[]> {
  const { publicGoodTrustedRoot } = await import('../sigstore/public-good.ts');
  return (await publicGoodTrustedRoot()).tlogs;
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= load();
    return result;
  };
}

/**
 * The result for already gathered evidence: the verdict on its `.sig`
 * layers, and `bundleSignatures`, the verdict on its bundle referrers when
 * they were gathered (`evidence.bundles`). See `decide` (decide.ts).
 */
export function verificationOf(
  evidence: Evidence,
  options: VerifyOptions,
  bundleSignatures: BundleSignatureVerdict | undefined,
): ImageVerification {
  const verdict = evaluate(evidence, options.trust, options.policy);
  const { image, signatureLocation } = evidence;
  const base = {
    image: image.reference,
    ...imageFields(image),
    signatureLocation,
    verdict,
    ...(bundleSignatures === undefined ? {} : { bundleSignatures }),
  };
  if (verdict.verified.length > 0 || (bundleSignatures?.verified.length ?? 0) > 0) {
    return { ...base, status: 'verified' };
  }
  const total = verdict.rejected.length + (bundleSignatures?.rejected.length ?? 0);
  const places =
    bundleSignatures === undefined
      ? signatureLocation
      : `${signatureLocation} and the bundle referrers at ${bundleSignatures.referrersLocation}`;
  const error =
    total === 0
      ? denied(
          'NO_SIGNATURES',
          `${image.reference}: no signatures found for ${image.digest} (${evidence.signatureManifest === undefined ? 'nothing at' : 'an empty signature manifest at'} ${signatureLocation}${bundleSignatures === undefined ? '' : `, no cosign 3 bundle signatures at ${bundleSignatures.referrersLocation}`})`,
        )
      : denied(
          'NO_VALID_SIGNATURE',
          `${image.reference}: none of the ${total} signature${total === 1 ? '' : 's'} at ${places} is valid for ${image.digest}`,
        );
  return { ...base, status: 'denied', error };
}

function checkOptions(options: VerifyOptions): void {
  checkTrust(options.trust, 'signatures');
}
