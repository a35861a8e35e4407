/**
 * Notary Project signature manifests: how a signature envelope is stored in
 * a registry as an OCI referrer of the image it signs
 * (notaryproject/specifications `specs/signature-specification.md` "OCI
 * Signatures").
 *
 * Reading accepts the three forms notation-go reads
 * (registry/repository.go signatureReferrers, getSignatureBlobDesc):
 *
 * - `artifact-type`: an OCI image manifest with `artifactType:
 *   application/vnd.cncf.notary.signature` and the empty config
 *   (`application/vnd.oci.empty.v1+json`), the spec's default since v1.1;
 * - `config-media-type`: an image manifest without `artifactType` whose
 *   config media type is `application/vnd.cncf.notary.signature`, what
 *   notation 1.3 writes;
 * - `artifact-manifest`: the pre-release OCI artifact manifest
 *   (`application/vnd.oci.artifact.manifest.v1+json`, image-spec
 *   v1.1.0-rc1/rc2) with that artifact type and its envelope in `blobs`.
 *
 * In each: exactly one envelope of media type `application/jose+json` or
 * `application/cose`, declaring no more than the envelope cap (notation-go:
 * 32 MiB); a `subject`; annotations as strings, where
 * `io.cncf.notary.x509chain.thumbprint#S256`, when present, is a JSON array
 * of SHA-256 hex thumbprints, leaf first. The annotations are unsigned: the
 * thumbprints let a verifier skip signatures by certificates it does not
 * trust before fetching them, nothing more. Strict JSON (duplicate keys
 * refused) and the manifest cap (notation-go: 4 MiB) apply first.
 *
 * Writing reproduces notation: notation-go v1.3 PushSignature packs the
 * `config-media-type` form with oras-go's PackManifest (image-spec v1.1
 * field order: schemaVersion, mediaType, artifactType, config, layers,
 * subject, annotations; descriptors mediaType, digest, size), the config
 * being the two bytes `{}`; notation-go's main branch packs the
 * `artifact-type` form, whose config is oras-go's empty descriptor with
 * `data: "e30="`. The annotations are the thumbprints of the envelope's
 * chain (json.Marshal of the hex strings) and `org.opencontainers.image.created`,
 * the envelope's signing time in UTC (notation.go generateAnnotations,
 * internal/envelope SigningTime).
 */
import { denied, invalid } from '../../core/errors.ts';
import { parseStrictJson, type JsonValue } from '../../core/strict-json.ts';
import { type Digest, digestOf } from '../../oci/digest.ts';
import { type Annotations, type Descriptor, parseDescriptor } from '../../oci/manifest.ts';
import { OCI_ARTIFACT_MANIFEST, OCI_EMPTY, OCI_MANIFEST } from '../../oci/media-types.ts';
import { goMap, goMarshalBytes, type GoStruct } from '../go-json.ts';
import { array, checkFields, object, quote, string, type Fail } from '../json-fields.ts';
import {
  DEFAULT_MAX_ENVELOPE_BYTES,
  isNotationEnvelopeMediaType,
  MAX_CERTIFICATE_CHAIN,
  type NotationEnvelope,
  type NotationEnvelopeMediaType,
} from './envelope.ts';
import { parseNotationEnvelope } from './parse-envelope.ts';
import { rfc3339Seconds } from './signature.ts';

/** The artifact type of Notary Project signatures (notation-go registry/mediatype.go). */
export const NOTATION_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
/** The pre-release OCI artifact manifest (notation-go registry/internal/artifactspec). */
export { OCI_ARTIFACT_MANIFEST };
export const THUMBPRINT_ANNOTATION = 'io.cncf.notary.x509chain.thumbprint#S256';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** notation-go refuses larger signature manifests (registry/repository.go maxManifestSizeLimit). */
export const DEFAULT_MAX_SIGNATURE_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The config blob of both forms: the empty JSON object (image-spec manifest.md "Guidance for an Empty Descriptor"). */
const EMPTY_JSON = new TextEncoder().encode('{}');

export type NotationManifestForm = 'artifact-type' | 'config-media-type' | 'artifact-manifest';

export interface NotationSignatureManifest {
  readonly form: NotationManifestForm;
  /** `application/vnd.oci.image.manifest.v1+json`, or the artifact manifest's. */
  readonly mediaType: string;
  /** The digest and size of the bytes read. */
  readonly digest: Digest;
  readonly size: number;
  /** The envelope to fetch: its media type says JWS or COSE, its size is within the cap. */
  readonly envelope: Descriptor;
  readonly envelopeMediaType: NotationEnvelopeMediaType;
  /** The signed artifact, as the manifest names it. */
  readonly subject: Descriptor;
  /** Lowercase SHA-256 hex of each certificate, leaf first, when the annotation is there. Unsigned. */
  readonly thumbprints?: readonly string[];
  readonly annotations: Annotations;
}

export interface SignatureManifestReadOptions {
  /** The media type the registry served the manifest as; must agree with the document's. */
  readonly contentType?: string;
  /** When given, the manifest's subject must be this descriptor (mediaType, digest, size). */
  readonly subject?: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>;
  /** DEFAULT_MAX_SIGNATURE_MANIFEST_BYTES unless given. */
  readonly maxManifestBytes?: number;
  /** A layer declaring more is refused before it is fetched; DEFAULT_MAX_ENVELOPE_BYTES unless given. */
  readonly maxEnvelopeBytes?: number;
}

/** Deep enough for manifest → subject → annotations. */
const MANIFEST_MAX_DEPTH = 8;
const THUMBPRINT = /^[0-9a-fA-F]{64}$/;

/** Parses a signature manifest (module comment); throws `denied` NOTATION_MANIFEST_INVALID. */
export function parseNotationSignatureManifest(
  bytes: Uint8Array,
  options: SignatureManifestReadOptions = {},
): NotationSignatureManifest {
  const fail: Fail = (problem) =>
    denied('NOTATION_MANIFEST_INVALID', `invalid Notary Project signature manifest: ${problem}`);
  const maxBytes = options.maxManifestBytes ?? DEFAULT_MAX_SIGNATURE_MANIFEST_BYTES;
  if (bytes.byteLength > maxBytes)
    throw fail(`${bytes.byteLength} bytes, more than the ${maxBytes} allowed`);
  let parsed: JsonValue;
  try {
    parsed = parseStrictJson(bytes, { maxDepth: MANIFEST_MAX_DEPTH });
  } catch (error) {
    throw fail(`not strict JSON: ${(error as Error).message}`);
  }
  const document = object(parsed, 'the manifest', fail);
  const mediaType = string(document.mediaType, 'mediaType', fail);
  if (options.contentType !== undefined) {
    const served = options.contentType.split(';')[0]?.trim().toLowerCase();
    if (served !== mediaType)
      throw fail(`served as ${quote(options.contentType)} but declares ${quote(mediaType)}`);
  }
  const artifactManifest = mediaType === OCI_ARTIFACT_MANIFEST;
  if (!artifactManifest && mediaType !== OCI_MANIFEST) {
    throw fail(
      `mediaType ${quote(mediaType)} is neither ${OCI_MANIFEST} nor ${OCI_ARTIFACT_MANIFEST}`,
    );
  }
  // Unknown fields are ignored, as image-spec asks; case variants of known ones are not (Go would read them).
  checkFields(
    document,
    artifactManifest
      ? {
          required: ['mediaType', 'artifactType', 'blobs', 'subject'],
          optional: ['annotations'],
          unknown: 'ignore',
        }
      : {
          required: ['schemaVersion', 'mediaType', 'config', 'layers', 'subject'],
          optional: ['artifactType', 'annotations'],
          unknown: 'ignore',
        },
    'the manifest',
    fail,
  );
  for (const field of artifactManifest
    ? ['config', 'layers', 'manifests']
    : ['blobs', 'manifests']) {
    if (Object.hasOwn(document, field)) throw fail(`a ${mediaType} has no ${quote(field)}`);
  }
  let form: NotationManifestForm;
  if (artifactManifest) {
    if (document.artifactType !== NOTATION_ARTIFACT_TYPE) {
      throw fail(
        `artifactType is ${describe(document.artifactType)}, not ${NOTATION_ARTIFACT_TYPE}`,
      );
    }
    form = 'artifact-manifest';
  } else {
    if (document.schemaVersion !== 2) throw fail('schemaVersion must be 2');
    const config = parseDescriptor(document.config, 'config', fail);
    if (document.artifactType === undefined) {
      if (config.mediaType !== NOTATION_ARTIFACT_TYPE) {
        throw fail(
          `it has no artifactType and its config is ${quote(config.mediaType)}, not ${NOTATION_ARTIFACT_TYPE}`,
        );
      }
      form = 'config-media-type';
    } else {
      if (document.artifactType !== NOTATION_ARTIFACT_TYPE) {
        throw fail(
          `artifactType is ${describe(document.artifactType)}, not ${NOTATION_ARTIFACT_TYPE}`,
        );
      }
      // signature-specification.md: with artifactType, config.mediaType MUST be the empty one.
      if (config.mediaType !== OCI_EMPTY) {
        throw fail(
          `with artifactType ${NOTATION_ARTIFACT_TYPE} the config must be ${OCI_EMPTY}, found ${quote(config.mediaType)}`,
        );
      }
      form = 'artifact-type';
    }
  }
  const field = artifactManifest ? 'blobs' : 'layers';
  const layers = array(document[field], field, fail);
  if (layers.length !== 1)
    throw fail(`${field} has ${layers.length} entries; a signature manifest has exactly 1`);
  const envelope = parseDescriptor(layers[0], `${field}[0]`, fail);
  if (!isNotationEnvelopeMediaType(envelope.mediaType)) {
    throw fail(
      `the envelope's media type ${quote(envelope.mediaType)} is neither application/jose+json nor application/cose`,
    );
  }
  const maxEnvelope = options.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  if (envelope.size > maxEnvelope) {
    throw fail(
      `the envelope declares ${envelope.size} bytes, more than the ${maxEnvelope} allowed; not fetched`,
    );
  }
  const subject = parseDescriptor(document.subject, 'subject', fail);
  const expected = options.subject;
  if (
    expected !== undefined &&
    (subject.mediaType !== expected.mediaType ||
      subject.digest !== expected.digest ||
      subject.size !== expected.size)
  ) {
    throw fail(
      `its subject is ${subject.digest} (${subject.mediaType}, ${subject.size} bytes), not ${expected.digest}`,
    );
  }
  const annotations = readAnnotations(document.annotations, fail);
  const thumbprints = annotations[THUMBPRINT_ANNOTATION];
  return {
    form,
    mediaType,
    digest: digestOf(bytes),
    size: bytes.byteLength,
    envelope,
    envelopeMediaType: envelope.mediaType,
    subject,
    ...(thumbprints === undefined ? {} : { thumbprints: readThumbprints(thumbprints, fail) }),
    annotations,
  };
}

function describe(value: JsonValue | undefined): string {
  return value === undefined
    ? 'missing'
    : typeof value === 'string'
      ? quote(value)
      : 'not a string';
}

function readAnnotations(value: JsonValue | undefined, fail: Fail): Annotations {
  if (value === undefined) return {};
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(object(value, 'annotations', fail))) {
    out[key] = string(item, `annotations[${quote(key)}]`, fail);
  }
  return out;
}

function readThumbprints(text: string, fail: Fail): readonly string[] {
  const what = `the ${THUMBPRINT_ANNOTATION} annotation`;
  let parsed: JsonValue;
  try {
    parsed = parseStrictJson(new TextEncoder().encode(text), { maxDepth: 1 });
  } catch (error) {
    throw fail(`${what} is not a JSON array: ${(error as Error).message}`);
  }
  const list = array(parsed, what, fail);
  if (list.length === 0 || list.length > MAX_CERTIFICATE_CHAIN) {
    throw fail(`${what} lists ${list.length} thumbprints; expected 1 to ${MAX_CERTIFICATE_CHAIN}`);
  }
  return list.map((item, i) => {
    const hex = string(item, `${what}[${i}]`, fail);
    if (!THUMBPRINT.test(hex)) throw fail(`${what}[${i}] is not 64 hex digits`);
    return hex.toLowerCase();
  });
}

/** SHA-256 hex of each DER certificate: what the thumbprint annotation lists. */
export function certificateThumbprints(chain: readonly Uint8Array[]): string[] {
  return chain.map((der) => digestOf(der).slice('sha256:'.length));
}

export interface NewNotationSignatureManifest {
  /** The signed image manifest, as the registry serves it. */
  readonly subject: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>;
  /** The envelope bytes (the layer blob) and their media type. */
  readonly envelope: Uint8Array;
  readonly envelopeMediaType: NotationEnvelopeMediaType;
  /** `config-media-type` (what notation 1.3 writes) unless given. */
  readonly form?: 'config-media-type' | 'artifact-type';
  /**
   * More manifest annotations: what a plugin's `generate-envelope` returns
   * (plugin-extensibility.md "append `response.annotations` to manifest
   * annotations"). The thumbprints and the creation time are set over them,
   * as notation.go generateAnnotations sets them over the plugin's.
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface NotationSignatureManifestParts {
  /** The manifest bytes, and its descriptor as a referrers listing shows it. */
  readonly manifest: Uint8Array;
  readonly descriptor: Descriptor;
  /** The blobs the manifest names: the config (`{}`), then the envelope. */
  readonly config: { readonly descriptor: Descriptor; readonly bytes: Uint8Array };
  readonly layer: { readonly descriptor: Descriptor; readonly bytes: Uint8Array };
}

/**
 * The signature manifest notation writes for `input` (module comment). The
 * envelope is parsed for its certificate chain and signing time; throws
 * `invalid` INVALID_NOTATION_INPUT when it or the subject is not usable.
 */
export function buildNotationSignatureManifest(
  input: NewNotationSignatureManifest,
): NotationSignatureManifestParts {
  const inputError = (problem: string, cause?: unknown) =>
    invalid(
      'INVALID_NOTATION_INPUT',
      `cannot build a Notary Project signature manifest: ${problem}`,
      {
        cause,
      },
    );
  let envelope: NotationEnvelope;
  try {
    envelope = parseNotationEnvelope(input.envelopeMediaType, input.envelope);
  } catch (error) {
    throw inputError(`the envelope does not parse: ${(error as Error).message}`, error);
  }
  const subject = parseDescriptor(input.subject, 'subject', inputError);
  const form = input.form ?? 'config-media-type';
  const config: Descriptor =
    form === 'artifact-type'
      ? {
          mediaType: OCI_EMPTY,
          digest: digestOf(EMPTY_JSON),
          size: EMPTY_JSON.byteLength,
          data: 'e30=',
        }
      : {
          mediaType: NOTATION_ARTIFACT_TYPE,
          digest: digestOf(EMPTY_JSON),
          size: EMPTY_JSON.byteLength,
        };
  const layer: Descriptor = {
    mediaType: input.envelopeMediaType,
    digest: digestOf(input.envelope),
    size: input.envelope.byteLength,
  };
  const annotations: Record<string, string> = {
    ...input.annotations,
    [THUMBPRINT_ANNOTATION]: JSON.stringify(certificateThumbprints(envelope.certificateChain)),
    [CREATED_ANNOTATION]: rfc3339Seconds(Math.floor(envelope.signingTime.getTime() / 1000)),
  };
  const descriptor = (d: Descriptor): GoStruct => ({
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.data === undefined ? {} : { data: d.data }),
  });
  const manifest = goMarshalBytes({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(form === 'artifact-type' ? { artifactType: NOTATION_ARTIFACT_TYPE } : {}),
    config: descriptor(config),
    layers: [descriptor(layer)],
    subject: descriptor(subject),
    annotations: goMap(annotations),
  });
  return {
    manifest,
    descriptor: {
      mediaType: OCI_MANIFEST,
      digest: digestOf(manifest),
      size: manifest.byteLength,
      annotations,
      artifactType: NOTATION_ARTIFACT_TYPE,
    },
    config: { descriptor: config, bytes: EMPTY_JSON },
    layer: { descriptor: layer, bytes: input.envelope },
  };
}
