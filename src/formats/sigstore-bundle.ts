/**
 * Sigstore bundles (sigstore/protobuf-specs protos/sigstore_bundle.proto;
 * docs/formats.md "Cosign 3 bundles") and cosign 3's way of storing one beside
 * an image: an OCI referrer manifest (sigstore/cosign@d6d86c22
 * pkg/oci/remote/write.go WriteAttestationNewBundleFormat, WriteReferrer).
 *
 * Reading (`parseBundle`, in sigstore-bundle-reader.ts so that only a
 * command that reads a bundle loads @sigstore/bundle and the protobuf specs
 * under it) is strict and never throws anything but a VouchError
 * `denied` BUNDLE_INVALID (or CERT_CHAIN_INCLUDES_ROOT, below):
 * - the bytes are strict JSON (duplicate keys refused, strict-json.ts) and
 *   the top-level `mediaType` is one of the v0.1, v0.2, v0.3 media types;
 * - every `bytes` field (signature, digest, certificates, log ID, SET,
 *   inclusion proof hashes, canonicalized body, timestamps, DSSE payload and
 *   signatures) is base64 exactly as protojson reads it, as sigstore-go does
 *   (base64.ts `decodeProtojsonBase64`): @sigstore/bundle decodes anything;
 * - @sigstore/bundle's `bundleFromJSON` reads it (it validates with
 *   `assertBundle`: content and verification material present, a DSSE
 *   envelope with exactly one signature — Sigstore bundles allow one,
 *   in-toto/attestation spec/v1/envelope.md), then the version's own rules:
 *   v0.1 entries need an inclusion promise, v0.2+ an inclusion proof with a
 *   checkpoint, v0.3 a single certificate instead of a chain
 *   (`assertBundleV01`, `assertBundleV02`, `assertBundleLatest`); then what
 *   sigstore-go also refuses in any version: a negative log index, an
 *   inclusion proof without a checkpoint; and, before the log entries are
 *   read, a root CA after the leaf of a v0.1/v0.2 chain is `denied`
 *   CERT_CHAIN_INCLUDES_ROOT (certificate-chain.ts);
 * - a DSSE envelope is read again by formats/dsse.ts from the JSON as
 *   stored (payload and signatures re-encoded in standard base64), so the
 *   envelope a verifier checks is exactly what the DSSE reader of the `.att`
 *   form checks (field names, signature count);
 * - @sigstore/bundle's reader is lenient about JSON types and throws raw
 *   TypeErrors on some; every throw is caught and reported as BUNDLE_INVALID.
 *
 * The parsed bundle keeps the exact bytes and @sigstore/bundle's object so a
 * keyless verifier (@sigstore/verify) can be given the bundle as stored.
 *
 * Writing (`buildDsseBundle`, and `buildMessageSignatureBundle` for a blob)
 * makes the bundle cosign 3 makes when signing
 * with a key (cmd/cosign/cli/signcommon/common.go NewAttestationBundle →
 * sigstore-go sign.Bundle, serialized by protojson): v0.3, verification
 * material `publicKey.hint` = base64(sha256(DER SubjectPublicKeyInfo))
 * (internal/key/svkeypair.go NewSignerVerifierKeypair), no `tlogEntries`
 * when nothing was logged (protojson leaves empty repeated fields out), the
 * DSSE envelope with one signature and no keyid.
 *
 * The referrer (`buildBundleReferrer`) is WriteReferrer's manifest: an OCI
 * image manifest whose config is the empty descriptor
 * (`application/vnd.oci.empty.v1+json`, the 2-byte blob `{}`, with the
 * artifact type repeated on it, as cosign writes it), one layer holding the
 * bundle (media type = the bundle's), annotations
 * `dev.sigstore.bundle.content: dsse-envelope`,
 * `dev.sigstore.bundle.predicateType` and `org.opencontainers.image.created`,
 * `subject` = the image descriptor and `artifactType` = the bundle media
 * type; keys in go-containerregistry's struct order.
 *
 * Reading a referrer (`readBundleReferrer`) trusts nothing a referrers
 * listing said: the manifest itself must name the image as its subject, carry
 * a bundle artifact type, and have exactly one layer of a bundle media type
 * no larger than the cap; the manifest annotations are unauthenticated and
 * only reported.
 */
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import { invalid } from '../core/errors.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import type { Annotations, Descriptor, ParsedManifest } from '../oci/manifest.ts';
import { OCI_EMPTY, OCI_MANIFEST } from '../oci/media-types.ts';
import { encodeStdBase64 } from '../core/base64.ts';
import { type Envelope, encodeEnvelope } from './dsse.ts';
import { goMap, goMarshalBytes, type GoStruct, type GoValue } from './go-json.ts';

export const BUNDLE_V01_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
export const BUNDLE_V02_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.2';
export const BUNDLE_V03_LEGACY_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.3';
/** What cosign 3 writes, as the bundle's, the layer's and the referrer's artifact type. */
export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export type BundleVersion = '0.1' | '0.2' | '0.3';

export const BUNDLE_VERSIONS: ReadonlyMap<string, BundleVersion> = new Map([
  [BUNDLE_V01_MEDIA_TYPE, '0.1'],
  [BUNDLE_V02_MEDIA_TYPE, '0.2'],
  [BUNDLE_V03_LEGACY_MEDIA_TYPE, '0.3'],
  [BUNDLE_V03_MEDIA_TYPE, '0.3'],
]);

/** Whether `mediaType` is one of the bundle media types vouch reads (v0.1 to v0.3). */
export function isBundleMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && BUNDLE_VERSIONS.has(mediaType);
}

/** Referrer manifest annotations cosign writes (pkg/oci/remote/write.go). */
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';
/** The `dev.sigstore.bundle.content` value of a bundle holding a DSSE envelope. */
export const DSSE_ENVELOPE_CONTENT = 'dsse-envelope';

/**
 * The predicate type of cosign 3's image signatures: a DSSE in-toto statement
 * about the image with an empty predicate (sigstore/cosign pkg/types/predicate.go
 * CosignSignPredicateType; cmd/cosign/cli/sign/sign.go signDigestBundle).
 */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

/** Bundles declared larger than this are not fetched unless the caller allows more. */
export const DEFAULT_MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** The OCI empty JSON blob `{}` (image-spec manifest.md "Guidance for an Empty Descriptor"). */
export const EMPTY_CONFIG_BYTES: Uint8Array = new TextEncoder().encode('{}');

export type BundleContent =
  | {
      readonly kind: 'dsse-envelope';
      readonly envelope: Envelope;
      /** The `dsseEnvelope` object as stored, re-encoded on its own: what a DSSE reader checks. */
      readonly envelopeJson: Uint8Array;
    }
  | {
      readonly kind: 'message-signature';
      /** The protobuf JSON name: `SHA2_256`, `SHA2_384`, `SHA2_512`, … */
      readonly digestAlgorithm: string;
      readonly digest: Uint8Array;
      readonly signature: Uint8Array;
    };

export type VerificationMaterial =
  | { readonly kind: 'public-key'; readonly hint: string }
  /** The leaf certificate (DER). */
  | { readonly kind: 'certificate'; readonly certificate: Uint8Array }
  /** The leaf first, then intermediates (DER); v0.1 and v0.2 only. */
  | { readonly kind: 'x509-chain'; readonly certificates: readonly Uint8Array[] };

export interface SigstoreBundle {
  readonly version: BundleVersion;
  readonly mediaType: string;
  readonly content: BundleContent;
  readonly material: VerificationMaterial;
  /** The transparency log entries, as @sigstore/bundle reads them (none when nothing was logged). */
  readonly tlogEntries: readonly TransparencyLogEntry[];
  /** Whether RFC 3161 timestamps are present (not checked with a key). */
  readonly timestamps: number;
  /** The bundle as @sigstore/bundle reads it: what @sigstore/verify takes. */
  readonly bundle: Bundle;
  /** The exact bytes read. */
  readonly json: Uint8Array;
}

/**
 * cosign's public key hint: standard base64 of sha256 over the DER
 * SubjectPublicKeyInfo (internal/key/svkeypair.go).
 */
export function publicKeyHint(spkiDer: Uint8Array): string {
  const hex = digestOf(spkiDer).slice('sha256:'.length);
  return encodeStdBase64(new Uint8Array(Buffer.from(hex, 'hex')));
}

export interface NewDsseBundle {
  /** The signed envelope: exactly one signature. */
  readonly envelope: Envelope;
  /** `publicKeyHint` of the signing key; '' leaves the hint out. */
  readonly publicKeyHint: string;
}

/** The v0.3 bundle cosign 3 writes for an envelope signed with a key, not logged. */
export function buildDsseBundle(input: NewDsseBundle): Uint8Array {
  if (input.envelope.signatures.length !== 1) {
    throw invalid(
      'INVALID_BUNDLE_INPUT',
      `a Sigstore bundle holds exactly one DSSE signature, given ${input.envelope.signatures.length}`,
    );
  }
  const envelope = JSON.parse(new TextDecoder().decode(encodeEnvelope(input.envelope))) as GoStruct;
  // protobuf JSON: `hint` is a string field, left out when empty.
  const publicKey: GoStruct = input.publicKeyHint === '' ? {} : { hint: input.publicKeyHint };
  return goMarshalBytes({
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: { publicKey },
    dsseEnvelope: envelope,
  });
}

/** The protobuf `HashAlgorithm` of a message digest vouch writes. */
export type MessageDigestAlgorithm = 'SHA2_256' | 'SHA2_384' | 'SHA2_512';

export interface NewMessageSignatureBundle {
  /** What the digest was computed with. */
  readonly digestAlgorithm: MessageDigestAlgorithm;
  /** The artifact's digest: identifies it (protobuf-specs MessageSignature). */
  readonly digest: Uint8Array;
  /** The signature over the artifact's bytes. */
  readonly signature: Uint8Array;
  /** `publicKeyHint` of the signing key; '' leaves the hint out. */
  readonly publicKeyHint: string;
}

/**
 * The v0.3 bundle cosign 3 `sign-blob --key --bundle` writes for a
 * signature that was not logged (sigstore-go pkg/sign/signer.go `Bundle`
 * with cosign's key pair, cmd/cosign/cli/sign/sign_blob.go): the key's
 * hint and a `messageSignature` with the artifact's digest and the
 * signature; protobuf JSON field order, empty fields left out.
 */
export function buildMessageSignatureBundle(input: NewMessageSignatureBundle): Uint8Array {
  if (input.signature.byteLength === 0 || input.digest.byteLength === 0) {
    throw invalid('INVALID_BUNDLE_INPUT', 'a message signature needs a signature and a digest');
  }
  const publicKey: GoStruct = input.publicKeyHint === '' ? {} : { hint: input.publicKeyHint };
  return goMarshalBytes({
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: { publicKey },
    messageSignature: {
      messageDigest: { algorithm: input.digestAlgorithm, digest: encodeStdBase64(input.digest) },
      signature: encodeStdBase64(input.signature),
    },
  });
}

export interface NewBundleReferrer {
  /** The image the bundle is about: its descriptor as the registry serves it. */
  readonly subject: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>;
  /** The bundle bytes (the layer blob). */
  readonly bundle: Uint8Array;
  /** The bundle's media type; v0.3 unless given. */
  readonly bundleMediaType?: string;
  /** Recorded in `dev.sigstore.bundle.predicateType`. */
  readonly predicateType: string;
  /** Recorded in `org.opencontainers.image.created`, RFC 3339 to the second (Go time.RFC3339, UTC). */
  readonly created: Date;
}

export interface BundleReferrer {
  /** The manifest bytes, its media type and digest. */
  readonly manifest: Uint8Array;
  readonly descriptor: Descriptor;
  /** The blobs the manifest names: the empty config, then the bundle. */
  readonly config: { readonly descriptor: Descriptor; readonly bytes: Uint8Array };
  readonly layer: { readonly descriptor: Descriptor; readonly bytes: Uint8Array };
}

/** WriteAttestationNewBundleFormat's referrer manifest (see the module comment). */
export function buildBundleReferrer(input: NewBundleReferrer): BundleReferrer {
  const artifactType = input.bundleMediaType ?? BUNDLE_V03_MEDIA_TYPE;
  if (!isBundleMediaType(artifactType)) {
    throw invalid('INVALID_BUNDLE_INPUT', `${artifactType} is not a Sigstore bundle media type`);
  }
  if (typeof input.predicateType !== 'string' || input.predicateType === '') {
    throw invalid('INVALID_BUNDLE_INPUT', 'the predicate type must be a non-empty string');
  }
  const config: Descriptor = {
    mediaType: OCI_EMPTY,
    digest: digestOf(EMPTY_CONFIG_BYTES),
    size: EMPTY_CONFIG_BYTES.byteLength,
  };
  const layer: Descriptor = {
    mediaType: artifactType,
    digest: digestOf(input.bundle),
    size: input.bundle.byteLength,
  };
  const created = input.created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const descriptor = (d: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>): GoStruct => ({
    mediaType: d.mediaType,
    size: d.size,
    digest: d.digest,
  });
  const annotations: Record<string, string> = {
    [CREATED_ANNOTATION]: created,
    [BUNDLE_CONTENT_ANNOTATION]: DSSE_ENVELOPE_CONTENT,
    [BUNDLE_PREDICATE_TYPE_ANNOTATION]: input.predicateType,
  };
  // go-containerregistry v1.Manifest field order, then referrerManifest.ArtifactType.
  const manifest = goMarshalBytes({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { ...descriptor(config), artifactType } as GoValue,
    layers: [descriptor(layer)],
    annotations: goMap(annotations),
    subject: descriptor(input.subject),
    artifactType,
  });
  return {
    manifest,
    descriptor: {
      mediaType: OCI_MANIFEST,
      digest: digestOf(manifest),
      size: manifest.byteLength,
      artifactType,
      annotations,
    },
    config: { descriptor: config, bytes: EMPTY_CONFIG_BYTES },
    layer: { descriptor: layer, bytes: input.bundle },
  };
}

export type BundleReferrerProblem =
  'not-bundle-referrer' | 'subject-mismatch' | 'layer-invalid' | 'bundle-too-large';

export type BundleReferrerContents =
  | {
      readonly ok: true;
      /** The bundle layer to fetch. */
      readonly layer: Descriptor;
      /** The manifest's annotations (predicate type, created): unauthenticated. */
      readonly annotations: Annotations;
    }
  | { readonly ok: false; readonly problem: BundleReferrerProblem; readonly reason: string };

/**
 * What a referrer manifest says, checked before its bundle is fetched: the
 * subject is `subject`, the artifact type a bundle's, exactly one layer of a
 * bundle media type declaring at most `maxBundleBytes`. Pure.
 */
export function readBundleReferrer(
  parsed: ParsedManifest,
  subject: Digest,
  maxBundleBytes: number,
): BundleReferrerContents {
  const reject = (problem: BundleReferrerProblem, reason: string): BundleReferrerContents => ({
    ok: false,
    problem,
    reason,
  });
  if (parsed.kind !== 'image') {
    return reject('not-bundle-referrer', `it is an ${parsed.mediaType}, not an image manifest`);
  }
  const manifest = parsed.manifest;
  const artifactType = manifest.artifactType ?? manifest.config.mediaType;
  if (!isBundleMediaType(artifactType)) {
    return reject(
      'not-bundle-referrer',
      `its artifact type is ${artifactType}, not a Sigstore bundle`,
    );
  }
  if (manifest.subject?.digest !== subject) {
    return reject(
      'subject-mismatch',
      `its subject is ${manifest.subject?.digest ?? 'missing'}, not this image ${subject}`,
    );
  }
  const [layer, ...more] = manifest.layers;
  if (layer === undefined || more.length > 0) {
    return reject(
      'layer-invalid',
      `it has ${manifest.layers.length} layers, a bundle referrer has exactly 1`,
    );
  }
  if (!isBundleMediaType(layer.mediaType)) {
    return reject(
      'layer-invalid',
      `its layer has media type ${layer.mediaType}, not a Sigstore bundle's`,
    );
  }
  if (layer.size > maxBundleBytes) {
    return reject(
      'bundle-too-large',
      `its bundle declares ${layer.size} bytes, more than the ${maxBundleBytes} allowed; not fetched`,
    );
  }
  return { ok: true, layer, annotations: manifest.annotations ?? {} };
}
