/**
 * Media types vouch reads and writes. OCI image-spec v1.1 (media-types.md)
 * and the Docker Image Manifest V2 Schema 2 equivalents, which registries
 * still serve for most images.
 */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/**
 * The pre-release OCI artifact manifest (image-spec v1.1.0-rc1..rc2
 * artifact.md, withdrawn before v1.1.0). Read only, as notation-go reads its
 * signatures in it (registry/internal/artifactspec); vouch never writes it.
 */
export const OCI_ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
/** Schema 1 is deprecated and unsigned-by-digest; vouch refuses it by name. */
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_V1_SIGNED =
  'application/vnd.docker.distribution.manifest.v1+prettyjws';

export const IMAGE_MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];
export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];
/** What a client accepts when fetching a manifest of any kind it understands. */
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES];

/** What a store asks for when reading a manifest: those, and the read-only artifact manifest. */
export const READABLE_MANIFEST_TYPES: readonly string[] = [
  ...MANIFEST_TYPES,
  OCI_ARTIFACT_MANIFEST,
];

export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

export function isManifestType(mediaType: string): boolean {
  return MANIFEST_TYPES.includes(mediaType);
}

/** RFC 6838 type/subtype (with +suffix); parameters are not allowed in a descriptor. */
const MEDIA_TYPE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isValidMediaType(value: string): boolean {
  return MEDIA_TYPE_PATTERN.test(value);
}
