/**
 * A layout's `index.json`: an image index whose descriptors carry
 * `org.opencontainers.image.ref.name` annotations (the tags, one descriptor
 * per tag as skopeo keeps them). Parsed strictly and edited tag by tag.
 *
 * It is the user's file, which other tools write too: an edit changes only
 * the entries it adds or removes. Every other member, at the top and in each
 * entry (fields vouch does not know, annotations in their order, an empty
 * `urls`, a platform's extra fields), is written back with the value as it
 * was written: numbers and strings keep their exact source text, members
 * keep their order, only whitespace goes. containers/image instead decodes
 * into Go structs and drops what they lack. New entries, and a new file, are
 * written as containers/image writes them.
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

/** index.json as read for an edit: the validated index and the document exactly as written. */
export interface IndexFile {
  readonly index: ImageIndex;
  /**
   * The same document with every number and string kept as its source text
   * (`JSON.rawJSON`), so `JSON.stringify` writes each value back byte for
   * byte; `document.manifests[i]` is the entry `index.manifests[i]` was read from.
   */
  readonly document: Readonly<Record<string, unknown>>;
}

export function parseIndexFile(bytes: Uint8Array, where: string): IndexFile {
  // parseIndex validates first (and caps depth), so the second parse reads what it accepted.
  const index = parseIndex(bytes, where);
  const document = JSON.parse(new TextDecoder().decode(bytes), keepSourceText) as Record<
    string,
    unknown
  >;
  return { index, document };
}

/**
 * `file` with its entries replaced by `manifests`: an entry it already held
 * (the same Descriptor object) is written as it was read, a new one as
 * containers/image writes it. A file without `mediaType` gets one after
 * `schemaVersion`, where containers/image puts it (image-index.md: it SHOULD
 * be there).
 */
export function serializeIndexFile(file: IndexFile, manifests: readonly Descriptor[]): Uint8Array {
  const read = file.document.manifests as readonly unknown[];
  const entries = new Map<Descriptor, unknown>(file.index.manifests.map((d, i) => [d, read[i]]));
  // A null prototype makes `__proto__` an ordinary member, as JSON.parse made it.
  const document = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(file.document)) {
    document[key] =
      key === 'manifests' ? manifests.map((d) => entries.get(d) ?? orderDescriptor(d)) : value;
    if (key === 'schemaVersion' && !Object.hasOwn(file.document, 'mediaType')) {
      document.mediaType = OCI_INDEX;
    }
  }
  return new TextEncoder().encode(JSON.stringify(document));
}

// JSON.parse source text access and JSON.rawJSON (TC39 proposal-json-parse-with-source,
// https://github.com/tc39/proposal-json-parse-with-source; V8 and Node.js since 21),
// not yet in TypeScript's lib.
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** A JSON.parse reviver that keeps every primitive as its exact source text. */
function keepSourceText(_key: string, value: unknown, context?: { source?: string }): unknown {
  return context?.source === undefined ? value : rawJSON(context.source);
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
 * A new index.json as containers/image writes it (Go's `json.Marshal` of an
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
