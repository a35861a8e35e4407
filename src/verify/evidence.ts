/**
 * Gathering the evidence for verifying an image by key (docs/design.md
 * principle 2: fetch first, then decide): resolve the image to its digest once, read
 * the cosign signature manifest `sha256-<hex>.sig` beside it
 * (docs/formats.md "Cosign signatures"), and fetch each candidate payload. Nothing
 * here decides whether a signature counts; `evaluate` does, without I/O.
 *
 * Caps are checked before anything is fetched (CVE-2023-46737,
 * CVE-2024-29902/29903): a signature manifest with more than `maxLayers`
 * layers is refused whole (`TOO_MANY_SIGNATURES`), and a layer declaring a
 * payload larger than `maxPayloadBytes` is rejected without fetching it. Each
 * payload is read through the store, which refuses content that exceeds its
 * descriptor's size or does not hash to its digest.
 *
 * Errors: the stores throw `unavailable` for transport failures (the caller
 * could not check), `invalid` for an image that does not exist. A missing
 * `.sig` tag is not an error: the image simply has no signatures. A payload
 * that is missing or corrupt in the registry rejects that one layer; a
 * transport failure while fetching one aborts the whole image, since the
 * evidence is then incomplete.
 */
import { hasCode, isVouchError, messageOf } from '../core/errors.ts';
import { createLimiter } from '../core/concurrency.ts';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_SIGNATURE_LAYERS,
  type LayerProblem,
  readSignatureManifest,
  type SignatureCandidate,
  type SignatureManifestContents,
  signatureTag,
} from '../formats/signature-manifest.ts';
import { type Digest, digestAlgorithm, digestOf } from '../oci/digest.ts';
import { predictedCosignPayload } from '../formats/simple-signing.ts';
import type { Annotations, Descriptor, ImageManifest, ParsedManifest } from '../oci/manifest.ts';
import { OCI_CONFIG, OCI_MANIFEST } from '../oci/media-types.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import type { BundleEvidence, BundleGatherLimits } from './bundle-evidence.ts';

/** The image being verified. */
export interface ImageEvidence {
  /** The digest the signatures must name: resolved once, or the one the user gave. */
  readonly digest: Digest;
  /**
   * The manifest's media type, when it was resolved through a tag. An image
   * named by digest is not fetched (as cosign does), so it is absent then.
   */
  readonly mediaType?: string;
  /** The image as named, for messages: `127.0.0.1:5000/app:1.0`, `oci:/path:tag`. */
  readonly reference: string;
}

/** A layer of the signature manifest that can be checked: its payload and its signature. */
export interface SignatureEvidence {
  /** Position of the layer in the signature manifest. */
  readonly index: number;
  readonly layer: Descriptor;
  /** The exact payload bytes (the layer blob), checked against `layer.digest`. */
  readonly payload: Uint8Array;
  /** The decoded `dev.cosignproject.cosign/signature` annotation. */
  readonly signature: Uint8Array;
  /** All annotations of the layer (certificate, chain, Rekor bundle, ...). */
  readonly annotations: Annotations;
}

export type LayerEvidenceProblem =
  | LayerProblem
  /** The registry does not have the payload blob. */
  | 'payload-missing'
  /** The payload blob did not match its descriptor (digest or size). */
  | 'payload-invalid';

/** A layer that could not be a signature, with why; it never counts. */
export interface RejectedLayerEvidence {
  readonly index: number;
  readonly layer: Descriptor;
  readonly problem: LayerEvidenceProblem;
  /** A sentence for people: what was expected and what was found. */
  readonly reason: string;
}

export interface Evidence {
  readonly image: ImageEvidence;
  /** Where the signatures were looked for: `registry/repo:sha256-<hex>.sig`, `oci:PATH:sha256-<hex>.sig`. */
  readonly signatureLocation: string;
  /**
   * The digest of the signature manifest that was read; absent when the
   * `.sig` tag does not exist (the image is unsigned) or the layers came from
   * elsewhere (`evidenceFromLayers`).
   */
  readonly signatureManifest?: Digest;
  readonly signatures: readonly SignatureEvidence[];
  readonly rejectedLayers: readonly RejectedLayerEvidence[];
  /**
   * The Sigstore bundles among the image's OCI referrers, where cosign 3
   * stores its signatures (bundle-evidence.ts); absent when they were not
   * looked for.
   */
  readonly bundles?: BundleEvidence;
}

export interface GatherLimits extends BundleGatherLimits {
  /** More layers than this and the signature manifest is refused; 1,000 (cosign's cap) unless given. */
  readonly maxLayers?: number;
  /** Payloads declared larger than this are not fetched; 4 MiB (containers/image's cap) unless given. */
  readonly maxPayloadBytes?: number;
  /** Payloads fetched at once for one image; 4 unless given. */
  readonly concurrency?: number;
}

/** `location` (a store's) plus a tag, the way a user would type it. */
export function tagLocation(location: string, tag: string): string {
  return `${location}:${tag}`;
}

/**
 * The image's digest: a digest target is taken as given (not fetched), a tag
 * is resolved once. Throws what the store throws (`invalid` MANIFEST_UNKNOWN
 * for a missing image, `unavailable` for transport failures).
 */
export async function resolveImage(
  store: ImageStore,
  target: ManifestTarget,
  reference: string,
): Promise<ImageEvidence> {
  if ('digest' in target) return { digest: target.digest, reference };
  const descriptor = await store.resolve(target);
  return { digest: descriptor.digest, mediaType: descriptor.mediaType, reference };
}

/**
 * Reads the signatures of `image` (resolved by `resolveImage`) from its
 * `.sig` tag in `store`. Throws VouchError `denied` TOO_MANY_SIGNATURES or
 * SIGNATURE_MANIFEST_INVALID for a signature manifest that cannot be examined,
 * and `unavailable` when the store could not be reached.
 */
export async function fetchSignatures(
  store: ImageStore,
  image: ImageEvidence,
  limits: GatherLimits = {},
): Promise<Evidence> {
  const tag = signatureTag(image.digest);
  const signatureLocation = tagLocation(store.location, tag);
  const manifest = await getTagManifest(store, tag);
  if (manifest === undefined) {
    return { image, signatureLocation, signatures: [], rejectedLayers: [] };
  }
  const maxPayloadBytes = limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const contents = readSignatureManifest(manifest, {
    maxLayers: limits.maxLayers ?? DEFAULT_MAX_SIGNATURE_LAYERS,
    maxPayloadBytes,
  });
  // The payload cosign writes for this image needs no GET when a layer is
  // exactly it (same digest and size): `fetchLayerPayloads` takes it then.
  const known =
    store.repositoryReference === undefined
      ? []
      : [predictedCosignPayload(store.repositoryReference, image.digest)];
  const fetched = await fetchLayerPayloads(
    store,
    contents.candidates,
    maxPayloadBytes,
    limits.concurrency ?? 4,
    known,
  );
  return assemble(image, signatureLocation, manifest.digest, contents, fetched);
}

/** `resolveImage` then `fetchSignatures`: everything `evaluate` needs about one image. */
export async function gatherSignatures(
  store: ImageStore,
  target: ManifestTarget,
  limits: GatherLimits & { readonly reference?: string } = {},
): Promise<Evidence> {
  const image = await resolveImage(store, target, targetReference(store, target, limits.reference));
  return fetchSignatures(store, image, limits);
}

/** The image as named for messages: `reference` when given, else the store's location with the target. */
export function targetReference(
  store: ImageStore,
  target: ManifestTarget,
  reference: string | undefined,
): string {
  return (
    reference ??
    ('tag' in target
      ? tagLocation(store.location, target.tag)
      : `${store.location}@${target.digest}`)
  );
}

/**
 * The manifest tagged `tag` in `store`, or undefined when the tag does not
 * exist (MANIFEST_UNKNOWN); any other error is thrown.
 */
export async function getTagManifest(
  store: ImageStore,
  tag: string,
): Promise<ParsedManifest | undefined> {
  try {
    return await store.getManifest({ tag });
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) return undefined;
    throw error;
  }
}

/** A layer to fetch: its position in the manifest and its descriptor. */
export interface LayerToFetch {
  readonly index: number;
  readonly layer: Descriptor;
}

/** Why a layer's blob could not be used, in the shape of a rejected layer. */
export interface PayloadProblem {
  readonly index: number;
  readonly layer: Descriptor;
  readonly problem: 'payload-missing' | 'payload-invalid';
  readonly reason: string;
}

export type FetchedPayload<C extends LayerToFetch> =
  | { readonly candidate: C; readonly payload: Uint8Array }
  | { readonly candidate: C; readonly problem: PayloadProblem };

/**
 * Fetches the blob of each layer (at most `maxBytes`, digest-checked by the
 * store), `concurrency` at once, each digest once. A blob that is missing or
 * does not match its descriptor rejects that layer; a transport failure
 * throws, since the evidence would be incomplete.
 *
 * `known` are byte strings the caller can predict (the payload cosign
 * writes, `predictedCosignPayload`): a layer whose size and digest are
 * exactly those of one of them has that content, so it is taken without a
 * request. The match is the same check the store applies to what it
 * fetches (`checkLayerPayload`), over the exact bytes; a layer that matches
 * none is fetched.
 */
export async function fetchLayerPayloads<C extends LayerToFetch>(
  store: ImageStore,
  candidates: readonly C[],
  maxBytes: number,
  concurrency: number,
  known: readonly Uint8Array[] = [],
): Promise<FetchedPayload<C>[]> {
  const limit = createLimiter(concurrency);
  // Layers that share one blob (the same payload signed by several keys) fetch it once.
  const blobs = new Map<Digest, Promise<Uint8Array>>();
  return Promise.all(
    candidates.map(async (candidate) => {
      const { digest } = candidate.layer;
      let blob = blobs.get(digest);
      if (blob === undefined) {
        const predicted = knownContent(candidate.layer, known, maxBytes);
        blob =
          predicted === undefined
            ? limit(() => store.readBlob(candidate.layer, maxBytes))
            : Promise.resolve(predicted);
        blobs.set(digest, blob);
      }
      try {
        return { candidate, payload: await blob };
      } catch (error) {
        if (isVouchError(error) && error.category !== 'unavailable') {
          return { candidate, problem: payloadProblem(candidate, error.code, messageOf(error)) };
        }
        throw error;
      }
    }),
  );
}

/** The one of `known` that is exactly the layer's content (size, then digest), if any. */
function knownContent(
  layer: Descriptor,
  known: readonly Uint8Array[],
  maxBytes: number,
): Uint8Array | undefined {
  return known.find(
    (bytes) =>
      bytes.byteLength === layer.size &&
      bytes.byteLength <= maxBytes &&
      digestOf(bytes, digestAlgorithm(layer.digest)) === layer.digest,
  );
}

/**
 * Checks a payload already in memory against its layer's descriptor (size
 * and digest), as the stores check what they fetch.
 */
export function checkLayerPayload<C extends LayerToFetch>(
  candidate: C,
  payload: Uint8Array,
): FetchedPayload<C> {
  const { digest, size } = candidate.layer;
  const actual = digestOf(payload, digestAlgorithm(digest));
  if (payload.byteLength !== size || actual !== digest) {
    return {
      candidate,
      problem: payloadProblem(
        candidate,
        'DIGEST_MISMATCH',
        `the payload has ${payload.byteLength} bytes hashing to ${actual}, expected ${size} bytes with digest ${digest}`,
      ),
    };
  }
  return { candidate, payload };
}

/** One layer of a signature manifest with its payload, when both are already at hand. */
export interface LayerWithPayload {
  readonly layer: Descriptor;
  readonly payload: Uint8Array;
}

/**
 * Evidence from layers and payloads already in memory (a containers/image
 * `dir:` layout, `cosign save` output, a test), with the same checks
 * `fetchSignatures` applies: layer caps, media type, signature annotation, and
 * each payload against its descriptor. Pure.
 */
export function evidenceFromLayers(
  image: ImageEvidence,
  layers: readonly LayerWithPayload[],
  limits: Omit<GatherLimits, 'concurrency'> = {},
): Evidence {
  const maxPayloadBytes = limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const parsed = manifestOfLayers(layers.map(({ layer }) => layer));
  const contents = readSignatureManifest(parsed, {
    maxLayers: limits.maxLayers ?? DEFAULT_MAX_SIGNATURE_LAYERS,
    maxPayloadBytes,
  });
  const fetched = contents.candidates.map((candidate) =>
    checkLayerPayload(candidate, (layers[candidate.index] as LayerWithPayload).payload),
  );
  return assemble(image, 'the given signature layers', undefined, contents, fetched);
}

/** An image manifest listing `layers`, for evidence built from layers already in memory. */
export function manifestOfLayers(layers: readonly Descriptor[]): ParsedManifest {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: digestOf(new Uint8Array()), size: 0 },
    layers,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  return { kind: 'image', mediaType: OCI_MANIFEST, bytes, digest: digestOf(bytes), manifest };
}

type Fetched = FetchedPayload<SignatureCandidate>;

function assemble(
  image: ImageEvidence,
  signatureLocation: string,
  signatureManifest: Digest | undefined,
  contents: SignatureManifestContents,
  fetched: readonly Fetched[],
): Evidence {
  const { accepted: signatures, rejectedLayers } = sortFetched<
    SignatureCandidate,
    SignatureEvidence,
    RejectedLayerEvidence
  >(contents.rejected, fetched, ({ index, layer, signature, annotations }, payload) => ({
    index,
    layer,
    payload,
    signature,
    annotations,
  }));
  return {
    image,
    signatureLocation,
    ...(signatureManifest === undefined ? {} : { signatureManifest }),
    signatures,
    rejectedLayers,
  };
}

/**
 * Splits fetched layers into evidence (`toEvidence` of each candidate with
 * its payload) and rejected layers: `rejected` (found by reading the
 * manifest) plus those whose payload could not be used, in layer order.
 */
export function sortFetched<C extends LayerToFetch, A, R extends { readonly index: number }>(
  rejected: readonly R[],
  fetched: readonly FetchedPayload<C>[],
  toEvidence: (candidate: C, payload: Uint8Array) => A,
): { accepted: A[]; rejectedLayers: (R | PayloadProblem)[] } {
  const accepted: A[] = [];
  const rejectedLayers: (R | PayloadProblem)[] = [...rejected];
  for (const entry of fetched) {
    if ('problem' in entry) {
      rejectedLayers.push(entry.problem);
      continue;
    }
    accepted.push(toEvidence(entry.candidate, entry.payload));
  }
  rejectedLayers.sort((a, b) => a.index - b.index);
  return { accepted, rejectedLayers };
}

function payloadProblem(candidate: LayerToFetch, code: string, message: string): PayloadProblem {
  const { index, layer } = candidate;
  const missing = code === 'BLOB_UNKNOWN' || code === 'MANIFEST_UNKNOWN';
  return {
    index,
    layer,
    problem: missing ? 'payload-missing' : 'payload-invalid',
    reason: `layer ${index} (${layer.digest}): ${missing ? 'payload blob is missing' : 'payload could not be read'}: ${message}`,
  };
}
