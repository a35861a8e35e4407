/**
 * Copies an image between any two stores (registry or layout), byte for byte:
 * every platform of an index, every blob, manifests pushed unchanged so the
 * digests at the destination are the digests at the source. Blobs stream
 * from source to destination without being held in memory, are mounted when
 * both ends are repositories of one registry, and are skipped when the
 * destination already has them. Children are pushed before their parents, so
 * a destination never points at something it does not hold.
 */
import { createLimiter } from '../core/concurrency.ts';
import { invalid } from '../core/errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor, ParsedManifest } from '../oci/manifest.ts';
import type { ImageStore, ManifestTarget } from './store.ts';

/** How a blob reached the destination. */
export type BlobOutcome = 'copied' | 'mounted' | 'present' | 'skipped-foreign';

export type CopyEvent =
  | { readonly type: 'manifest'; readonly descriptor: Descriptor }
  | { readonly type: 'blob-start'; readonly descriptor: Descriptor }
  | { readonly type: 'blob-progress'; readonly descriptor: Descriptor; readonly bytes: number }
  | { readonly type: 'blob-done'; readonly descriptor: Descriptor; readonly outcome: BlobOutcome };

export interface CopyOptions {
  /** Tag to give the copy at the destination; without one it is stored by digest only. */
  readonly tag?: string;
  /** Blob transfers in flight at once. */
  readonly concurrency?: number;
  readonly onEvent?: (event: CopyEvent) => void;
}

export interface CopyResult {
  readonly descriptor: Descriptor;
  readonly manifests: number;
  readonly blobs: Readonly<Record<BlobOutcome, number>>;
  /** Bytes that actually travelled (copied blobs only). */
  readonly bytes: number;
}

/** Optional capability of stores that can take a blob from a sibling without moving bytes. */
interface Mountable {
  mountBlob(descriptor: Descriptor, from: ImageStore): Promise<boolean>;
}

function canMount(store: ImageStore): store is ImageStore & Mountable {
  return typeof (store as Partial<Mountable>).mountBlob === 'function';
}

/**
 * Layers the image-spec marks non-distributable (and Docker's foreign layers)
 * are fetched from their `urls` by whoever runs the image, not stored by
 * registries; like skopeo, vouch copies them only when the source has them.
 */
function isForeign(descriptor: Descriptor): boolean {
  return (
    descriptor.mediaType.includes('nondistributable') || descriptor.mediaType.includes('foreign')
  );
}

export async function copyImage(
  source: ImageStore,
  target: ManifestTarget,
  destination: ImageStore,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const limit = createLimiter(options.concurrency ?? 4);
  const emit = options.onEvent ?? (() => {});
  const blobs: Record<BlobOutcome, number> = {
    copied: 0,
    mounted: 0,
    present: 0,
    'skipped-foreign': 0,
  };
  const blobsInFlight = new Map<Digest, Promise<void>>();
  const manifestsInFlight = new Map<Digest, Promise<void>>();
  let bytes = 0;

  const copyBlob = (descriptor: Descriptor): Promise<void> => {
    let pending = blobsInFlight.get(descriptor.digest);
    if (pending === undefined) {
      pending = limit(async () => {
        emit({ type: 'blob-start', descriptor });
        const outcome = await transferBlob(descriptor);
        blobs[outcome]++;
        emit({ type: 'blob-done', descriptor, outcome });
      });
      blobsInFlight.set(descriptor.digest, pending);
    }
    return pending;
  };

  const transferBlob = async (descriptor: Descriptor): Promise<BlobOutcome> => {
    if (await destination.hasBlob(descriptor)) return 'present';
    if (isForeign(descriptor) && !(await source.hasBlob(descriptor))) return 'skipped-foreign';
    if (canMount(destination) && (await destination.mountBlob(descriptor, source)))
      return 'mounted';
    const content = await source.getBlob(descriptor);
    await destination.putBlob(descriptor, counted(content, descriptor));
    bytes += descriptor.size;
    return 'copied';
  };

  async function* counted(
    content: AsyncIterable<Uint8Array>,
    descriptor: Descriptor,
  ): AsyncGenerator<Uint8Array> {
    let sent = 0;
    for await (const chunk of content) {
      sent += chunk.byteLength;
      emit({ type: 'blob-progress', descriptor, bytes: sent });
      yield chunk;
    }
  }

  const copyManifest = async (
    manifest: ParsedManifest,
    tag: string | undefined,
  ): Promise<Descriptor> => {
    // Read-only form (oci/manifest.ts ArtifactManifest): refused before any blob is copied.
    if (manifest.kind === 'artifact') {
      throw invalid(
        'UNSUPPORTED_MEDIA_TYPE',
        `${manifest.digest} is a ${manifest.mediaType}, which vouch reads but does not copy`,
      );
    }
    if (manifest.kind === 'index') {
      await Promise.all(manifest.manifest.manifests.map((child) => copyChild(child.digest)));
    } else {
      await Promise.all([manifest.manifest.config, ...manifest.manifest.layers].map(copyBlob));
    }
    const descriptor = await destination.putManifest(manifest.bytes, manifest.mediaType, tag);
    emit({ type: 'manifest', descriptor });
    return descriptor;
  };

  const copyChild = (digest: Digest): Promise<void> => {
    let pending = manifestsInFlight.get(digest);
    if (pending === undefined) {
      pending = source.getManifest({ digest }).then(async (child) => {
        await copyManifest(child, undefined);
      });
      manifestsInFlight.set(digest, pending);
    }
    return pending;
  };

  const top = await source.getManifest(target);
  const descriptor = await copyManifest(top, options.tag);
  return { descriptor, manifests: manifestsInFlight.size + 1, blobs, bytes };
}
