/**
 * The referrers tag schema (distribution-spec v1.1 spec.md "Referrers Tag
 * Schema"): where a registry lacks the referrers API, the list of manifests
 * that refer to `<alg>:<hex>` is an image index stored under the tag
 * `<alg>-<hex>` (algorithm truncated to 32 and hex to 64 characters).
 * Distribution 2.8 and OCI image layouts both need it.
 */
import { denied, hasCode } from '../core/errors.ts';
import { type Digest, digestAlgorithm, digestHex } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { OCI_INDEX } from '../oci/media-types.ts';
import type { ImageStore } from './store.ts';

/** Tags of this schema for vouch's digests (sha512 hex truncated to 64, as `referrersTag` writes it). */
const REFERRERS_TAG_PATTERN = /^sha(?:256|512)-[a-f0-9]{64}$/;

export function referrersTag(digest: Digest): string {
  return `${digestAlgorithm(digest).slice(0, 32)}-${digestHex(digest).slice(0, 64)}`;
}

/** Whether `tag` has the form `referrersTag` gives a sha256 or sha512 digest. */
export function isReferrersTag(tag: string): boolean {
  return REFERRERS_TAG_PATTERN.test(tag);
}

/** The descriptors listed under the fallback tag, or none if the tag does not exist. */
export async function readReferrersTag(store: ImageStore, subject: Digest): Promise<Descriptor[]> {
  const tag = referrersTag(subject);
  let index: Awaited<ReturnType<ImageStore['getManifest']>>;
  try {
    index = await store.getManifest({ tag });
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) return [];
    throw error;
  }
  if (index.kind !== 'index') {
    throw denied(
      'REFERRERS_INVALID',
      `${store.location}: referrers tag ${tag} holds ${index.mediaType}, expected an image index`,
    );
  }
  return [...index.manifest.manifests];
}

/**
 * Adds `referrer` to the fallback index of `subject` (read, modify, write).
 * Descriptors are kept sorted by digest, as go-containerregistry writes them,
 * and one already listed is not added twice.
 */
export async function addToReferrersTag(
  store: ImageStore,
  subject: Digest,
  referrer: Descriptor,
): Promise<void> {
  const existing = await readReferrersTag(store, subject);
  if (existing.some((d) => d.digest === referrer.digest)) return;
  const manifests = [...existing, referrer].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  const bytes = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
  );
  await store.putManifest(bytes, OCI_INDEX, referrersTag(subject));
}

/** Keeps descriptors whose artifact type is `artifactType`, or all when it is undefined. */
export function filterByArtifactType(
  descriptors: readonly Descriptor[],
  artifactType: string | undefined,
): Descriptor[] {
  return artifactType === undefined
    ? [...descriptors]
    : descriptors.filter((d) => d.artifactType === artifactType);
}
