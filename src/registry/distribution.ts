/**
 * An OCI Distribution API client (distribution-spec v1.1 spec.md). One
 * `RegistryClient` per registry host holds the transport, the detected
 * scheme and the authentication state; `RegistryRepository` is the
 * `ImageStore` for one repository on it.
 *
 * Nothing a registry says is taken on faith: manifests fetched by digest are
 * hashed and compared, `Docker-Content-Digest` is only used to learn what a
 * tag points to, every body is capped before it is read, and blobs are
 * verified as they stream.
 */
import { denied, hasCode, isVouchError, messageOf, unavailable } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { type Digest, digestAlgorithm, digestOf, isDigest } from '../oci/digest.ts';
import {
  type Descriptor,
  describeManifest,
  type ParsedManifest,
  parseManifest,
} from '../oci/manifest.ts';
import { MANIFEST_TYPES, OCI_INDEX, READABLE_MANIFEST_TYPES } from '../oci/media-types.ts';
import { type ImageReference, isLoopbackRegistry } from '../oci/reference.ts';
import { challengeOf, RegistryAuth, repositoryScope } from './auth.ts';
import type { Credentials } from './credentials.ts';
import {
  bodyOf,
  discard,
  type HttpClient,
  type HttpMethod,
  type HttpResponse,
  header,
} from './http.ts';
import { addToReferrersTag, filterByArtifactType, readReferrersTag } from './referrers-tag.ts';
import { responseError } from './response-error.ts';
import type { ImageStore, ManifestTarget } from './store.ts';
import { collect, verifyContent } from './verified-content.ts';

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size. */
export const DEFAULT_CHUNK_SIZE = 32 * 1024 * 1024;
/** Tag lists and referrers pages are JSON documents of strings; this bounds each page. */
const MAX_LIST_PAGE_BYTES = 4 * 1024 * 1024;
const MAX_LIST_PAGES = 1000;

export interface RegistryClientOptions {
  readonly http: HttpClient;
  /** Looks up credentials for a registry host; none means anonymous. */
  readonly credentials?: (registry: string) => Promise<Credentials | undefined>;
  /** Permit plain HTTP to a registry that is not on a loopback address. */
  readonly allowInsecure?: boolean;
  readonly maxManifestBytes?: number;
  readonly chunkSize?: number;
  /** Tags asked for per page of a tag list (`?n=`). */
  readonly tagPageSize?: number;
  /** Milliseconds on a monotonic clock (tests move it); `performance.now` by default. */
  readonly now?: () => number;
}

/**
 * How long a repository's "no referrers API" answer is remembered. Long
 * enough that verifying many images of a repository asks once, short enough
 * that a long-running webhook notices a registry upgraded to the API.
 */
const NO_REFERRERS_API_TTL_MS = 5 * 60 * 1000;
/** Repositories remembered at most (the oldest is forgotten first). */
const MAX_NO_REFERRERS_API_REPOSITORIES = 1024;

/** Docker Hub's name in references is not the host that serves its API. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

type Scope = 'pull' | 'push' | 'delete';

interface RegistryRequest {
  readonly method: HttpMethod;
  /** A path under the origin, or an absolute URL the registry handed out (upload locations, next pages). */
  readonly path: string | URL;
  readonly scopes: readonly string[];
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
  readonly idempotent?: boolean;
  /** A blob transfer: held to the silence timeouts, not to the whole-request one (http.ts). */
  readonly bulk?: boolean;
}

export class RegistryClient {
  readonly registry: string;
  readonly auth: RegistryAuth;
  readonly #options: RegistryClientOptions;
  #origin: Promise<URL> | undefined;
  /** Whether the `/v2/` answer that settled the origin said `X-Registry-Supports-Signatures: 1`. */
  #supportsSignatures = false;
  /** Repositories whose referrers API answered "none here", until when (ms on `now`). */
  readonly #noReferrersApi = new Map<string, number>();

  constructor(registry: string, options: RegistryClientOptions) {
    this.registry = registry;
    this.#options = options;
    this.auth = new RegistryAuth({
      http: options.http,
      registry,
      credentials: () => options.credentials?.(registry) ?? Promise.resolve(undefined),
      allowInsecure: options.allowInsecure ?? false,
    });
  }

  get maxManifestBytes(): number {
    return this.#options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  }

  get chunkSize(): number {
    return this.#options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  get tagPageSize(): number {
    return this.#options.tagPageSize ?? 1000;
  }

  repository(name: string): RegistryRepository {
    return new RegistryRepository(this, name);
  }

  /**
   * Whether `repository` recently answered the referrers API with "no such
   * API", so its listings go straight to the fallback tag, as oras-go's
   * Repository remembers its referrers capability (registry/remote/repository.go
   * `SetReferrersCapability`). Asking the API first costs each image a
   * request on registries without it, Distribution 2.8 among them.
   */
  lacksReferrersApi(repository: string): boolean {
    const until = this.#noReferrersApi.get(repository);
    if (until === undefined) return false;
    if (this.#now() < until) return true;
    this.#noReferrersApi.delete(repository);
    return false;
  }

  rememberNoReferrersApi(repository: string): void {
    this.#noReferrersApi.delete(repository);
    if (this.#noReferrersApi.size >= MAX_NO_REFERRERS_API_REPOSITORIES) {
      this.#noReferrersApi.delete(this.#noReferrersApi.keys().next().value as string);
    }
    this.#noReferrersApi.set(repository, this.#now() + NO_REFERRERS_API_TTL_MS);
  }

  #now(): number {
    return (this.#options.now ?? performance.now.bind(performance))();
  }

  /**
   * Checks that the registry speaks the API and that the credentials work for
   * `scopes` (what `vouch login` does). Throws the registry's refusal.
   */
  async checkAccess(scopes: readonly string[] = []): Promise<void> {
    const response = await this.request({ method: 'GET', path: '/v2/', scopes, idempotent: true });
    if (response.status !== 200) {
      throw await responseError(response, {
        where: this.registry,
        what: 'API version check',
        notFoundCode: 'NOT_A_REGISTRY',
      });
    }
    await discard(response);
  }

  /**
   * Whether the registry serves the signature API extension of OpenShift's
   * registry and Quay (`GET`/`PUT /extensions/v2/<repo>/signatures/<digest>`):
   * its `/v2/` answer carries `X-Registry-Supports-Signatures: 1`, as
   * containers/image learns it (docker/docker_client.go `detectPropertiesHelper`).
   */
  async supportsSignatureExtension(): Promise<boolean> {
    await this.origin();
    return this.#supportsSignatures;
  }

  /**
   * The registry's origin. Remote registries speak HTTPS; plain HTTP is tried
   * after HTTPS fails to connect only when insecure registries are allowed.
   * A registry on a loopback address (Docker treats 127.0.0.0/8 as insecure)
   * is asked over plain HTTP first and over HTTPS when that gets no registry
   * answer: its traffic never leaves the machine, so TLS protects nothing
   * there, while setting up a TLS connection costs a one-shot command about
   * a tenth of its time (docs/benchmarks.md). The `/v2/` ping carries no
   * credentials either way, and teaches the authenticator the registry's
   * challenge.
   */
  origin(): Promise<URL> {
    this.#origin ??= this.#detectOrigin().catch((error: unknown) => {
      this.#origin = undefined;
      throw error;
    });
    return this.#origin;
  }

  async #detectOrigin(): Promise<URL> {
    const host = apiHost(this.registry);
    const https = new URL(`https://${host}`);
    const http = new URL(`http://${host}`);
    if (isLoopbackRegistry(this.registry)) {
      // Anything but a registry's answer over HTTP (an HTTPS server answering
      // plain HTTP with 400, say) is worth asking over HTTPS. A 429 is a
      // registry's answer: it speaks HTTP and asks us to wait.
      return this.#firstAnswering(
        http,
        https,
        (error) => isVouchError(error) && !hasCode(error, ...HTTP_REGISTRY_ANSWERS),
      );
    }
    if (this.#options.allowInsecure ?? false) {
      return this.#firstAnswering(https, http, (error) => isNetworkError(error));
    }
    await this.#ping(https, true);
    return https;
  }

  /**
   * Pings `first`, then `second` when `first` failed in a way `tryNext`
   * accepts. Only the first probe is retried: a registry that answers at all
   * answers the second at once.
   */
  async #firstAnswering(
    first: URL,
    second: URL,
    tryNext: (error: unknown) => boolean,
  ): Promise<URL> {
    try {
      await this.#ping(first, true);
      return first;
    } catch (firstError) {
      if (!tryNext(firstError)) throw firstError;
      try {
        await this.#ping(second, false);
        return second;
      } catch (secondError) {
        if (!isNetworkError(secondError)) throw secondError;
        const scheme = (url: URL) => url.protocol.slice(0, -1).toUpperCase();
        throw unavailable(
          'NETWORK_ERROR',
          `could not reach ${this.registry} over ${scheme(first)} (${networkDetail(firstError)})` +
            ` or ${scheme(second)} (${networkDetail(secondError)})`,
          { cause: secondError },
        );
      }
    }
  }

  async #ping(origin: URL, retry: boolean): Promise<void> {
    const response = await this.#options.http.send({
      method: 'GET',
      url: new URL('/v2/', origin),
      idempotent: retry,
    });
    if (response.status !== 200 && response.status !== 401) {
      throw await responseError(response, {
        where: this.registry,
        what: 'API version check (/v2/)',
        notFoundCode: 'NOT_A_REGISTRY',
      });
    }
    await discard(response);
    this.#supportsSignatures = header(response.headers, 'x-registry-supports-signatures') === '1';
    if (response.status === 401)
      this.auth.learn(await challengeOf(response, origin, this.registry));
  }

  /**
   * Sends a request with the authorization `scopes` need, answering one 401
   * from the registry with a fresh token. Credentials go only to the
   * registry's own origin, and only its own 401s teach a challenge.
   */
  async request(request: RegistryRequest): Promise<HttpResponse> {
    const origin = await this.origin();
    const url = request.path instanceof URL ? request.path : new URL(request.path, origin);
    const sameOrigin = url.origin === origin.origin;
    const authorization = sameOrigin ? await this.auth.authorization(request.scopes) : undefined;
    const send = (auth: string | undefined) =>
      this.#options.http.send({
        method: request.method,
        url,
        headers: { ...request.headers, ...(auth === undefined ? {} : { authorization: auth }) },
        ...(request.body === undefined ? {} : { body: request.body }),
        idempotent: request.idempotent ?? false,
        bulk: request.bulk ?? false,
      });
    const response = await send(authorization);
    // A location the registry handed out on another origin (an upload URL)
    // answers for itself; its 401 is the caller's to report.
    if (response.status !== 401 || !sameOrigin) return response;
    const challenge = await challengeOf(response, origin, this.registry);
    const replayable = request.body === undefined || request.body instanceof Uint8Array;
    if (!replayable) return response;
    const retry = await this.auth.retryAuthorization(challenge, request.scopes, authorization);
    if (retry === undefined) return response;
    await discard(response);
    const retried = await send(retry);
    // Said plainly rather than as the registry refusing the credentials.
    if (retried.status === 401) await challengeOf(retried, origin, this.registry);
    return retried;
  }
}

/**
 * Errors that are a registry's answer over plain HTTP, so a loopback
 * registry is not asked again over HTTPS: it asks us to wait, or it
 * redirected to an origin that wants credentials.
 */
const HTTP_REGISTRY_ANSWERS = ['RATE_LIMITED', 'REDIRECT_UNAUTHORIZED'] as const;

export class RegistryRepository implements ImageStore {
  readonly client: RegistryClient;
  readonly name: string;
  readonly location: string;
  readonly repositoryReference: ImageReference;

  constructor(client: RegistryClient, name: string) {
    this.client = client;
    this.name = name;
    this.location = `${client.registry}/${name}`;
    this.repositoryReference = { registry: client.registry, repository: name };
  }

  #scopes(...actions: Scope[]): string[] {
    return [repositoryScope(this.name, actions)];
  }

  #path(kind: 'manifests' | 'blobs' | 'tags' | 'referrers', rest: string): string {
    return `/v2/${this.name}/${kind}/${rest}`;
  }

  async resolve(target: ManifestTarget): Promise<Descriptor> {
    const reference = 'tag' in target ? target.tag : target.digest;
    const response = await this.client.request({
      method: 'HEAD',
      path: this.#path('manifests', reference),
      headers: { accept: MANIFEST_TYPES.join(', ') },
      scopes: this.#scopes('pull'),
      idempotent: true,
    });
    await discard(response);
    if (response.status === 404) throw await this.#error(response, target);
    const digest = header(response.headers, 'docker-content-digest');
    const mediaType = header(response.headers, 'content-type')?.split(';')[0]?.trim();
    const size = Number(header(response.headers, 'content-length'));
    const usable =
      response.status === 200 &&
      digest !== undefined &&
      isDigest(digest) &&
      ('tag' in target || digest === target.digest) &&
      mediaType !== undefined &&
      MANIFEST_TYPES.includes(mediaType) &&
      Number.isSafeInteger(size) &&
      size > 0;
    // Some registries answer HEAD without the digest header or with 405; the bytes then decide.
    if (!usable) return describeManifest(await this.getManifest(target));
    return { mediaType, digest, size };
  }

  async getManifest(target: ManifestTarget): Promise<ParsedManifest> {
    const reference = 'tag' in target ? target.tag : target.digest;
    const response = await this.client.request({
      method: 'GET',
      path: this.#path('manifests', reference),
      // notation-go reads signatures stored as pre-release artifact manifests too.
      headers: { accept: READABLE_MANIFEST_TYPES.join(', ') },
      scopes: this.#scopes('pull'),
      idempotent: true,
    });
    if (response.status !== 200) throw await this.#error(response, target);
    const where = `${this.location}@${reference}`;
    const limit = this.client.maxManifestBytes;
    const tooLarge = () =>
      denied(
        'MANIFEST_TOO_LARGE',
        `${where}: manifest exceeds the ${limit}-byte limit (raise it with --max-manifest-bytes if this is expected)`,
      );
    const declared = Number(header(response.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > limit) {
      await discard(response);
      throw tooLarge();
    }
    const bytes = await collect(bodyOf(response), limit, tooLarge);
    const parsed = parseManifest(bytes, header(response.headers, 'content-type'), where);
    if ('digest' in target) {
      const actual =
        digestAlgorithm(target.digest) === 'sha256'
          ? parsed.digest
          : digestOf(bytes, digestAlgorithm(target.digest));
      if (actual !== target.digest) {
        throw denied(
          'DIGEST_MISMATCH',
          `${this.location}: asked for manifest ${target.digest}, received content hashing to ${actual}`,
        );
      }
      return { ...parsed, digest: target.digest };
    }
    return parsed;
  }

  async putManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    const parsed = parseManifest(bytes, mediaType, 'the manifest to push');
    const response = await this.client.request({
      method: 'PUT',
      path: this.#path('manifests', tag ?? parsed.digest),
      headers: { 'content-type': mediaType },
      body: bytes,
      scopes: this.#scopes('pull', 'push'),
      idempotent: true,
    });
    if (response.status !== 201 && response.status !== 200) {
      throw await responseError(response, {
        where: this.location,
        what: `push of manifest ${tag ?? parsed.digest}`,
        notFoundCode: 'NAME_UNKNOWN',
      });
    }
    await discard(response);
    const stored = header(response.headers, 'docker-content-digest');
    if (stored !== undefined && stored !== parsed.digest) {
      throw denied(
        'DIGEST_MISMATCH',
        `${this.location}: pushed manifest ${parsed.digest} but the registry says it stored ${stored}`,
      );
    }
    const subject = parsed.manifest.subject;
    // distribution-spec "Pushing Manifests with Subject": no OCI-Subject header
    // means the registry does not index referrers, so the client keeps the tag.
    if (subject !== undefined && header(response.headers, 'oci-subject') === undefined) {
      await addToReferrersTag(this, subject.digest, describeManifest(parsed));
    }
    return { mediaType, digest: parsed.digest, size: bytes.byteLength };
  }

  async deleteManifest(digest: Digest): Promise<void> {
    const response = await this.client.request({
      method: 'DELETE',
      path: this.#path('manifests', digest),
      scopes: this.#scopes('delete'),
      idempotent: true,
    });
    if (response.status === 405) {
      throw unavailable(
        'DELETE_UNSUPPORTED',
        `${this.location}: the registry does not allow deleting manifests (405)`,
      );
    }
    if (response.status !== 202 && response.status !== 200)
      throw await this.#error(response, { digest });
    await discard(response);
  }

  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let next: string | URL | undefined = `/v2/${this.name}/tags/list?n=${this.client.tagPageSize}`;
    for (let page = 0; next !== undefined; page++) {
      if (page >= MAX_LIST_PAGES) {
        throw denied(
          'TAG_LIST_TOO_LONG',
          `${this.location}: tag list has more than ${MAX_LIST_PAGES} pages`,
        );
      }
      const response = await this.client.request({
        method: 'GET',
        path: next,
        scopes: this.#scopes('pull'),
        idempotent: true,
      });
      if (response.status !== 200) {
        throw await responseError(response, {
          where: this.location,
          what: 'tag list',
          notFoundCode: 'NAME_UNKNOWN',
        });
      }
      const document = await this.#readJson(response, 'tag list');
      const pageTags = (document as { tags?: unknown }).tags;
      if (
        pageTags !== null &&
        pageTags !== undefined &&
        !(Array.isArray(pageTags) && pageTags.every((t) => typeof t === 'string'))
      ) {
        throw denied('TAG_LIST_INVALID', `${this.location}: tag list is not an array of strings`);
      }
      tags.push(...((pageTags as string[] | null | undefined) ?? []));
      next = await this.#nextPage(response);
    }
    return tags;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const response = await this.client.request({
      method: 'HEAD',
      path: this.#path('blobs', descriptor.digest),
      scopes: this.#scopes('pull'),
      idempotent: true,
    });
    await discard(response);
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw await this.#blobError(response, descriptor.digest);
  }

  async getBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    return this.#blob(descriptor, true);
  }

  /**
   * A blob's verified stream. `bulk` for a transfer (a copy), whose time
   * grows with the blob; a read the caller caps is held to the request
   * timeout like a manifest.
   */
  async #blob(descriptor: Descriptor, bulk: boolean): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.client.request({
      method: 'GET',
      path: this.#path('blobs', descriptor.digest),
      scopes: this.#scopes('pull'),
      idempotent: true,
      bulk,
    });
    if (response.status !== 200) throw await this.#blobError(response, descriptor.digest);
    const declared = Number(header(response.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > descriptor.size) {
      await discard(response);
      throw denied(
        'BLOB_TOO_LARGE',
        `${this.location}: blob ${descriptor.digest} is served with ${declared} bytes, its descriptor says ${descriptor.size}`,
      );
    }
    return verifyContent(bodyOf(response), descriptor, this.location);
  }

  async readBlob(descriptor: Descriptor, maxBytes: number): Promise<Uint8Array> {
    if (descriptor.size > maxBytes) {
      throw denied(
        'BLOB_TOO_LARGE',
        `${this.location}: blob ${descriptor.digest} has ${descriptor.size} bytes, more than the ${maxBytes}-byte limit`,
      );
    }
    return collect(await this.#blob(descriptor, false), maxBytes, () =>
      denied(
        'BLOB_TOO_LARGE',
        `${this.location}: blob ${descriptor.digest} exceeds ${maxBytes} bytes`,
      ),
    );
  }

  /**
   * Uploads a blob: one POST to open the session (which also settles
   * authentication before any body is sent), then a single PUT for blobs up
   * to the chunk size, or PATCH chunks and a closing PUT for larger ones
   * (distribution-spec "Pushing a blob monolithically" / "in chunks").
   */
  async putBlob(descriptor: Descriptor, content: AsyncIterable<Uint8Array>): Promise<void> {
    const verified = verifyContent(content, descriptor, `upload to ${this.location}`);
    let location = await this.#startUpload();
    try {
      if (descriptor.size > this.client.chunkSize) {
        let offset = 0;
        for await (const chunk of chunks(verified, this.client.chunkSize)) {
          location = await this.#patchChunk(location, chunk, offset, descriptor.digest);
          offset += chunk.byteLength;
        }
        await this.#finishUpload(location, descriptor, new Uint8Array(0));
      } else {
        await this.#finishUpload(location, descriptor, verified);
      }
    } catch (error) {
      await this.#cancelUpload(location);
      throw error;
    }
  }

  /**
   * Cross-repository mount (distribution-spec "Mounting a blob from another
   * repository"): no bytes move. Returns false when the registry declines, in
   * which case the caller copies the blob.
   */
  async mountBlob(descriptor: Descriptor, from: ImageStore): Promise<boolean> {
    if (
      !(from instanceof RegistryRepository) ||
      from.client.registry !== this.client.registry ||
      from.name === this.name
    )
      return false;
    const query = new URLSearchParams({ mount: descriptor.digest, from: from.name });
    const response = await this.client.request({
      method: 'POST',
      path: `/v2/${this.name}/blobs/uploads/?${query}`,
      scopes: [...this.#scopes('pull', 'push'), repositoryScope(from.name, ['pull'])],
    });
    if (response.status !== 201 && response.status !== 202)
      throw await this.#blobError(response, descriptor.digest);
    await discard(response);
    if (response.status === 201) return true;
    // 202: the registry opened an ordinary upload instead; close it and let the caller copy.
    const location = header(response.headers, 'location');
    if (location !== undefined) await this.#cancelUpload(new URL(location, response.url));
    return false;
  }

  async referrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    if (this.client.lacksReferrersApi(this.name)) {
      return filterByArtifactType(await readReferrersTag(this, digest), artifactType);
    }
    const query = artifactType === undefined ? '' : `?${new URLSearchParams({ artifactType })}`;
    let next: string | URL | undefined = `${this.#path('referrers', digest)}${query}`;
    const found: Descriptor[] = [];
    let filtered = true;
    for (let page = 0; next !== undefined; page++) {
      if (page >= MAX_LIST_PAGES)
        throw denied(
          'REFERRERS_TOO_MANY',
          `${this.location}: referrers of ${digest} span more than ${MAX_LIST_PAGES} pages`,
        );
      const response = await this.client.request({
        method: 'GET',
        path: next,
        headers: { accept: OCI_INDEX },
        scopes: this.#scopes('pull'),
        idempotent: true,
      });
      const contentType = header(response.headers, 'content-type')?.split(';')[0]?.trim();
      // A registry without the API answers 404 (Distribution 2.8 with plain text);
      // like go-containerregistry, anything but an index on 200 means "no API" too.
      if (
        page === 0 &&
        (response.status === 404 || (response.status === 200 && contentType !== OCI_INDEX))
      ) {
        await discard(response);
        this.client.rememberNoReferrersApi(this.name);
        return filterByArtifactType(await readReferrersTag(this, digest), artifactType);
      }
      if (response.status !== 200) {
        throw await responseError(response, {
          where: this.location,
          what: `referrers of ${digest}`,
          notFoundCode: 'MANIFEST_UNKNOWN',
        });
      }
      filtered &&=
        artifactType !== undefined &&
        (header(response.headers, 'oci-filters-applied') ?? '').split(',').includes('artifactType');
      const index = parseManifest(
        await this.#readBody(response, `referrers of ${digest}`),
        OCI_INDEX,
        `${this.location} referrers of ${digest}`,
      );
      if (index.kind !== 'index')
        throw denied(
          'REFERRERS_INVALID',
          `${this.location}: referrers of ${digest} is not an index`,
        );
      found.push(...index.manifest.manifests);
      next = await this.#nextPage(response);
    }
    // A filter the server did not apply is applied here (distribution-spec "Listing Referrers").
    return filtered ? found : filterByArtifactType(found, artifactType);
  }

  async #startUpload(): Promise<URL> {
    const response = await this.client.request({
      method: 'POST',
      path: `/v2/${this.name}/blobs/uploads/`,
      scopes: this.#scopes('pull', 'push'),
    });
    const location = header(response.headers, 'location');
    if (response.status !== 202 || location === undefined) {
      throw await responseError(response, {
        where: this.location,
        what: 'blob upload',
        notFoundCode: 'NAME_UNKNOWN',
      });
    }
    await discard(response);
    return new URL(location, response.url);
  }

  async #patchChunk(
    location: URL,
    chunk: Uint8Array,
    offset: number,
    digest: Digest,
  ): Promise<URL> {
    const response = await this.client.request({
      method: 'PATCH',
      path: location,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(chunk.byteLength),
        'content-range': `${offset}-${offset + chunk.byteLength - 1}`,
      },
      body: chunk,
      scopes: this.#scopes('pull', 'push'),
      bulk: true,
    });
    const next = header(response.headers, 'location');
    if (response.status !== 202 || next === undefined) {
      throw await responseError(response, {
        where: this.location,
        what: `chunk at ${offset} of blob ${digest}`,
        notFoundCode: 'BLOB_UPLOAD_UNKNOWN',
      });
    }
    await discard(response);
    return new URL(next, response.url);
  }

  async #finishUpload(
    location: URL,
    descriptor: Descriptor,
    body: Uint8Array | AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', descriptor.digest);
    const length = body instanceof Uint8Array ? body.byteLength : descriptor.size;
    const response = await this.client.request({
      method: 'PUT',
      path: url,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      body,
      scopes: this.#scopes('pull', 'push'),
      bulk: length > 0,
    });
    if (response.status !== 201) {
      throw await responseError(response, {
        where: this.location,
        what: `upload of blob ${descriptor.digest}`,
        notFoundCode: 'BLOB_UPLOAD_UNKNOWN',
      });
    }
    await discard(response);
  }

  async #cancelUpload(location: URL): Promise<void> {
    try {
      const response = await this.client.request({
        method: 'DELETE',
        path: location,
        scopes: this.#scopes('pull', 'push'),
      });
      await discard(response);
    } catch {
      // Best effort: the registry expires abandoned uploads on its own.
    }
  }

  /** The `Link: <url>; rel="next"` of a paginated answer, kept on the registry's origin. */
  async #nextPage(response: HttpResponse): Promise<URL | undefined> {
    const link = header(response.headers, 'link');
    const match = link === undefined ? null : /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
    if (match?.[1] === undefined) return undefined;
    const next = new URL(match[1], response.url);
    const origin = await this.client.origin();
    if (next.origin !== origin.origin) {
      throw denied(
        'PAGINATION_INVALID',
        `${this.location}: next page link points to another origin (${next.origin})`,
      );
    }
    return next;
  }

  /**
   * The signature list of the API extension for `digest` (the caller checked
   * `supportsSignatureExtension`), at most `maxBytes`. Anything but 200 is an
   * error, as in containers/image `getExtensionsSignatures`.
   */
  async getSignatureExtension(digest: Digest, maxBytes: number): Promise<Uint8Array> {
    const response = await this.client.request({
      method: 'GET',
      path: this.#extensionPath(digest),
      scopes: this.#scopes('pull'),
      idempotent: true,
    });
    if (response.status !== 200) {
      throw await responseError(response, {
        where: this.location,
        what: `signatures of ${digest} (API extension)`,
        notFoundCode: 'MANIFEST_UNKNOWN',
      });
    }
    const tooLarge = () =>
      denied(
        'RESPONSE_TOO_LARGE',
        `${this.location}: the signature list of ${digest} exceeds ${maxBytes} bytes`,
      );
    const declared = Number(header(response.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await discard(response);
      throw tooLarge();
    }
    return collect(bodyOf(response), maxBytes, tooLarge);
  }

  /**
   * Adds one signature through the API extension: `body` is one signature
   * object; the registry answers 201 (containers/image
   * `putSignaturesToAPIExtension`, which sends no Content-Type). Not retried:
   * a replay would add the signature under its name twice.
   */
  async putSignatureExtension(digest: Digest, body: Uint8Array): Promise<void> {
    const response = await this.client.request({
      method: 'PUT',
      path: this.#extensionPath(digest),
      body,
      scopes: this.#scopes('pull', 'push'),
    });
    if (response.status !== 201) {
      throw await responseError(response, {
        where: this.location,
        what: `upload of a signature of ${digest} (API extension)`,
        notFoundCode: 'MANIFEST_UNKNOWN',
      });
    }
    await discard(response);
  }

  #extensionPath(digest: Digest): string {
    if (!isDigest(digest)) throw new TypeError(`not a digest: ${String(digest)}`);
    return `/extensions/v2/${this.name}/signatures/${digest}`;
  }

  async #readBody(response: HttpResponse, what: string): Promise<Uint8Array> {
    return collect(bodyOf(response), MAX_LIST_PAGE_BYTES, () =>
      denied(
        'RESPONSE_TOO_LARGE',
        `${this.location}: ${what} exceeds ${MAX_LIST_PAGE_BYTES} bytes`,
      ),
    );
  }

  async #readJson(response: HttpResponse, what: string): Promise<unknown> {
    const bytes = await this.#readBody(response, what);
    try {
      return parseJson(Buffer.from(bytes).toString('utf8'));
    } catch (error) {
      throw denied('RESPONSE_INVALID', `${this.location}: ${what} is not JSON`, { cause: error });
    }
  }

  #error(response: HttpResponse, target: ManifestTarget) {
    const what = 'tag' in target ? `manifest "${target.tag}"` : `manifest ${target.digest}`;
    return responseError(response, {
      where: this.location,
      what,
      notFoundCode: 'MANIFEST_UNKNOWN',
    });
  }

  #blobError(response: HttpResponse, digest: Digest) {
    return responseError(response, {
      where: this.location,
      what: `blob ${digest}`,
      notFoundCode: 'BLOB_UNKNOWN',
    });
  }
}

/** The transport's own words for a network failure, without our "could not reach" wrapper. */
function isNetworkError(error: unknown): boolean {
  return hasCode(error, 'NETWORK_ERROR');
}

function networkDetail(error: unknown): string {
  return isVouchError(error) && error.cause !== undefined
    ? messageOf(error.cause)
    : messageOf(error);
}

/** Re-cuts a stream into chunks of exactly `size` bytes (the last may be shorter). */
async function* chunks(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  let buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.byteLength) {
      const take = Math.min(size - filled, piece.byteLength - offset);
      buffer.set(piece.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === size) {
        yield buffer;
        buffer = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}
