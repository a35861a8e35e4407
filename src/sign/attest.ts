/**
 * Attesting images with a key the way `cosign attest --key
 * --new-bundle-format=false` stores attestations (docs/formats.md "Cosign
 * attestations"), on registries and OCI layouts alike:
 *
 * 1. The image is resolved to its digest once; the digest is the statement's
 *    only subject (`{"name": <repository>, "digest": {"sha256": <hex>}}`).
 * 2. The predicate (a JSON object) is wrapped in an in-toto Statement v1
 *    (formats/in-toto.ts), and the statement in a DSSE envelope whose one
 *    signature is over PAE("application/vnd.in-toto+json", statement)
 *    (formats/dsse.ts).
 * 3. The envelope becomes a layer of the `sha256-<hex>.att` manifest with
 *    cosign's annotations (`dev.cosignproject.cosign/signature: ""`,
 *    `predicateType`), through the read-modify-write shared with `sign`
 *    (attach.ts): concurrent attesters do not lose each other's layers.
 *
 * Attestations accumulate, as in cosign: attesting another predicate type,
 * or the same type with another key or another predicate, adds a layer.
 * Attesting the same statement with the same key again changes nothing (the
 * stored envelope's statement bytes are ours and one of its signatures
 * verifies with our key); cosign would add a duplicate, its DupeDetector
 * skipping layers whose signature annotation is empty. `replace` is cosign's
 * `--replace` (pkg/cosign/remote/remote.go ReplaceOp): every stored
 * attestation whose statement has the same predicate type — whoever signed
 * it — is dropped, and the new one goes first; layers vouch cannot read are
 * kept (cosign would fail on them).
 *
 * Keys only, and no transparency log: keyless signing (Fulcio certificates,
 * Rekor) and cosign 3's default storage, a Sigstore bundle attached as an
 * OCI referrer (`--new-bundle-format`), are not written here.
 */
import { invalid, isVouchError } from '../core/errors.ts';
import {
  attestationLayer,
  DEFAULT_MAX_ATTESTATION_BYTES,
  PREDICATE_TYPE_ANNOTATION,
} from '../formats/cosign-attestation.ts';
import type { SignatureLayer } from '../formats/cosign-signature.ts';
import {
  DSSE_ENVELOPE_MEDIA_TYPE,
  type Envelope,
  encodeEnvelope,
  IN_TOTO_PAYLOAD_TYPE,
  parseEnvelope,
  preAuthEncoding,
} from '../formats/dsse.ts';
import { buildStatement, parseStatement, protoJson } from '../formats/in-toto.ts';
import { isJsonObject, type JsonObject } from '../core/strict-json.ts';
import { type Signer, verifySignature } from '../keys/signer.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import {
  type Attached,
  attachedUnit,
  type AttachmentKind,
  type AttachOptions,
  type AttachRequest,
  attachSettings,
  type AttachUnit,
  attachToImages,
  type BlobReader,
  checkSigner,
  countOption,
  type ImageAttachResult,
  type ManifestAttachment,
  type PassedEvent,
  resultsAs,
} from './attach.ts';
import type { KeylessSigning } from './keyless-signing.ts';

export interface AttestRequest extends AttachRequest {
  /**
   * The statement subject's `name`. cosign writes the repository without
   * tag (`index.docker.io/library/x` on Docker Hub; `defaultDockerReference`
   * gives it). Verifiers match subjects by digest only.
   */
  readonly subjectName: string;
}

export interface AttestOptions extends AttachOptions<AttestEvent> {
  /** The predicate type URI (`predicateTypeUri` maps cosign's `--type` shorthands). */
  readonly predicateType: string;
  /** The predicate, a JSON object (`parsePredicate` reads a file strictly). */
  readonly predicate: JsonObject;
  /** Drop stored attestations of the same predicate type first (cosign `--replace`). */
  readonly replace?: boolean;
  /** Refuse to grow an attestation manifest beyond this many layers. Default 1,000. */
  readonly maxAttestationLayers?: number;
  /**
   * Refuse to write an envelope larger than this, and read stored ones up to
   * it; default 16 MiB, what `verify-attestation` reads by default.
   */
  readonly maxEnvelopeBytes?: number;
}

export type AttestOutcome = 'attested' | 'unchanged';

export interface ManifestAttestation extends ManifestAttachment<'attested'> {
  /** The attestation manifest the tag pointed to when the layer was confirmed there. */
  readonly attestationManifest: Digest;
  /** The layer written: the digest of the DSSE envelope. */
  readonly envelopeDigest: Digest;
  readonly predicateType: string;
}

export type AttestEvent =
  | PassedEvent<ManifestAttestation>
  | {
      readonly type: 'attested';
      readonly image: string;
      readonly attestation: ManifestAttestation;
    };

export type AttestResult = ImageAttachResult<'attestations', ManifestAttestation>;

/** What one manifest's attestation is made of, reused across retries. */
interface PreparedAttestation {
  readonly statement: Uint8Array;
  readonly pae: Uint8Array;
  readonly layer: SignatureLayer;
}

/**
 * Attests every image; one result per request, in order. Per-image failures
 * are reported in the results, not thrown; invalid options (no signer, a
 * predicate that is not an object, one too large) throw before any I/O.
 */
export async function attestImages(
  requests: readonly AttestRequest[],
  options: AttestOptions,
): Promise<AttestResult[]> {
  const { predicateType, predicate } = options;
  const signer = checkSigner(options.signer, 'attesting', options.keyless);
  if (typeof predicateType !== 'string' || predicateType === '') {
    throw invalid('INVALID_OPTION', 'the predicate type must be a non-empty string (a URI)');
  }
  if (!isJsonObject(predicate))
    throw invalid('PREDICATE_INVALID', 'the predicate must be a JSON object');
  for (const request of requests) {
    if (typeof request.subjectName !== 'string' || request.subjectName === '') {
      throw invalid(
        'INVALID_STATEMENT_INPUT',
        `${request.name ?? request.store.location}: the subject name must be a non-empty string`,
      );
    }
  }
  const maxEnvelopeBytes = countOption(
    options.maxEnvelopeBytes,
    DEFAULT_MAX_ATTESTATION_BYTES,
    'maxEnvelopeBytes',
    1,
  );
  // Base64 makes the statement 4/3 larger in the envelope: refuse what cannot fit, before any I/O.
  const predicateBytes = Buffer.byteLength(protoJson(predicate));
  if (Math.ceil(predicateBytes / 3) * 4 > maxEnvelopeBytes) {
    throw invalid(
      'ATTESTATION_TOO_LARGE',
      `the predicate is ${predicateBytes} bytes; its envelope would exceed the ${maxEnvelopeBytes}-byte limit on attestations (base64 adds a third)`,
    );
  }
  const settings = attachSettings(options, {
    maxLayers: [options.maxAttestationLayers, 'maxAttestationLayers'],
    replace: options.replace ?? false,
    maxBlobBytes: maxEnvelopeBytes,
    storedEvent: (image, attestation: ManifestAttestation) => ({
      type: 'attested' as const,
      image,
      attestation,
    }),
  });
  const results = await attachToImages(
    requests,
    attestationKind(signer, predicateType, predicate, maxEnvelopeBytes, options.keyless),
    settings,
    (attached) => manifestAttestation(attached, predicateType),
  );
  return resultsAs(results, 'attestations');
}

/** Attests one image; throws its error if it failed. */
export async function attestImage(
  request: AttestRequest,
  options: AttestOptions,
): Promise<Extract<AttestResult, { ok: true }>> {
  const [result] = await attestImages([request], options);
  if (result === undefined) throw new Error('unreachable: one request gives one result');
  if (!result.ok) throw result.error;
  return result;
}

function attestationKind(
  signer: Signer,
  predicateType: string,
  predicate: JsonObject,
  maxEnvelopeBytes: number,
  keyless: KeylessSigning | undefined,
): AttachmentKind<AttestRequest, PreparedAttestation> {
  /** The stored envelope of a DSSE layer, or undefined if it cannot be read as one. */
  const envelopeOf = async (layer: Descriptor, read: BlobReader): Promise<Envelope | undefined> => {
    if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) return undefined;
    const blob = await read(layer);
    if (blob === undefined) return undefined;
    try {
      return parseEnvelope(blob, `layer ${layer.digest}`);
    } catch (error) {
      if (isVouchError(error)) return undefined;
      throw error;
    }
  };
  return {
    suffix: 'att',
    noun: 'attestation',
    async prepare(unit: AttachUnit<AttestRequest>): Promise<PreparedAttestation> {
      const statement = buildStatement({
        subjectName: unit.request.subjectName,
        digest: unit.digest,
        predicateType,
        predicate,
      });
      const pae = preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement);
      const signed =
        keyless === undefined
          ? {
              envelope: encodeEnvelope({
                payloadType: IN_TOTO_PAYLOAD_TYPE,
                payload: statement,
                signatures: [{ sig: await signer.sign(pae), keyid: '' }],
              }),
              annotations: undefined,
            }
          : await keyless.signEnvelope(statement);
      const { envelope, annotations } = signed;
      if (envelope.byteLength > maxEnvelopeBytes) {
        throw invalid(
          'ATTESTATION_TOO_LARGE',
          `the attestation of ${unit.digest} would be ${envelope.byteLength} bytes, more than the ${maxEnvelopeBytes} allowed`,
        );
      }
      return {
        statement,
        pae,
        layer: attestationLayer({
          envelope,
          predicateType,
          ...(annotations === undefined ? {} : { annotations }),
        }),
      };
    },
    async holds(existing, prepared, read): Promise<boolean> {
      const ours = prepared.layer.descriptor;
      if (
        existing.mediaType !== ours.mediaType ||
        existing.annotations?.[PREDICATE_TYPE_ANNOTATION] !== predicateType
      )
        return false;
      if (existing.digest === ours.digest) return true;
      const envelope = await envelopeOf(existing, read);
      return (
        envelope !== undefined &&
        envelope.payloadType === IN_TOTO_PAYLOAD_TYPE &&
        Buffer.from(envelope.payload).equals(prepared.statement) &&
        envelope.signatures.some((s) => verifySignature(signer.publicKey, prepared.pae, s.sig))
      );
    },
    async supersedes(existing, _prepared, read): Promise<boolean> {
      const envelope = await envelopeOf(existing, read);
      if (envelope === undefined) return false;
      try {
        return parseStatement(envelope.payload).predicateType === predicateType;
      } catch (error) {
        if (isVouchError(error)) return false;
        throw error;
      }
    },
  };
}

function manifestAttestation(
  { unit, prepared, stored }: Attached<AttestRequest, PreparedAttestation>,
  predicateType: string,
): ManifestAttestation {
  return {
    ...attachedUnit(unit),
    outcome: stored.outcome === 'stored' ? 'attested' : 'unchanged',
    tag: stored.tag,
    location: stored.location,
    attestationManifest: stored.manifest,
    envelopeDigest: prepared.layer.descriptor.digest,
    predicateType,
    attempts: stored.attempts,
  };
}
