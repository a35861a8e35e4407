/**
 * A cosign "classic" keyless signature or attestation (a `.sig` or `.att`
 * layer: the blob and its annotations, docs/formats.md "Cosign signatures") as the
 * Sigstore bundle v0.1 it is equivalent to, so @sigstore/verify can check it
 * (docs/formats.md "Sigstore keyless verification"; the same conversion as sigstore-go
 * examples/oci-image-verification/main.go `bundleFromOCIImage`):
 *
 * - the certificate: the PEM leaf of `dev.sigstore.cosign/certificate`. The
 *   `dev.sigstore.cosign/chain` annotation is not used: the intermediates and
 *   root must come from the trust root, never from the signature itself;
 * - one tlog entry from `dev.sigstore.cosign/bundle`: the SET as its
 *   inclusion promise, the body as its canonicalized body, kind and version
 *   from the body, log ID from hex;
 * - for a signature: a message signature over the layer blob (its SHA-256,
 *   and `dev.cosignproject.cosign/signature`), with the RFC 3161 timestamp
 *   of `dev.sigstore.cosign/rfc3161timestamp` when present;
 * - for an attestation: the DSSE envelope that is the layer blob. Its RFC
 *   3161 timestamp is not carried over: cosign timestamps the envelope
 *   bytes, while a bundle's timestamp covers the DSSE signature
 *   (pkg/cosign/verify.go VerifyRFC3161Timestamp), so it would never
 *   verify; the Rekor SET gives the signing time instead.
 *
 * Errors: VouchError `denied` with the code naming what is missing or
 * malformed: CERT_MISSING, CERT_INVALID, TLOG_MISSING, TLOG_BUNDLE_INVALID,
 * TIMESTAMP_INVALID, ENVELOPE_INVALID.
 */
import { createHash } from 'node:crypto';
import { type Bundle, bundleFromJSON } from '@sigstore/bundle';
import { denied, isVouchError, messageOf } from '../core/errors.ts';
import { decodePemBlocks } from '../keys/pem.ts';
import { decodeStdBase64, encodeStdBase64 } from '../core/base64.ts';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  RFC3161_TIMESTAMP_ANNOTATION,
  SIGNATURE_ANNOTATION,
} from './signature-manifest.ts';
import { parseEnvelope } from './dsse.ts';
import { parseRekorBundle, parseRekorEntry } from './rekor.ts';
import { BUNDLE_V01_MEDIA_TYPE } from './sigstore-bundle.ts';
import { isJsonObject, parseStrictJsonText } from '../core/strict-json.ts';

/** The codes of the VouchErrors thrown here. */
export type ClassicBundleProblemCode =
  | 'CERT_MISSING'
  | 'CERT_INVALID'
  | 'TLOG_MISSING'
  | 'TLOG_BUNDLE_INVALID'
  | 'TIMESTAMP_INVALID'
  | 'ENVELOPE_INVALID'
  | 'BUNDLE_INVALID';

/** A classic layer: its blob and annotations, as stored. */
export interface ClassicLayer {
  /** The layer blob: a simple-signing payload, or a DSSE envelope. */
  readonly blob: Uint8Array;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The v0.1 bundle of a classic `.sig` layer. Throws `denied` (see the module comment). */
export function bundleOfClassicSignature(layer: ClassicLayer): Bundle {
  const signature = layer.annotations[SIGNATURE_ANNOTATION] ?? '';
  const timestamp = layer.annotations[RFC3161_TIMESTAMP_ANNOTATION];
  return toBundle({
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      ...verificationMaterial(layer),
      timestampVerificationData: {
        rfc3161Timestamps: timestamp === undefined ? [] : [{ signedTimestamp: rfc3161(timestamp) }],
      },
    },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: createHash('sha256').update(layer.blob).digest('base64'),
      },
      signature,
    },
  });
}

/** The v0.1 bundle of a classic `.att` layer. Throws `denied` (see the module comment). */
export function bundleOfClassicAttestation(layer: ClassicLayer): Bundle {
  let envelope;
  try {
    envelope = parseEnvelope(layer.blob);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw denied('ENVELOPE_INVALID', messageOf(error), { cause: error });
  }
  const [only, ...more] = envelope.signatures;
  if (only === undefined || more.length > 0) {
    throw denied(
      'ENVELOPE_INVALID',
      `a keyless attestation's envelope must carry exactly one signature, found ${envelope.signatures.length}`,
    );
  }
  return toBundle({
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      ...verificationMaterial(layer),
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: encodeStdBase64(envelope.payload),
      payloadType: envelope.payloadType,
      signatures: [{ sig: encodeStdBase64(only.sig), keyid: only.keyid }],
    },
  });
}

function verificationMaterial(layer: ClassicLayer) {
  const pem = layer.annotations[CERTIFICATE_ANNOTATION];
  if (pem === undefined || pem.trim() === '') {
    throw denied(
      'CERT_MISSING',
      `the layer has no ${CERTIFICATE_ANNOTATION} annotation: it is not a keyless signature`,
    );
  }
  let certificate: Uint8Array;
  try {
    const blocks = decodePemBlocks(pem);
    const [first] = blocks;
    if (blocks.length !== 1 || first?.type !== 'CERTIFICATE') {
      throw new Error(`expected one CERTIFICATE PEM block, found ${blocks.length} block(s)`);
    }
    certificate = first.bytes;
  } catch (error) {
    throw denied(
      'CERT_INVALID',
      `the ${CERTIFICATE_ANNOTATION} annotation is not a PEM certificate: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const annotation = layer.annotations[BUNDLE_ANNOTATION];
  if (annotation === undefined) {
    throw denied(
      'TLOG_MISSING',
      `the layer has no ${BUNDLE_ANNOTATION} annotation: a keyless signature counts only when logged in a transparency log`,
    );
  }
  const rekor = parseRekorBundle(annotation); // denied TLOG_BUNDLE_INVALID
  const body = decodeStdBase64(rekor.payload.body) as Uint8Array; // checked by parseRekorBundle
  const entry = parseRekorEntry(body);
  return {
    x509CertificateChain: { certificates: [{ rawBytes: encodeStdBase64(certificate) }] },
    tlogEntries: [
      {
        logIndex: String(rekor.payload.logIndex),
        logId: { keyId: Buffer.from(rekor.payload.logID, 'hex').toString('base64') },
        kindVersion: { kind: entry.kind, version: entry.apiVersion },
        integratedTime: String(rekor.payload.integratedTime),
        inclusionPromise: {
          signedEntryTimestamp: encodeStdBase64(rekor.signedEntryTimestamp),
        },
        canonicalizedBody: rekor.payload.body,
      },
    ],
  };
}

/** The DER timestamp of cosign's `{"SignedRFC3161Timestamp":"<base64>"}` annotation, base64. */
function rfc3161(annotation: string): string {
  const fail = (problem: string) =>
    denied('TIMESTAMP_INVALID', `the ${RFC3161_TIMESTAMP_ANNOTATION} annotation ${problem}`);
  let document;
  try {
    document = parseStrictJsonText(annotation);
  } catch {
    throw fail('is not JSON');
  }
  const value = isJsonObject(document) ? document.SignedRFC3161Timestamp : undefined;
  if (typeof value !== 'string' || decodeStdBase64(value) === undefined) {
    throw fail('has no base64 SignedRFC3161Timestamp');
  }
  return value;
}

function toBundle(json: unknown): Bundle {
  try {
    return bundleFromJSON(json);
  } catch (error) {
    throw denied(
      'BUNDLE_INVALID',
      `the layer does not make a valid Sigstore bundle: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
}
