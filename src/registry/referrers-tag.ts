/**
 * The referrers tag schema (distribution-spec v1.1 spec.md "Referrers Tag
 * Schema"): where a registry lacks the referrers API, the list of manifests
 * that refer to `<alg>:<hex>` is an image index stored under the tag
 * `<alg>-<hex>` (algorithm truncated to 32 and hex to 64 characters).
 * Distribution 2.8 and OCI image layouts both need it.
 *
 * Adding to that index is a read-modify-write of a tag, and the spec's
 * clients (oras-go, notation) do it without a guard, so two writers at once
 * can each write an index lacking the other's entry. vouch does not lose a
 * concurrent writer's entry (as sign/attach.ts for attachment tags):
 *
 * - on a layout the tag is moved by compare-and-swap under the index.json
 *   lock (`compareAndSetTag`): a write based on an index that is no longer
 *   current is refused and retried;
 * - a registry has no conditional PUT, so the tag is re-resolved right
 *   before the PUT (retried if it moved since the read) and read again
 *   after it (retried unless the entry is there). A PUT by a writer that
 *   checked before ours landed can still replace ours afterwards; so, after
 *   a delay (`settleMs`, or twice the slowest check-then-PUT seen: about how
 *   late such a PUT can land), the index is read once more and the entry
 *   added again if it went missing.
 *
 * After `maxAttempts` conflicts the write fails with `unavailable`
 * REFERRERS_CONFLICT; entries already listed are never removed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { denied, hasCode, unavailable } from '../core/errors.ts';
import { type Digest, digestAlgorithm, digestHex } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { OCI_INDEX } from '../oci/media-types.ts';
import { backoffMs, isTransientError } from './retry.ts';
import { canSwapTags, type ImageStore } from './store.ts';

/** Tags of this schema for vouch's digests (sha512 hex truncated to 64, as `referrersTag` writes it). */
const REFERRERS_TAG_PATTERN = /^sha(?:256|512)-[a-f0-9]{64}$/;

export const DEFAULT_REFERRERS_TAG_ATTEMPTS = 8;
export const DEFAULT_REFERRERS_TAG_SETTLE_MS = 100;
/** The settle check never waits longer than this, however slow the registry was. */
const MAX_SETTLE_MS = 5000;
/** How many times the settle check may find the entry replaced and add it again. */
const SETTLE_ROUNDS = 3;

export function referrersTag(digest: Digest): string {
  return `${digestAlgorithm(digest).slice(0, 32)}-${digestHex(digest).slice(0, 64)}`;
}

/** Whether `tag` has the form `referrersTag` gives a sha256 or sha512 digest. */
export function isReferrersTag(tag: string): boolean {
  return REFERRERS_TAG_PATTERN.test(tag);
}

interface ReferrersIndex {
  /** The index the tag names, or undefined when the tag does not exist. */
  readonly digest: Digest | undefined;
  readonly manifests: readonly Descriptor[];
}

async function readIndex(store: ImageStore, subject: Digest): Promise<ReferrersIndex> {
  const tag = referrersTag(subject);
  let index: Awaited<ReturnType<ImageStore['getManifest']>>;
  try {
    index = await store.getManifest({ tag });
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) return { digest: undefined, manifests: [] };
    throw error;
  }
  if (index.kind !== 'index') {
    throw denied(
      'REFERRERS_INVALID',
      `${store.location}: referrers tag ${tag} holds ${index.mediaType}, expected an image index`,
    );
  }
  return { digest: index.digest, manifests: index.manifest.manifests };
}

/** The descriptors listed under the fallback tag, or none if the tag does not exist. */
export async function readReferrersTag(store: ImageStore, subject: Digest): Promise<Descriptor[]> {
  return [...(await readIndex(store, subject)).manifests];
}

export interface ReferrersTagOptions {
  /** Writes tried before REFERRERS_CONFLICT. Default 8. */
  readonly maxAttempts?: number;
  /** The delay before a registry's final check (module comment); 0 skips it. Default 100 ms. */
  readonly settleMs?: number;
}

/**
 * Adds `referrer` to the fallback index of `subject` (module comment).
 * Descriptors are kept sorted by digest, as go-containerregistry writes them,
 * and one already listed is not added twice.
 */
export async function addToReferrersTag(
  store: ImageStore,
  subject: Digest,
  referrer: Descriptor,
  options: ReferrersTagOptions = {},
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_REFERRERS_TAG_ATTEMPTS;
  const settleMs = options.settleMs ?? DEFAULT_REFERRERS_TAG_SETTLE_MS;
  for (let round = 0; ; round++) {
    const { wrote, raceWindowMs } = await writeEntry(store, subject, referrer, maxAttempts);
    if (!wrote || canSwapTags(store) || settleMs === 0) return;
    if (round === SETTLE_ROUNDS) {
      throw conflict(
        store,
        subject,
        referrer,
        `concurrent writers replaced it each of the ${SETTLE_ROUNDS} times it was added`,
      );
    }
    await sleep(Math.min(Math.max(settleMs, 2 * raceWindowMs), MAX_SETTLE_MS));
    try {
      if (listed((await readIndex(store, subject)).manifests, referrer)) return;
    } catch (error) {
      // Could not tell: add it again, which reads with retries.
      if (!isTransientError(error)) throw error;
    }
  }
}

function listed(manifests: readonly Descriptor[], referrer: Descriptor): boolean {
  return manifests.some((d) => d.digest === referrer.digest);
}

/** The read-modify-write loop; `wrote` is false when the entry was there already. */
async function writeEntry(
  store: ImageStore,
  subject: Digest,
  referrer: Descriptor,
  maxAttempts: number,
): Promise<{ readonly wrote: boolean; readonly raceWindowMs: number }> {
  const tag = referrersTag(subject);
  let wrote = false;
  let raceWindowMs = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const current = await readIndex(store, subject);
      if (listed(current.manifests, referrer)) return { wrote, raceWindowMs };
      const manifests = [...current.manifests, referrer].sort((a, b) =>
        a.digest < b.digest ? -1 : 1,
      );
      const bytes = new TextEncoder().encode(
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
      );
      if (canSwapTags(store)) {
        const descriptor = await store.putManifest(bytes, OCI_INDEX);
        if (await store.compareAndSetTag(tag, current.digest, descriptor)) {
          return { wrote: true, raceWindowMs };
        }
      } else {
        const checked = performance.now();
        if ((await currentDigest(store, tag)) === current.digest) {
          wrote = true;
          await store.putManifest(bytes, OCI_INDEX, tag);
          raceWindowMs = Math.max(raceWindowMs, performance.now() - checked);
          if (listed((await readIndex(store, subject)).manifests, referrer)) {
            return { wrote, raceWindowMs };
          }
        }
      }
    } catch (error) {
      // Distribution fails a read or PUT for a moment while writers race on one tag.
      if (!isTransientError(error) || attempt === maxAttempts) throw error;
    }
    if (attempt < maxAttempts) await sleep(backoffMs(attempt));
  }
  throw conflict(
    store,
    subject,
    referrer,
    `the index kept changing during ${maxAttempts} attempts (other writers at the same time)`,
  );
}

function conflict(store: ImageStore, subject: Digest, referrer: Descriptor, detail: string) {
  return unavailable(
    'REFERRERS_CONFLICT',
    `${store.location}: could not list ${referrer.digest} in the referrers index ${referrersTag(subject)}: ${detail}; the entries already there are intact, so trying again is safe`,
  );
}

/** The digest `tag` names now, or undefined if it names nothing. */
async function currentDigest(store: ImageStore, tag: string): Promise<Digest | undefined> {
  try {
    return (await store.resolve({ tag })).digest;
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) return undefined;
    throw error;
  }
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
