/**
 * Storing a signed layer beside an image the way cosign does, shared by
 * `sign` (`.sig` simple-signing layers, sign.ts) and `attest` (`.att` DSSE
 * layers, attest.ts). An `AttachmentKind` says what one layer is — how to
 * make it for a manifest, and how to recognise it (or an equivalent) in a
 * manifest already stored; this module does the rest for both:
 *
 * 1. Each image is resolved to its digest once; a target given by digest is
 *    not fetched at all. With `recursive`, every manifest an index lists
 *    (nested indexes included) gets its own layer.
 * 2. The layer is made once per manifest (signing happens once) and reused
 *    across retries.
 * 3. It becomes a layer of the `sha256-<hex>.<suffix>` manifest in the same
 *    store, read-modify-write: read the manifest and its config, append the
 *    layer as go-containerregistry does (formats/cosign-signature.ts), upload
 *    the layer blob and the new config, then the manifest under the tag. A
 *    layer that already carries the same content signed by the same key
 *    leaves everything as it is (`unchanged`). With `replace`, the layers the
 *    kind says the new one supersedes are dropped and the new layer goes
 *    first, as cosign's `--replace` does.
 *
 * cosign's read-modify-write is racy (SIGNATURE_SPEC.md: "works but is racy";
 * sigstore/cosign#2432 lost attestations). vouch does not lose a concurrent
 * writer's work:
 *
 * - On a layout, the tag is moved with a compare-and-swap under the layout's
 *   index.json lock (`OCILayoutStore.compareAndSetTag`): a write based on a
 *   manifest that is no longer current is refused and retried.
 * - A registry has no conditional PUT, so the tag is re-resolved right before
 *   the PUT and the write is retried if it moved since the read; after the
 *   PUT the tag is read again and must hold our layer. The window between
 *   that last check and the PUT cannot be closed from the client, so once
 *   every image is done the layers written are checked again after a delay
 *   (`settleMs`, or twice the slowest check-then-PUT this call saw: about
 *   how late another writer's PUT can land) and any that another writer's
 *   late PUT replaced are appended again.
 *
 * Retries back off with full jitter. After `maxAttempts` conflicts on one
 * manifest the image fails with `unavailable` <KIND>_CONFLICT
 * (SIGNATURE_CONFLICT, ATTESTATION_CONFLICT), which names it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createLimiter } from '../core/concurrency.ts';
import { denied, hasCode, invalid, isVouchError, unavailable } from '../core/errors.ts';
import {
  type AttachmentSuffix,
  appendSignatureLayer,
  attachmentTag,
  buildSignatureImage,
  DEFAULT_MAX_SIGNATURE_LAYERS,
  type SignatureImage,
  type SignatureLayer,
  type StoredSignatureImage,
} from '../formats/cosign-signature.ts';
import type { Signer } from '../keys/signer.ts';
import type { KeylessSigning } from './keyless-signing.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor, ParsedManifest, Platform } from '../oci/manifest.ts';
import { isIndexType } from '../oci/media-types.ts';
import { backoffMs, isTransientError } from '../registry/retry.ts';
import { canSwapTags, type ImageStore, type ManifestTarget } from '../registry/store.ts';

/** A signature config holds one history entry and one diff ID per layer: ~110 bytes each. */
export const MAX_SIGNATURE_CONFIG_BYTES = 1024 * 1024;
/** `recursive` handles at most this many manifests below one index. */
export const MAX_RECURSIVE_MANIFESTS = 1000;
export const DEFAULT_SIGN_CONCURRENCY = 8;
export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_SETTLE_MS = 100;
/** The settle check never waits longer than this, however slow the registry was. */
const MAX_SETTLE_MS = 5000;
/** How many times the settle check may find a layer replaced and append it again. */
const SETTLE_ROUNDS = 3;
/** What every request names: where the image is (the layer goes to the same store) and which manifest. */
export interface AttachRequest {
  readonly store: ImageStore;
  /** A tag is resolved once, a digest is used as given. */
  readonly target: ManifestTarget;
  /** How to name the image in results, events and errors; `store.location` with the target by default. */
  readonly name?: string;
}

/** One manifest to attach a layer to (the image, or a manifest its index lists). */
export interface AttachUnit<Q extends AttachRequest> {
  readonly request: Q;
  readonly store: ImageStore;
  readonly image: string;
  readonly digest: Digest;
  readonly mediaType?: string;
  readonly platform?: Platform;
}

/** Reads a stored layer's blob, digest-checked; undefined if it is too large or unreadable. */
export type BlobReader = (layer: Descriptor) => Promise<Uint8Array | undefined>;

/** What a kind makes for one manifest: the layer, plus whatever it needs to recognise it later. */
export interface PreparedLayer {
  readonly layer: SignatureLayer;
}

/** The codes of the attach engine's failures, per kind of attachment. */
const ATTACHMENT_CODES = {
  signature: {
    conflict: 'SIGNATURE_CONFLICT',
    manifestInvalid: 'SIGNATURE_MANIFEST_INVALID',
    tooMany: 'TOO_MANY_SIGNATURES',
  },
  attestation: {
    conflict: 'ATTESTATION_CONFLICT',
    manifestInvalid: 'ATTESTATION_MANIFEST_INVALID',
    tooMany: 'TOO_MANY_ATTESTATIONS',
  },
} as const;

export interface AttachmentKind<Q extends AttachRequest, P extends PreparedLayer> {
  /** The tag suffix: `sig`, `att`. */
  readonly suffix: AttachmentSuffix;
  /** For messages and error codes (ATTACHMENT_CODES): `signature`, `attestation`. */
  readonly noun: keyof typeof ATTACHMENT_CODES;
  /** Makes (signs) the layer for one manifest; called once per manifest. */
  prepare(unit: AttachUnit<Q>): Promise<P>;
  /**
   * Whether a stored layer already carries what `prepared` adds: the same
   * content, signed by the same key (the signature itself may differ, ECDSA
   * being randomised).
   */
  holds(existing: Descriptor, prepared: P, read: BlobReader): boolean | Promise<boolean>;
  /** With `replace`: whether a stored layer is one the new layer supersedes. */
  supersedes?(existing: Descriptor, prepared: P, read: BlobReader): Promise<boolean>;
}

export type AttachOutcome = 'stored' | 'unchanged';

/** Where a layer ended up. */
export interface StoredLayer {
  readonly outcome: AttachOutcome;
  /** `sha256-<hex>.<suffix>`. */
  readonly tag: string;
  /** `registry/repository:tag` or `oci:PATH:tag`. */
  readonly location: string;
  /** The attachment manifest the tag pointed to when the layer was confirmed there. */
  readonly manifest: Digest;
  /** Writes it took: 0 when unchanged, more than 1 after conflicts. */
  readonly attempts: number;
}

export interface Attached<Q extends AttachRequest, P extends PreparedLayer> {
  readonly unit: AttachUnit<Q>;
  readonly prepared: P;
  readonly stored: StoredLayer;
}

export type AttachEvent<R> =
  | {
      readonly type: 'resolved';
      readonly image: string;
      readonly digest: Digest;
      readonly manifests: number;
    }
  | { readonly type: 'stored'; readonly image: string; readonly result: R }
  | {
      readonly type: 'conflict';
      readonly image: string;
      readonly digest: Digest;
      readonly attempt: number;
      readonly error?: Error;
    }
  | { readonly type: 'settling'; readonly count: number }
  | { readonly type: 'failed'; readonly image: string; readonly error: Error };

/** The engine's events a kind passes on as they are (all but `stored`). */
export type PassedEvent<R> = Exclude<AttachEvent<R>, { readonly type: 'stored' }>;

export interface AttachSettings<R> {
  readonly recursive: boolean;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly settleMs: number;
  readonly maxLayers: number;
  /** Drop the layers the kind's `supersedes` picks and put the new one first. */
  readonly replace: boolean;
  /** The most bytes read of one stored layer when the kind looks inside it. */
  readonly maxBlobBytes: number;
  readonly emit: (event: AttachEvent<R>) => void;
}

export type AttachResult<R> =
  | {
      readonly image: string;
      readonly ok: true;
      readonly digest: Digest;
      readonly mediaType?: string;
      /** The image's own layer first, then any children's. */
      readonly results: readonly R[];
    }
  | {
      readonly image: string;
      readonly ok: false;
      readonly digest?: Digest;
      readonly mediaType?: string;
      /** Layers stored before the failure. */
      readonly results: readonly R[];
      readonly error: Error;
    };

/** The options signing and attesting share (`SignOptions`, `AttestOptions` extend them). */
export interface AttachOptions<E> {
  /** Signs every layer; with a cosign key, decrypt it once and sign many images. */
  readonly signer: Signer;
  /**
   * Sign keylessly with this run's certificate (`startKeylessSigning`):
   * every layer is logged (and timestamped) and carries the certificate,
   * its chain and the log entry, as cosign's keyless layers do. `signer`
   * must be its `signer`.
   */
  readonly keyless?: KeylessSigning;
  /** For an index, also handle every manifest it lists (nested indexes included). */
  readonly recursive?: boolean;
  /** Manifests resolved or written at once. Default 8. */
  readonly concurrency?: number;
  /** Writes of one attachment manifest tried before <KIND>_CONFLICT. Default 8. */
  readonly maxAttempts?: number;
  /**
   * Delay before the final check that no concurrent registry write replaced
   * a layer written here; 0 skips the check. Default 100 ms. Layouts do
   * not need it (their tags are moved by compare-and-swap).
   */
  readonly settleMs?: number;
  readonly onEvent?: (event: E) => void;
}

/** What every manifest's result says, whatever the kind of layer (`ManifestSignature`, `ManifestAttestation`). */
export interface ManifestAttachment<O extends string> {
  /** The manifest the layer is about. */
  readonly digest: Digest;
  /** Its media type, when known (digest targets without `recursive` are not fetched). */
  readonly mediaType?: string;
  /** For a manifest listed in an index. */
  readonly platform?: Platform;
  /** Stored now (`signed`, `attested`) or already there (`unchanged`). */
  readonly outcome: O | 'unchanged';
  /** `sha256-<hex>.<suffix>`, the tag that holds the layer. */
  readonly tag: string;
  /** Where the layer is: `registry/repository:tag` or `oci:PATH:tag`. */
  readonly location: string;
  /** Writes it took: 0 when unchanged, more than 1 after conflicts. */
  readonly attempts: number;
}

/** One image's result, its manifests' results under `K` (`signatures`, `attestations`). */
export type ImageAttachResult<K extends string, R> =
  | ({
      readonly image: string;
      readonly ok: true;
      /** The digest the image resolved to (the index, when recursive). */
      readonly digest: Digest;
      readonly mediaType?: string;
    } & { readonly [key in K]: readonly R[] })
  | ({
      readonly image: string;
      readonly ok: false;
      readonly digest?: Digest;
      readonly mediaType?: string;
      readonly error: Error;
    } & { readonly [key in K]: readonly R[] });

/**
 * The one check of a signer before anything is fetched or written: it must
 * sign, and have the public key that recognises its own layers already stored.
 */
export function checkSigner(
  signer: Signer | undefined,
  doing: string,
  keyless?: KeylessSigning,
): Signer {
  if (keyless !== undefined && keyless.signer !== signer) {
    throw invalid('INVALID_OPTION', `${doing} keylessly signs with the keyless run's own key`);
  }
  if (
    signer === undefined ||
    typeof signer.sign !== 'function' ||
    signer.publicKey?.type !== 'public'
  ) {
    throw invalid('INVALID_OPTION', `${doing} needs a signer with a public key`);
  }
  return signer;
}

/** The engine's settings from the shared options; count options are checked here, before any I/O. */
export function attachSettings<R, S>(
  options: AttachOptions<PassedEvent<R> | S>,
  kind: {
    /** The kind's layer limit and the option's name, for the message. */
    readonly maxLayers: readonly [value: number | undefined, name: string];
    readonly replace: boolean;
    readonly maxBlobBytes: number;
    /** The kind's event for a stored layer. */
    readonly storedEvent: (image: string, result: R) => S;
  },
): AttachSettings<R> {
  const { onEvent } = options;
  const [maxLayers, maxLayersName] = kind.maxLayers;
  return {
    recursive: options.recursive ?? false,
    concurrency: countOption(options.concurrency, DEFAULT_SIGN_CONCURRENCY, 'concurrency', 1),
    maxAttempts: countOption(options.maxAttempts, DEFAULT_MAX_ATTEMPTS, 'maxAttempts', 1),
    settleMs: countOption(options.settleMs, DEFAULT_SETTLE_MS, 'settleMs', 0),
    maxLayers: countOption(maxLayers, DEFAULT_MAX_SIGNATURE_LAYERS, maxLayersName, 1),
    replace: kind.replace,
    maxBlobBytes: kind.maxBlobBytes,
    emit: (event) => {
      if (onEvent === undefined) return;
      onEvent(event.type === 'stored' ? kind.storedEvent(event.image, event.result) : event);
    },
  };
}

/** The fields of a manifest's result that come from the engine, in the order results list them. */
export function attachedUnit<Q extends AttachRequest>(
  unit: AttachUnit<Q>,
): Pick<ManifestAttachment<string>, 'digest' | 'mediaType' | 'platform'> {
  return {
    digest: unit.digest,
    ...(unit.mediaType === undefined ? {} : { mediaType: unit.mediaType }),
    ...(unit.platform === undefined ? {} : { platform: unit.platform }),
  };
}

/** The engine's per-image results with the manifests' results under `key`. */
export function resultsAs<K extends string, R>(
  results: readonly AttachResult<R>[],
  key: K,
): ImageAttachResult<K, R>[] {
  return results.map(
    ({ results: manifests, ...rest }) =>
      ({ ...rest, [key]: manifests }) as unknown as ImageAttachResult<K, R>,
  );
}

/** Checks a count option: an integer of at least `min`, or the fallback when absent. */
export function countOption(
  value: number | undefined,
  fallback: number,
  name: string,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalid(
      'INVALID_OPTION',
      `${name} must be an integer of at least ${min}, found ${value}`,
    );
  }
  return value;
}

/**
 * Attaches one layer of `kind` to every image; one result per request, in
 * order. Per-image failures (registry down, conflicts, a malformed
 * attachment manifest) are reported in the results, not thrown.
 */
export async function attachToImages<Q extends AttachRequest, P extends PreparedLayer, R>(
  requests: readonly Q[],
  kind: AttachmentKind<Q, P>,
  settings: AttachSettings<R>,
  toResult: (attached: Attached<Q, P>) => R,
): Promise<AttachResult<R>[]> {
  const { emit } = settings;
  const limit = createLimiter(settings.concurrency);
  const engine = new AttachEngine(kind, settings);

  const states: ImageState<Q, P>[] = requests.map((request) => ({
    request,
    image: imageName(request),
    digest: undefined,
    mediaType: undefined,
    slots: [],
    units: [],
    error: undefined,
  }));

  await Promise.all(
    states.map(async (state) => {
      let units: AttachUnit<Q>[];
      try {
        units = await resolveUnits(state.request, state.image, settings.recursive, limit);
      } catch (error) {
        state.error = asError(error);
        return;
      }
      const top = units[0] as AttachUnit<Q>;
      state.digest = top.digest;
      state.mediaType = top.mediaType;
      state.units = units;
      emit({ type: 'resolved', image: state.image, digest: top.digest, manifests: units.length });
      await Promise.all(
        units.map((unit, index) =>
          limit(async () => {
            if (state.error !== undefined) return; // a sibling failed: the image has failed
            try {
              const attached = await engine.attach(unit);
              state.slots[index] = attached;
              emit({ type: 'stored', image: state.image, result: toResult(attached) });
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
      results: state.slots.filter((slot) => slot !== undefined).map(toResult),
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

interface ImageState<Q extends AttachRequest, P extends PreparedLayer> {
  readonly request: Q;
  readonly image: string;
  digest: Digest | undefined;
  mediaType: string | undefined;
  /** What was attached to each unit, by the unit's index; empty until stored. */
  readonly slots: Array<Attached<Q, P> | undefined>;
  units: AttachUnit<Q>[];
  error: Error | undefined;
}

/**
 * After `settleMs`, checks that every layer this call wrote to a store
 * without compare-and-swap is still in its manifest; appends again those a
 * concurrent writer's late PUT replaced, and checks those again, up to
 * SETTLE_ROUNDS times.
 */
async function settle<Q extends AttachRequest, P extends PreparedLayer, R>(
  states: readonly ImageState<Q, P>[],
  engine: AttachEngine<Q, P, R>,
  settings: AttachSettings<R>,
  limit: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<void> {
  let round = states.flatMap((state) =>
    state.error !== undefined
      ? []
      : state.units
          .map((unit, index) => ({ state, unit, index }))
          .filter(
            ({ state: s, unit, index }) =>
              s.slots[index]?.stored.outcome === 'stored' && !canSwapTags(unit.store),
          ),
  );
  for (let attempt = 1; round.length > 0; attempt++) {
    settings.emit({ type: 'settling', count: round.length });
    await sleep(engine.settleDelayMs());
    const lost: typeof round = [];
    await Promise.all(
      round.map(({ state, unit, index }) =>
        limit(async () => {
          const attached = state.slots[index];
          if (state.error !== undefined || attached === undefined) return;
          try {
            const current = await engine.stillPresent(attached);
            if (current === undefined) lost.push({ state, unit, index });
            else
              state.slots[index] = {
                ...attached,
                stored: { ...attached.stored, manifest: current },
              };
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
        state.error ??= engine.conflictError(
          unit,
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
            const again = await engine.attach(unit, previous.prepared);
            state.slots[index] = {
              ...again,
              stored: {
                ...again.stored,
                outcome: 'stored',
                attempts: previous.stored.attempts + again.stored.attempts,
              },
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

/** How results, events and errors name a request's image. */
export function imageName(request: AttachRequest): string {
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
 * The manifests to attach to for one request, the image itself first.
 * Without `recursive` a tag costs one HEAD and a digest nothing; with it the
 * top manifest is read for its children, and nested indexes for theirs.
 */
async function resolveUnits<Q extends AttachRequest>(
  request: Q,
  image: string,
  recursive: boolean,
  limit: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<AttachUnit<Q>[]> {
  const { store, target } = request;
  const unit = (descriptor: Pick<Descriptor, 'digest'> & Partial<Descriptor>): AttachUnit<Q> => ({
    request,
    store,
    image,
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
            `${image}: the index lists more than ${MAX_RECURSIVE_MANIFESTS} manifests; refusing to handle them all`,
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

class AttachEngine<Q extends AttachRequest, P extends PreparedLayer, R> {
  readonly #kind: AttachmentKind<Q, P>;
  readonly #settings: AttachSettings<R>;
  /** One write at a time per attachment tag within this call (the same image named twice). */
  readonly #tails = new Map<string, Promise<unknown>>();
  /** The longest check-then-PUT this call has seen on a registry, in ms. */
  #widestRaceWindowMs = 0;

  constructor(kind: AttachmentKind<Q, P>, settings: AttachSettings<R>) {
    this.#kind = kind;
    this.#settings = settings;
  }

  /**
   * How long the settle check waits: `settleMs`, or longer on a slow
   * registry. Another writer's late PUT lands at most about one
   * check-then-PUT after its check, and a writer sharing this registry sees
   * latencies like ours, so twice the widest window this call saw covers it;
   * capped so a stalled registry cannot hold the command for long.
   */
  settleDelayMs(): number {
    return Math.min(Math.max(this.#settings.settleMs, 2 * this.#widestRaceWindowMs), MAX_SETTLE_MS);
  }

  #noteRaceWindow(ms: number): void {
    this.#widestRaceWindowMs = Math.max(this.#widestRaceWindowMs, ms);
  }

  conflictError(unit: AttachUnit<Q>, detail: string): Error {
    const { noun, suffix } = this.#kind;
    return unavailable(
      ATTACHMENT_CODES[noun].conflict,
      `${unit.image}: could not store the ${noun} of ${unit.digest} in ${unit.store.location}:${attachmentTag(unit.digest, suffix)}: ${detail}; the ${noun}s already there are intact, so trying again is safe`,
    );
  }

  /** Stores the unit's layer (made now, or the one given); `unchanged` when it is already there. */
  async attach(unit: AttachUnit<Q>, prepared?: P): Promise<Attached<Q, P>> {
    const tag = attachmentTag(unit.digest, this.#kind.suffix);
    const layer = prepared ?? (await this.#kind.prepare(unit));
    const stored = await this.#serialised(`${unit.store.location}\n${tag}`, () =>
      this.#store(unit, tag, layer),
    );
    return { unit, prepared: layer, stored };
  }

  /**
   * The digest of the manifest the layer's tag names now if it still holds
   * the layer (or, with `replace`, a layer that superseded it), else undefined.
   */
  async stillPresent(attached: Attached<Q, P>): Promise<Digest | undefined> {
    const { unit, prepared, stored } = attached;
    const current = await currentDigest(unit.store, stored.tag);
    if (current === undefined) return undefined;
    if (current === stored.manifest) return current;
    const manifest = await unit.store.getManifest({ digest: current });
    if (manifest.kind !== 'image') return undefined;
    const read = this.#reader(unit.store);
    for (const layer of manifest.manifest.layers) {
      if (await this.#kind.holds(layer, prepared, read)) return current;
      // A later replacement of the same kind is what --replace asks for, not a lost write.
      if (this.#settings.replace && (await this.#kind.supersedes?.(layer, prepared, read)) === true)
        return current;
    }
    return undefined;
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

  /** Reads stored layers, each at most once per call, within the configured size. */
  #reader(store: ImageStore): BlobReader {
    const cache = new Map<Digest, Promise<Uint8Array | undefined>>();
    const max = this.#settings.maxBlobBytes;
    return (layer) => {
      if (layer.size > max) return Promise.resolve(undefined);
      let blob = cache.get(layer.digest);
      if (blob === undefined) {
        blob = store.readBlob(layer, max).catch((error: unknown) => {
          // Missing or corrupt in the store: it holds nothing we can use.
          if (isVouchError(error) && error.category !== 'unavailable') return undefined;
          throw error;
        });
        cache.set(layer.digest, blob);
      }
      return blob;
    };
  }

  /** The layers of `base` that hold `prepared` already, and those it supersedes. */
  async #inspect(
    store: ImageStore,
    base: StoredSignatureImage | undefined,
    prepared: P,
  ): Promise<{ duplicate: Descriptor | undefined; superseded: Set<number> }> {
    const superseded = new Set<number>();
    let duplicate: Descriptor | undefined;
    if (base === undefined || base.manifest.kind !== 'image') return { duplicate, superseded };
    const read = this.#reader(store);
    const layers = base.manifest.manifest.layers;
    for (const [index, layer] of layers.entries()) {
      if (duplicate === undefined && (await this.#kind.holds(layer, prepared, read))) {
        duplicate = layer;
      }
      if (
        this.#settings.replace &&
        (await this.#kind.supersedes?.(layer, prepared, read)) === true
      ) {
        superseded.add(index);
      }
    }
    return { duplicate, superseded };
  }

  /** The read-modify-write loop (see the module comment). */
  async #store(unit: AttachUnit<Q>, tag: string, prepared: P): Promise<StoredLayer> {
    const { store } = unit;
    const { layer } = prepared;
    const { maxAttempts, maxLayers, replace } = this.#settings;
    const location = `${store.location}:${tag}`;
    let writes = 0;
    let blobStored = false;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let failure: Error | undefined;
      try {
        const base = await this.#read(store, tag);
        const { duplicate, superseded } = await this.#inspect(store, base, prepared);
        const layers = base?.manifest.kind === 'image' ? base.manifest.manifest.layers : [];
        const done =
          duplicate !== undefined &&
          (!replace || [...superseded].every((i) => layers[i] === duplicate));
        if (done) {
          return {
            outcome: writes > 0 ? 'stored' : 'unchanged',
            tag,
            location,
            manifest: (base as StoredSignatureImage).manifest.digest,
            attempts: writes,
          };
        }
        let image: SignatureImage;
        if (replace) {
          // cosign's ReplaceOp: the new layer first, then every layer it does not supersede.
          const kept = layers.filter((_, i) => !superseded.has(i));
          image = buildSignatureImage([layer.descriptor, ...kept], { maxLayers });
        } else {
          const appended = appendSignatureLayer(base, layer.descriptor, { maxLayers });
          if (!appended.changed) {
            // An identical layer (same bytes and annotations) the kind did not recognise.
            return {
              outcome: writes > 0 ? 'stored' : 'unchanged',
              tag,
              location,
              manifest: appended.image.manifestDigest,
              attempts: writes,
            };
          }
          image = appended.image;
        }
        const descriptor: Descriptor = {
          mediaType: image.mediaType,
          digest: image.manifestDigest,
          size: image.manifest.byteLength,
        };
        if (!blobStored) {
          await store.putBlob(layer.descriptor, once(layer.blob));
          blobStored = true;
        }
        await store.putBlob(image.configDescriptor, once(image.config));
        const expected = base?.manifest.digest;
        let written: boolean;
        if (canSwapTags(store)) {
          await store.putManifest(image.manifest, image.mediaType);
          written = await store.compareAndSetTag(tag, expected, descriptor);
          if (written) writes++;
        } else {
          const checked = performance.now();
          written = (await currentDigest(store, tag)) === expected;
          if (written) {
            // Counted before the PUT: one that fails may still have landed.
            writes++;
            await store.putManifest(image.manifest, image.mediaType, tag);
            this.#noteRaceWindow(performance.now() - checked);
          }
        }
        if (written) {
          const confirmed = await this.#confirm(store, tag, descriptor.digest, prepared);
          if (confirmed !== undefined) {
            return { outcome: 'stored', tag, location, manifest: confirmed, attempts: writes };
          }
        }
      } catch (error) {
        // Concurrent writers upload identical blobs (one payload signed by
        // several keys, configs listing the same diff IDs), and Distribution's
        // storage can then fail a read or a manifest PUT for a moment (500,
        // MANIFEST_BLOB_UNKNOWN): retried like a conflict, blobs included.
        if (!isTransientError(error) || attempt === maxAttempts) throw error;
        failure = error;
        blobStored = false;
      }
      if (attempt === maxAttempts) break;
      this.#settings.emit({
        type: 'conflict',
        image: unit.image,
        digest: unit.digest,
        attempt,
        ...(failure === undefined ? {} : { error: failure }),
      });
      await sleep(backoffMs(attempt));
    }
    throw this.conflictError(
      unit,
      `the ${this.#kind.noun} manifest kept changing during ${maxAttempts} attempts (other writers at the same time)`,
    );
  }

  /** After a write: the manifest the tag names, if it still has our layer (or an equivalent). */
  async #confirm(
    store: ImageStore,
    tag: string,
    written: Digest,
    prepared: P,
  ): Promise<Digest | undefined> {
    const current = await currentDigest(store, tag);
    if (current === undefined) return undefined;
    if (current === written) return current;
    const manifest = await store.getManifest({ digest: current });
    if (manifest.kind !== 'image') return undefined;
    const ours = prepared.layer.descriptor;
    const read = this.#reader(store);
    for (const candidate of manifest.manifest.layers) {
      // Our blob under our annotations: a later writer appended to what we wrote.
      if (
        candidate.digest === ours.digest &&
        candidate.mediaType === ours.mediaType &&
        sameAnnotations(candidate, ours)
      )
        return current;
      if (await this.#kind.holds(candidate, prepared, read)) return current;
    }
    return undefined;
  }

  /** The attachment manifest and its config, or undefined when the tag does not exist yet. */
  async #read(store: ImageStore, tag: string): Promise<StoredSignatureImage | undefined> {
    let manifest: ParsedManifest;
    try {
      manifest = await store.getManifest({ tag });
    } catch (error) {
      if (hasCode(error, 'MANIFEST_UNKNOWN')) return undefined;
      throw error;
    }
    const where = `${store.location}:${tag}`;
    const { noun } = this.#kind;
    const { maxLayers } = this.#settings;
    if (manifest.kind !== 'image') {
      throw denied(
        ATTACHMENT_CODES[noun].manifestInvalid,
        `${where} is an index (${manifest.mediaType}), not a ${noun} manifest; refusing to replace it`,
      );
    }
    if (manifest.manifest.layers.length > maxLayers) {
      throw denied(
        ATTACHMENT_CODES[noun].tooMany,
        `${where} has ${manifest.manifest.layers.length} layers, more than the ${maxLayers} vouch accepts`,
      );
    }
    const config = await store.readBlob(manifest.manifest.config, MAX_SIGNATURE_CONFIG_BYTES);
    return { manifest, config };
  }
}

function sameAnnotations(a: Descriptor, b: Descriptor): boolean {
  const left = a.annotations ?? {};
  const right = b.annotations ?? {};
  const keys = Object.keys(right);
  return (
    Object.keys(left).length === keys.length &&
    keys.every((key) => Object.hasOwn(left, key) && left[key] === right[key])
  );
}

/** The digest `tag` names now, or undefined if it names nothing. */
async function currentDigest(store: ImageStore, tag: string): Promise<Digest | undefined> {
  try {
    return (await store.resolve({ tag })).digest;
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) return undefined;
    throw error;
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
