/**
 * Descriptors, image manifests and indexes (OCI image-spec v1.1 descriptor.md,
 * manifest.md, image-index.md; Docker schema 2 manifests and manifest lists
 * share the shape), and, read only, the pre-release OCI artifact manifest
 * notation signatures may be stored in. Parsers start from bytes, validate strictly, and keep the
 * bytes: a manifest's digest is always the digest of the bytes received, never
 * of a re-serialisation.
 */
import { denied } from '../core/errors.ts';
import { JsonDepthError, parseJson } from '../core/json.ts';
import { type Digest, digestOf, isDigest } from './digest.ts';
import {
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  IMAGE_MANIFEST_TYPES,
  INDEX_TYPES,
  isValidMediaType,
  OCI_ARTIFACT_MANIFEST,
} from './media-types.ts';

export type Annotations = Readonly<Record<string, string>>;

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Annotations;
  readonly data?: string;
  readonly platform?: Platform;
  readonly artifactType?: string;
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Annotations;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Annotations;
}

/**
 * The pre-release OCI artifact manifest (image-spec v1.1.0-rc2 artifact.md;
 * oras-go v2 `ocispec.Artifact`, notation-go registry/internal/artifactspec):
 * no schemaVersion or config; `blobs`, `subject` and `annotations` are
 * omitempty. Read only, for the Notary Project signatures stored in it.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0-rc2/artifact.md
 */
export interface ArtifactManifest {
  readonly mediaType: string;
  readonly artifactType: string;
  readonly blobs: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Annotations;
}

/** A manifest as received: its exact bytes, their digest, and the parsed content. */
export type ParsedManifest =
  | {
      readonly kind: 'image';
      readonly mediaType: string;
      readonly bytes: Uint8Array;
      readonly digest: Digest;
      readonly manifest: ImageManifest;
    }
  | {
      readonly kind: 'index';
      readonly mediaType: string;
      readonly bytes: Uint8Array;
      readonly digest: Digest;
      readonly manifest: ImageIndex;
    }
  | {
      readonly kind: 'artifact';
      readonly mediaType: string;
      readonly bytes: Uint8Array;
      readonly digest: Digest;
      readonly manifest: ArtifactManifest;
    };

/** The descriptor of a parsed manifest, as it would appear in an index or referrers list. */
export function describeManifest(parsed: ParsedManifest): Descriptor {
  const artifactType =
    parsed.manifest.artifactType ??
    (parsed.kind === 'image' ? parsed.manifest.config.mediaType : undefined);
  return {
    mediaType: parsed.mediaType,
    digest: parsed.digest,
    size: parsed.bytes.byteLength,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(parsed.manifest.annotations === undefined
      ? {}
      : { annotations: parsed.manifest.annotations }),
  };
}

/**
 * Parses manifest bytes. `contentType` is what the server or layout said the
 * bytes are; when both it and the document's own `mediaType` are present they
 * must agree (image-spec manifest.md: mediaType "MUST" be used when present,
 * and a registry serving one type under another is a mix-and-match attempt).
 * `where` names the source for error messages.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  where: string,
): ParsedManifest {
  const fail = (problem: string) =>
    denied('MANIFEST_INVALID', `invalid manifest from ${where}: ${problem}`);
  let document: unknown;
  try {
    document = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    const problem = error instanceof JsonDepthError ? error.message : 'not UTF-8 JSON';
    throw denied('MANIFEST_INVALID', `invalid manifest from ${where}: ${problem}`, {
      cause: error,
    });
  }
  if (!isRecord(document)) throw fail('expected a JSON object');
  const declared = optionalString(document, 'mediaType', fail);
  const advertised = contentType === undefined ? undefined : stripParameters(contentType);
  if (
    declared === DOCKER_MANIFEST_V1 ||
    declared === DOCKER_MANIFEST_V1_SIGNED ||
    document.schemaVersion === 1
  ) {
    throw fail('Docker schema 1 manifests are not supported; push the image with a current client');
  }
  if (declared === OCI_ARTIFACT_MANIFEST) {
    if (advertised !== undefined && isKnownType(advertised) && advertised !== declared)
      throw fail(`served as ${advertised} but declares mediaType ${declared}`);
    return {
      kind: 'artifact',
      mediaType: declared,
      bytes,
      digest: digestOf(bytes),
      manifest: parseArtifactFields(document, fail),
    };
  }
  if (document.schemaVersion !== 2)
    throw fail(`schemaVersion must be 2, found ${JSON.stringify(document.schemaVersion)}`);
  if (
    declared !== undefined &&
    advertised !== undefined &&
    isKnownType(advertised) &&
    declared !== advertised
  ) {
    throw fail(`served as ${advertised} but declares mediaType ${declared}`);
  }
  const mediaType =
    declared ??
    (advertised !== undefined && isKnownType(advertised) ? advertised : inferType(document));
  const digest = digestOf(bytes);
  if (INDEX_TYPES.includes(mediaType)) {
    if ('layers' in document || 'config' in document)
      throw fail('an index must not have config or layers');
    return { kind: 'index', mediaType, bytes, digest, manifest: parseIndexFields(document, fail) };
  }
  if (IMAGE_MANIFEST_TYPES.includes(mediaType)) {
    if ('manifests' in document) throw fail('an image manifest must not have manifests');
    return { kind: 'image', mediaType, bytes, digest, manifest: parseImageFields(document, fail) };
  }
  throw fail(`unsupported manifest media type ${mediaType}`);
}

type Fail = (problem: string) => Error;

function parseImageFields(document: Record<string, unknown>, fail: Fail): ImageManifest {
  if (!Array.isArray(document.layers)) throw fail('layers must be an array');
  const artifactType = optionalString(document, 'artifactType', fail);
  const mediaType = optionalString(document, 'mediaType', fail);
  const subject =
    document.subject === undefined ? undefined : parseDescriptor(document.subject, 'subject', fail);
  const annotations = parseAnnotations(document.annotations, 'annotations', fail);
  return {
    schemaVersion: 2,
    ...(mediaType === undefined ? {} : { mediaType }),
    ...(artifactType === undefined ? {} : { artifactType }),
    config: parseDescriptor(document.config, 'config', fail),
    layers: document.layers.map((layer, i) => parseDescriptor(layer, `layers[${i}]`, fail)),
    ...(subject === undefined ? {} : { subject }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

function parseIndexFields(document: Record<string, unknown>, fail: Fail): ImageIndex {
  if (!Array.isArray(document.manifests)) throw fail('manifests must be an array');
  const artifactType = optionalString(document, 'artifactType', fail);
  const mediaType = optionalString(document, 'mediaType', fail);
  const subject =
    document.subject === undefined ? undefined : parseDescriptor(document.subject, 'subject', fail);
  const annotations = parseAnnotations(document.annotations, 'annotations', fail);
  return {
    schemaVersion: 2,
    ...(mediaType === undefined ? {} : { mediaType }),
    ...(artifactType === undefined ? {} : { artifactType }),
    manifests: document.manifests.map((m, i) => parseDescriptor(m, `manifests[${i}]`, fail)),
    ...(subject === undefined ? {} : { subject }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

function parseArtifactFields(document: Record<string, unknown>, fail: Fail): ArtifactManifest {
  // Unknown fields are ignored (Go's json.Unmarshal into oras-go's struct);
  // an image manifest's or index's own fields are a mix-and-match attempt.
  for (const field of ['config', 'layers', 'manifests']) {
    if (field in document) throw fail(`an artifact manifest must not have ${field}`);
  }
  const artifactType = optionalString(document, 'artifactType', fail);
  if (artifactType === undefined) throw fail('artifactType must be a media type');
  const blobs = document.blobs ?? [];
  if (!Array.isArray(blobs)) throw fail('blobs must be an array');
  const subject =
    document.subject === undefined ? undefined : parseDescriptor(document.subject, 'subject', fail);
  const annotations = parseAnnotations(document.annotations, 'annotations', fail);
  return {
    mediaType: OCI_ARTIFACT_MANIFEST,
    artifactType,
    blobs: blobs.map((blob, i) => parseDescriptor(blob, `blobs[${i}]`, fail)),
    ...(subject === undefined ? {} : { subject }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

/** Validates one descriptor (image-spec descriptor.md). `path` locates it in the document. */
export function parseDescriptor(value: unknown, path: string, fail: Fail): Descriptor {
  if (!isRecord(value)) throw fail(`${path} must be an object`);
  const at = (field: string) => `${path}.${field}`;
  const mediaType = value.mediaType;
  if (typeof mediaType !== 'string' || !isValidMediaType(mediaType)) {
    throw fail(`${at('mediaType')} must be a media type, found ${JSON.stringify(mediaType)}`);
  }
  const digest = value.digest;
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw fail(
      `${at('digest')} must be a sha256 or sha512 digest, found ${JSON.stringify(digest)}`,
    );
  }
  const size = value.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw fail(`${at('size')} must be a non-negative integer, found ${JSON.stringify(size)}`);
  }
  const urls = value.urls;
  if (urls !== undefined && !(Array.isArray(urls) && urls.every((u) => typeof u === 'string'))) {
    throw fail(`${at('urls')} must be an array of strings`);
  }
  const data = value.data;
  if (data !== undefined && typeof data !== 'string')
    throw fail(`${at('data')} must be a base64 string`);
  const artifactType = value.artifactType;
  if (
    artifactType !== undefined &&
    (typeof artifactType !== 'string' || !isValidMediaType(artifactType))
  ) {
    throw fail(`${at('artifactType')} must be a media type`);
  }
  const annotations = parseAnnotations(value.annotations, at('annotations'), fail);
  const platform =
    value.platform === undefined ? undefined : parsePlatform(value.platform, at('platform'), fail);
  return {
    mediaType,
    digest,
    size,
    ...(urls === undefined ? {} : { urls: urls as string[] }),
    ...(annotations === undefined ? {} : { annotations }),
    ...(data === undefined ? {} : { data }),
    ...(platform === undefined ? {} : { platform }),
    ...(artifactType === undefined ? {} : { artifactType: artifactType as string }),
  };
}

function parsePlatform(value: unknown, path: string, fail: Fail): Platform {
  if (!isRecord(value)) throw fail(`${path} must be an object`);
  const { architecture, os, variant } = value;
  if (typeof architecture !== 'string' || typeof os !== 'string') {
    throw fail(`${path} needs string architecture and os`);
  }
  if (variant !== undefined && typeof variant !== 'string')
    throw fail(`${path}.variant must be a string`);
  const osVersion = value['os.version'];
  if (osVersion !== undefined && typeof osVersion !== 'string')
    throw fail(`${path}.os.version must be a string`);
  const osFeatures = value['os.features'];
  if (
    osFeatures !== undefined &&
    !(Array.isArray(osFeatures) && osFeatures.every((f) => typeof f === 'string'))
  ) {
    throw fail(`${path}.os.features must be an array of strings`);
  }
  return {
    architecture,
    os,
    ...(osVersion === undefined ? {} : { 'os.version': osVersion }),
    ...(osFeatures === undefined ? {} : { 'os.features': osFeatures as string[] }),
    ...(variant === undefined ? {} : { variant }),
  };
}

function parseAnnotations(value: unknown, path: string, fail: Fail): Annotations | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw fail(`${path} must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw fail(`${path}[${JSON.stringify(key)}] must be a string`);
  }
  return value as Annotations;
}

function optionalString(
  document: Record<string, unknown>,
  field: string,
  fail: Fail,
): string | undefined {
  const value = document[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isValidMediaType(value))
    throw fail(`${field} must be a media type`);
  return value;
}

function inferType(document: Record<string, unknown>): string {
  // image-spec allows omitting mediaType; fall back to the shape (as ggcr and containers/image do).
  return 'manifests' in document ? (INDEX_TYPES[0] as string) : (IMAGE_MANIFEST_TYPES[0] as string);
}

function isKnownType(mediaType: string): boolean {
  return (
    INDEX_TYPES.includes(mediaType) ||
    IMAGE_MANIFEST_TYPES.includes(mediaType) ||
    mediaType === OCI_ARTIFACT_MANIFEST
  );
}

function stripParameters(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
