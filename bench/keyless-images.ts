/**
 * Keyless signatures for `bench/sign-verify.ts`: an ephemeral Sigstore from
 * test/helpers/keyless.ts (@sigstore/mock's CA with a CT log, and a
 * transparency log), one classic keyless `.sig` manifest per image, pushed
 * as cosign writes them, and the `CertificateTrust` a process verifying
 * them builds once.
 *
 * Every image gets a certificate of its own (a fresh key pair, SCT
 * included), its own payload signature and its own log entry, as one
 * `cosign sign` per image would make: within one pass, verification cannot
 * profit from seeing a certificate twice (a later pass with the same
 * `CertificateTrust` does: sigstore/verified-leaf-cache.ts). Minting costs about 17 ms per image on the
 * bench machine (most of it issuing the certificate); it is setup, untimed.
 */
import { createLimiter } from '../src/core/concurrency.ts';
import {
  appendSignatureLayer,
  signatureLayer,
  signatureTag,
} from '../src/formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../src/formats/simple-signing.ts';
import type { Digest } from '../src/oci/digest.ts';
import type { RegistryRepository } from '../src/registry/distribution.ts';
import { exactly } from '../src/sigstore/certificate-identity.ts';
import { keylessTrustOf } from '../src/sigstore/keyless-trust.ts';
import { parseTrustedRoot } from '../src/sigstore/trusted-root.ts';
import { certificateTrust } from '../src/verify/certificate-trust.ts';
import type { CertificateTrust } from '../src/verify/evaluate.ts';
import {
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  type KeylessSigstore,
  keylessTrustedRootJson,
  mintKeylessSignature,
} from '../test/helpers/keyless.ts';
import { putBytes } from '../test/helpers/images.ts';

const SIGNER = { subject: CHAINGUARD_IDENTITY, issuer: GITHUB_ISSUER };
const encoder = new TextEncoder();

export interface KeylessSetup {
  readonly sigstore: KeylessSigstore;
  /** The trusted_root.json naming the ephemeral Sigstore. */
  readonly trustedRootJson: string;
}

export async function keylessSetup(): Promise<KeylessSetup> {
  const sigstore = await createKeylessSigstore();
  return { sigstore, trustedRootJson: keylessTrustedRootJson(sigstore) };
}

/**
 * What a process verifying keylessly builds once: the trusted root parsed,
 * its trust material decoded, bound to the signer's identity and issuer
 * (as `vouch verify --trusted-root FILE --certificate-identity ...
 * --certificate-oidc-issuer ...` does, src/cli/keyless-options.ts).
 */
export function benchCertificateTrust(setup: KeylessSetup): CertificateTrust {
  const root = parseTrustedRoot(encoder.encode(setup.trustedRootJson), 'the bench trusted root');
  return certificateTrust(
    { subject: exactly(SIGNER.subject), issuer: exactly(SIGNER.issuer) },
    keylessTrustOf(root),
  );
}

/**
 * Signs each of `digests` in `repository` keylessly, `concurrency` pushes
 * at a time: a `.sig` manifest of one layer (the simple-signing payload,
 * its signature, and the certificate, chain and Rekor bundle annotations)
 * at `sha256-<hex>.sig`, as cosign stores a keyless signature.
 */
export async function pushKeylessSignatures(
  setup: KeylessSetup,
  repository: RegistryRepository,
  dockerReference: string,
  digests: readonly Digest[],
  concurrency: number,
): Promise<void> {
  const limit = createLimiter(concurrency);
  await Promise.all(
    digests.map(async (digest) => {
      // Minting is synchronous CPU work; only the pushes overlap.
      const payload = buildSimpleSigningPayload({ dockerReference, dockerManifestDigest: digest });
      const minted = await mintKeylessSignature(setup.sigstore, SIGNER, payload);
      const layer = signatureLayer({
        payload,
        signatureBase64: minted.signatureBase64,
        annotations: minted.annotations,
      });
      const { image } = appendSignatureLayer(undefined, layer.descriptor);
      await limit(async () => {
        await putBytes(repository, layer.descriptor.mediaType, layer.blob);
        await putBytes(repository, image.configDescriptor.mediaType, image.config);
        await repository.putManifest(image.manifest, image.mediaType, signatureTag(digest));
      });
    }),
  );
}
