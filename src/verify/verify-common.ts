/**
 * What the signature and attestation verification use-cases (verify.ts,
 * verify-attestation.ts) share: opening each image a user typed and
 * verifying it with a bound on concurrency, and turning a VouchError raised
 * while gathering or deciding into that image's result.
 */
import { createLimiter } from '../core/concurrency.ts';
import { invalid, isVouchError, type VouchError } from '../core/errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { Stores } from '../registry/open.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../registry/http.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import { type ImageEvidence, resolveImage } from './evidence.ts';
import type { ImageStatus } from './verify.ts';

/** The result for an image that could not be verified because of `error`. */
export interface ImageFailure {
  readonly image: string;
  readonly status: ImageStatus;
  readonly digest?: Digest;
  readonly mediaType?: string;
  readonly error: VouchError;
}

/** The image's digest, and its media type when known, as result fields. */
export function imageFields(image: ImageEvidence): { digest: Digest; mediaType?: string } {
  return {
    digest: image.digest,
    ...(image.mediaType === undefined ? {} : { mediaType: image.mediaType }),
  };
}

/**
 * Resolves `target`, gathers its evidence with `gather` and decides with
 * `decide`. A VouchError on the way becomes the result (with the digest once
 * resolved, and `locationOf` the evidence once gathered); others are thrown.
 */
export async function verifyTarget<E, L extends object, R>(
  store: ImageStore,
  target: ManifestTarget,
  image: string,
  gather: (resolved: ImageEvidence) => Promise<E>,
  locationOf: (evidence: E) => L,
  decide: (evidence: E) => R | Promise<R>,
): Promise<R | (ImageFailure & Partial<L>)> {
  let resolved: ImageEvidence | undefined;
  let location: L | undefined;
  try {
    resolved = await resolveImage(store, target, image);
    const evidence = await gather(resolved);
    location = locationOf(evidence);
    return await decide(evidence);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return {
      image,
      status: error.category,
      ...(resolved === undefined ? {} : imageFields(resolved)),
      ...(location ?? {}),
      error,
    } as ImageFailure & Partial<L>;
  }
}

/**
 * Opens each image (as a user types it) through `stores` and verifies it
 * with `verifyOne`, `concurrency` at once (DEFAULT_VERIFY_CONCURRENCY unless
 * given). An image that
 * cannot be opened or names no manifest fails alone. Results come back in
 * the order of `images`.
 */
export async function verifyEachImage<R>(
  stores: Stores,
  images: readonly string[],
  concurrency: number | undefined,
  verifyOne: (store: ImageStore, target: ManifestTarget, image: string) => Promise<R>,
): Promise<(R | ImageFailure)[]> {
  const limit = createLimiter(concurrency ?? DEFAULT_VERIFY_CONCURRENCY);
  return Promise.all(
    images.map((image) =>
      limit(async (): Promise<R | ImageFailure> => {
        let opened: Awaited<ReturnType<Stores['openImage']>>;
        try {
          opened = await stores.openImage(image);
        } catch (error) {
          if (!isVouchError(error)) throw error;
          return { image, status: error.category, error };
        }
        if (opened.target === undefined) {
          const error = invalid(
            'USAGE',
            `${image} names no manifest: add a tag or digest (oci:PATH:TAG or oci:PATH@DIGEST)`,
          );
          return { image, status: 'invalid', error };
        }
        return verifyOne(opened.store, opened.target, image);
      }),
    ),
  );
}
