/**
 * cosign's classic attestation storage (docs/formats.md "Cosign
 * attestations"): the attestations of image `D` are the layers of
 * one image manifest tagged `sha256-<hex>.att` in the same repository, built
 * exactly like the `.sig` manifest (cosign-signature.ts; go-containerregistry
 * `mutate.Append` on `empty.Signatures()`), except for the layers:
 *
 * - media type `application/vnd.dsse.envelope.v1+json`, blob = the DSSE
 *   envelope JSON (dsse.ts) whose payload is an in-toto statement (in-toto.ts);
 * - annotations `dev.cosignproject.cosign/signature: ""` (always present,
 *   empty: the signature is inside the envelope; cosign pkg/oci/static
 *   NewAttestation → NewSignature(payload, "")) and `predicateType: <URI>`
 *   (cosign cmd/cosign/cli/attest/attest.go), plus certificate, chain, Rekor
 *   bundle and timestamp annotations for keyless signing (not written here).
 *
 * The `predicateType` annotation is unauthenticated: it is what `cosign tree`
 * shows and what `--replace` on other tools may look at, never what a
 * verifier decides on (the signed statement's `predicateType` is).
 *
 * Reading checks the caps before anything is fetched: at most 1,000 layers
 * (cosign's maxLayers), and envelopes declared at most
 * DEFAULT_MAX_ATTESTATION_BYTES — larger than the 4 MiB of signatures because
 * SBOMs and provenance are documents, not a few hundred bytes (cosign allows
 * 128 MiB, COSIGN_MAX_ATTACHMENT_SIZE).
 */
import { denied, invalid } from '../core/errors.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import type { Annotations, Descriptor, ParsedManifest } from '../oci/manifest.ts';
import {
  attachmentTag,
  DEFAULT_MAX_SIGNATURE_LAYERS,
  SIGNATURE_ANNOTATION,
  type SignatureLayer,
} from './cosign-signature.ts';
import { DSSE_ENVELOPE_MEDIA_TYPE } from './dsse.ts';

/** Layer annotation naming the statement's predicate type (unauthenticated). */
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';

/** Envelopes declared larger than this are not fetched unless the caller allows more. */
export const DEFAULT_MAX_ATTESTATION_BYTES = 16 * 1024 * 1024;

/** The tag that holds the attestations of `digest`: `sha256-<hex>.att`. */
export function attestationTag(digest: Digest): string {
  return attachmentTag(digest, 'att');
}

export interface NewAttestation {
  /** The exact DSSE envelope bytes (the layer blob). */
  readonly envelope: Uint8Array;
  /** The statement's predicate type, recorded in the `predicateType` annotation. */
  readonly predicateType: string;
  /** Further layer annotations (certificate, chain, bundle, timestamp). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The layer cosign would append for one attestation. */
export function attestationLayer(attestation: NewAttestation): SignatureLayer {
  const { envelope, predicateType } = attestation;
  if (typeof predicateType !== 'string' || predicateType === '') {
    throw invalid('INVALID_ATTESTATION_INPUT', 'the predicate type must be a non-empty string');
  }
  const extra = attestation.annotations ?? {};
  for (const key of [SIGNATURE_ANNOTATION, PREDICATE_TYPE_ANNOTATION]) {
    if (Object.hasOwn(extra, key)) {
      throw invalid(
        'INVALID_ATTESTATION_INPUT',
        `the ${key} annotation is written by vouch; do not pass it`,
      );
    }
  }
  for (const [key, value] of Object.entries(extra)) {
    if (typeof value !== 'string') {
      throw invalid(
        'INVALID_ATTESTATION_INPUT',
        `annotation ${JSON.stringify(key)} must be a string`,
      );
    }
  }
  return {
    descriptor: {
      mediaType: DSSE_ENVELOPE_MEDIA_TYPE,
      digest: digestOf(envelope),
      size: envelope.byteLength,
      annotations: {
        ...extra,
        [SIGNATURE_ANNOTATION]: '',
        [PREDICATE_TYPE_ANNOTATION]: predicateType,
      },
    },
    blob: envelope,
  };
}

export interface AttestationReadLimits {
  /** More layers than this and the whole manifest is refused; 1,000 unless given. */
  readonly maxLayers?: number;
  /** Layers declaring a larger envelope are rejected before any fetch; 16 MiB unless given. */
  readonly maxEnvelopeBytes?: number;
}

/** One layer that may be an attestation: fetch `layer` (at most `layer.size` bytes), then verify. */
export interface AttestationCandidate {
  /** Position in the manifest's layers. */
  readonly index: number;
  readonly layer: Descriptor;
  readonly annotations: Annotations;
}

export type AttestationLayerProblem = 'not-dsse-envelope' | 'payload-too-large';

export interface RejectedAttestationLayer {
  readonly index: number;
  readonly layer: Descriptor;
  readonly problem: AttestationLayerProblem;
  readonly reason: string;
}

export interface AttestationManifestContents {
  readonly candidates: readonly AttestationCandidate[];
  readonly rejected: readonly RejectedAttestationLayer[];
}

/**
 * The candidate attestations of an `.att` manifest (fetched and
 * digest-checked by the store). Throws VouchError `denied` for a manifest
 * that is not an image manifest or has too many layers
 * (ATTESTATION_MANIFEST_INVALID, TOO_MANY_ATTESTATIONS); every other problem
 * is reported per layer.
 */
export function readAttestationManifest(
  manifest: ParsedManifest,
  limits: AttestationReadLimits = {},
): AttestationManifestContents {
  const maxLayers = limits.maxLayers ?? DEFAULT_MAX_SIGNATURE_LAYERS;
  const maxEnvelopeBytes = limits.maxEnvelopeBytes ?? DEFAULT_MAX_ATTESTATION_BYTES;
  const where = `attestation manifest ${manifest.digest}`;
  if (manifest.kind !== 'image') {
    throw denied(
      'ATTESTATION_MANIFEST_INVALID',
      `${where} is an index (${manifest.mediaType}), not an image manifest`,
    );
  }
  const layers = manifest.manifest.layers;
  if (layers.length > maxLayers) {
    throw denied(
      'TOO_MANY_ATTESTATIONS',
      `${where} has ${layers.length} layers, more than the ${maxLayers} vouch examines`,
    );
  }
  const candidates: AttestationCandidate[] = [];
  const rejected: RejectedAttestationLayer[] = [];
  layers.forEach((layer, index) => {
    const reject = (problem: AttestationLayerProblem, reason: string) =>
      rejected.push({
        index,
        layer,
        problem,
        reason: `layer ${index} (${layer.digest}): ${reason}`,
      });
    if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) {
      reject(
        'not-dsse-envelope',
        `media type is ${layer.mediaType}, expected ${DSSE_ENVELOPE_MEDIA_TYPE}`,
      );
      return;
    }
    if (layer.size > maxEnvelopeBytes) {
      reject(
        'payload-too-large',
        `declares a ${layer.size}-byte envelope, more than the ${maxEnvelopeBytes} allowed`,
      );
      return;
    }
    candidates.push({ index, layer, annotations: layer.annotations ?? {} });
  });
  return { candidates, rejected };
}
