/**
 * Reading cosign's classic signature storage (docs/formats.md "Cosign
 * signatures"; cosign specs/SIGNATURE_SPEC.md):
 * the signatures of image `D` live in one image manifest tagged
 * `sha256-<hex>.sig` in the same repository, one layer per signature. A
 * layer's blob is the simple-signing payload (media type
 * `application/vnd.dev.cosign.simplesigning.v1+json`) and its
 * `dev.cosignproject.cosign/signature` annotation is the standard base64 of
 * the signature over those bytes. Writing that storage is
 * `cosign-signature.ts`'s; this module holds what verifying needs, so that
 * verifying never loads the code that re-marshals ggcr's Go structs.
 *
 * Reading turns a signature manifest into candidates with caps checked before
 * anything is fetched: at most 1,000 layers (cosign's maxLayers,
 * pkg/oci/remote/signatures.go, CVE-2023-46737/CVE-2024-29903) and payloads
 * declared at most 4 MiB (containers/image's MaxSignatureBodySize; cosign
 * allows 128 MiB, CVE-2024-29902). Every layer that cannot be a signature
 * gets a reason instead of silently disappearing.
 */
import { denied, invalid } from '../core/errors.ts';
import { type Digest, digestAlgorithm, digestHex, isDigest } from '../oci/digest.ts';
import type { Annotations, Descriptor, ParsedManifest } from '../oci/manifest.ts';
import { decodeStdBase64 } from '../core/base64.ts';

/** Layer media type of a cosign signature (cosign pkg/types/media.go SimpleSigningMediaType). */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';

/** Layer annotation keys (cosign pkg/oci/static/signature.go; docs/formats.md "Cosign signatures"). */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
export const RFC3161_TIMESTAMP_ANNOTATION = 'dev.sigstore.cosign/rfc3161timestamp';

/** cosign's cap on layers in a signature manifest (pkg/oci/remote/signatures.go maxLayers). */
export const DEFAULT_MAX_SIGNATURE_LAYERS = 1000;
/** containers/image's cap on one signature blob (internal/iolimits MaxSignatureBodySize). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** Longest tag the distribution grammar allows (`[\w][\w.-]{0,127}`). */
const MAX_TAG_LENGTH = 128;
const SIGNATURE_TAG = /^(sha256|sha512)-([a-f0-9]+)\.sig$/;

/** cosign's attachment tag suffixes (pkg/oci/remote/options.go). */
export type AttachmentSuffix = 'sig' | 'att' | 'sbom';

const ATTACHMENT_NOUNS: Readonly<Record<AttachmentSuffix, string>> = {
  sig: 'signatures',
  att: 'attestations',
  sbom: 'an SBOM',
};

/**
 * The tag that holds the attachments of `digest`: `sha256-<hex>.sig`,
 * `.att` or `.sbom` (cosign pkg/oci/remote/remote.go normalize; containers/image
 * docker_client.go sigstoreAttachmentTag for `.sig`). A sha512 digest would
 * give a tag of more than 128 characters, which no registry accepts, so it is
 * refused.
 */
export function attachmentTag(digest: Digest, suffix: AttachmentSuffix): string {
  const tag = `${digestAlgorithm(digest)}-${digestHex(digest)}.${suffix}`;
  if (tag.length > MAX_TAG_LENGTH) {
    throw invalid(
      'UNSUPPORTED_DIGEST',
      `cannot store ${ATTACHMENT_NOUNS[suffix]} for ${digest}: its .${suffix} tag would be ${tag.length} characters, more than the ${MAX_TAG_LENGTH} a tag may have`,
    );
  }
  return tag;
}

/** The tag that holds the signatures of `digest`: `sha256-<hex>.sig`. */
export function signatureTag(digest: Digest): string {
  return attachmentTag(digest, 'sig');
}

/** The signed digest a `.sig` tag stands for, or undefined if `tag` is not one. */
export function digestOfSignatureTag(tag: string): Digest | undefined {
  const match = SIGNATURE_TAG.exec(tag);
  if (match === null) return undefined;
  const digest = `${match[1]}:${match[2]}`;
  return isDigest(digest) ? digest : undefined;
}
export interface ReadLimits {
  /** More layers than this and the whole manifest is refused; 1,000 unless given. */
  readonly maxLayers?: number;
  /** Layers declaring a larger payload are rejected before any fetch; 4 MiB unless given. */
  readonly maxPayloadBytes?: number;
}

/** One layer that may be a signature: fetch `layer` (at most `layer.size` bytes), then verify. */
export interface SignatureCandidate {
  /** Position in the manifest's layers. */
  readonly index: number;
  readonly layer: Descriptor;
  /** The annotation as stored (it may contain line breaks, which Go's decoder skips). */
  readonly signatureBase64: string;
  /** The decoded signature. */
  readonly signature: Uint8Array;
  /** All the layer's annotations (certificate, chain, bundle, timestamp, ...). */
  readonly annotations: Annotations;
}

export type LayerProblem =
  | 'not-simple-signing'
  | 'missing-signature'
  | 'empty-signature'
  | 'invalid-base64'
  | 'payload-too-large';

export interface RejectedLayer {
  readonly index: number;
  readonly layer: Descriptor;
  readonly problem: LayerProblem;
  /** A sentence for people: what was expected and what was found. */
  readonly reason: string;
}

export interface SignatureManifestContents {
  readonly candidates: readonly SignatureCandidate[];
  readonly rejected: readonly RejectedLayer[];
}

/**
 * The candidate signatures of a signature manifest (fetched and digest-checked
 * by the store). Throws VouchError `denied` for a manifest that cannot be a
 * signature manifest at all or has too many layers; every other problem is
 * reported per layer.
 */
export function readSignatureManifest(
  manifest: ParsedManifest,
  limits: ReadLimits = {},
): SignatureManifestContents {
  const maxLayers = limits.maxLayers ?? DEFAULT_MAX_SIGNATURE_LAYERS;
  const maxPayloadBytes = limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const where = `signature manifest ${manifest.digest}`;
  if (manifest.kind !== 'image') {
    throw denied(
      'SIGNATURE_MANIFEST_INVALID',
      `${where} is an index (${manifest.mediaType}), not an image manifest`,
    );
  }
  const layers = manifest.manifest.layers;
  if (layers.length > maxLayers) {
    throw denied(
      'TOO_MANY_SIGNATURES',
      `${where} has ${layers.length} layers, more than the ${maxLayers} vouch examines`,
    );
  }
  const candidates: SignatureCandidate[] = [];
  const rejected: RejectedLayer[] = [];
  layers.forEach((layer, index) => {
    const reject = (problem: LayerProblem, reason: string) =>
      rejected.push({
        index,
        layer,
        problem,
        reason: `layer ${index} (${layer.digest}): ${reason}`,
      });
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
      reject(
        'not-simple-signing',
        `media type is ${layer.mediaType}, expected ${SIMPLE_SIGNING_MEDIA_TYPE}`,
      );
      return;
    }
    if (layer.size > maxPayloadBytes) {
      reject(
        'payload-too-large',
        `declares a ${layer.size}-byte payload, more than the ${maxPayloadBytes} allowed`,
      );
      return;
    }
    const annotations = layer.annotations ?? {};
    const signatureBase64 = annotations[SIGNATURE_ANNOTATION];
    if (signatureBase64 === undefined) {
      reject('missing-signature', `has no ${SIGNATURE_ANNOTATION} annotation`);
      return;
    }
    if (signatureBase64 === '') {
      reject('empty-signature', `its ${SIGNATURE_ANNOTATION} annotation is empty`);
      return;
    }
    const signature = decodeSignatureBase64(signatureBase64);
    if (signature === undefined) {
      reject('invalid-base64', `its ${SIGNATURE_ANNOTATION} annotation is not standard base64`);
      return;
    }
    candidates.push({ index, layer, signatureBase64, signature, annotations });
  });
  return { candidates, rejected };
}

/**
 * Decodes a signature annotation as Go's `base64.StdEncoding.DecodeString`
 * does (cosign and containers/image): standard alphabet, padding required,
 * `\r` and `\n` skipped (a real cosign PKI fixture wraps its signature at 76
 * columns). Undefined if it is not base64 or decodes to nothing.
 */
export function decodeSignatureBase64(text: string): Uint8Array | undefined {
  const decoded = decodeStdBase64(text);
  return decoded === undefined || decoded.byteLength === 0 ? undefined : decoded;
}
