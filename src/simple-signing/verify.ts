/**
 * `vouch verify --gpg-key`: an image's GPG simple-signing signatures checked
 * as containers/image's `signedBy` requirement checks them
 * (https://github.com/containers/image/blob/main/signature/policy_eval_signedby.go):
 * fetch first (the digest, the manifest, every signature the image's store
 * holds: signature-stores.ts), then each signature verified on its own
 * (formats/simple-signing/verify.ts). One that holds is enough; the result
 * says which held and why each other did not.
 *
 * The identity rule is policy.json's default for `signedBy`,
 * `matchRepoDigestOrExact` (policy_reference_match.go): an image named by
 * tag needs a signature for exactly that repository:tag, one named by digest
 * a signature for any tag of the same repository.
 */
import { matchesSignedIdentity } from '../formats/containers-policy/signed-identity.ts';
import {
  denied,
  type ErrorCategory,
  isVouchError,
  messageOf,
  unavailable,
  type VouchError,
} from '../core/errors.ts';
import { createLimiter } from '../core/concurrency.ts';
import { type GpgKeyring } from '../formats/simple-signing/openpgp.ts';
import { verifyAtomicSignature } from '../formats/simple-signing/verify.ts';
import type { Digest } from '../oci/digest.ts';
import { type ImageReference, withDefaultTag } from '../oci/reference.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import { readSimpleSignatures, type SimpleSigningStoreOptions } from './signature-stores.ts';

/** An image's outcome: verified, or the category of why not (as verify/'s results). */
export type GpgImageStatus = 'verified' | ErrorCategory;

export interface GpgVerifyRequest {
  /** As typed, for the report. */
  readonly image: string;
  readonly store: ImageStore;
  readonly reference: ImageReference;
  readonly target: ManifestTarget;
}

export interface GpgVerifyOptions {
  readonly keyring: GpgKeyring;
  readonly stores: SimpleSigningStoreOptions;
  /** When keys and signatures are judged; now unless given. */
  readonly now?: Date;
  readonly concurrency?: number;
}

export interface GpgVerifiedSignature {
  /** Where it was read (a signature-N URL, or the registry's API extension). */
  readonly source: string;
  /** The signing key's primary fingerprint, uppercase hex. */
  readonly fingerprint: string;
  readonly dockerReference: string;
  readonly creator?: string;
  readonly timestamp?: number;
}

export interface GpgRejectedSignature {
  readonly source: string;
  readonly code: string;
  readonly message: string;
}

export interface GpgImageVerification {
  readonly image: string;
  readonly status: GpgImageStatus;
  readonly digest?: Digest;
  /** Where the signatures were looked for. */
  readonly signatureStore?: string;
  readonly verified: readonly GpgVerifiedSignature[];
  readonly rejected: readonly GpgRejectedSignature[];
  readonly error?: VouchError;
}

/** Verifies each image; an image's own failure is in its result, never thrown. */
export async function verifyGpgImages(
  requests: readonly GpgVerifyRequest[],
  options: GpgVerifyOptions,
): Promise<GpgImageVerification[]> {
  const limit = createLimiter(options.concurrency ?? 8);
  return Promise.all(
    requests.map((request) =>
      limit(async () => {
        try {
          return await verifyGpgImage(request, options);
        } catch (error) {
          const failure = isVouchError(error)
            ? error
            : unavailable('NETWORK_ERROR', `${request.image}: ${messageOf(error)}`, {
                cause: error,
              });
          return {
            image: request.image,
            status: failure.category,
            verified: [],
            rejected: [],
            error: failure,
          };
        }
      }),
    ),
  );
}

async function verifyGpgImage(
  request: GpgVerifyRequest,
  options: GpgVerifyOptions,
): Promise<GpgImageVerification> {
  const manifest = await request.store.getManifest(request.target);
  const digest = manifest.digest;
  const found = await readSimpleSignatures(
    request.store,
    request.reference,
    digest,
    options.stores,
  );
  const signatureStore = found.signatures[0]?.source ?? describeStore(found.store);
  const accept = matchRepoDigestOrExact(request.reference);
  const verified: GpgVerifiedSignature[] = [];
  const rejected: GpgRejectedSignature[] = [];
  for (const { blob, source } of found.signatures) {
    if (blob[0] === 0) {
      // containers/image frames other formats as `\x00<format>\n` (internal/signature/signature.go).
      rejected.push({
        source,
        code: 'GPG_SIGNATURE_INVALID',
        message: `${source}: not a GPG simple signing signature (another format's framing)`,
      });
      continue;
    }
    try {
      const result = await verifyAtomicSignature(
        blob,
        options.keyring,
        { digest, manifest: manifest.bytes },
        { acceptIdentity: accept, ...(options.now === undefined ? {} : { now: options.now }) },
      );
      verified.push({
        source,
        fingerprint: result.fingerprint,
        dockerReference: result.dockerReference,
        ...(result.creator === undefined ? {} : { creator: result.creator }),
        ...(result.timestamp === undefined ? {} : { timestamp: result.timestamp }),
      });
    } catch (error) {
      if (!isVouchError(error)) throw error;
      rejected.push({ source, code: error.code, message: error.message });
    }
  }
  const base = { image: request.image, digest, signatureStore, verified, rejected };
  if (verified.length > 0) return { ...base, status: 'verified' };
  const error =
    found.signatures.length === 0
      ? denied('GPG_NO_SIGNATURES', `${request.image}: no GPG signatures in ${signatureStore}`)
      : denied(
          'GPG_NO_VALID_SIGNATURE',
          `${request.image}: none of the ${found.signatures.length} GPG signature(s) is accepted: ${rejected.map((r) => r.code).join(', ')}`,
        );
  return { ...base, status: 'denied', error };
}

function describeStore(store: { kind: string; repository?: string; url?: URL }): string {
  return store.kind === 'extension'
    ? `${store.repository ?? ''} (API extension)`
    : (store.url?.href ?? 'the lookaside');
}

/**
 * policy.json `matchRepoDigestOrExact` (policy_reference_match.go): for an
 * image named by tag, the signed reference must be exactly the image's
 * (tag, and digest when it has one too); by digest alone, the same
 * repository. A signed reference that does not parse never matches; an
 * image with neither is given the default tag first, as the docker
 * transport does.
 */
export function matchRepoDigestOrExact(image: ImageReference): (signed: string) => boolean {
  const intended = withDefaultTag(image);
  return (signed) => matchesSignedIdentity(MATCH_REPO_DIGEST_OR_EXACT, intended, signed);
}

const MATCH_REPO_DIGEST_OR_EXACT = { type: 'matchRepoDigestOrExact' } as const;
