/**
 * Signing images the way `cosign sign --key` stores signatures
 * (research/cosign.md §1), on registries and OCI layouts alike:
 *
 * 1. Each image is resolved to its digest once; a target given by digest is
 *    not fetched at all. The digest is what is signed, never the tag.
 * 2. The simple-signing payload records the digest, the identity
 *    (`docker-reference`, see identity.ts) and the annotations; the signer
 *    signs its exact bytes.
 * 3. The signature becomes a layer of the `sha256-<hex>.sig` manifest in the
 *    same store, read-modify-write: read the manifest and its config, append
 *    the layer as go-containerregistry does (formats/cosign-signature.ts),
 *    upload the payload and the new config, then the manifest under the tag.
 *    A layer carrying the same payload with a signature that verifies with
 *    the signer's key is already there: nothing is written (`unchanged`), as
 *    cosign's DupeDetector decides.
 *
 * cosign's read-modify-write is racy (SIGNATURE_SPEC.md: "works but is racy";
 * sigstore/cosign#2432 lost attestations). vouch does not lose a concurrent
 * signer's work:
 *
 * - On a layout, the tag is moved with a compare-and-swap under the layout's
 *   index.json lock (`OCILayoutStore.compareAndSetTag`): a write based on a
 *   manifest that is no longer current is refused and retried.
 * - A registry has no conditional PUT, so the tag is re-resolved right before
 *   the PUT and the write is retried if it moved since the read; after the
 *   PUT the tag is read again and must hold our layer. The window between
 *   that last check and the PUT cannot be closed from the client, so once
 *   every image is done the signatures written are checked again after a
 *   short delay (`settleMs`) and any that another writer's late PUT replaced
 *   are appended again.
 *
 * Retries back off with full jitter. After `maxAttempts` conflicts on one
 * manifest the image fails with `unavailable` SIGNATURE_CONFLICT, which names
 * it. Many images run concurrently (bounded) with one signer, so a cosign
 * key is decrypted once per call.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createLimiter } from '../core/concurrency.ts';
import { denied, invalid, isVouchError, unavailable } from '../core/errors.ts';
import {
  appendSignatureLayer,
  DEFAULT_MAX_SIGNATURE_LAYERS,
  decodeSignatureBase64,
  SIGNATURE_ANNOTATION,
  type SignatureLayer,
  signatureLayer,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type StoredSignatureImage,
} from '../formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../formats/simple-signing.ts';
import { type Signer, verifySignature } from '../keys/signer.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor, ParsedManifest, Platform } from '../oci/manifest.ts';
import { isIndexType } from '../oci/media-types.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';

/** A signature config holds one history entry and one diff ID per layer: ~110 bytes each. */
export const MAX_SIGNATURE_CONFIG_BYTES = 1024 * 1024;
/** `recursive` signs at most this many manifests below one index. */
export const MAX_RECURSIVE_MANIFESTS = 1000;
export const DEFAULT_SIGN_CONCURRENCY = 8;
export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_SETTLE_MS = 100;
/** How many times the settle check may find a signature replaced and append it again. */
const SETTLE_ROUNDS = 3;
const BACKOFF_BASE_MS = 20;
const BACKOFF_MAX_MS = 1000;
/** Layout and registry errors for a manifest or tag that does not exist. */
const MANIFEST_UNKNOWN = 'MANIFEST_UNKNOWN';

export interface SignRequest {
  /** Where the image is; the signature is stored in the same store. */
  readonly store: ImageStore;
  /** The manifest to sign; a tag is resolved once, a digest is used as given. */
  readonly target: ManifestTarget;
  /**
   * The `critical.identity.docker-reference` to record; see identity.ts
   * (`defaultDockerReference`, `parseSignedIdentity`).
   */
  readonly dockerReference: string;
  /** How to name the image in results, events and errors; `store.location` with the target by default. */
  readonly name?: string;
}

export interface SignOptions {
  /** Signs every payload; with a cosign key, decrypt it once and sign many images. */
  readonly signer: Signer;
  /** `-a key=value` pairs, recorded in the payload's `optional` (none → `null`, as cosign). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** For an index, also sign every manifest it lists (nested indexes included). */
  readonly recursive?: boolean;
  /** Manifests resolved or signed at once. Default 8. */
  readonly concurrency?: number;
  /** Writes of one signature manifest tried before SIGNATURE_CONFLICT. Default 8. */
  readonly maxAttempts?: number;
  /**
   * Delay before the final check that no concurrent registry write replaced
   * a signature written here; 0 skips the check. Default 100 ms. Layouts do
   * not need it (their tags are moved by compare-and-swap).
   */
  readonly settleMs?: number;
  /** Refuse to grow a signature manifest beyond this many layers. Default 1,000. */
  readonly maxSignatureLayers?: number;
  readonly onEvent?: (event: SignEvent) => void;
}

export type SignOutcome = 'signed' | 'unchanged';

export type SignEvent =
  /** The image resolved to `digest`; `manifests` will be signed for it (more than 1 when recursive). */
  | {
      readonly type: 'resolved';
      readonly image: string;
      readonly digest: Digest;
      readonly manifests: number;
    }
  /** One manifest's signature is stored (or was already there). */
  | {
      readonly type: 'signed';
      readonly image: string;
      readonly signature: ManifestSignature;
    }
  /**
   * The signature manifest changed under a write, or the write failed in a
   * way worth retrying (`error`); it is read again and retried.
   */
  | {
      readonly type: 'conflict';
      readonly image: string;
      readonly digest: Digest;
      readonly attempt: number;
      readonly error?: Error;
    }
  /** Waiting to check that `count` signatures written to registries are still there. */
  | { readonly type: 'settling'; readonly count: number }
  | { readonly type: 'failed'; readonly image: string; readonly error: Error };

export interface ManifestSignature {
  /** The manifest signed. */
  readonly digest: Digest;
  /** Its media type, when known (digest targets without `recursive` are not fetched). */
  readonly mediaType?: string;
  /** For a manifest listed in a signed index. */
  readonly platform?: Platform;
  readonly outcome: SignOutcome;
  /** `sha256-<hex>.sig`, the tag that holds the signature. */
  readonly tag: string;
  /** Where the signature is: `registry/repository:tag` or `oci:PATH:tag`. */
  readonly location: string;
  /** The signature manifest the tag pointed to when the signature was confirmed there. */
  readonly signatureManifest: Digest;
  /** The payload (the layer's blob) as signed. */
  readonly payloadDigest: Digest;
  /** Standard base64 of the signature, as in the layer annotation. */
  readonly signature: string;
  /** Writes it took: 0 when unchanged, more than 1 after conflicts. */
  readonly attempts: number;
}

export type SignResult =
  | {
      readonly image: string;
      readonly ok: true;
      /** The digest the image resolved to (the index, when recursive). */
      readonly digest: Digest;
      readonly mediaType?: string;
      /** The image's own signature first, then any children's. */
      readonly signatures: readonly ManifestSignature[];
    }
  | {
      readonly image: string;
      readonly ok: false;
      readonly digest?: Digest;
      readonly mediaType?: string;
      /** Signatures stored before the failure. */
      readonly signatures: readonly ManifestSignature[];
      readonly error: Error;
    };

/** Store capability of layouts: move a tag only if it still names what was read. */
interface TagSwapper {
  compareAndSetTag(
    tag: string,
    expected: Digest | undefined,
    descriptor: Descriptor,
  ): Promise<boolean>;
}

function canSwapTags(store: ImageStore): store is ImageStore & TagSwapper {
  return typeof (store as Partial<TagSwapper>).compareAndSetTag === 'function';
}

/** One manifest to sign. */
interface Unit {
  readonly store: ImageStore;
  readonly image: string;
  readonly digest: Digest;
  readonly mediaType?: string;
  readonly platform?: Platform;
  readonly dockerReference: string;
}

/** A signature made for a unit, reused across retries. */
interface Prepared {
  readonly payload: Uint8Array;
  readonly signatureBase64: string;
  readonly layer: SignatureLayer;
  readonly tag: string;
}

interface Stored {
  readonly outcome: SignOutcome;
  readonly signatureManifest: Digest;
  readonly attempts: number;
}

/**
 * Signs every image; one result per request, in order. Per-image failures
 * (registry down, conflicts, a malformed signature manifest) are reported in
 * the results, not thrown; invalid options throw before any I/O.
 */
export async function signImages(
  requests: readonly SignRequest[],
  options: SignOptions,
): Promise<SignResult[]> {
  const settings = checkOptions(options);
  for (const request of requests) {
    if (typeof request.dockerReference !== 'string' || request.dockerReference === '') {
      throw invalid(
        'INVALID_SIGNATURE_INPUT',
        `${requestName(request)}: the docker-reference to record must be a non-empty string`,
      );
    }
  }
  const { emit } = settings;
  const limit = createLimiter(settings.concurrency);
  const engine = new SignEngine(settings);

  const states: ImageState[] = requests.map((request) => ({
    request,
    image: requestName(request),
    digest: undefined,
    mediaType: undefined,
    slots: [],
    units: [],
    error: undefined,
  }));

  await Promise.all(
    states.map(async (state) => {
      let units: Unit[];
      try {
        units = await resolveUnits(state.request, state.image, settings.recursive, limit);
      } catch (error) {
        state.error = asError(error);
        return;
      }
      const top = units[0] as Unit;
      state.digest = top.digest;
      state.mediaType = top.mediaType;
      state.units = units;
      emit({ type: 'resolved', image: state.image, digest: top.digest, manifests: units.length });
      await Promise.all(
        units.map((unit, index) =>
          limit(async () => {
            if (state.error !== undefined) return; // a sibling failed: the image has failed
            try {
              const signature = await engine.sign(unit);
              state.slots[index] = signature;
              emit({ type: 'signed', image: state.image, signature });
            } catch (error) {
              state.error ??= asError(error);
            }
          }),
        ),
      );
    }),
  );

  // Registries only: check again that no late PUT replaced what was written.
  if (settings.settleMs > 0) await settle(states, engine, settings, limit);

  return states.map((state) => {
    const common = {
      image: state.image,
      signatures: state.slots.filter((slot) => slot !== undefined),
      ...(state.mediaType === undefined ? {} : { mediaType: state.mediaType }),
    };
    if (state.error === undefined && state.digest !== undefined) {
      return { ...common, ok: true as const, digest: state.digest };
    }
    const error = state.error ?? new Error('unreachable: no digest and no error');
    emit({ type: 'failed', image: state.image, error });
    return {
      ...common,
      ok: false as const,
      error,
      ...(state.digest === undefined ? {} : { digest: state.digest }),
    };
  });
}

interface ImageState {
  readonly request: SignRequest;
  readonly image: string;
  digest: Digest | undefined;
  mediaType: string | undefined;
  /** The signature of each unit, by the unit's index; empty until stored. */
  readonly slots: Array<ManifestSignature | undefined>;
  units: Unit[];
  error: Error | undefined;
}

/**
 * After `settleMs`, checks that every signature this call wrote to a store
 * without compare-and-swap is still in its `.sig` manifest; appends again
 * those a concurrent writer's late PUT replaced, and checks those again, up
 * to SETTLE_ROUNDS times.
 */
async function settle(
  states: readonly ImageState[],
  engine: SignEngine,
  settings: Settings,
  limit: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<void> {
  let round = states.flatMap((state) =>
    state.error !== undefined
      ? []
      : state.units
          .map((unit, index) => ({ state, unit, index }))
          .filter(
            ({ state: s, unit, index }) =>
              s.slots[index]?.outcome === 'signed' && !canSwapTags(unit.store),
          ),
  );
  for (let attempt = 1; round.length > 0; attempt++) {
    settings.emit({ type: 'settling', count: round.length });
    await sleep(settings.settleMs);
    const lost: typeof round = [];
    await Promise.all(
      round.map(({ state, unit, index }) =>
        limit(async () => {
          const signature = state.slots[index];
          if (state.error !== undefined || signature === undefined) return;
          try {
            const current = await engine.stillPresent(unit, signature);
            if (current === undefined) lost.push({ state, unit, index });
            else state.slots[index] = { ...signature, signatureManifest: current };
          } catch (error) {
            // Could not tell: append again, which reads with retries.
            if (isTransientError(error)) lost.push({ state, unit, index });
            else state.error ??= asError(error);
          }
        }),
      ),
    );
    if (lost.length > 0 && attempt >= SETTLE_ROUNDS) {
      for (const { state, unit } of lost) {
        state.error ??= conflictError(
          unit,
          signatureTag(unit.digest),
          `concurrent writers replaced it each of the ${SETTLE_ROUNDS} times it was written`,
        );
      }
      return;
    }
    await Promise.all(
      lost.map(({ state, unit, index }) =>
        limit(async () => {
          const previous = state.slots[index];
          if (state.error !== undefined || previous === undefined) return;
          try {
            const again = await engine.sign(unit);
            state.slots[index] = {
              ...again,
              outcome: 'signed',
              attempts: previous.attempts + again.attempts,
            };
          } catch (error) {
            state.error ??= asError(error);
          }
        }),
      ),
    );
    round = lost;
  }
}

/** Signs one image; throws its error if it failed. */
export async function signImage(
  request: SignRequest,
  options: SignOptions,
): Promise<Extract<SignResult, { ok: true }>> {
  const [result] = await signImages([request], options);
  if (result === undefined) throw new Error('unreachable: one request gives one result');
  if (!result.ok) throw result.error;
  return result;
}

// ---------------------------------------------------------------------------

interface Settings {
  readonly signer: Signer;
  readonly annotations: Readonly<Record<string, string>> | undefined;
  readonly recursive: boolean;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly settleMs: number;
  readonly maxSignatureLayers: number;
  readonly emit: (event: SignEvent) => void;
}

function checkOptions(options: SignOptions): Settings {
  const { signer } = options;
  if (
    signer === undefined ||
    typeof signer.sign !== 'function' ||
    signer.publicKey?.type !== 'public'
  ) {
    throw invalid('INVALID_OPTION', 'signing needs a signer with a public key');
  }
  const annotations = options.annotations;
  if (annotations !== undefined) {
    for (const [key, value] of Object.entries(annotations)) {
      if (key === '') throw invalid('INVALID_ANNOTATION', 'an annotation key is empty');
      if (typeof value !== 'string') {
        throw invalid('INVALID_ANNOTATION', `annotation ${JSON.stringify(key)} must be a string`);
      }
    }
  }
  const count = (value: number | undefined, fallback: number, name: string, min: number) => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < min) {
      throw invalid(
        'INVALID_OPTION',
        `${name} must be an integer of at least ${min}, found ${value}`,
      );
    }
    return value;
  };
  const onEvent = options.onEvent;
  return {
    signer,
    annotations,
    recursive: options.recursive ?? false,
    concurrency: count(options.concurrency, DEFAULT_SIGN_CONCURRENCY, 'concurrency', 1),
    maxAttempts: count(options.maxAttempts, DEFAULT_MAX_ATTEMPTS, 'maxAttempts', 1),
    settleMs: count(options.settleMs, DEFAULT_SETTLE_MS, 'settleMs', 0),
    maxSignatureLayers: count(
      options.maxSignatureLayers,
      DEFAULT_MAX_SIGNATURE_LAYERS,
      'maxSignatureLayers',
      1,
    ),
    emit: onEvent === undefined ? () => {} : onEvent,
  };
}

function requestName(request: SignRequest): string {
  if (request.name !== undefined) return request.name;
  const { target } = request;
  return 'tag' in target
    ? `${request.store.location}:${target.tag}`
    : `${request.store.location}@${target.digest}`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The manifests to sign for one request, the image itself first. Without
 * `recursive` a tag costs one HEAD and a digest nothing; with it the top
 * manifest is read for its children, and nested indexes for theirs.
 */
async function resolveUnits(
  request: SignRequest,
  image: string,
  recursive: boolean,
  limit: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<Unit[]> {
  const { store, target, dockerReference } = request;
  const unit = (descriptor: Pick<Descriptor, 'digest'> & Partial<Descriptor>): Unit => ({
    store,
    image,
    dockerReference,
    digest: descriptor.digest,
    ...(descriptor.mediaType === undefined ? {} : { mediaType: descriptor.mediaType }),
    ...(descriptor.platform === undefined ? {} : { platform: descriptor.platform }),
  });
  if (!recursive) {
    if ('digest' in target) return [unit({ digest: target.digest })];
    return [unit(await limit(() => store.resolve(target)))];
  }
  const top = await limit(() => store.getManifest(target));
  const units = [unit({ digest: top.digest, mediaType: top.mediaType })];
  const seen = new Set<Digest>([top.digest]);
  let level: ParsedManifest[] = [top];
  while (level.length > 0) {
    const nested: Descriptor[] = [];
    for (const manifest of level) {
      if (manifest.kind !== 'index') continue;
      for (const child of manifest.manifest.manifests) {
        if (seen.has(child.digest)) continue;
        seen.add(child.digest);
        if (units.length >= MAX_RECURSIVE_MANIFESTS + 1) {
          throw denied(
            'TOO_MANY_MANIFESTS',
            `${image}: the index lists more than ${MAX_RECURSIVE_MANIFESTS} manifests; refusing to sign them all`,
          );
        }
        units.push(unit(child));
        if (isIndexType(child.mediaType)) nested.push(child);
      }
    }
    level = await Promise.all(
      nested.map((child) => limit(() => store.getManifest({ digest: child.digest }))),
    );
  }
  return units;
}

function conflictError(unit: Unit, tag: string, detail: string): Error {
  return unavailable(
    'SIGNATURE_CONFLICT',
    `${unit.image}: could not store the signature of ${unit.digest} in ${unit.store.location}:${tag}: ${detail}; the signatures already there are intact, so signing again is safe`,
  );
}

class SignEngine {
  readonly #settings: Settings;
  /** One write at a time per signature tag within this call (the same image named twice). */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  /** Signs one manifest and stores the signature; `unchanged` when it is already there. */
  async sign(unit: Unit): Promise<ManifestSignature> {
    const prepared = await this.#prepare(unit);
    const stored = await this.#serialised(`${unit.store.location}\n${prepared.tag}`, () =>
      this.#store(unit, prepared),
    );
    return {
      digest: unit.digest,
      ...(unit.mediaType === undefined ? {} : { mediaType: unit.mediaType }),
      ...(unit.platform === undefined ? {} : { platform: unit.platform }),
      outcome: stored.outcome,
      tag: prepared.tag,
      location: `${unit.store.location}:${prepared.tag}`,
      signatureManifest: stored.signatureManifest,
      payloadDigest: prepared.layer.descriptor.digest,
      signature: prepared.signatureBase64,
      attempts: stored.attempts,
    };
  }

  /**
   * The digest of the signature manifest `signature.tag` names now if it
   * still holds the signature, else undefined.
   */
  async stillPresent(unit: Unit, signature: ManifestSignature): Promise<Digest | undefined> {
    const current = await currentDigest(unit.store, signature.tag);
    if (current === undefined) return undefined;
    if (current === signature.signatureManifest) return current;
    const manifest = await unit.store.getManifest({ digest: current });
    const payload = this.#payload(unit);
    return this.#holds(manifest, signature.payloadDigest, signature.signature, payload)
      ? current
      : undefined;
  }

  /** The simple-signing payload of a unit: the same bytes every time. */
  #payload(unit: Unit): Uint8Array {
    return buildSimpleSigningPayload({
      dockerReference: unit.dockerReference,
      dockerManifestDigest: unit.digest,
      ...(this.#settings.annotations === undefined
        ? {}
        : { annotations: this.#settings.annotations }),
    });
  }

  async #prepare(unit: Unit): Promise<Prepared> {
    const tag = signatureTag(unit.digest);
    const payload = this.#payload(unit);
    const signature = await this.#settings.signer.sign(payload);
    const signatureBase64 = Buffer.from(
      signature.buffer,
      signature.byteOffset,
      signature.byteLength,
    ).toString('base64');
    return { payload, signatureBase64, layer: signatureLayer({ payload, signatureBase64 }), tag };
  }

  async #serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => {});
    this.#tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** The read-modify-write loop (see the module comment). */
  async #store(unit: Unit, prepared: Prepared): Promise<Stored> {
    const { store } = unit;
    const { tag, layer, payload } = prepared;
    const { maxAttempts, maxSignatureLayers } = this.#settings;
    const publicKey = this.#settings.signer.publicKey;
    const sameSigner = (existing: Uint8Array) => verifySignature(publicKey, payload, existing);
    let writes = 0;
    let payloadStored = false;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let failure: Error | undefined;
      try {
        const base = await readSignatureImage(store, tag, maxSignatureLayers);
        const appended = appendSignatureLayer(base, layer.descriptor, {
          sameSigner,
          maxLayers: maxSignatureLayers,
        });
        if (!appended.changed) {
          return {
            outcome: writes > 0 ? 'signed' : 'unchanged',
            signatureManifest: appended.image.manifestDigest,
            attempts: writes,
          };
        }
        const image = appended.image;
        const descriptor: Descriptor = {
          mediaType: image.mediaType,
          digest: image.manifestDigest,
          size: image.manifest.byteLength,
        };
        if (!payloadStored) {
          await store.putBlob(layer.descriptor, once(layer.blob));
          payloadStored = true;
        }
        await store.putBlob(image.configDescriptor, once(image.config));
        const expected = base?.manifest.digest;
        let written: boolean;
        if (canSwapTags(store)) {
          await store.putManifest(image.manifest, image.mediaType);
          written = await store.compareAndSetTag(tag, expected, descriptor);
          if (written) writes++;
        } else {
          written = (await currentDigest(store, tag)) === expected;
          if (written) {
            // Counted before the PUT: one that fails may still have landed.
            writes++;
            await store.putManifest(image.manifest, image.mediaType, tag);
          }
        }
        if (written) {
          const confirmed = await this.#confirm(store, tag, descriptor.digest, prepared);
          if (confirmed !== undefined) {
            return { outcome: 'signed', signatureManifest: confirmed, attempts: writes };
          }
        }
      } catch (error) {
        // Concurrent signers upload identical blobs (one payload signed by
        // several keys, configs listing the same diff IDs), and Distribution's
        // storage can then fail a read or a manifest PUT for a moment (500,
        // MANIFEST_BLOB_UNKNOWN): retried like a conflict, blobs included.
        if (!isTransientError(error) || attempt === maxAttempts) throw error;
        failure = error;
        payloadStored = false;
      }
      if (attempt === maxAttempts) break;
      this.#settings.emit({
        type: 'conflict',
        image: unit.image,
        digest: unit.digest,
        attempt,
        ...(failure === undefined ? {} : { error: failure }),
      });
      await sleep(Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
    }
    throw conflictError(
      unit,
      tag,
      `the signature manifest kept changing during ${maxAttempts} attempts (other signers writing at the same time)`,
    );
  }

  /** After a write: the manifest the tag names, if it holds our signature. */
  async #confirm(
    store: ImageStore,
    tag: string,
    written: Digest,
    prepared: Prepared,
  ): Promise<Digest | undefined> {
    const current = await currentDigest(store, tag);
    if (current === undefined) return undefined;
    if (current === written) return current;
    const manifest = await store.getManifest({ digest: current });
    return this.#holds(
      manifest,
      prepared.layer.descriptor.digest,
      prepared.signatureBase64,
      prepared.payload,
    )
      ? current
      : undefined;
  }

  /** Whether a signature manifest has a layer with this payload signed by our key. */
  #holds(
    manifest: ParsedManifest,
    payloadDigest: Digest,
    signatureBase64: string,
    payload: Uint8Array,
  ): boolean {
    if (manifest.kind !== 'image') return false;
    const publicKey = this.#settings.signer.publicKey;
    return manifest.manifest.layers.some((layer) => {
      if (layer.digest !== payloadDigest || layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE)
        return false;
      const stored = layer.annotations?.[SIGNATURE_ANNOTATION];
      if (stored === undefined) return false;
      if (stored === signatureBase64) return true;
      const decoded = decodeSignatureBase64(stored);
      return decoded !== undefined && verifySignature(publicKey, payload, decoded);
    });
  }
}

/**
 * Whether a failure may not recur on a second try: the store was
 * unavailable (a 5xx, an unexpected 4xx such as MANIFEST_BLOB_UNKNOWN
 * during concurrent uploads of one blob, a timeout), but not refused
 * credentials or rate limiting, which a retry within seconds does not cure.
 */
function isTransientError(error: unknown): error is Error {
  return (
    isVouchError(error) &&
    error.category === 'unavailable' &&
    !['UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED', 'SIGNING_FAILED'].includes(error.code)
  );
}

/** The digest `tag` names now, or undefined if it names nothing. */
async function currentDigest(store: ImageStore, tag: string): Promise<Digest | undefined> {
  try {
    return (await store.resolve({ tag })).digest;
  } catch (error) {
    if (isVouchError(error) && error.code === MANIFEST_UNKNOWN) return undefined;
    throw error;
  }
}

/** The signature manifest and its config, or undefined when the tag does not exist yet. */
async function readSignatureImage(
  store: ImageStore,
  tag: string,
  maxLayers: number,
): Promise<StoredSignatureImage | undefined> {
  let manifest: ParsedManifest;
  try {
    manifest = await store.getManifest({ tag });
  } catch (error) {
    if (isVouchError(error) && error.code === MANIFEST_UNKNOWN) return undefined;
    throw error;
  }
  const where = `${store.location}:${tag}`;
  if (manifest.kind !== 'image') {
    throw denied(
      'SIGNATURE_MANIFEST_INVALID',
      `${where} is an index (${manifest.mediaType}), not a signature manifest; refusing to replace it`,
    );
  }
  if (manifest.manifest.layers.length > maxLayers) {
    throw denied(
      'TOO_MANY_SIGNATURES',
      `${where} has ${manifest.manifest.layers.length} layers, more than the ${maxLayers} vouch accepts`,
    );
  }
  const config = await store.readBlob(manifest.manifest.config, MAX_SIGNATURE_CONFIG_BYTES);
  return { manifest, config };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
