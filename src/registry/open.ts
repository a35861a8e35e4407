/**
 * Turns what a user types for an image into a store and a target:
 * `oci:PATH[:TAG|@DIGEST]` opens an OCI layout, anything else is a registry
 * reference (an optional `docker://` prefix, as skopeo writes it, is
 * accepted). One `RegistryClient` per registry host is shared, so
 * connections and tokens are reused across images.
 */
import { invalid } from '../core/errors.ts';
import {
  formatReference,
  type ImageReference,
  parseReference,
  withDefaultTag,
} from '../oci/reference.ts';
import type { Credentials } from './credentials.ts';
import { RegistryClient } from './distribution.ts';
import { HttpClient, type HttpOptions } from './http.ts';
import { parseLayoutLocation } from './layout-location.ts';
import type { ImageStore, ManifestTarget } from './store.ts';

export type ImageSpec =
  | { readonly kind: 'layout'; readonly path: string; readonly target?: ManifestTarget }
  | { readonly kind: 'registry'; readonly reference: ImageReference };

export function parseImageSpec(spec: string): ImageSpec {
  if (spec.startsWith('oci:')) {
    const { path, target } = parseLayoutLocation(spec);
    return { kind: 'layout', path, ...(target === undefined ? {} : { target }) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(spec) && !spec.startsWith('docker://')) {
    throw invalid(
      'INVALID_REFERENCE',
      `unsupported image location "${spec}": use a registry reference (host/repo:tag) or oci:PATH[:TAG]`,
    );
  }
  return { kind: 'registry', reference: parseReference(spec.replace(/^docker:\/\//, '')) };
}

/**
 * The target an image spec names: its digest if it has one (the digest wins
 * over a tag, as in docker), else its tag; a registry reference with neither
 * means `latest`, a layout with neither names no manifest.
 */
export function specTarget(spec: ImageSpec): ManifestTarget | undefined {
  if (spec.kind === 'layout') return spec.target;
  const { digest, tag } = withDefaultTag(spec.reference);
  if (digest !== undefined) return { digest };
  return tag === undefined ? undefined : { tag };
}

/** The spec written out in full, for messages and JSON output. */
export function formatSpec(spec: ImageSpec): string {
  if (spec.kind === 'registry') return formatReference(withDefaultTag(spec.reference));
  const { path, target } = spec;
  if (target === undefined) return `oci:${path}`;
  return 'tag' in target ? `oci:${path}:${target.tag}` : `oci:${path}@${target.digest}`;
}

export interface OpenedImage {
  readonly spec: ImageSpec;
  readonly name: string;
  readonly store: ImageStore;
  readonly target: ManifestTarget | undefined;
}

export interface StoreOptions {
  readonly http?: HttpOptions;
  readonly credentials?: (registry: string) => Promise<Credentials | undefined>;
  readonly allowInsecure?: boolean;
  readonly maxManifestBytes?: number;
  readonly chunkSize?: number;
}

export class Stores {
  readonly #options: StoreOptions;
  readonly #clients = new Map<string, RegistryClient>();
  #http: HttpClient | undefined;

  constructor(options: StoreOptions = {}) {
    this.#options = options;
  }

  /** The client for a registry host, created once. */
  client(registry: string): RegistryClient {
    let client = this.#clients.get(registry);
    if (client === undefined) {
      this.#http ??= new HttpClient(this.#options.http);
      client = new RegistryClient(registry, {
        http: this.#http,
        ...(this.#options.credentials === undefined
          ? {}
          : { credentials: this.#options.credentials }),
        ...(this.#options.allowInsecure === undefined
          ? {}
          : { allowInsecure: this.#options.allowInsecure }),
        ...(this.#options.maxManifestBytes === undefined
          ? {}
          : { maxManifestBytes: this.#options.maxManifestBytes }),
        ...(this.#options.chunkSize === undefined ? {} : { chunkSize: this.#options.chunkSize }),
      });
      this.#clients.set(registry, client);
    }
    return client;
  }

  /** Opens the store an image spec points to; `create` makes a missing layout (for destinations). */
  async open(spec: ImageSpec, options: { readonly create?: boolean } = {}): Promise<ImageStore> {
    if (spec.kind === 'layout') {
      // Loaded only for layouts: registry commands never read it.
      const { openLayout } = await import('./layout.ts');
      return openLayout(spec.path, {
        create: options.create ?? false,
        ...(this.#options.maxManifestBytes === undefined
          ? {}
          : { maxManifestBytes: this.#options.maxManifestBytes }),
      });
    }
    return this.client(spec.reference.registry).repository(spec.reference.repository);
  }

  /** Parses and opens an image as typed by a user. */
  async openImage(
    image: string,
    options: { readonly create?: boolean } = {},
  ): Promise<OpenedImage> {
    const spec = parseImageSpec(image);
    return {
      spec,
      name: formatSpec(spec),
      store: await this.open(spec, options),
      target: specTarget(spec),
    };
  }

  /**
   * Starts the first exchange with the registries `specs` name (the `/v2/`
   * ping that picks HTTP or HTTPS and learns the registry's challenge) and
   * returns at once, so a command can read its keys meanwhile: on a one-shot
   * `vouch verify` the first request to a registry, a new connection, costs
   * more than reading and parsing the keys (docs/benchmarks.md). A failure is
   * not reported here: the first real request meets it, or tries again.
   */
  connectAhead(specs: readonly ImageSpec[]): void {
    const registries = new Set(
      specs.flatMap((spec) => (spec.kind === 'registry' ? [spec.reference.registry] : [])),
    );
    for (const registry of registries) {
      this.client(registry)
        .origin()
        .catch(() => undefined);
    }
  }

  /** Closes the registry clients; closing again does nothing (the webhook and the CLI's context both close them). */
  async close(): Promise<void> {
    const http = this.#http;
    this.#http = undefined;
    await http?.close();
  }
}
