/**
 * Builds small, real images (random layers, OCI or Docker media types,
 * multi-platform indexes) directly into any ImageStore, so tests need no
 * network and no image from elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { digestOf } from '../../src/oci/digest.ts';
import type { Descriptor } from '../../src/oci/manifest.ts';
import {
  DOCKER_CONFIG,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from '../../src/oci/media-types.ts';
import type { ImageStore } from '../../src/registry/store.ts';

export interface BuiltImage {
  readonly descriptor: Descriptor;
  readonly bytes: Uint8Array;
  readonly blobs: readonly Descriptor[];
}

const encoder = new TextEncoder();

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export async function putBytes(
  store: ImageStore,
  mediaType: string,
  bytes: Uint8Array,
): Promise<Descriptor> {
  const descriptor = { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
  await store.putBlob(descriptor, once(bytes));
  return descriptor;
}

export interface ImageOptions {
  readonly tag?: string;
  readonly layers?: number;
  readonly layerSize?: number;
  readonly docker?: boolean;
  readonly architecture?: string;
}

export async function buildImage(
  store: ImageStore,
  options: ImageOptions = {},
): Promise<BuiltImage> {
  const docker = options.docker ?? false;
  const layers: Descriptor[] = [];
  for (let i = 0; i < (options.layers ?? 2); i++) {
    layers.push(
      await putBytes(
        store,
        docker
          ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
          : 'application/vnd.oci.image.layer.v1.tar+gzip',
        randomBytes(options.layerSize ?? 1024),
      ),
    );
  }
  const architecture = options.architecture ?? 'amd64';
  const config = await putBytes(
    store,
    docker ? DOCKER_CONFIG : OCI_CONFIG,
    encoder.encode(
      JSON.stringify({
        architecture,
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
        config: {},
      }),
    ),
  );
  const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const bytes = encoder.encode(JSON.stringify({ schemaVersion: 2, mediaType, config, layers }));
  const descriptor = await store.putManifest(bytes, mediaType, options.tag);
  return { descriptor, bytes, blobs: [config, ...layers] };
}

export async function buildIndex(
  store: ImageStore,
  options: {
    readonly tag?: string;
    readonly architectures?: readonly string[];
    readonly docker?: boolean;
    readonly layerSize?: number;
  } = {},
): Promise<BuiltImage & { readonly children: readonly BuiltImage[] }> {
  const docker = options.docker ?? false;
  const children: BuiltImage[] = [];
  for (const architecture of options.architectures ?? ['amd64', 'arm64']) {
    children.push(
      await buildImage(store, {
        architecture,
        docker,
        ...(options.layerSize === undefined ? {} : { layerSize: options.layerSize }),
      }),
    );
  }
  const mediaType = docker ? DOCKER_MANIFEST_LIST : OCI_INDEX;
  const manifests = children.map((child, i) => ({
    ...child.descriptor,
    platform: {
      architecture: (options.architectures ?? ['amd64', 'arm64'])[i] as string,
      os: 'linux',
    },
  }));
  const bytes = encoder.encode(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
  const descriptor = await store.putManifest(bytes, mediaType, options.tag);
  return { descriptor, bytes, blobs: children.flatMap((c) => c.blobs), children };
}
