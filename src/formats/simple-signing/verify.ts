/**
 * A GPG simple-signing signature of an image, verified as containers/image's
 * `verifyAndExtractSignature` does
 * (https://github.com/containers/image/blob/main/signature/simple.go): the
 * OpenPGP signature first (openpgp.ts; every key of the keyring is
 * accepted, as policy.json `signedBy` accepts every key it names), then the
 * payload strictly (payload.ts), then the manifest digest it signs, then
 * its docker-reference through the caller's identity rule. Pure: the caller
 * fetched the signature and the manifest.
 */
import { denied } from '../../core/errors.ts';
import { type Digest, digestAlgorithm, digestOf } from '../../oci/digest.ts';
import {
  type GpgKeyring,
  type VerifiedMessage,
  type VerifyMessageOptions,
  verifySignedMessage,
} from './openpgp.ts';
import { type AtomicSignaturePayload, parseAtomicSignaturePayload } from './payload.ts';

export interface AtomicSignatureImage {
  /** The image's manifest digest. */
  readonly digest: Digest;
  /**
   * The manifest bytes, when at hand: the payload's digest is then checked
   * by digesting them with its algorithm, as containers/image's
   * `manifest.MatchesDigest` does, so a sha512 signature of a sha256-addressed image holds.
   */
  readonly manifest?: Uint8Array;
}

export interface AtomicSignatureRules extends VerifyMessageOptions {
  /**
   * The identity rule (policy.json `signedIdentity`, or the reference that
   * was asked for): true when the signed docker-reference is accepted. It
   * sees the reference only after the signature and the digest held.
   */
  readonly acceptIdentity: (dockerReference: string) => boolean;
}

export interface VerifiedAtomicSignature extends AtomicSignaturePayload {
  /** The primary key's fingerprint, uppercase hex. */
  readonly fingerprint: string;
  readonly signingKeyFingerprint: string;
  readonly created: Date;
}

/**
 * Verifies `blob` for `image`. Throws the VouchErrors of
 * `verifySignedMessage` and `parseAtomicSignaturePayload`, and `denied`
 * SIMPLE_SIGNING_DIGEST_MISMATCH or SIMPLE_SIGNING_IDENTITY_MISMATCH.
 */
export async function verifyAtomicSignature(
  blob: Uint8Array,
  keyring: GpgKeyring,
  image: AtomicSignatureImage,
  rules: AtomicSignatureRules,
): Promise<VerifiedAtomicSignature> {
  const message: VerifiedMessage = await verifySignedMessage(blob, keyring, rules);
  const payload = parseAtomicSignaturePayload(message.payload);
  const signed = payload.dockerManifestDigest;
  const matches =
    image.manifest === undefined
      ? signed === image.digest
      : digestOf(image.manifest, digestAlgorithm(signed)) === signed;
  if (!matches) {
    throw denied(
      'SIMPLE_SIGNING_DIGEST_MISMATCH',
      `the signature is for manifest digest ${signed}, not the image's ${image.digest}`,
    );
  }
  if (!rules.acceptIdentity(payload.dockerReference)) {
    throw denied(
      'SIMPLE_SIGNING_IDENTITY_MISMATCH',
      `the signature's identity ${JSON.stringify(payload.dockerReference)} is not accepted`,
    );
  }
  return {
    ...payload,
    fingerprint: message.fingerprint,
    signingKeyFingerprint: message.signingKeyFingerprint,
    created: message.created,
  };
}
