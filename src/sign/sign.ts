/**
 * Signing images the way `cosign sign --key` stores signatures
 * (docs/formats.md "Cosign signatures"), on registries and OCI layouts alike. The digest
 * is what is signed, never the tag: the simple-signing payload records the
 * digest, the identity (`docker-reference`, see identity.ts) and the
 * annotations, and the signer signs its exact bytes. The signature becomes a
 * layer of the `sha256-<hex>.sig` manifest in the same store through the
 * read-modify-write shared with attestations (attach.ts: idempotent, and
 * safe with concurrent signers). A layer carrying the same payload with a
 * signature that verifies with the signer's key is already there: nothing
 * is written (`unchanged`), as cosign's DupeDetector decides. Many images
 * run concurrently (bounded) with one signer, so a cosign key is decrypted
 * once per call.
 */
import { invalid } from '../core/errors.ts';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  decodeSignatureBase64,
  SIGNATURE_ANNOTATION,
  type SignatureLayer,
  signatureLayer,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from '../formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../formats/simple-signing.ts';
import { type Signer, verifySignature } from '../keys/signer.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import {
  type Attached,
  attachedUnit,
  type AttachResult,
  type AttachmentKind,
  type AttachOptions,
  type AttachRequest,
  attachSettings,
  type AttachUnit,
  attachToImages,
  checkSigner,
  imageName,
  type ImageAttachResult,
  type ManifestAttachment,
  type PassedEvent,
  resultsAs,
} from './attach.ts';
import type { KeylessSigning, LogEntryRef } from './keyless-signing.ts';
import { loggedNotStored } from './logged-not-stored.ts';

export {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_SETTLE_MS,
  DEFAULT_SIGN_CONCURRENCY,
  MAX_RECURSIVE_MANIFESTS,
  MAX_SIGNATURE_CONFIG_BYTES,
} from './attach.ts';

/** An image to sign (`store`, `target`, `name`: see `AttachRequest`) and the identity to record. */
export interface SignRequest extends AttachRequest {
  /**
   * The `critical.identity.docker-reference` to record; see identity.ts
   * (`defaultDockerReference`, `parseSignedIdentity`).
   */
  readonly dockerReference: string;
}

export interface SignOptions extends AttachOptions<SignEvent> {
  /** `-a key=value` pairs, recorded in the payload's `optional` (none → `null`, as cosign). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Refuse to grow a signature manifest beyond this many layers. Default 1,000. */
  readonly maxSignatureLayers?: number;
}

export type SignOutcome = 'signed' | 'unchanged';

export type SignEvent =
  /**
   * `resolved`: the image resolved to `digest`, `manifests` will be signed for it (more than 1
   * when recursive); `conflict`: the signature manifest changed under a write, or the write
   * failed in a way worth retrying (`error`), it is read again and retried; `settling`:
   * waiting to check that `count` signatures written to registries are still there.
   */
  | PassedEvent<ManifestSignature>
  /** One manifest's signature is stored (or was already there). */
  | {
      readonly type: 'signed';
      readonly image: string;
      readonly signature: ManifestSignature;
    };

export interface ManifestSignature extends ManifestAttachment<'signed'> {
  /** The signature manifest the tag pointed to when the signature was confirmed there. */
  readonly signatureManifest: Digest;
  /** The payload (the layer's blob) as signed. */
  readonly payloadDigest: Digest;
  /** Standard base64 of the signature, as in the layer annotation. */
  readonly signature: string;
}

/** The image's own signature first, then any children's; on failure, those stored before it. */
export type SignResult = ImageAttachResult<'signatures', ManifestSignature>;

/** A signature made for a manifest, reused across retries. */
interface PreparedSignature {
  readonly payload: Uint8Array;
  readonly signatureBase64: string;
  readonly layer: SignatureLayer;
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
  const { signer, annotations } = checkOptions(options);
  const keyless = options.keyless;
  for (const request of requests) {
    if (typeof request.dockerReference !== 'string' || request.dockerReference === '') {
      throw invalid(
        'INVALID_SIGNATURE_INPUT',
        `${imageName(request)}: the docker-reference to record must be a non-empty string`,
      );
    }
  }
  const settings = attachSettings(options, {
    maxLayers: [options.maxSignatureLayers, 'maxSignatureLayers'],
    replace: false,
    maxBlobBytes: DEFAULT_MAX_PAYLOAD_BYTES,
    storedEvent: (image, signature: ManifestSignature) => ({
      type: 'signed' as const,
      image,
      signature,
    }),
  });
  const logged = new Map<string, LogEntryRef[]>();
  const results = await attachToImages(
    requests,
    signatureKind(signer, annotations, keyless, logged),
    settings,
    manifestSignature,
  );
  return resultsAs(
    results.map((result) => unsignedButLogged(result, logged)),
    'signatures',
  );
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

function checkOptions(options: SignOptions): {
  signer: Signer;
  annotations: Readonly<Record<string, string>> | undefined;
} {
  const signer = checkSigner(options.signer, 'signing', options.keyless);
  const annotations = options.annotations;
  if (annotations !== undefined) {
    for (const [key, value] of Object.entries(annotations)) {
      if (key === '') throw invalid('INVALID_ANNOTATION', 'an annotation key is empty');
      if (typeof value !== 'string') {
        throw invalid('INVALID_ANNOTATION', `annotation ${JSON.stringify(key)} must be a string`);
      }
    }
  }
  return { signer, annotations };
}

/**
 * cosign's `.sig` layers: the simple-signing payload as the blob, its
 * signature in the annotation. A stored layer holds ours when it has the
 * same payload (digest) and a signature that verifies with the signer's key,
 * as cosign's DupeDetector decides (sigstore/cosign@d6d86c22:
 * pkg/cosign/remote/remote.go).
 */
function signatureKind(
  signer: Signer,
  annotations: Readonly<Record<string, string>> | undefined,
  keyless: KeylessSigning | undefined,
  logged: Map<string, LogEntryRef[]>,
): AttachmentKind<SignRequest, PreparedSignature> {
  return {
    suffix: 'sig',
    noun: 'signature',
    async prepare(unit: AttachUnit<SignRequest>): Promise<PreparedSignature> {
      const payload = buildSimpleSigningPayload({
        dockerReference: unit.request.dockerReference,
        dockerManifestDigest: unit.digest,
        ...(annotations === undefined ? {} : { annotations }),
      });
      if (keyless !== undefined) {
        const signed = await keyless.signPayload(payload);
        if (signed.logEntry !== undefined) {
          logged.set(unit.image, [...(logged.get(unit.image) ?? []), signed.logEntry]);
        }
        const { signatureBase64 } = signed;
        return {
          payload,
          signatureBase64,
          layer: signatureLayer({ payload, signatureBase64, annotations: signed.annotations }),
        };
      }
      const signature = await signer.sign(payload);
      const signatureBase64 = Buffer.from(
        signature.buffer,
        signature.byteOffset,
        signature.byteLength,
      ).toString('base64');
      return { payload, signatureBase64, layer: signatureLayer({ payload, signatureBase64 }) };
    },
    holds(existing: Descriptor, prepared: PreparedSignature): boolean {
      const ours = prepared.layer.descriptor;
      if (existing.digest !== ours.digest || existing.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE)
        return false;
      const stored = existing.annotations?.[SIGNATURE_ANNOTATION];
      if (stored === undefined) return false;
      if (stored === prepared.signatureBase64) return true;
      const decoded = decodeSignatureBase64(stored);
      return decoded !== undefined && verifySignature(signer.publicKey, prepared.payload, decoded);
    },
  };
}

/** A failed image's error, saying which of its signatures were logged all the same. */
function unsignedButLogged<R>(
  result: AttachResult<R>,
  logged: ReadonlyMap<string, readonly LogEntryRef[]>,
): AttachResult<R> {
  if (result.ok) return result;
  return { ...result, error: loggedNotStored(result.error, logged.get(result.image) ?? []) };
}

function manifestSignature({
  unit,
  prepared,
  stored,
}: Attached<SignRequest, PreparedSignature>): ManifestSignature {
  return {
    ...attachedUnit(unit),
    outcome: stored.outcome === 'stored' ? 'signed' : 'unchanged',
    tag: stored.tag,
    location: stored.location,
    signatureManifest: stored.manifest,
    payloadDigest: prepared.layer.descriptor.digest,
    signature: prepared.signatureBase64,
    attempts: stored.attempts,
  };
}
