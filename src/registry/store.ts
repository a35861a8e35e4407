/**
 * The one interface every image source and destination implements: a single
 * repository in an OCI Distribution registry, or an OCI image layout on disk.
 * Everything returned has been checked against what was asked for: manifests
 * fetched by digest hash to that digest, blobs are verified as they stream.
 */
import type { Digest } from '../oci/digest.ts';
import type { Descriptor, ParsedManifest } from '../oci/manifest.ts';
import type { ImageReference } from '../oci/reference.ts';

/** A manifest is addressed by tag or by digest, never by both at once. */
export type ManifestTarget = { readonly tag: string } | { readonly digest: Digest };

export interface ImageStore {
  /** Where this store points, for messages: `127.0.0.1:5000/app` or `oci:/path/to/layout`. */
  readonly location: string;

  /**
   * The registry and repository this store is, when it is a registry
   * repository (absent for an OCI layout): what a signature made here
   * records as its docker-reference.
   */
  readonly repositoryReference?: ImageReference;

  /** The descriptor a tag or digest currently points to (digest, media type, size). */
  resolve(target: ManifestTarget): Promise<Descriptor>;

  /** The manifest's exact bytes, parsed; by digest, the bytes are checked against it. */
  getManifest(target: ManifestTarget): Promise<ParsedManifest>;

  /** Stores a manifest under its digest and, if given, a tag; returns its descriptor. */
  putManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor>;

  /** Removes a manifest by digest (and any tags pointing at it). */
  deleteManifest(digest: Digest): Promise<void>;

  /** Tags in the repository, in the store's order. */
  listTags(): Promise<string[]>;

  hasBlob(descriptor: Descriptor): Promise<boolean>;

  /**
   * The blob's content as a stream. Reading it fails, before the last chunk is
   * delivered, if the content exceeds `descriptor.size` or does not hash to
   * `descriptor.digest`; consumers must not commit what they read until the
   * stream has ended without error.
   */
  getBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>>;

  /** A small blob (a config, a signature payload) read whole, refusing more than `maxBytes`. */
  readBlob(descriptor: Descriptor, maxBytes: number): Promise<Uint8Array>;

  /** Stores a blob from a stream; nothing is visible under the digest unless all of it verified. */
  putBlob(descriptor: Descriptor, content: AsyncIterable<Uint8Array>): Promise<void>;

  /**
   * Manifests whose `subject` is `digest` (distribution-spec "Listing Referrers"),
   * optionally filtered by artifact type.
   */
  referrers(digest: Digest, artifactType?: string): Promise<Descriptor[]>;
}

/**
 * What an OCI layout can do and a registry cannot: move a tag only if it
 * still names what was read (`OCILayoutStore.compareAndSetTag`, under the
 * layout's index.json lock). Read-modify-writes of a tag use it where the
 * store has it, and re-check after the write where it has not.
 */
export interface TagSwapper {
  compareAndSetTag(
    tag: string,
    expected: Digest | undefined,
    descriptor: Descriptor,
  ): Promise<boolean>;
}

export function canSwapTags(store: ImageStore): store is ImageStore & TagSwapper {
  return typeof (store as Partial<TagSwapper>).compareAndSetTag === 'function';
}
