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
import type { KeylessSigning, LogEntryRef } from './keyless-signing.ts';

export interface SignedBlob {
  /** The bundle, as cosign 3 writes it to `--bundle`. */
  readonly bundle: Uint8Array;
  /** The raw signature. */
  readonly signature: Uint8Array;
  /** The recorded digest and its algorithm. */
  readonly digestAlgorithm: MessageDigestAlgorithm;
  readonly digest: Uint8Array;
  /** Keylessly: the signing certificate (DER). */
  readonly certificate?: Uint8Array;
  /** Keylessly: where the signature was logged. */
  readonly logEntry?: LogEntryRef;
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

/**
 * Signs `blob` keylessly as cosign 3 `sign-blob` does: a v0.3 bundle with a
 * `messageSignature` (SHA-256 of the blob, the ephemeral key's signature),
 * the run's certificate and its `hashedrekord` entry (and timestamp), made
 * and verified by `keyless.signMessageBundle`.
 */
export async function signBlobKeylessly(
  blob: Uint8Array,
  keyless: KeylessSigning,
): Promise<SignedBlob> {
  const signed = await keyless.signMessageBundle(blob);
  const { bundleFromJSON } = await import('@sigstore/bundle');
  const parsed = bundleFromJSON(JSON.parse(new TextDecoder().decode(signed.bundle)));
  if (parsed.content.$case !== 'messageSignature') {
    throw new Error('unreachable: a message-signature bundle holds a message signature');
  }
  return {
    bundle: signed.bundle,
    signature: new Uint8Array(parsed.content.messageSignature.signature),
    digestAlgorithm: 'SHA2_256',
    digest: new Uint8Array(createHash('sha256').update(blob).digest()),
    certificate: keyless.certificate.certificate,
    ...(signed.logEntry === undefined ? {} : { logEntry: signed.logEntry }),
  };
}
