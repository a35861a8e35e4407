/**
 * The files cosign 2 wrote for a signed blob, before `--bundle` in the
 * Sigstore bundle format was the only output (sigstore/cosign
 * cmd/cosign/cli/sign/sign_blob.go, cmd/cosign/cli/verify/verify_blob.go):
 *
 * - `--output-signature FILE`: the raw signature, standard base64, no line
 *   break (`--b64`, the default). `verify-blob --signature` also takes the
 *   raw bytes (it base64-encodes what is not base64, `isb64`); Go's decoder
 *   skips `\r` and `\n`, so a file with a trailing newline reads the same.
 * - `--output-certificate FILE`: the signing certificate as PEM, itself
 *   base64-encoded with `--b64` (the default): cosign writes
 *   `base64(PEM)`, and `verify-blob --certificate` reads either form.
 * - `--certificate-chain FILE`: PEM certificates, the issuer of the leaf
 *   first (cosign 2's `--certificate-chain` of verify-blob).
 *
 * Pure. Errors: VouchError `denied` BLOB_SIGNATURE_INVALID or CERT_INVALID:
 * these files come from the signer, and one that cannot be read is evidence
 * that does not verify.
 */
import { X509Certificate } from 'node:crypto';
import { decodeStdBase64, encodeStdBase64 } from '../core/base64.ts';
import { denied, isVouchError, messageOf } from '../core/errors.ts';
import { decodePemBlocks, encodePem } from '../keys/pem.ts';

/** No signature scheme vouch verifies makes one near this long (RSA-4096: 512 bytes). */
const MAX_SIGNATURE_BYTES = 1024;
const CERTIFICATE = 'CERTIFICATE';

/** A `--signature` file: base64 (what cosign writes) or the raw signature bytes. */
export function parseSignatureFile(bytes: Uint8Array, where = 'the signature file'): Uint8Array {
  const text = Buffer.from(bytes).toString('latin1');
  const decoded = decodeStdBase64(text.replace(/[\r\n]+$/, ''));
  const signature = decoded ?? bytes;
  if (signature.byteLength === 0 || signature.byteLength > MAX_SIGNATURE_BYTES) {
    throw denied(
      'BLOB_SIGNATURE_INVALID',
      `${where} holds ${signature.byteLength === 0 ? 'no signature' : `${signature.byteLength} bytes, more than any signature`}`,
    );
  }
  return new Uint8Array(signature);
}

/** What `--output-signature` writes: the signature in standard base64, no line break. */
export function encodeSignatureFile(signature: Uint8Array): Uint8Array {
  return new TextEncoder().encode(encodeStdBase64(signature));
}

/**
 * A `--certificate` file: exactly one PEM CERTIFICATE block, as PEM or as
 * base64 of the PEM (cosign's `--b64` output). The leaf, DER.
 */
export function parseCertificateFile(
  bytes: Uint8Array,
  where = 'the certificate file',
): Uint8Array {
  const certificates = certificatesOf(bytes, where);
  const [leaf, ...more] = certificates;
  if (leaf === undefined || more.length > 0) {
    throw denied(
      'CERT_INVALID',
      `${where} holds ${certificates.length} certificates; it must hold the signing certificate alone (its issuers go in --certificate-chain)`,
    );
  }
  return leaf;
}

/** What `--output-certificate` writes, as cosign does by default: base64 of the PEM. */
export function encodeCertificateFile(certificate: Uint8Array): Uint8Array {
  return new TextEncoder().encode(
    encodeStdBase64(new TextEncoder().encode(encodePem(CERTIFICATE, certificate))),
  );
}

/** A `--certificate-chain` file: one or more PEM certificates (DER, in file order). */
export function parseCertificateChainFile(
  bytes: Uint8Array,
  where = 'the certificate chain file',
): Uint8Array[] {
  const certificates = certificatesOf(bytes, where);
  if (certificates.length === 0) {
    throw denied('CERT_INVALID', `${where} holds no PEM certificate`);
  }
  return certificates;
}

/** Every certificate of a PEM file (or base64 of one); each must be DER X.509. */
function certificatesOf(bytes: Uint8Array, where: string): Uint8Array[] {
  let pem: Uint8Array = bytes;
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN')) {
    const decoded = decodeStdBase64(text.trim());
    if (decoded === undefined) {
      throw denied('CERT_INVALID', `${where} is neither PEM nor base64 of PEM`);
    }
    pem = decoded;
  }
  let blocks;
  try {
    blocks = decodePemBlocks(pem, { source: where });
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw denied('CERT_INVALID', messageOf(error), { cause: error });
  }
  return blocks.map((block, index) => {
    if (block.type !== CERTIFICATE) {
      throw denied(
        'CERT_INVALID',
        `PEM block ${index + 1} of ${where} is "${block.type}", not "${CERTIFICATE}"`,
      );
    }
    try {
      new X509Certificate(block.bytes);
    } catch (error) {
      throw denied(
        'CERT_INVALID',
        `certificate ${index + 1} of ${where} is not DER X.509: ${messageOf(error)}`,
      );
    }
    return block.bytes;
  });
}
