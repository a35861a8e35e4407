/**
 * Gathering the evidence for verifying an image's attestations (docs/design.md
 * principle 2, as evidence.ts does for signatures): resolve the image to its
 * digest once, read cosign's attestation manifest `sha256-<hex>.att` beside
 * it (docs/formats.md "Cosign attestations"), and fetch each candidate DSSE envelope.
 * Nothing here decides whether an attestation counts;
 * `evaluateAttestations` does, without I/O.
 *
 * Caps are checked before anything is fetched (CVE-2023-46737,
 * CVE-2024-29902/29903): more than `maxLayers` layers and the manifest is
 * refused whole (TOO_MANY_ATTESTATIONS); a layer declaring an envelope larger
 * than `maxEnvelopeBytes` (16 MiB by default) is rejected without fetching
 * it. Envelopes are read through the store, which refuses content that
 * exceeds its descriptor's size or does not hash to its digest. A missing
 * `.att` tag is not an error: the image has no attestations.
 */
import {
  type AttestationCandidate,
  type AttestationLayerProblem,
  type AttestationManifestContents,
  attestationTag,
  DEFAULT_MAX_ATTESTATION_BYTES,
  readAttestationManifest,
} from '../formats/cosign-attestation.ts';
import { DEFAULT_MAX_SIGNATURE_LAYERS } from '../formats/cosign-signature.ts';
import type { Digest } from '../oci/digest.ts';
import type { Annotations, Descriptor } from '../oci/manifest.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import {
  type BundleEvidence,
  type BundleGatherLimits,
  fetchBundleReferrers,
} from './bundle-evidence.ts';
import {
  checkLayerPayload,
  fetchLayerPayloads,
  type FetchedPayload,
  getTagManifest,
  type ImageEvidence,
  type LayerWithPayload,
  manifestOfLayers,
  resolveImage,
  sortFetched,
  tagLocation,
  targetReference,
} from './evidence.ts';

/** A layer of the attestation manifest that can be checked: its envelope bytes. */
export interface AttestationLayerEvidence {
  /** Position of the layer in the attestation manifest. */
  readonly index: number;
  readonly layer: Descriptor;
  /** The exact envelope bytes (the layer blob), checked against `layer.digest`. */
  readonly envelope: Uint8Array;
  /** All annotations of the layer (`predicateType`, certificate, bundle, ...): unauthenticated. */
  readonly annotations: Annotations;
}

export type AttestationLayerEvidenceProblem =
  AttestationLayerProblem | 'payload-missing' | 'payload-invalid';

/** A layer that could not be an attestation, with why; it never counts. */
export interface RejectedAttestationLayerEvidence {
  readonly index: number;
  readonly layer: Descriptor;
  readonly problem: AttestationLayerEvidenceProblem;
  readonly reason: string;
}

export interface AttestationEvidence {
  readonly image: ImageEvidence;
  /** Where the attestations were looked for: `registry/repo:sha256-<hex>.att`, `oci:PATH:...`. */
  readonly attestationLocation: string;
  /** The digest of the attestation manifest read; absent when the `.att` tag does not exist. */
  readonly attestationManifest?: Digest;
  readonly attestations: readonly AttestationLayerEvidence[];
  readonly rejectedLayers: readonly RejectedAttestationLayerEvidence[];
  /**
   * The Sigstore bundles stored as OCI referrers of the image (cosign 3's
   * form); absent when they were not looked for (evidence built from layers).
   */
  readonly bundles?: BundleEvidence;
}

export interface AttestationGatherLimits extends BundleGatherLimits {
  /** More layers than this and the manifest is refused; 1,000 (cosign's cap) unless given. */
  readonly maxLayers?: number;
  /** Envelopes declared larger than this are not fetched; 16 MiB unless given. */
  readonly maxEnvelopeBytes?: number;
  /** Envelopes fetched at once for one image; 4 unless given. */
  readonly concurrency?: number;
}

/**
 * Reads the attestations of `image` (resolved by `resolveImage`) in both of
 * cosign's storage forms: the layers of its `.att` tag in `store`, and the
 * Sigstore bundles among its OCI referrers (bundle-evidence.ts). Throws
 * VouchError `denied` TOO_MANY_ATTESTATIONS, ATTESTATION_MANIFEST_INVALID or
 * TOO_MANY_REFERRERS for what cannot be examined, and `unavailable` when the
 * store could not be reached.
 */
export async function fetchAttestations(
  store: ImageStore,
  image: ImageEvidence,
  limits: AttestationGatherLimits = {},
): Promise<AttestationEvidence> {
  const [classic, bundles] = await Promise.all([
    fetchAttestationLayers(store, image, limits),
    fetchBundleReferrers(store, image, limits),
  ]);
  return { ...classic, bundles };
}

/** The `.att` half of `fetchAttestations`. */
async function fetchAttestationLayers(
  store: ImageStore,
  image: ImageEvidence,
  limits: AttestationGatherLimits,
): Promise<AttestationEvidence> {
  const tag = attestationTag(image.digest);
  const attestationLocation = tagLocation(store.location, tag);
  const manifest = await getTagManifest(store, tag);
  if (manifest === undefined) {
    return { image, attestationLocation, attestations: [], rejectedLayers: [] };
  }
  const maxEnvelopeBytes = limits.maxEnvelopeBytes ?? DEFAULT_MAX_ATTESTATION_BYTES;
  const contents = readAttestationManifest(manifest, {
    maxLayers: limits.maxLayers ?? DEFAULT_MAX_SIGNATURE_LAYERS,
    maxEnvelopeBytes,
  });
  const fetched = await fetchLayerPayloads(
    store,
    contents.candidates,
    maxEnvelopeBytes,
    limits.concurrency ?? 4,
  );
  return assemble(image, attestationLocation, manifest.digest, contents, fetched);
}

/** `resolveImage` then `fetchAttestations`: everything `evaluateAttestations` needs. */
export async function gatherAttestations(
  store: ImageStore,
  target: ManifestTarget,
  limits: AttestationGatherLimits & { readonly reference?: string } = {},
): Promise<AttestationEvidence> {
  const image = await resolveImage(store, target, targetReference(store, target, limits.reference));
  return fetchAttestations(store, image, limits);
}

/**
 * Evidence from `.att` layers and envelopes already in memory (a test, a
 * saved layout), with the same checks `fetchAttestations` applies. Pure.
 */
export function attestationEvidenceFromLayers(
  image: ImageEvidence,
  layers: readonly LayerWithPayload[],
  limits: Omit<AttestationGatherLimits, 'concurrency'> = {},
): AttestationEvidence {
  const contents = readAttestationManifest(manifestOfLayers(layers.map(({ layer }) => layer)), {
    maxLayers: limits.maxLayers ?? DEFAULT_MAX_SIGNATURE_LAYERS,
    maxEnvelopeBytes: limits.maxEnvelopeBytes ?? DEFAULT_MAX_ATTESTATION_BYTES,
  });
  const fetched = contents.candidates.map((candidate) =>
    checkLayerPayload(candidate, (layers[candidate.index] as LayerWithPayload).payload),
  );
  return assemble(image, 'the given attestation layers', undefined, contents, fetched);
}

function assemble(
  image: ImageEvidence,
  attestationLocation: string,
  attestationManifest: Digest | undefined,
  contents: AttestationManifestContents,
  fetched: readonly FetchedPayload<AttestationCandidate>[],
): AttestationEvidence {
  const { accepted: attestations, rejectedLayers } = sortFetched<
    AttestationCandidate,
    AttestationLayerEvidence,
    RejectedAttestationLayerEvidence
  >(contents.rejected, fetched, ({ index, layer, annotations }, envelope) => ({
    index,
    layer,
    envelope,
    annotations,
  }));
  return {
    image,
    attestationLocation,
    ...(attestationManifest === undefined ? {} : { attestationManifest }),
    attestations,
    rejectedLayers,
  };
}
