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
  DEFAULT_MAX_SIGNATURE_LAYERS,
  decodeSignatureBase64,
  SIGNATURE_ANNOTATION,
  type SignatureLayer,
  signatureLayer,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from '../formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../formats/simple-signing.ts';
import { type Signer, verifySignature } from '../keys/signer.ts';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor, Platform } from '../oci/manifest.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import {
  type AttachEvent,
  type Attached,
  type AttachmentKind,
  type AttachRequest,
  type AttachUnit,
  attachToImages,
  countOption,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_SETTLE_MS,
  DEFAULT_SIGN_CONCURRENCY,
} from './attach.ts';

export {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_SETTLE_MS,
  DEFAULT_SIGN_CONCURRENCY,
  MAX_RECURSIVE_MANIFESTS,
  MAX_SIGNATURE_CONFIG_BYTES,
} from './attach.ts';

export interface SignRequest extends AttachRequest {
  /** Where the image is; the signature is stored in the same store. */
  readonly store: ImageStore;
  /** The manifest to sign; a tag is resolved once, a digest is used as given. */
  readonly target: ManifestTarget;
  /**
   * The `critical.identity.docker-reference` to record; see identity.ts
   * (`defaultDockerReference`, `parseSignedIdentity`).
   */
  readonly dockerReference: string;
  /** How to name the image in results, events and errors; `store.location` with the target by default. */
  readonly name?: string;
}

export interface SignOptions {
  /** Signs every payload; with a cosign key, decrypt it once and sign many images. */
  readonly signer: Signer;
  /** `-a key=value` pairs, recorded in the payload's `optional` (none → `null`, as cosign). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** For an index, also sign every manifest it lists (nested indexes included). */
  readonly recursive?: boolean;
  /** Manifests resolved or signed at once. Default 8. */
  readonly concurrency?: number;
  /** Writes of one signature manifest tried before SIGNATURE_CONFLICT. Default 8. */
  readonly maxAttempts?: number;
  /**
   * Delay before the final check that no concurrent registry write replaced
   * a signature written here; 0 skips the check. Default 100 ms. Layouts do
   * not need it (their tags are moved by compare-and-swap).
   */
  readonly settleMs?: number;
  /** Refuse to grow a signature manifest beyond this many layers. Default 1,000. */
  readonly maxSignatureLayers?: number;
  readonly onEvent?: (event: SignEvent) => void;
}

export type SignOutcome = 'signed' | 'unchanged';

export type SignEvent =
  /** The image resolved to `digest`; `manifests` will be signed for it (more than 1 when recursive). */
  | {
      readonly type: 'resolved';
      readonly image: string;
      readonly digest: Digest;
      readonly manifests: number;
    }
  /** One manifest's signature is stored (or was already there). */
  | {
      readonly type: 'signed';
      readonly image: string;
      readonly signature: ManifestSignature;
    }
  /**
   * The signature manifest changed under a write, or the write failed in a
   * way worth retrying (`error`); it is read again and retried.
   */
  | {
      readonly type: 'conflict';
      readonly image: string;
      readonly digest: Digest;
      readonly attempt: number;
      readonly error?: Error;
    }
  /** Waiting to check that `count` signatures written to registries are still there. */
  | { readonly type: 'settling'; readonly count: number }
  | { readonly type: 'failed'; readonly image: string; readonly error: Error };

export interface ManifestSignature {
  /** The manifest signed. */
  readonly digest: Digest;
  /** Its media type, when known (digest targets without `recursive` are not fetched). */
  readonly mediaType?: string;
  /** For a manifest listed in a signed index. */
  readonly platform?: Platform;
  readonly outcome: SignOutcome;
  /** `sha256-<hex>.sig`, the tag that holds the signature. */
  readonly tag: string;
  /** Where the signature is: `registry/repository:tag` or `oci:PATH:tag`. */
  readonly location: string;
  /** The signature manifest the tag pointed to when the signature was confirmed there. */
  readonly signatureManifest: Digest;
  /** The payload (the layer's blob) as signed. */
  readonly payloadDigest: Digest;
  /** Standard base64 of the signature, as in the layer annotation. */
  readonly signature: string;
  /** Writes it took: 0 when unchanged, more than 1 after conflicts. */
  readonly attempts: number;
}

export type SignResult =
  | {
      readonly image: string;
      readonly ok: true;
      /** The digest the image resolved to (the index, when recursive). */
      readonly digest: Digest;
      readonly mediaType?: string;
      /** The image's own signature first, then any children's. */
      readonly signatures: readonly ManifestSignature[];
    }
  | {
      readonly image: string;
      readonly ok: false;
      readonly digest?: Digest;
      readonly mediaType?: string;
      /** Signatures stored before the failure. */
      readonly signatures: readonly ManifestSignature[];
      readonly error: Error;
    };

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
  for (const request of requests) {
    if (typeof request.dockerReference !== 'string' || request.dockerReference === '') {
      throw invalid(
        'INVALID_SIGNATURE_INPUT',
        `${requestName(request)}: the docker-reference to record must be a non-empty string`,
      );
    }
  }
  const onEvent = options.onEvent;
  const emit = (event: AttachEvent<ManifestSignature>): void => {
    if (onEvent === undefined) return;
    onEvent(
      event.type === 'stored'
        ? { type: 'signed', image: event.image, signature: event.result }
        : event,
    );
  };
  const results = await attachToImages(
    requests,
    signatureKind(signer, annotations),
    {
      recursive: options.recursive ?? false,
      concurrency: countOption(options.concurrency, DEFAULT_SIGN_CONCURRENCY, 'concurrency', 1),
      maxAttempts: countOption(options.maxAttempts, DEFAULT_MAX_ATTEMPTS, 'maxAttempts', 1),
      settleMs: countOption(options.settleMs, DEFAULT_SETTLE_MS, 'settleMs', 0),
      maxLayers: countOption(
        options.maxSignatureLayers,
        DEFAULT_MAX_SIGNATURE_LAYERS,
        'maxSignatureLayers',
        1,
      ),
      replace: false,
      maxBlobBytes: DEFAULT_MAX_PAYLOAD_BYTES,
      emit,
    },
    manifestSignature,
  );
  return results.map(({ results: signatures, ...rest }) => ({ ...rest, signatures }));
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
  const { signer } = options;
  if (
    signer === undefined ||
    typeof signer.sign !== 'function' ||
    signer.publicKey?.type !== 'public'
  ) {
    throw invalid('INVALID_OPTION', 'signing needs a signer with a public key');
  }
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

function requestName(request: SignRequest): string {
  if (request.name !== undefined) return request.name;
  const { target } = request;
  return 'tag' in target
    ? `${request.store.location}:${target.tag}`
    : `${request.store.location}@${target.digest}`;
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

function manifestSignature({
  unit,
  prepared,
  stored,
}: Attached<SignRequest, PreparedSignature>): ManifestSignature {
  return {
    digest: unit.digest,
    ...(unit.mediaType === undefined ? {} : { mediaType: unit.mediaType }),
    ...(unit.platform === undefined ? {} : { platform: unit.platform }),
    outcome: stored.outcome === 'stored' ? 'signed' : 'unchanged',
    tag: stored.tag,
    location: stored.location,
    signatureManifest: stored.manifest,
    payloadDigest: prepared.layer.descriptor.digest,
    signature: prepared.signatureBase64,
    attempts: stored.attempts,
  };
}
