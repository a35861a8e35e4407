/**
 * cosign's classic signature storage (docs/formats.md "Cosign signatures";
 * cosign specs/SIGNATURE_SPEC.md): the
 * signatures of image `D` live in one image manifest tagged `sha256-<hex>.sig`
 * in the same repository, one layer per signature. A layer's blob is the
 * simple-signing payload (media type
 * `application/vnd.dev.cosign.simplesigning.v1+json`, uncompressed, so its
 * diff ID is its digest) and its `dev.cosignproject.cosign/signature`
 * annotation is the standard base64 of the signature over those bytes.
 *
 * Writing reproduces what cosign writes, byte for byte: cosign starts from
 * go-containerregistry's `empty.Image` re-typed to OCI and appends layers with
 * `mutate.Append` (sigstore/cosign@d6d86c22:pkg/oci/empty/empty.go,
 * pkg/oci/mutate/signatures.go), which re-marshals the manifest and config
 * from ggcr's Go structs (google/go-containerregistry@3f4ff3ca:
 * pkg/v1/manifest.go, pkg/v1/config.go, pkg/v1/mutate/image.go compute):
 *
 * - manifest keys `schemaVersion, mediaType?, config, layers, annotations?,
 *   artifactType?` — and no `subject`: Append replaces it with the (nil)
 *   subject of the mutation, so an existing one is dropped;
 * - descriptor keys `mediaType, size, digest, data?, urls?, annotations?,
 *   platform?, artifactType?`; annotation maps key-sorted;
 * - config keys `architecture, author?, container?, created, docker_version?,
 *   history?, os, rootfs{type, diff_ids}, config, os.version?, variant?,
 *   os.features?`, unknown keys dropped; `created` is the zero time
 *   `0001-01-01T00:00:00Z` unless recorded (cosign >= 2.2.0 default;
 *   `--record-creation-timestamp` sets it to now); one `history` entry
 *   `{"created":"0001-01-01T00:00:00Z"}` and one `diff_ids` entry per
 *   appended layer.
 *
 * Re-signing is idempotent as cosign's DupeDetector makes it
 * (sigstore/cosign@d6d86c22:pkg/cosign/remote/remote.go): a layer with the
 * same digest, media type and annotations whose signature verifies with the
 * signer's key is already there, so nothing is appended. Signature
 * verification is the caller's (`sameSigner`), keeping this module pure.
 *
 * Reading (the names, limits and `readSignatureManifest`) lives in
 * `signature-manifest.ts`, re-exported here, so verifying loads none of the
 * writing code.
 */
import { type CodeOf, denied, invalid } from '../core/errors.ts';
import { type Digest, digestAlgorithm, digestOf } from '../oci/digest.ts';
import { type Descriptor, type ParsedManifest, parseManifest } from '../oci/manifest.ts';
import { OCI_CONFIG, OCI_MANIFEST } from '../oci/media-types.ts';
import { ggcrConfig, ggcrDescriptor, ggcrManifest, goTime, ZERO_TIME } from './ggcr.ts';
import { goMarshalBytes } from './go-json.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../core/strict-json.ts';
import {
  decodeSignatureBase64,
  DEFAULT_MAX_SIGNATURE_LAYERS,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from './signature-manifest.ts';

export {
  attachmentTag,
  type AttachmentSuffix,
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  decodeSignatureBase64,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_SIGNATURE_LAYERS,
  digestOfSignatureTag,
  type LayerProblem,
  readSignatureManifest,
  type ReadLimits,
  type RejectedLayer,
  RFC3161_TIMESTAMP_ANNOTATION,
  SIGNATURE_ANNOTATION,
  type SignatureCandidate,
  type SignatureManifestContents,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from './signature-manifest.ts';
export { ZERO_TIME };

// ---------------------------------------------------------------------------
// Writing

export interface NewSignature {
  /** The exact simple-signing payload bytes that were signed. */
  readonly payload: Uint8Array;
  /** Standard base64 of the signature (ECDSA: ASN.1 DER). */
  readonly signatureBase64: string;
  /** Further layer annotations: certificate, chain, bundle, timestamp. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface SignatureLayer {
  readonly descriptor: Descriptor;
  /** The blob to upload under `descriptor.digest`: the payload. */
  readonly blob: Uint8Array;
}

/** The layer cosign would append for one signature. */
export function signatureLayer(signature: NewSignature): SignatureLayer {
  const { payload, signatureBase64 } = signature;
  if (decodeSignatureBase64(signatureBase64) === undefined) {
    throw invalid(
      'INVALID_SIGNATURE_INPUT',
      'the signature must be non-empty standard base64 (with padding)',
    );
  }
  const extra = signature.annotations ?? {};
  if (Object.hasOwn(extra, SIGNATURE_ANNOTATION)) {
    throw invalid(
      'INVALID_SIGNATURE_INPUT',
      `pass the signature as signatureBase64, not as the ${SIGNATURE_ANNOTATION} annotation`,
    );
  }
  for (const [key, value] of Object.entries(extra)) {
    if (typeof value !== 'string') {
      throw invalid(
        'INVALID_SIGNATURE_INPUT',
        `annotation ${JSON.stringify(key)} must be a string`,
      );
    }
  }
  return {
    descriptor: {
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: digestOf(payload),
      size: payload.byteLength,
      annotations: { ...extra, [SIGNATURE_ANNOTATION]: signatureBase64 },
    },
    blob: payload,
  };
}

/** A signature manifest as stored: its manifest and the bytes of its config blob. */
export interface StoredSignatureImage {
  readonly manifest: ParsedManifest;
  /** The config blob; checked here against the manifest's config descriptor. */
  readonly config: Uint8Array;
}

/** The signature image to push: upload the config (and new layer blob), then the manifest. */
export interface SignatureImage {
  readonly manifest: Uint8Array;
  readonly manifestDigest: Digest;
  readonly mediaType: string;
  readonly config: Uint8Array;
  readonly configDescriptor: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface AppendOptions {
  /**
   * Sets the config's `created` (RFC 3339), as cosign's
   * `--record-creation-timestamp` does. Otherwise a new image gets the zero
   * time and an existing one keeps its own.
   */
  readonly created?: string;
  /** Refuse to grow the manifest beyond this many layers; 1,000 unless given. */
  readonly maxLayers?: number;
  /**
   * Whether an existing layer's signature (decoded), over the same payload,
   * verifies with the signer's key. Lets a re-sign with a non-deterministic
   * algorithm (ECDSA) be recognised as a duplicate, as cosign does. Without
   * it only an identical signature string counts.
   */
  readonly sameSigner?: (existingSignature: Uint8Array, existing: Descriptor) => boolean;
  /** Append even if an equal layer is already there (rebuilding an image layer by layer). */
  readonly allowDuplicates?: boolean;
}

export type AppendResult =
  | { readonly changed: true; readonly image: SignatureImage }
  | {
      readonly changed: false;
      /** The stored image, bytes unchanged. */
      readonly image: SignatureImage;
      /** The layer that already carries this signature. */
      readonly duplicate: Descriptor;
    };

/**
 * Appends `layer` (from `signatureLayer`) to the stored signature image, or
 * starts a new one when `base` is undefined (the `.sig` tag did not exist).
 * Existing layers keep their blobs and annotations; the manifest and config
 * are re-serialised the way go-containerregistry does.
 */
export function appendSignatureLayer(
  base: StoredSignatureImage | undefined,
  layer: Descriptor,
  options: AppendOptions = {},
): AppendResult {
  const maxLayers = options.maxLayers ?? DEFAULT_MAX_SIGNATURE_LAYERS;
  const created =
    options.created === undefined ? undefined : goTime(options.created, 'created', invalidInput);
  const newLayer = ggcrDescriptor(layer as unknown as JsonObject, 'the new layer', invalidInput);

  let manifest: JsonObject;
  let config: JsonObject;
  let existing: readonly Descriptor[];
  if (base === undefined) {
    // cosign pkg/oci/empty Signatures(): ggcr empty.Image with OCI media types.
    manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: EMPTY_CONFIG_DESCRIPTOR,
      layers: [],
    };
    config = {
      architecture: '',
      created: ZERO_TIME,
      os: '',
      rootfs: { type: 'layers', diff_ids: null },
      config: {},
    };
    existing = [];
  } else {
    ({ manifest, config, existing } = readBase(base));
    const duplicate =
      options.allowDuplicates === true
        ? undefined
        : findDuplicate(existing, layer, options.sameSigner);
    if (duplicate !== undefined) {
      return { changed: false, duplicate, image: storedImage(base) };
    }
  }
  if (existing.length + 1 > maxLayers) {
    throw denied(
      'TOO_MANY_SIGNATURES',
      `the signature manifest already has ${existing.length} layers; refusing to grow it beyond ${maxLayers}`,
    );
  }
  const where = base === undefined ? 'the new signature config' : 'the stored signature config';
  const failConfig = (problem: string) =>
    denied('SIGNATURE_CONFIG_INVALID', `cannot append to ${where}: ${problem}`);
  const configStruct = ggcrConfig(config, layer.digest, created, failConfig);
  const configBytes = goMarshalBytes(configStruct);

  const failManifest = (problem: string) =>
    denied('SIGNATURE_MANIFEST_INVALID', `cannot append to the signature manifest: ${problem}`);
  const manifestStruct = ggcrManifest(manifest, newLayer, configBytes, failManifest);
  const manifestBytes = goMarshalBytes(manifestStruct);
  const mediaType = base === undefined ? OCI_MANIFEST : base.manifest.mediaType;
  const configMediaType = (manifest.config as JsonObject).mediaType as string;
  return {
    changed: true,
    image: {
      manifest: manifestBytes,
      manifestDigest: digestOf(manifestBytes),
      mediaType,
      config: configBytes,
      configDescriptor: {
        mediaType: configMediaType,
        digest: digestOf(configBytes),
        size: configBytes.byteLength,
      },
      layers: [...existing, layer],
    },
  };
}

const EMPTY_CONFIG_DESCRIPTOR: JsonObject = {
  mediaType: OCI_CONFIG,
  size: 0, // replaced once the config is marshalled
  digest: digestOf(new Uint8Array()),
};

/**
 * A new signature image holding exactly `layers`, in order: what cosign's
 * `--replace` writes (pkg/oci/mutate/signatures.go ReplaceSignatures appends
 * the kept layers to a fresh `empty.Signatures()`). Existing layers keep
 * their blobs and annotations.
 */
export function buildSignatureImage(
  layers: readonly Descriptor[],
  options: Pick<AppendOptions, 'maxLayers'> = {},
): SignatureImage {
  if (layers.length === 0) throw invalidInput('a signature image needs at least one layer');
  const maxLayers = options.maxLayers ?? DEFAULT_MAX_SIGNATURE_LAYERS;
  if (layers.length > maxLayers) {
    throw denied(
      'TOO_MANY_SIGNATURES',
      `refusing to write a signature manifest of ${layers.length} layers, more than ${maxLayers}`,
    );
  }
  let base: StoredSignatureImage | undefined;
  let image: SignatureImage | undefined;
  for (const layer of layers) {
    // Each layer is kept as given, identical ones included, as ggcr's Append does.
    const result = appendSignatureLayer(base, layer, { maxLayers, allowDuplicates: true });
    if (!result.changed) throw new Error('unreachable: duplicates are allowed');
    image = result.image;
    base = {
      manifest: parseManifest(image.manifest, image.mediaType, 'the signature image being built'),
      config: image.config,
    };
  }
  return image as SignatureImage;
}

function invalidInput(problem: string): Error {
  return invalid('INVALID_SIGNATURE_INPUT', problem);
}

function storedImage(base: StoredSignatureImage): SignatureImage {
  const parsed = base.manifest;
  if (parsed.kind !== 'image') throw new Error('unreachable: readBase checked the kind');
  return {
    manifest: parsed.bytes,
    manifestDigest: parsed.digest,
    mediaType: parsed.mediaType,
    config: base.config,
    configDescriptor: parsed.manifest.config,
    layers: parsed.manifest.layers,
  };
}

function readBase(base: StoredSignatureImage): {
  manifest: JsonObject;
  config: JsonObject;
  existing: readonly Descriptor[];
} {
  const parsed = base.manifest;
  const where = `signature manifest ${parsed.digest}`;
  if (parsed.kind !== 'image') {
    throw denied('SIGNATURE_MANIFEST_INVALID', `${where} is an index, not an image manifest`);
  }
  const declared = parsed.manifest.config;
  const configDigest = digestOf(base.config, digestAlgorithm(declared.digest));
  if (base.config.byteLength !== declared.size || configDigest !== declared.digest) {
    throw denied(
      'SIGNATURE_CONFIG_INVALID',
      `the config of ${where} should be ${declared.size} bytes with digest ${declared.digest}, found ${base.config.byteLength} bytes with digest ${configDigest}`,
    );
  }
  const manifest = strictObject(parsed.bytes, where, 'SIGNATURE_MANIFEST_INVALID');
  const config = strictObject(base.config, `the config of ${where}`, 'SIGNATURE_CONFIG_INVALID');
  return { manifest, config, existing: parsed.manifest.layers };
}

function strictObject(bytes: Uint8Array, where: string, code: CodeOf<'denied'>): JsonObject {
  let value: JsonValue;
  try {
    value = parseStrictJson(bytes);
  } catch (error) {
    if (error instanceof StrictJsonError) {
      throw denied(code, `${where} is not acceptable JSON: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (!isJsonObject(value)) throw denied(code, `${where} is not a JSON object`);
  return value;
}

function findDuplicate(
  existing: readonly Descriptor[],
  layer: Descriptor,
  sameSigner: AppendOptions['sameSigner'],
): Descriptor | undefined {
  const wanted = layer.annotations ?? {};
  const signature = wanted[SIGNATURE_ANNOTATION];
  for (const candidate of existing) {
    if (candidate.digest !== layer.digest || candidate.mediaType !== layer.mediaType) continue;
    const have = candidate.annotations ?? {};
    const sameAnnotations = Object.entries(wanted).every(
      ([key, value]) =>
        key === SIGNATURE_ANNOTATION || (Object.hasOwn(have, key) && have[key] === value),
    );
    if (!sameAnnotations) continue;
    const existingSignature = have[SIGNATURE_ANNOTATION];
    if (existingSignature === undefined || existingSignature === '') continue;
    if (existingSignature === signature) return candidate;
    const decoded = decodeSignatureBase64(existingSignature);
    if (decoded !== undefined && sameSigner?.(decoded, candidate) === true) return candidate;
  }
  return undefined;
}
