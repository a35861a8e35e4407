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
 *
 * The pieces live beside this file: `layout-location.ts` (the `oci:` grammar),
 * `layout-index-json.ts`, `layout-lock.ts` and `layout-files.ts`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, type Stats } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { denied, invalid, isVouchError, messageOf } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { type Digest, digestAlgorithm, digestHex, digestOf, isDigest } from '../oci/digest.ts';
import {
  type Descriptor,
  describeManifest,
  type ImageIndex,
  type ParsedManifest,
  parseManifest,
} from '../oci/manifest.ts';
import { IMAGE_MANIFEST_TYPES, isManifestType } from '../oci/media-types.ts';
import { isTag } from '../oci/reference.ts';
import {
  errorCode,
  ioError,
  readCapped,
  readChunks,
  replaceFile,
  statFile,
  writeAll,
  writeNewFile,
} from './layout-files.ts';
import {
  type IndexFile,
  parseIndex,
  parseIndexFile,
  REF_NAME_ANNOTATION,
  replaceTag,
  serializeIndex,
  serializeIndexFile,
} from './layout-index-json.ts';
import { withLayoutLock } from './layout-lock.ts';
import {
  addToReferrersTag,
  filterByArtifactType,
  isReferrersTag,
  readReferrersTag,
} from './referrers-tag.ts';
import type { ImageStore, ManifestTarget } from './store.ts';
import { collect, verifyContent } from './verified-content.ts';

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

const LAYOUT_VERSION_PATTERN = /^1\.\d+\.\d+$/;
const MAX_LAYOUT_FILE_BYTES = 64 * 1024;
/** Bound on manifests visited when deciding whether a deleted manifest's blob is still used. */
const MAX_WALK = 10_000;

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
      () => invalid('MANIFEST_UNKNOWN', `manifest ${digest} not found in ${this.location}`),
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
    if (tag !== undefined && !isTag(tag)) {
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
      // parseManifest's MANIFEST_INVALID is `denied` from a registry; a layout is the caller's file.
      throw invalid('MANIFEST_INVALID', messageOf(error), { cause: error });
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
   * Points `tag` at `descriptor` only if it still names `expected` (or, when
   * `expected` is undefined, names nothing yet), checked and written inside
   * the index.json lock: a compare-and-swap that concurrent writers of this
   * layout cannot interleave, unlike a registry tag. The manifest must already
   * be stored (`putManifest` without a tag). Returns whether the tag moved.
   * Read-modify-write of signature manifests uses it so that no writer can
   * replace a manifest it never saw.
   */
  async compareAndSetTag(
    tag: string,
    expected: Digest | undefined,
    descriptor: Descriptor,
  ): Promise<boolean> {
    const where = `${this.location}:${tag}`;
    if (!isTag(tag)) {
      throw invalid(
        'INVALID_TAG',
        `${where}: "${tag}" is not a valid tag (expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`,
      );
    }
    const checked = checkedDigest(descriptor.digest, this.location);
    if (!isManifestType(descriptor.mediaType)) {
      throw invalid(
        'UNSUPPORTED_MEDIA_TYPE',
        `${where}: cannot tag a manifest of media type ${descriptor.mediaType}`,
      );
    }
    const stored = await statFile(this.#blobFile(checked), this.location);
    if (stored === undefined || stored.size !== descriptor.size) {
      throw invalid(
        'MANIFEST_UNKNOWN',
        `${where}: manifest ${checked} is not stored in the layout`,
      );
    }
    let swapped = false;
    await this.#updateIndex((manifests) => {
      const current = manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
      const matches =
        expected === undefined
          ? current.length === 0
          : current.length === 1 && current[0]?.digest === expected;
      if (!matches) return undefined;
      swapped = true;
      const entry: Descriptor = {
        mediaType: descriptor.mediaType,
        digest: checked,
        size: descriptor.size,
        annotations: { [REF_NAME_ANNOTATION]: tag },
      };
      return replaceTag(manifests, tag, entry);
    });
    return swapped;
  }

  /**
   * Removes every index.json entry for `digest` (its tags), then the blob
   * itself unless another manifest still in the layout contains it (as an
   * index child, config or layer); a referrers-tag listing does not count.
   */
  async deleteManifest(digest: Digest): Promise<void> {
    const checked = checkedDigest(digest, this.location);
    const file = this.#blobFile(checked);
    await withLayoutLock(this.root, this.#lockTimeoutMs, this.location, async () => {
      const indexFile = await this.#readIndexFile();
      const index = indexFile.index;
      const remaining = index.manifests.filter((d) => d.digest !== checked);
      const exists = (await statFile(file, this.location)) !== undefined;
      if (remaining.length === index.manifests.length && !exists) {
        throw invalid('MANIFEST_UNKNOWN', `manifest ${checked} not found in ${this.location}`);
      }
      if (remaining.length !== index.manifests.length) {
        await this.#writeIndex(indexFile, remaining);
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

  /**
   * The fallback tag's listing (what vouch and registries without the API
   * write), plus the untagged image manifests of index.json whose `subject`
   * is `digest`: oras and other layout writers keep referrers as plain
   * untagged entries of index.json instead (oras-go content/oci). Those are
   * opened (each digest-checked and capped like any manifest) and described
   * from their own content.
   */
  async referrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    const listed = await readReferrersTag(this, digest);
    const seen = new Set(listed.map((d) => d.digest));
    const index = await this.readIndex();
    for (const entry of index.manifests) {
      if (
        seen.has(entry.digest) ||
        entry.annotations?.[REF_NAME_ANNOTATION] !== undefined ||
        !IMAGE_MANIFEST_TYPES.includes(entry.mediaType)
      )
        continue;
      seen.add(entry.digest);
      let manifest: ParsedManifest;
      try {
        manifest = await this.getManifest({ digest: entry.digest });
      } catch (error) {
        // An entry whose blob is gone or unreadable refers to nothing.
        if (isVouchError(error) && error.category !== 'unavailable') continue;
        throw error;
      }
      if (manifest.manifest.subject?.digest === digest) listed.push(describeManifest(manifest));
    }
    return filterByArtifactType(listed, artifactType);
  }

  /** index.json, validated as an OCI image index. */
  async readIndex(): Promise<ImageIndex> {
    return parseIndex(await this.#readIndexBytes(), `${this.location} (index.json)`);
  }

  /** index.json for an edit: validated, and kept as written. */
  async #readIndexFile(): Promise<IndexFile> {
    return parseIndexFile(await this.#readIndexBytes(), `${this.location} (index.json)`);
  }

  async #readIndexBytes(): Promise<Uint8Array> {
    const file = join(this.root, 'index.json');
    const where = `${this.location} (index.json)`;
    return readCapped(
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
  }

  async #findTag(tag: string): Promise<Descriptor> {
    const index = await this.readIndex();
    const matches = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
    const found = matches[0];
    if (found === undefined)
      throw invalid('MANIFEST_UNKNOWN', `tag "${tag}" not found in ${this.location}`);
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
        invalid('MANIFEST_UNKNOWN', `${where}: manifest ${descriptor.digest} is missing (${file})`),
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
    await withLayoutLock(this.root, this.#lockTimeoutMs, this.location, async () => {
      const file = await this.#readIndexFile();
      const manifests = change(file.index.manifests);
      if (manifests !== undefined) await this.#writeIndex(file, manifests);
    });
  }

  async #writeIndex(file: IndexFile, manifests: readonly Descriptor[]): Promise<void> {
    const bytes = serializeIndexFile(file, manifests);
    await replaceFile(join(this.root, 'index.json'), bytes, this.location);
  }

  /** Whether a manifest reachable from `roots` contains `target` (index child, config or layer). */
  async #isContained(target: Digest, roots: readonly Descriptor[]): Promise<boolean> {
    // Referrers tags (`<alg>-<hex>`) are listings, not owners, of what they list.
    const queue: Array<{ descriptor: Descriptor; owning: boolean }> = roots.map((descriptor) => ({
      descriptor,
      owning: !isReferrersTag(descriptor.annotations?.[REF_NAME_ANNOTATION] ?? ''),
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
        const blobs =
          parsed.kind === 'image'
            ? [parsed.manifest.config, ...parsed.manifest.layers]
            : parsed.manifest.blobs;
        if (blobs.some((d) => d.digest === target)) return true;
      }
    }
    return false;
  }

  #blobFile(digest: Digest): string {
    // checkedDigest has validated the digest: the algorithm and hex are [a-z0-9] only.
    return join(this.root, 'blobs', digestAlgorithm(digest), digestHex(digest));
  }
}

// --- oci-layout ------------------------------------------------------------

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
    document = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
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

// --- small helpers ---------------------------------------------------------

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalid('INVALID_OPTION', `${name} must be a positive integer, found ${value}`);
  }
  return value;
}
