/**
 * Where the simple signing signatures of a registry image live, and reading
 * all of them or writing one, as containers/image decides
 * (docker/docker_image_src.go `GetSignaturesWithFormat`,
 * docker/docker_image_dest.go `PutSignaturesWithFormat`): the registry's
 * own API extension when its `/v2/` answer advertises it
 * (`X-Registry-Supports-Signatures: 1`), else the lookaside store registries.d
 * names for the reference (for writing, its staging location first), else
 * the built-in lookaside. One store, never both. registries.d's
 * `use-sigstore-attachments` is reported, not acted on: it says cosign-style
 * signatures (`sha256-<hex>.sig` tags) are expected as well, which the
 * caller reads through verify/ like any cosign signature.
 *
 * The blobs are returned as stored: raw OpenPGP messages for GPG simple
 * signing, or containers/image's `\x00<format>\n`-framed blobs
 * (internal/signature/signature.go) that a lookaside may also hold; telling
 * them apart and verifying them is the caller's.
 */
import { invalid } from '../core/errors.ts';
import { lookasideRepositoryUrl } from '../formats/simple-signing/lookaside-layout.ts';
import {
  type LookasideLocation,
  lookasideFor,
  type RegistriesDConfig,
  usesSigstoreAttachments,
} from '../formats/simple-signing/registries-d.ts';
import type { Digest } from '../oci/digest.ts';
import type { ImageReference } from '../oci/reference.ts';
import { RegistryRepository } from '../registry/distribution.ts';
import type { HttpClient } from '../registry/http.ts';
import type { ImageStore } from '../registry/store.ts';
import type {} from './error-codes.ts';
import { readExtensionSignatures, writeExtensionSignature } from './extension-store.ts';
import {
  type LookasideReadOptions,
  readLookasideSignatures,
  writeLookasideSignature,
} from './lookaside-store.ts';

export interface SimpleSigningStoreOptions {
  /** registries.d, merged (registries-d-files.ts `loadRegistriesD`). */
  readonly registriesD: RegistriesDConfig;
  /** The lookaside when registries.d names none (registries-d.ts `builtinDefaultLookaside`). */
  readonly builtinLookaside: string;
  /** Reads http:// and https:// lookasides (no credentials are sent to them). */
  readonly http?: HttpClient;
  /** Stops a whole read (a command's deadline). */
  readonly signal?: AbortSignal;
  /** Caps on a lookaside read (lookaside-store.ts has the defaults). */
  readonly limits?: Pick<
    LookasideReadOptions,
    'maxSignatures' | 'maxSignatureBytes' | 'maxTotalBytes'
  >;
}

export type SimpleSigningStore =
  | {
      readonly kind: 'extension';
      /** `registry/repository`. */
      readonly repository: string;
    }
  | {
      readonly kind: 'lookaside';
      /** The repository's base URL: signatures are `<url>@<algo>=<hex>/signature-N`. */
      readonly url: URL;
      readonly location: LookasideLocation;
      /** The configuration it came from, for messages. */
      readonly where: string;
    };

export interface ImageSignatureStores {
  readonly store: SimpleSigningStore;
  /** registries.d `use-sigstore-attachments` for the reference: cosign-style signatures are expected too. */
  readonly useSigstoreAttachments: boolean;
}

/**
 * The store for `reference`'s signatures (`write`: where a new one goes).
 * Asks the registry's `/v2/` once (the client caches it). Throws `invalid`
 * SIMPLE_SIGNING_STORE_UNSUPPORTED for an image that is not in a registry,
 * LOOKASIDE_URL_INVALID for a lookaside URL that cannot be used.
 */
export async function simpleSigningStore(
  image: ImageStore,
  reference: ImageReference,
  options: SimpleSigningStoreOptions & { readonly write: boolean },
): Promise<ImageSignatureStores> {
  const repository = registryRepository(image);
  const useSigstoreAttachments = usesSigstoreAttachments(options.registriesD, reference);
  if (await repository.client.supportsSignatureExtension()) {
    return {
      store: { kind: 'extension', repository: repository.location },
      useSigstoreAttachments,
    };
  }
  const location = lookasideFor(options.registriesD, reference, {
    write: options.write,
    builtinDefault: options.builtinLookaside,
  });
  const where = describeLookaside(location);
  const url = lookasideRepositoryUrl(location.topLevel, reference.repository, where);
  return { store: { kind: 'lookaside', url, location, where }, useSigstoreAttachments };
}

export interface StoredSignature {
  readonly blob: Uint8Array;
  /** Where it was read: the signature-N URL, or `registry/repo@digest (API extension)`. */
  readonly source: string;
}

export interface ImageSignatures extends ImageSignatureStores {
  readonly signatures: readonly StoredSignature[];
}

/** Every signature blob stored for the manifest `digest` of `reference`, in the store's order. */
export async function readSimpleSignatures(
  image: ImageStore,
  reference: ImageReference,
  digest: Digest,
  options: SimpleSigningStoreOptions,
): Promise<ImageSignatures> {
  const stores = await simpleSigningStore(image, reference, { ...options, write: false });
  const { store } = stores;
  if (store.kind === 'extension') {
    const blobs = await readExtensionSignatures(registryRepository(image), digest);
    const source = `${store.repository}@${digest} (API extension)`;
    return { ...stores, signatures: blobs.map((blob) => ({ blob, source })) };
  }
  const found = await readLookasideSignatures(store.url, digest, {
    ...options.limits,
    where: store.where,
    ...(options.http === undefined ? {} : { http: options.http }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return {
    ...stores,
    signatures: found.map(({ blob, url }) => ({ blob, source: url.href })),
  };
}

export type WrittenSignature =
  | {
      readonly kind: 'extension';
      readonly repository: string;
      /** The signature's name on the registry. */
      readonly name: string;
      /** The registry held these exact bytes already; nothing was added. */
      readonly existing: boolean;
    }
  | {
      readonly kind: 'lookaside';
      /** N of the signature-N written. */
      readonly index: number;
      readonly url: URL;
      readonly path: string;
      readonly where: string;
    };

/**
 * Adds one signature blob for the manifest `digest` of `reference` to its
 * store, never replacing one, and says where it went.
 */
export async function writeSimpleSignature(
  image: ImageStore,
  reference: ImageReference,
  digest: Digest,
  blob: Uint8Array,
  options: SimpleSigningStoreOptions,
): Promise<WrittenSignature & { readonly useSigstoreAttachments: boolean }> {
  const { store, useSigstoreAttachments } = await simpleSigningStore(image, reference, {
    ...options,
    write: true,
  });
  if (store.kind === 'extension') {
    const written = await writeExtensionSignature(registryRepository(image), digest, blob);
    return { kind: 'extension', repository: store.repository, ...written, useSigstoreAttachments };
  }
  const written = await writeLookasideSignature(store.url, digest, blob, {
    where: store.where,
    ...(options.limits?.maxSignatures === undefined
      ? {}
      : { maxSignatures: options.limits.maxSignatures }),
  });
  return { kind: 'lookaside', ...written, where: store.where, useSigstoreAttachments };
}

/** `registries.d docker "example.com" lookaside`, for messages. */
export function describeLookaside(location: LookasideLocation): string {
  const { source } = location;
  switch (source.kind) {
    case 'docker':
      return `registries.d docker "${source.scope}" ${source.key}`;
    case 'default-docker':
      return `registries.d default-docker ${source.key}`;
    case 'built-in':
      return `the built-in lookaside ${location.topLevel} (no registries.d entry)`;
  }
}

function registryRepository(image: ImageStore): RegistryRepository {
  if (image instanceof RegistryRepository) return image;
  throw invalid(
    'SIMPLE_SIGNING_STORE_UNSUPPORTED',
    `${image.location}: simple signing signatures are kept for registry images (lookaside or the registry's API extension), not for an OCI layout`,
  );
}
