/**
 * `vouch sign --gpg-key`: GPG simple signing of registry images as
 * `skopeo copy --sign-by` signs them (containers/image
 * signature/docker.go `SignDockerManifest`, copy/sign.go): the manifest
 * digest resolved once, a payload naming that digest and the
 * repository:tag that was signed (`docker-reference`), with `creator` and
 * `timestamp`, signed and added to the image's signature store
 * (signature-stores.ts: the registry's API extension, else the registries.d
 * lookaside). Signing again with the same key for the same digest and
 * reference adds nothing: a signature already there that verifies with the
 * signer's key for exactly those is kept as the answer. Every signature is
 * verified with the signer's public key before it is stored.
 */
import { createLimiter } from '../core/concurrency.ts';
import { type VouchError, isVouchError, messageOf, unavailable } from '../core/errors.ts';
import { buildAtomicSignaturePayload } from '../formats/simple-signing/payload.ts';
import { verifyAtomicSignature } from '../formats/simple-signing/verify.ts';
import type { Digest } from '../oci/digest.ts';
import { type ImageReference, formatReference, withDefaultTag } from '../oci/reference.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import type { GpgSigner } from './gpg-signer.ts';
import {
  readSimpleSignatures,
  type SimpleSigningStoreOptions,
  writeSimpleSignature,
} from './signature-stores.ts';

export interface GpgSignRequest {
  /** As typed, for the report. */
  readonly image: string;
  readonly store: ImageStore;
  /** The registry reference; its tag (default `latest`) is the identity signed. */
  readonly reference: ImageReference;
  readonly target: ManifestTarget;
}

export interface GpgSignOptions {
  readonly signer: GpgSigner;
  readonly stores: SimpleSigningStoreOptions;
  /** `optional.creator`, e.g. `vouch 0.1.0`. */
  readonly creator: string;
  /** The clock for `optional.timestamp`; now unless given. */
  readonly now?: () => Date;
  readonly concurrency?: number;
}

/** A signature of one image, stored or found. */
export interface GpgSignature {
  readonly digest: Digest;
  /** The identity signed: `registry/repository:tag`. */
  readonly dockerReference: string;
  /** `signed`: a new signature was stored; `unchanged`: one by this key was there already. */
  readonly outcome: 'signed' | 'unchanged';
  /** Where the signature is: a signature-N URL or the registry's API extension. */
  readonly location: string;
}

export type GpgSignResult = { readonly image: string; readonly digest?: Digest } & (
  ({ readonly ok: true } & GpgSignature) | { readonly ok: false; readonly error: VouchError }
);

/**
 * The docker-reference `skopeo copy --sign-by` records for a destination:
 * the fully qualified repository and tag (`TagNameOnly` of the reference),
 * no digest.
 */
export function signedDockerReference(reference: ImageReference): string {
  const { digest: _digest, ...named } = reference;
  return formatReference(withDefaultTag(named));
}

/** Signs each image; an image's own failure is in its result, never thrown. */
export async function signGpgImages(
  requests: readonly GpgSignRequest[],
  options: GpgSignOptions,
): Promise<GpgSignResult[]> {
  const limit = createLimiter(options.concurrency ?? 4);
  return Promise.all(
    requests.map((request) =>
      limit(async () => {
        try {
          return await signGpgImage(request, options);
        } catch (error) {
          const failure = isVouchError(error)
            ? error
            : unavailable('NETWORK_ERROR', `${request.image}: ${messageOf(error)}`, {
                cause: error,
              });
          return { image: request.image, ok: false as const, error: failure };
        }
      }),
    ),
  );
}

async function signGpgImage(
  request: GpgSignRequest,
  options: GpgSignOptions,
): Promise<GpgSignResult> {
  const { signer } = options;
  const descriptor = await request.store.resolve(request.target);
  const digest = descriptor.digest;
  const dockerReference = signedDockerReference(request.reference);
  const mine = async (blob: Uint8Array) => {
    if (blob[0] === 0) return false; // another format's framing
    try {
      await verifyAtomicSignature(
        blob,
        signer.publicKeys,
        { digest },
        { acceptIdentity: (signed) => signed === dockerReference },
      );
      return true;
    } catch (error) {
      if (isVouchError(error)) return false;
      throw error;
    }
  };
  const existing = await readSimpleSignatures(
    request.store,
    request.reference,
    digest,
    options.stores,
  );
  for (const { blob, source } of existing.signatures) {
    if (await mine(blob)) {
      return {
        image: request.image,
        ok: true,
        digest,
        dockerReference,
        outcome: 'unchanged',
        location: source,
      };
    }
  }
  const now = (options.now ?? (() => new Date()))();
  const payload = buildAtomicSignaturePayload({
    dockerManifestDigest: digest,
    dockerReference,
    creator: options.creator,
    timestamp: Math.floor(now.getTime() / 1000),
  });
  const blob = await signer.sign(payload);
  // What is stored must verify as verifiers will check it (a gpg that signed with another key does not).
  await verifyAtomicSignature(
    blob,
    signer.publicKeys,
    { digest },
    { acceptIdentity: (signed) => signed === dockerReference },
  );
  const written = await writeSimpleSignature(
    request.store,
    request.reference,
    digest,
    blob,
    options.stores,
  );
  const location =
    written.kind === 'lookaside'
      ? written.url.href
      : `${written.repository}@${digest} (API extension)`;
  return {
    image: request.image,
    ok: true,
    digest,
    dockerReference,
    outcome: written.kind === 'extension' && written.existing ? 'unchanged' : 'signed',
    location,
  };
}
