/**
 * A layout's `index.json`: an image index whose descriptors carry
 * `org.opencontainers.image.ref.name` annotations (the tags, one descriptor
 * per tag as skopeo keeps them). Parsed strictly, edited tag by tag, and
 * written as containers/image writes it.
 */
import { denied } from '../core/errors.ts';
import {
  type Annotations,
  type Descriptor,
  type ImageIndex,
  type Platform,
  parseManifest,
} from '../oci/manifest.ts';
import { OCI_INDEX } from '../oci/media-types.ts';

/** The annotation that names a tag in index.json (image-spec annotations.md). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** index.json's bytes, validated as an OCI image index. */
export function parseIndex(bytes: Uint8Array, where: string): ImageIndex {
  const parsed = parseManifest(bytes, OCI_INDEX, where);
  if (parsed.kind !== 'index') {
    throw denied(
      'MANIFEST_INVALID',
      `invalid manifest from ${where}: index.json must be an image index`,
    );
  }
  return parsed.manifest;
}

/** One descriptor per tag: the entry already named `tag` is replaced in place, or `entry` is appended. */
export function replaceTag(
  manifests: readonly Descriptor[],
  tag: string,
  entry: Descriptor,
): Descriptor[] {
  const result: Descriptor[] = [];
  let placed = false;
  for (const descriptor of manifests) {
    if (descriptor.annotations?.[REF_NAME_ANNOTATION] !== tag) {
      result.push(descriptor);
    } else if (!placed) {
      result.push(entry);
      placed = true;
    }
  }
  if (!placed) result.push(entry);
  return result;
}

/**
 * index.json as containers/image writes it (Go's `json.Marshal` of an
 * image-spec `Index`): fields in struct order, empty optional fields left out,
 * annotation keys sorted. Unlike skopeo, `mediaType` is always written
 * (image-index.md: it SHOULD be used).
 */
export function serializeIndex(index: ImageIndex): Uint8Array {
  const document = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    ...(index.artifactType === undefined ? {} : { artifactType: index.artifactType }),
    manifests: index.manifests.map(orderDescriptor),
    ...(index.subject === undefined ? {} : { subject: orderDescriptor(index.subject) }),
    ...sortedAnnotations(index.annotations),
  };
  return new TextEncoder().encode(JSON.stringify(document));
}

function orderDescriptor(d: Descriptor): Record<string, unknown> {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.urls === undefined || d.urls.length === 0 ? {} : { urls: d.urls }),
    ...sortedAnnotations(d.annotations),
    ...(d.data === undefined || d.data === '' ? {} : { data: d.data }),
    ...(d.platform === undefined ? {} : { platform: orderPlatform(d.platform) }),
    ...(d.artifactType === undefined || d.artifactType === ''
      ? {}
      : { artifactType: d.artifactType }),
  };
}

function orderPlatform(p: Platform): Record<string, unknown> {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p['os.version'] === undefined || p['os.version'] === ''
      ? {}
      : { 'os.version': p['os.version'] }),
    ...(p['os.features'] === undefined || p['os.features'].length === 0
      ? {}
      : { 'os.features': p['os.features'] }),
    ...(p.variant === undefined || p.variant === '' ? {} : { variant: p.variant }),
  };
}

function sortedAnnotations(annotations: Annotations | undefined): {
  annotations?: Record<string, string>;
} {
  if (annotations === undefined) return {};
  const keys = Object.keys(annotations).sort();
  if (keys.length === 0) return {};
  const sorted: Record<string, string> = {};
  for (const key of keys) sorted[key] = annotations[key] as string;
  return { annotations: sorted };
}
