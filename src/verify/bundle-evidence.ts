/**
 * Gathering the Sigstore bundles stored as OCI referrers of an image (cosign
 * 3's default storage; formats/sigstore-bundle.ts), the I/O half of
 * verifying them (docs/design.md principle 2).
 *
 * The referrers are listed through the store (the referrers API, or the
 * fallback tag `sha256-<hex>` on registries without it and on layouts). A
 * listing is a hint, not evidence: anyone who can push a tag can write the
 * fallback index, and its artifact types and annotations are copies. So
 * every listed manifest whose artifact type is a bundle's — or is missing,
 * since some writers of the fallback index leave it out (sigstore/cosign#4641)
 * — is opened by digest (the store checks the bytes hash to it), and counts
 * only if the manifest itself names this image as its subject, carries a
 * bundle artifact type and exactly one bundle layer. Caps come before any
 * fetch: more than `maxReferrers` candidates and the image is refused whole
 * (TOO_MANY_REFERRERS, as cosign caps signatures, CVE-2023-46737); a layer
 * declaring more than `maxBundleBytes` is rejected without being fetched.
 * Bundles are read through the store (size and digest checked) and parsed
 * strictly; each problem rejects that referrer alone, with a reason.
 */
import { createLimiter } from '../core/concurrency.ts';
import { denied, hasCode, isVouchError, messageOf } from '../core/errors.ts';
import {
  type BundleReferrerProblem,
  DEFAULT_MAX_BUNDLE_BYTES,
  isBundleMediaType,
  readBundleReferrer,
  type SigstoreBundle,
} from '../formats/sigstore-bundle.ts';
import type { Digest } from '../oci/digest.ts';
import type { Annotations, Descriptor } from '../oci/manifest.ts';
import type { ImageStore } from '../registry/store.ts';
import type { ImageEvidence } from './evidence.ts';

/** A referrer that holds a readable bundle about the image. */
export interface BundleReferrerEvidence {
  /** Position among the bundle referrers examined (listing order). */
  readonly index: number;
  /** The referrer manifest's digest. */
  readonly referrer: Digest;
  /** The bundle layer, its blob checked against this descriptor. */
  readonly layer: Descriptor;
  /** The referrer manifest's annotations (predicate type, created): unauthenticated. */
  readonly annotations: Annotations;
  /** The parsed bundle; `bundle.json` is the exact bytes, `bundle.bundle` what @sigstore/verify takes. */
  readonly bundle: SigstoreBundle;
}

export type BundleReferrerEvidenceProblem =
  | BundleReferrerProblem
  /** The listed manifest or its bundle blob is not in the store. */
  | 'missing'
  /** The manifest or blob did not match its digest or size, or is not a manifest. */
  | 'content-invalid'
  /** The blob is not a Sigstore bundle vouch reads. */
  | 'bundle-invalid'
  /** The bundle's certificate chain carries a root CA (sigstore-conformance bundle-with-root-cert_fail). */
  | 'chain-includes-root';

/** A listed referrer that could not be a bundle about this image, with why; it never counts. */
export interface RejectedBundleReferrer {
  readonly index: number;
  readonly referrer: Digest;
  readonly problem: BundleReferrerEvidenceProblem;
  readonly reason: string;
}

export interface BundleEvidence {
  readonly image: ImageEvidence;
  /** Where the referrers were listed: `registry/repo@sha256:<hex> (referrers)`. */
  readonly referrersLocation: string;
  readonly bundles: readonly BundleReferrerEvidence[];
  readonly rejectedReferrers: readonly RejectedBundleReferrer[];
}

export interface BundleGatherLimits {
  /** More bundle referrers than this and the image is refused; 1,000 unless given. */
  readonly maxReferrers?: number;
  /** Bundles declared larger than this are not fetched; 16 MiB unless given. */
  readonly maxBundleBytes?: number;
  /** Referrers fetched at once for one image; 4 unless given. */
  readonly concurrency?: number;
}

export const DEFAULT_MAX_BUNDLE_REFERRERS = 1000;

/** Where the referrers of `digest` in `store` are, for messages. */
export function referrersLocation(store: ImageStore, digest: Digest): string {
  return `${store.location}@${digest} (referrers)`;
}

/**
 * Reads the bundle referrers of `image` (resolved by `resolveImage`) from
 * `store`. Throws VouchError `denied` TOO_MANY_REFERRERS, and what the store
 * throws for a listing it could not read (`unavailable` on transport
 * failures, `denied` REFERRERS_INVALID for a malformed fallback index).
 */
export async function fetchBundleReferrers(
  store: ImageStore,
  image: ImageEvidence,
  limits: BundleGatherLimits = {},
): Promise<BundleEvidence> {
  const maxReferrers = limits.maxReferrers ?? DEFAULT_MAX_BUNDLE_REFERRERS;
  const maxBundleBytes = limits.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  const location = referrersLocation(store, image.digest);
  const listed = await store.referrers(image.digest);
  const seen = new Set<Digest>();
  const candidates = listed.filter((descriptor) => {
    if (seen.has(descriptor.digest)) return false;
    seen.add(descriptor.digest);
    return descriptor.artifactType === undefined || isBundleMediaType(descriptor.artifactType);
  });
  if (candidates.length > maxReferrers) {
    throw denied(
      'TOO_MANY_REFERRERS',
      `${location}: ${candidates.length} bundle referrers, more than the ${maxReferrers} vouch examines`,
    );
  }
  const limit = createLimiter(limits.concurrency ?? 4);
  const outcomes = await Promise.all(
    candidates.map((descriptor, index) =>
      limit(() => examine(store, image.digest, descriptor, index, maxBundleBytes)),
    ),
  );
  const bundles: BundleReferrerEvidence[] = [];
  const rejectedReferrers: RejectedBundleReferrer[] = [];
  for (const outcome of outcomes) {
    if ('problem' in outcome) rejectedReferrers.push(outcome);
    else bundles.push(outcome);
  }
  return { image, referrersLocation: location, bundles, rejectedReferrers };
}

async function examine(
  store: ImageStore,
  subject: Digest,
  descriptor: Descriptor,
  index: number,
  maxBundleBytes: number,
): Promise<BundleReferrerEvidence | RejectedBundleReferrer> {
  const referrer = descriptor.digest;
  const where = `referrer ${index} (${referrer})`;
  const reject = (
    problem: BundleReferrerEvidenceProblem,
    reason: string,
  ): RejectedBundleReferrer => ({ index, referrer, problem, reason: `${where}: ${reason}` });
  try {
    const manifest = await store.getManifest({ digest: referrer });
    const contents = readBundleReferrer(manifest, subject, maxBundleBytes);
    if (!contents.ok) return reject(contents.problem, contents.reason);
    const bytes = await store.readBlob(contents.layer, maxBundleBytes);
    // Loaded only now: an image without bundle referrers never pays for @sigstore/bundle.
    const { parseBundle } = await import('../formats/sigstore-bundle-reader.ts');
    let bundle: SigstoreBundle;
    try {
      bundle = parseBundle(bytes, where);
    } catch (error) {
      if (!isVouchError(error)) throw error;
      const problem = hasCode(error, 'CERT_CHAIN_INCLUDES_ROOT')
        ? 'chain-includes-root'
        : 'bundle-invalid';
      return { index, referrer, problem, reason: error.message };
    }
    return { index, referrer, layer: contents.layer, annotations: contents.annotations, bundle };
  } catch (error) {
    // Could not reach the store: the evidence would be incomplete, so the image fails.
    if (!isVouchError(error) || error.category === 'unavailable') throw error;
    const problem = error.code.endsWith('_UNKNOWN') ? 'missing' : 'content-invalid';
    return reject(problem, messageOf(error));
  }
}
