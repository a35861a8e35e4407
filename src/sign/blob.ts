/**
 * Signing a blob with a key (`vouch sign-blob --key`), as cosign 3
 * `sign-blob --key --bundle` does (sigstore/cosign
 * cmd/cosign/cli/sign/sign_blob.go → pkg/cosign/bundle/sign.go `SignData`
 * → sigstore-go pkg/sign/signer.go `Bundle`, with cosign's key pair
 * internal/key/svkeypair.go): the signature over the blob's bytes with the
 * hash the key's type signs with (`signature.GetDefaultAlgorithmDetails`:
 * SHA-256 on P-256 and RSA, SHA-384 on P-384, SHA-512 on P-521, pure
 * Ed25519), in a v0.3 bundle whose `messageSignature` records the blob's
 * digest with that hash and whose verification material is the key's hint.
 *
 * Nothing is logged: cosign uploads to Rekor by default (`--tlog-upload`,
 * after a confirmation prompt) and would then sign with Ed25519ph; vouch
 * signs offline, so the bundle has no `tlogEntries`, and Ed25519 is pure, as
 * cosign signs when it does not log. The digest of an Ed25519 signature is
 * recorded as SHA-512 (the hash sigstore's algorithm registry pairs with
 * Ed25519): it only names the blob, the signature covers its bytes.
 *
 * Also the signature alone, for cosign 2's `--output-signature`.
 */
import { createHash } from 'node:crypto';
import {
  buildMessageSignatureBundle,
  type MessageDigestAlgorithm,
  publicKeyHint,
} from '../formats/sigstore-bundle.ts';
import { defaultHash, keyAlgorithm, type SignatureHash } from '../keys/algorithms.ts';
import type { Signer } from '../keys/signer.ts';

export interface SignedBlob {
  /** The bundle, as cosign 3 writes it to `--bundle`. */
  readonly bundle: Uint8Array;
  /** The raw signature. */
  readonly signature: Uint8Array;
  /** The recorded digest and its algorithm. */
  readonly digestAlgorithm: MessageDigestAlgorithm;
  readonly digest: Uint8Array;
}

const ALGORITHMS: Readonly<Record<SignatureHash, MessageDigestAlgorithm>> = {
  sha256: 'SHA2_256',
  sha384: 'SHA2_384',
  sha512: 'SHA2_512',
};

/**
 * Signs `blob` with `signer`, which must sign with its key type's default
 * hash (`sign/image-signer.ts` `attestationSigner`).
 */
export async function signBlob(blob: Uint8Array, signer: Signer): Promise<SignedBlob> {
  const hash = defaultHash(keyAlgorithm(signer.publicKey)) ?? 'sha512';
  const digest = new Uint8Array(createHash(hash).update(blob).digest());
  const signature = await signer.sign(blob);
  const spki = new Uint8Array(signer.publicKey.export({ format: 'der', type: 'spki' }));
  return {
    bundle: buildMessageSignatureBundle({
      digestAlgorithm: ALGORITHMS[hash],
      digest,
      signature,
      publicKeyHint: publicKeyHint(spki),
    }),
    signature,
    digestAlgorithm: ALGORITHMS[hash],
    digest,
  };
}
