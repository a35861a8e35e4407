/**
 * The annotations cosign puts on a keyless `.sig` or `.att` layer beside
 * the signature (sigstore/cosign pkg/oci/static/options.go and
 * pkg/cosign/bundle/rekor.go, tsa.go): the reverse of what
 * classic-bundle.ts reads.
 *
 * - `dev.sigstore.cosign/certificate`: the leaf, PEM;
 * - `dev.sigstore.cosign/chain`: Fulcio's chain after the leaf
 *   (intermediates, then the root), PEM blocks one after the other;
 * - `dev.sigstore.cosign/bundle`: the Rekor entry as cosign's `RekorBundle`
 *   (`{"SignedEntryTimestamp":…,"Payload":{"body","integratedTime",
 *   "logIndex","logID"}}`, in that field order, as Go marshals the struct);
 * - `dev.sigstore.cosign/rfc3161timestamp`: `{"SignedRFC3161Timestamp":…}`.
 */
import { encodeStdBase64 } from '../core/base64.ts';
import { encodePem } from '../keys/pem.ts';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  RFC3161_TIMESTAMP_ANNOTATION,
} from './signature-manifest.ts';

/** A Rekor v1 entry as a bundle carries it (what the SET signs). */
export interface ClassicLogEntry {
  /** The SET: the log's signature over the entry. */
  readonly signedEntryTimestamp: Uint8Array;
  /** The canonicalized entry body (JSON). */
  readonly body: Uint8Array;
  readonly integratedTime: number;
  readonly logIndex: number;
  /** The log ID, SHA-256 of the log's public key. */
  readonly logId: Uint8Array;
}

export interface NewClassicAnnotations {
  /** The leaf certificate, DER. */
  readonly certificate: Uint8Array;
  /** The CA chain after it, DER, intermediates first. */
  readonly chain: readonly Uint8Array[];
  /** The transparency log entry; none when only timestamped. */
  readonly logEntry?: ClassicLogEntry;
  /** An RFC 3161 timestamp token (DER). */
  readonly timestamp?: Uint8Array;
}

/** The keyless annotations of a layer, without the signature's own. */
export function classicAnnotations(input: NewClassicAnnotations): Record<string, string> {
  const annotations: Record<string, string> = {
    [CERTIFICATE_ANNOTATION]: encodePem('CERTIFICATE', input.certificate),
    [CHAIN_ANNOTATION]: input.chain.map((der) => encodePem('CERTIFICATE', der)).join(''),
  };
  const entry = input.logEntry;
  if (entry !== undefined) {
    annotations[BUNDLE_ANNOTATION] = JSON.stringify({
      SignedEntryTimestamp: encodeStdBase64(entry.signedEntryTimestamp),
      Payload: {
        body: encodeStdBase64(entry.body),
        integratedTime: entry.integratedTime,
        logIndex: entry.logIndex,
        logID: Buffer.from(entry.logId).toString('hex'),
      },
    });
  }
  if (input.timestamp !== undefined) {
    annotations[RFC3161_TIMESTAMP_ANNOTATION] = JSON.stringify({
      SignedRFC3161Timestamp: encodeStdBase64(input.timestamp),
    });
  }
  return annotations;
}
