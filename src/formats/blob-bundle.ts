/**
 * cosign 2's blob signature files (`blob-signature-files.ts`) as the
 * Sigstore bundle they amount to, so one verifier checks both forms: v0.3,
 * a `messageSignature` of the artifact's SHA-256 digest and the signature,
 * and as verification material the signing certificate (`--certificate`)
 * or a public key with no hint (`--key`, which the verifier is given).
 * Nothing was logged: the files carry no log entry.
 *
 * Pure. Errors: `denied` BUNDLE_INVALID if @sigstore/bundle refuses it.
 */
import { type Bundle, bundleFromJSON } from '@sigstore/bundle';
import { encodeStdBase64 } from '../core/base64.ts';
import { denied, messageOf } from '../core/errors.ts';
import { BUNDLE_V03_MEDIA_TYPE } from './sigstore-bundle.ts';

export interface BlobSignatureFiles {
  readonly signature: Uint8Array;
  /** The signing certificate (DER); undefined for a key signature. */
  readonly certificate?: Uint8Array | undefined;
  /** The artifact's SHA-256 digest. */
  readonly sha256: Uint8Array;
}

export function bundleOfSignatureFiles(files: BlobSignatureFiles): Bundle {
  try {
    return bundleFromJSON({
      mediaType: BUNDLE_V03_MEDIA_TYPE,
      verificationMaterial:
        files.certificate === undefined
          ? { publicKey: { hint: '' } }
          : { certificate: { rawBytes: encodeStdBase64(files.certificate) } },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: encodeStdBase64(files.sha256) },
        signature: encodeStdBase64(files.signature),
      },
    });
  } catch (error) {
    throw denied('BUNDLE_INVALID', `the signature files make no bundle: ${messageOf(error)}`);
  }
}
