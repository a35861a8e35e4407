/**
 * An OCI image layout on disk (image-spec v1.1 image-layout.md) as an
 * `ImageStore`: vouch's embedded default that needs no server, addressed as
 * `oci:PATH`, `oci:PATH:TAG` or `oci:PATH@DIGEST`.
 *
 * - `oci-layout` holds `{"imageLayoutVersion":"1.0.0"}`; `index.json` is an
 *   image index whose descriptors carry `org.opencontainers.image.ref.name`
 *   annotations (the tags, one descriptor per tag as skopeo keeps them);
 *   `blobs/<alg>/<hex>` holds content, manifests included.
 * - The layout's content is distrusted like a remote registry's: index.json is
 *   validated as an image index, every manifest and blob is checked against
 *   its digest and size, sizes are capped before anything is read, and file
 *   names are only ever built from validated digests.
 * - Writes are crash-safe: blobs and index.json are written to a uniquely
 *   named temporary file, synced, then renamed into place, so nothing
 *   half-written is visible under a digest. index.json updates are
 *   serialised by an in-process mutex per layout and a cross-process lock
 *   file (`index.json.lock`, created exclusively, holding the owner's pid),
 *   and re-read inside the lock, so concurrent writers never lose entries.
 */
import { randomBytes } from 'node:crypto';
import { constants, createReadStream, existsSync, type Stats } from 'node:fs';
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { denied, invalid, isVouchError, messageOf, unavailable } from '../core/errors.ts';
import {
  type Digest,
  digestAlgorithm,
  digestHex,
  digestOf,
  isDigest,
  parseDigest,
} from '../oci/digest.ts';
import {
  type Annotations,
  type Descriptor,
  describeManifest,
  type ImageIndex,
  type ParsedManifest,
  type Platform,
  parseManifest,
} from '../oci/manifest.ts';
import { isManifestType, OCI_INDEX } from '../oci/media-types.ts';
import {
  addToReferrersTag,
  filterByArtifactType,
  MANIFEST_UNKNOWN,
  readReferrersTag,
} from './referrers-tag.ts';
import type { ImageStore, ManifestTarget } from './store.ts';
import { collect, verifyContent } from './verified-content.ts';

/** The annotation that names a tag in index.json (image-spec annotations.md). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** The layout version vouch writes; any 1.x.y is read. */
export const IMAGE_LAYOUT_VERSION = '1.0.0';

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_INDEX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_LOCK_TIMEOUT_MS = 5000;

export interface LayoutOptions {
  /** Largest manifest read or written, checked on the file size before reading. Default 4 MiB. */
  readonly maxManifestBytes?: number;
  /** Largest index.json read. Default 16 MiB. */
  readonly maxIndexBytes?: number;
  /** How long to wait for another process's `index.json.lock`. Default 5000 ms. */
  readonly lockTimeoutMs?: number;
}

export interface OpenLayoutOptions extends LayoutOptions {
  /** Create the directory, `oci-layout`, `blobs/` and an empty `index.json` where missing. */
  readonly create: boolean;
}

/** A parsed `oci:` location: the layout directory and, if given, a tag or digest. */
export interface LayoutLocation {
  readonly path: string;
  readonly target?: ManifestTarget;
}

/** Distribution-spec tag grammar; the only names vouch writes as ref.name. */
const TAG_PATTERN = /^[\w][\w.-]{0,127}$/;
/** Tags of the referrers tag schema (`<alg>-<hex>`): listings, not owners, of what they list. */
const REFERRERS_TAG_PATTERN = /^sha(?:256|512)-[a-f0-9]{64}$/;
/** image-spec descriptor.md digest grammar: what after the last '@' makes it a digest reference. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const LAYOUT_VERSION_PATTERN = /^1\.\d+\.\d+$/;
const MAX_LAYOUT_FILE_BYTES = 64 * 1024;
/** A lock file without a readable pid is abandoned once it is this old. */
const UNREADABLE_LOCK_STALE_MS = 2000;
/** Bound on manifests visited when deciding whether a deleted manifest's blob is still used. */
const MAX_WALK = 10_000;

/**
 * Parses `oci:PATH`, `oci:PATH:TAG` and `oci:PATH@DIGEST`.
 *
 * As in containers/image's oci transport on non-Windows systems
 * (`oci/internal/oci_util.go`): the path ends at the FIRST ':' and may not
 * contain one (no drive-letter handling), and an empty name (`oci:PATH:`)
 * means no tag. The name must be a tag (`[\w][\w.-]{0,127}`); skopeo also
 * accepts names like `a/b:c`, which vouch refuses rather than reads
 * differently. `@DIGEST` is vouch's own: the text after the last '@' is a
 * digest when it contains a ':' (so a path may contain '@'). skopeo's
 * `oci:PATH:@N` source index is not supported.
 */
export function parseLayoutLocation(spec: string): LayoutLocation {
  const fail = (problem: string, cause?: unknown) =>
    invalid(
      'INVALID_LAYOUT_REFERENCE',
      `invalid OCI layout reference "${spec}": ${problem}`,
      cause === undefined ? undefined : { cause },
    );
  if (!spec.startsWith('oci:')) throw fail('expected oci:PATH, oci:PATH:TAG or oci:PATH@DIGEST');
  const rest = spec.slice('oci:'.length);
  const at = rest.lastIndexOf('@');
  if (at !== -1 && DIGEST_GRAMMAR.test(rest.slice(at + 1))) {
    const path = rest.slice(0, at);
    let digest: Digest;
    try {
      digest = parseDigest(rest.slice(at + 1));
    } catch (error) {
      throw fail(messageOf(error), error);
    }
    if (path === '') throw fail('the layout path is empty');
    if (path.includes(':')) {
      throw fail(
        path.endsWith(':')
          ? 'expected oci:PATH@DIGEST without a ":" before the "@"'
          : 'a manifest is addressed by a tag or a digest, not both (and a path may not contain ":")',
      );
    }
    return { path, target: { digest } };
  }
  const colon = rest.indexOf(':');
  const path = colon === -1 ? rest : rest.slice(0, colon);
  const name = colon === -1 ? '' : rest.slice(colon + 1);
  if (path === '') throw fail('the layout path is empty');
  if (name === '') return { path };
  if (/^@\d+$/.test(name))
    throw fail(`skopeo's source index ${name} is not supported; use a tag or @DIGEST`);
  if (!TAG_PATTERN.test(name)) {
    throw fail(
      `"${name}" is not a valid tag (expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the path ends at the first ":")`,
    );
  }
  return { path, target: { tag: name } };
}

/**
 * Opens the layout at `path`. With `create`, makes the directory, `blobs/`,
 * `oci-layout` and an empty `index.json` where they are missing; without it,
 * a missing directory is `LAYOUT_NOT_FOUND` and a directory that is not a
 * layout (no `oci-layout`, unsupported version, no `index.json`) is
 * `LAYOUT_INVALID`. Either way an existing index.json must be a valid index.
 */
export async function openLayout(
  path: string,
  options: OpenLayoutOptions,
): Promise<OCILayoutStore> {
  const { create, ...storeOptions } = options;
  const store = new OCILayoutStore(path, storeOptions);
  const root = store.root;
  const where = store.location;
  if (create) {
    try {
      await mkdir(join(root, 'blobs'), { recursive: true });
    } catch (error) {
      if (errorCode(error) === 'ENOTDIR' || errorCode(error) === 'EEXIST') {
        throw invalid('LAYOUT_INVALID', `${where}: ${root} (or its blobs) is not a directory`, {
          cause: error,
        });
      }
      throw ioError(`${where}: cannot create the layout directory ${root}`, error);
    }
    const layoutFile = join(root, 'oci-layout');
    const layoutJson = JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION });
    if (!(await writeNewFile(layoutFile, layoutJson, where))) {
      await checkLayoutFile(layoutFile, where);
    }
    const empty = serializeIndex({ schemaVersion: 2, manifests: [] });
    await writeNewFile(join(root, 'index.json'), empty, where);
  } else {
    let info: Stats;
    try {
      info = await stat(root);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        throw invalid(
          'LAYOUT_NOT_FOUND',
          `${where}: no OCI image layout at ${root} (no such directory)`,
        );
      }
      throw ioError(`${where}: cannot read ${root}`, error);
    }
    if (!info.isDirectory()) {
      throw invalid(
        'LAYOUT_INVALID',
        `${where}: ${root} is not a directory, expected an OCI image layout`,
      );
    }
    await checkLayoutFile(join(root, 'oci-layout'), where);
  }
  await store.readIndex();
  return store;
}

export class OCILayoutStore implements ImageStore {
  readonly location: string;
  /** The layout directory, resolved to an absolute path when the store was made. */
  readonly root: string;
  readonly #maxManifestBytes: number;
  readonly #maxIndexBytes: number;
  readonly #lockTimeoutMs: number;

  /** No I/O; prefer `openLayout`, which checks that `path` is a layout. */
  constructor(path: string, options: LayoutOptions = {}) {
    if (path === '') throw invalid('INVALID_LAYOUT_REFERENCE', 'the OCI layout path is empty');
    this.location = `oci:${path}`;
    this.root = resolve(path);
    this.#maxManifestBytes = positiveInteger(
      options.maxManifestBytes,
      DEFAULT_MAX_MANIFEST_BYTES,
      'maxManifestBytes',
    );
    this.#maxIndexBytes = positiveInteger(
      options.maxIndexBytes,
      DEFAULT_MAX_INDEX_BYTES,
      'maxIndexBytes',
    );
    this.#lockTimeoutMs = positiveInteger(
      options.lockTimeoutMs,
      DEFAULT_LOCK_TIMEOUT_MS,
      'lockTimeoutMs',
    );
  }

  async resolve(target: ManifestTarget): Promise<Descriptor> {
    const parsed = await this.getManifest(target);
    return { mediaType: parsed.mediaType, digest: parsed.digest, size: parsed.bytes.byteLength };
  }

  async getManifest(target: ManifestTarget): Promise<ParsedManifest> {
    if ('tag' in target) {
      const descriptor = await this.#findTag(target.tag);
      return this.#readManifest(descriptor, `${this.location}:${target.tag}`);
    }
    const digest = checkedDigest(target.digest, this.location);
    const where = `${this.location}@${digest}`;
    const file = this.#blobFile(digest);
    const bytes = await readCapped(
      file,
      this.#maxManifestBytes,
      (size) => manifestTooLarge(where, file, size, this.#maxManifestBytes),
      () => invalid(MANIFEST_UNKNOWN, `manifest ${digest} not found in ${this.location}`),
      where,
    );
    checkBytes(bytes, digest, undefined, file, where);
    return withDigest(parseManifest(bytes, undefined, where), digest);
  }

  async putManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    const where = tag === undefined ? this.location : `${this.location}:${tag}`;
    if (!isManifestType(mediaType)) {
      throw invalid(
        'UNSUPPORTED_MEDIA_TYPE',
        `${where}: cannot store a manifest of media type ${mediaType}`,
      );
    }
    if (tag !== undefined && !TAG_PATTERN.test(tag)) {
      throw invalid(
        'INVALID_TAG',
        `${where}: "${tag}" is not a valid tag (expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`,
      );
    }
    if (bytes.byteLength > this.#maxManifestBytes) {
      throw invalid(
        'MANIFEST_TOO_LARGE',
        `${where}: manifest of ${bytes.byteLength} bytes exceeds the limit of ${this.#maxManifestBytes} bytes`,
      );
    }
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(bytes, mediaType, where);
    } catch (error) {
      throw invalid(isVouchError(error) ? error.code : 'MANIFEST_INVALID', messageOf(error), {
        cause: error,
      });
    }
    const descriptor: Descriptor = {
      mediaType: parsed.mediaType,
      digest: parsed.digest,
      size: bytes.byteLength,
    };
    await this.#writeBlob(descriptor, once(bytes), where);
    if (tag !== undefined) {
      const entry: Descriptor = { ...descriptor, annotations: { [REF_NAME_ANNOTATION]: tag } };
      await this.#updateIndex((manifests) => replaceTag(manifests, tag, entry));
    }
    // A layout has no referrers API: a manifest with a subject is always listed
    // under the referrers tag, as a registry without the API would need.
    const subject = parsed.manifest.subject;
    if (subject !== undefined)
      await addToReferrersTag(this, subject.digest, describeManifest(parsed));
    return descriptor;
  }

  /**
   * Removes every index.json entry for `digest` (its tags), then the blob
   * itself unless another manifest still in the layout contains it (as an
   * index child, config or layer); a referrers-tag listing does not count.
   */
  async deleteManifest(digest: Digest): Promise<void> {
    const checked = checkedDigest(digest, this.location);
    const file = this.#blobFile(checked);
    await this.#withIndexLock(async () => {
      const index = await this.readIndex();
      const remaining = index.manifests.filter((d) => d.digest !== checked);
      const exists = (await statFile(file, this.location)) !== undefined;
      if (remaining.length === index.manifests.length && !exists) {
        throw invalid(MANIFEST_UNKNOWN, `manifest ${checked} not found in ${this.location}`);
      }
      if (remaining.length !== index.manifests.length) {
        await this.#writeIndex({ ...index, manifests: remaining });
      }
      if (exists && !(await this.#isContained(checked, remaining))) {
        try {
          await rm(file, { force: true });
        } catch (error) {
          throw ioError(`${this.location}: cannot remove ${file}`, error);
        }
      }
    });
  }

  async listTags(): Promise<string[]> {
    const index = await this.readIndex();
    const tags: string[] = [];
    for (const descriptor of index.manifests) {
      const name = descriptor.annotations?.[REF_NAME_ANNOTATION];
      if (name !== undefined && !tags.includes(name)) tags.push(name);
    }
    return tags;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const file = this.#blobFile(checkedDigest(descriptor.digest, this.location));
    const info = await statFile(file, this.location);
    return info !== undefined && info.size === descriptor.size;
  }

  async getBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    const { file, where } = await this.#checkBlobFile(descriptor);
    return verifyContent(readChunks(file), descriptor, where);
  }

  async readBlob(descriptor: Descriptor, maxBytes: number): Promise<Uint8Array> {
    const where = `${this.location}@${descriptor.digest}`;
    const tooLarge = () =>
      denied(
        'BLOB_TOO_LARGE',
        `${where}: blob of ${descriptor.size} bytes exceeds the limit of ${maxBytes} bytes`,
      );
    if (descriptor.size > maxBytes) throw tooLarge();
    const { file } = await this.#checkBlobFile(descriptor);
    return collect(
      verifyContent(readChunks(file), descriptor, `${where} (${file})`),
      maxBytes,
      tooLarge,
    );
  }

  async putBlob(descriptor: Descriptor, content: AsyncIterable<Uint8Array>): Promise<void> {
    await this.#writeBlob(descriptor, content, `${this.location}@${descriptor.digest}`);
  }

  async referrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    return filterByArtifactType(await readReferrersTag(this, digest), artifactType);
  }

  /** index.json, validated as an OCI image index. */
  async readIndex(): Promise<ImageIndex> {
    const file = join(this.root, 'index.json');
    const where = `${this.location} (index.json)`;
    const bytes = await readCapped(
      file,
      this.#maxIndexBytes,
      (size) =>
        denied(
          'INDEX_TOO_LARGE',
          `${where}: ${file} has ${size} bytes, more than the limit of ${this.#maxIndexBytes}`,
        ),
      () =>
        existsSync(this.root)
          ? invalid(
              'LAYOUT_INVALID',
              `${this.location}: ${file} is missing; is ${this.root} an OCI image layout?`,
            )
          : invalid(
              'LAYOUT_NOT_FOUND',
              `${this.location}: no OCI image layout at ${this.root} (no such directory)`,
            ),
      where,
    );
    const parsed = parseManifest(bytes, OCI_INDEX, where);
    if (parsed.kind !== 'index') {
      throw denied(
        'MANIFEST_INVALID',
        `invalid manifest from ${where}: index.json must be an image index`,
      );
    }
    return parsed.manifest;
  }

  async #findTag(tag: string): Promise<Descriptor> {
    const index = await this.readIndex();
    const matches = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
    const found = matches[0];
    if (found === undefined)
      throw invalid(MANIFEST_UNKNOWN, `tag "${tag}" not found in ${this.location}`);
    if (matches.length > 1) {
      throw denied(
        'TAG_AMBIGUOUS',
        `tag "${tag}" names ${matches.length} manifests in ${this.location}/index.json (${matches.map((d) => d.digest).join(', ')})`,
      );
    }
    if (!isManifestType(found.mediaType)) {
      throw denied(
        'MANIFEST_INVALID',
        `tag "${tag}" in ${this.location} points to ${found.mediaType}, which is not a manifest media type`,
      );
    }
    return found;
  }

  /** Reads and verifies the manifest a descriptor (from index.json or an index) points to. */
  async #readManifest(descriptor: Descriptor, where: string): Promise<ParsedManifest> {
    const file = this.#blobFile(checkedDigest(descriptor.digest, this.location));
    if (descriptor.size > this.#maxManifestBytes) {
      throw manifestTooLarge(where, file, descriptor.size, this.#maxManifestBytes);
    }
    const bytes = await readCapped(
      file,
      this.#maxManifestBytes,
      (size) => manifestTooLarge(where, file, size, this.#maxManifestBytes),
      () =>
        invalid(MANIFEST_UNKNOWN, `${where}: manifest ${descriptor.digest} is missing (${file})`),
      where,
    );
    checkBytes(bytes, descriptor.digest, descriptor.size, file, where);
    return withDigest(parseManifest(bytes, descriptor.mediaType, where), descriptor.digest);
  }

  async #checkBlobFile(descriptor: Descriptor): Promise<{ file: string; where: string }> {
    const file = this.#blobFile(checkedDigest(descriptor.digest, this.location));
    const where = `${this.location}@${descriptor.digest}`;
    const info = await statFile(file, this.location);
    if (info === undefined)
      throw invalid('BLOB_UNKNOWN', `blob ${descriptor.digest} not found in ${this.location}`);
    if (info.size > descriptor.size) {
      throw denied(
        'BLOB_TOO_LARGE',
        `${where}: ${file} has ${info.size} bytes, longer than its descriptor's ${descriptor.size} bytes`,
      );
    }
    if (info.size !== descriptor.size) {
      throw denied(
        'BLOB_SIZE_MISMATCH',
        `${where}: ${file} has ${info.size} bytes, its descriptor says ${descriptor.size}`,
      );
    }
    return { file, where: `${where} (${file})` };
  }

  /** Streams `content` to a temporary file, verifying it, then renames it into place. */
  async #writeBlob(
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    content: AsyncIterable<Uint8Array>,
    where: string,
  ): Promise<void> {
    const file = this.#blobFile(checkedDigest(descriptor.digest, this.location));
    const existing = await statFile(file, this.location);
    if (existing !== undefined && existing.size === descriptor.size) {
      await content[Symbol.asyncIterator]().return?.();
      return;
    }
    const directory = dirname(file);
    const temp = join(directory, `.tmp-${randomBytes(12).toString('hex')}`);
    let handle: FileHandle;
    try {
      await this.#ensureBlobDirectory(directory);
      handle = await open(temp, 'wx', 0o644);
    } catch (error) {
      throw ioError(`${this.location}: cannot create a file in ${directory}`, error);
    }
    let renamed = false;
    try {
      try {
        for await (const chunk of verifyContent(content, descriptor, where))
          await writeAll(handle, chunk);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
      renamed = true;
    } catch (error) {
      throw ioError(`${this.location}: cannot write blob ${descriptor.digest}`, error);
    } finally {
      if (!renamed) await rm(temp, { force: true });
    }
  }

  /** Creates `blobs/` and `blobs/<alg>/` as needed, but never the layout directory itself. */
  async #ensureBlobDirectory(directory: string): Promise<void> {
    const blobs = dirname(directory);
    for (const path of [blobs, directory]) {
      try {
        await mkdir(path);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT' && !existsSync(this.root)) {
          throw invalid(
            'LAYOUT_NOT_FOUND',
            `${this.location}: no OCI image layout at ${this.root} (no such directory)`,
          );
        }
        if (code !== 'EEXIST') throw error;
      }
    }
  }

  /** Applies `change` to index.json's manifests inside the lock; `undefined` means no change. */
  async #updateIndex(
    change: (manifests: readonly Descriptor[]) => Descriptor[] | undefined,
  ): Promise<void> {
    await this.#withIndexLock(async () => {
      const index = await this.readIndex();
      const manifests = change(index.manifests);
      if (manifests !== undefined) await this.#writeIndex({ ...index, manifests });
    });
  }

  async #writeIndex(index: ImageIndex): Promise<void> {
    const file = join(this.root, 'index.json');
    const temp = join(this.root, `.index.json.${randomBytes(12).toString('hex')}.tmp`);
    try {
      await writeSynced(temp, serializeIndex(index));
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw ioError(`${this.location}: cannot write ${file}`, error);
    }
  }

  async #withIndexLock<T>(task: () => Promise<T>): Promise<T> {
    return withMutex(this.root, async () => {
      const release = await acquireLockFile(
        join(this.root, 'index.json.lock'),
        this.#lockTimeoutMs,
        this.location,
      );
      try {
        return await task();
      } finally {
        await release();
      }
    });
  }

  /** Whether a manifest reachable from `roots` contains `target` (index child, config or layer). */
  async #isContained(target: Digest, roots: readonly Descriptor[]): Promise<boolean> {
    const queue: Array<{ descriptor: Descriptor; owning: boolean }> = roots.map((descriptor) => ({
      descriptor,
      owning: !REFERRERS_TAG_PATTERN.test(descriptor.annotations?.[REF_NAME_ANNOTATION] ?? ''),
    }));
    const visited = new Set<string>();
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      const { descriptor, owning } = item;
      if (descriptor.digest === target || visited.has(descriptor.digest)) continue;
      if (visited.size >= MAX_WALK) return true; // too large to tell: keep the blob
      visited.add(descriptor.digest);
      if (!isManifestType(descriptor.mediaType)) continue;
      let parsed: ParsedManifest;
      try {
        parsed = await this.#readManifest(descriptor, `${this.location}@${descriptor.digest}`);
      } catch {
        continue; // a broken manifest cannot be kept intact anyway
      }
      if (parsed.kind === 'index') {
        for (const child of parsed.manifest.manifests) {
          if (child.digest === target && owning) return true;
          queue.push({ descriptor: child, owning: true });
        }
      } else {
        const { config, layers } = parsed.manifest;
        if ([config, ...layers].some((d) => d.digest === target)) return true;
      }
    }
    return false;
  }

  #blobFile(digest: Digest): string {
    // checkedDigest has validated the digest: the algorithm and hex are [a-z0-9] only.
    return join(this.root, 'blobs', digestAlgorithm(digest), digestHex(digest));
  }
}

// --- index.json ------------------------------------------------------------

/** One descriptor per tag: the entry already named `tag` is replaced in place, or `entry` is appended. */
function replaceTag(
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
function serializeIndex(index: ImageIndex): Uint8Array {
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

async function checkLayoutFile(file: string, where: string): Promise<void> {
  const bytes = await readCapped(
    file,
    MAX_LAYOUT_FILE_BYTES,
    (size) =>
      invalid(
        'LAYOUT_INVALID',
        `${where}: ${file} has ${size} bytes; expected a small JSON object`,
      ),
    () => invalid('LAYOUT_INVALID', `${where}: ${file} is missing; not an OCI image layout`),
    where,
  );
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw invalid('LAYOUT_INVALID', `${where}: ${file} is not UTF-8 JSON`, { cause: error });
  }
  const version =
    typeof document === 'object' && document !== null && !Array.isArray(document)
      ? (document as Record<string, unknown>).imageLayoutVersion
      : undefined;
  if (typeof version !== 'string' || !LAYOUT_VERSION_PATTERN.test(version)) {
    throw invalid(
      'LAYOUT_INVALID',
      `${where}: ${file} has imageLayoutVersion ${JSON.stringify(version)}; expected ${IMAGE_LAYOUT_VERSION}`,
    );
  }
}

// --- verification ----------------------------------------------------------

function checkedDigest(digest: string, where: string): Digest {
  if (!isDigest(digest)) {
    throw invalid(
      'INVALID_DIGEST',
      `${where}: invalid digest ${JSON.stringify(digest.slice(0, 100))}`,
    );
  }
  return digest;
}

function checkBytes(
  bytes: Uint8Array,
  digest: Digest,
  size: number | undefined,
  file: string,
  where: string,
): void {
  if (size !== undefined && bytes.byteLength !== size) {
    throw denied(
      'DIGEST_MISMATCH',
      `${where}: ${file} has ${bytes.byteLength} bytes, its descriptor says ${size} (digest ${digest})`,
    );
  }
  const actual = digestOf(bytes, digestAlgorithm(digest));
  if (actual !== digest) {
    throw denied('DIGEST_MISMATCH', `${where}: ${file} hashes to ${actual}, expected ${digest}`);
  }
}

/** parseManifest names content by its sha256; a manifest asked for by sha512 keeps that name. */
function withDigest(parsed: ParsedManifest, digest: Digest): ParsedManifest {
  return parsed.digest === digest ? parsed : { ...parsed, digest };
}

function manifestTooLarge(where: string, file: string, size: number, max: number): Error {
  return denied(
    'MANIFEST_TOO_LARGE',
    `${where}: manifest ${file} has ${size} bytes, more than the limit of ${max}`,
  );
}

// --- files -----------------------------------------------------------------

/**
 * Reads a regular file whole, refusing (before reading) one larger than
 * `max`. O_NONBLOCK keeps a FIFO planted in the layout from blocking the open.
 */
async function readCapped(
  file: string,
  max: number,
  tooLarge: (size: number) => Error,
  missing: () => Error,
  where: string,
): Promise<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw missing();
    throw ioError(`${where}: cannot open ${file}`, error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw denied('LAYOUT_INVALID', `${where}: ${file} is not a regular file`);
    if (info.size > max) throw tooLarge(info.size);
    const buffer = Buffer.alloc(info.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.byteLength) throw tooLarge(length); // the file grew while being read
      const { bytesRead } = await handle.read(buffer, length, buffer.byteLength - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > max) throw tooLarge(length);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  } catch (error) {
    throw ioError(`${where}: cannot read ${file}`, error);
  } finally {
    await handle.close();
  }
}

/** A regular file's stats, or undefined when there is no file. */
async function statFile(file: string, where: string): Promise<Stats | undefined> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw ioError(`${where}: cannot read ${file}`, error);
  }
  if (!info.isFile()) throw denied('LAYOUT_INVALID', `${where}: ${file} is not a regular file`);
  return info;
}

/** The file's chunks; nothing is opened until the first chunk is asked for. */
async function* readChunks(file: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of createReadStream(file)) yield chunk as Buffer;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(file, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Atomically creates `file` unless it exists; returns whether it was created. */
async function writeNewFile(
  file: string,
  data: Uint8Array | string,
  where: string,
): Promise<boolean> {
  const temp = `${file}.${randomBytes(12).toString('hex')}.tmp`;
  try {
    await writeSynced(temp, data);
    try {
      await link(temp, file);
      return true;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      // Filesystems without hard links: fall back to an exclusive create.
      try {
        await writeFile(file, data, { flag: 'wx', mode: 0o644 });
        return true;
      } catch (fallbackError) {
        if (errorCode(fallbackError) === 'EEXIST') return false;
        throw fallbackError;
      }
    }
  } catch (error) {
    throw ioError(`${where}: cannot create ${file}`, error);
  } finally {
    await rm(temp, { force: true });
  }
}

// --- locking ---------------------------------------------------------------

const mutexTails = new Map<string, Promise<void>>();

/** Runs `task` after every earlier task queued under `key` in this process has settled. */
async function withMutex<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = mutexTails.get(key) ?? Promise.resolve();
  let release = () => {};
  const current = new Promise<void>((done) => {
    release = done;
  });
  const tail = previous.then(() => current);
  mutexTails.set(key, tail);
  await previous;
  try {
    return await task();
  } finally {
    release();
    if (mutexTails.get(key) === tail) mutexTails.delete(key);
  }
}

/**
 * Takes `lockFile` by creating it exclusively with this process's pid,
 * retrying with backoff for up to `timeoutMs`. A lock whose pid is not alive
 * (or that never got a pid and is old) is stale and is broken, under a
 * short-lived `.steal` lock so two processes cannot both break it and one
 * then delete the other's fresh lock. Returns the release function.
 */
async function acquireLockFile(
  lockFile: string,
  timeoutMs: number,
  where: string,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    let handle: FileHandle | undefined;
    try {
      handle = await open(lockFile, 'wx', 0o644);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw invalid('LAYOUT_NOT_FOUND', `${where}: no OCI image layout at ${dirname(lockFile)}`);
      }
      if (code !== 'EEXIST') throw ioError(`${where}: cannot create ${lockFile}`, error);
    }
    if (handle !== undefined) {
      try {
        await handle.writeFile(`${process.pid}\n`);
      } catch (error) {
        await handle.close().catch(() => {});
        await rm(lockFile, { force: true });
        throw ioError(`${where}: cannot write ${lockFile}`, error);
      }
      await handle.close();
      return async () => {
        await rm(lockFile, { force: true });
      };
    }
    if (await breakStaleLock(lockFile)) continue;
    if (Date.now() >= deadline) {
      const holder = await readLockHolder(lockFile);
      const by = holder?.pid === undefined ? '' : ` by process ${holder.pid}`;
      throw unavailable(
        'LAYOUT_LOCKED',
        `${where}: index.json is locked${by} (${lockFile}); gave up after ${timeoutMs} ms`,
      );
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
}

interface LockHolder {
  readonly pid: number | undefined;
  readonly ageMs: number;
}

async function readLockHolder(lockFile: string): Promise<LockHolder | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)]);
    const pid = /^\d{1,10}\n?$/.test(text) ? Number.parseInt(text, 10) : undefined;
    return {
      pid: pid !== undefined && pid > 0 ? pid : undefined,
      ageMs: Date.now() - info.mtimeMs,
    };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function isStale(holder: LockHolder): boolean {
  return holder.pid === undefined ? holder.ageMs > UNREADABLE_LOCK_STALE_MS : !isAlive(holder.pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/** Removes the lock if it is stale; returns whether the caller should retry at once. */
async function breakStaleLock(lockFile: string): Promise<boolean> {
  const holder = await readLockHolder(lockFile);
  if (holder === undefined) return true;
  if (!isStale(holder)) return false;
  const stealFile = `${lockFile}.steal`;
  let handle: FileHandle;
  try {
    handle = await open(stealFile, 'wx', 0o644);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    // A breaker that died mid-break leaves its steal lock behind; it is held for moments only.
    const info = await stat(stealFile).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > UNREADABLE_LOCK_STALE_MS)
      await rm(stealFile, { force: true });
    return false;
  }
  try {
    const again = await readLockHolder(lockFile);
    if (again !== undefined && again.pid === holder.pid && isStale(again))
      await rm(lockFile, { force: true });
    return true;
  } finally {
    await handle.close();
    await rm(stealFile, { force: true });
  }
}

// --- small helpers ---------------------------------------------------------

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** Passes vouch's own errors through; wraps file-system failures as `unavailable`. */
function ioError(message: string, error: unknown): Error {
  if (isVouchError(error)) return error;
  return unavailable('LAYOUT_IO_ERROR', `${message}: ${messageOf(error)}`, { cause: error });
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalid('INVALID_OPTION', `${name} must be a positive integer, found ${value}`);
  }
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
