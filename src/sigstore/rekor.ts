/**
 * Checking the Rekor bundle of a cosign signature verified with a key
 * (docs/formats.md "Cosign signatures" and "Rekor entries and Signed Entry
 * Timestamps"; cosign pkg/cosign/verify.go `VerifyBundle`): the bundle is
 * proof that this very signature was logged, and when.
 *
 * In this order, each failure with its own code:
 *
 * 1. the annotation parses strictly (TLOG_BUNDLE_INVALID; `formats/rekor.ts`);
 * 2. a trusted log has the bundle's `logID` (TLOG_LOG_UNKNOWN), and its key
 *    was valid at the bundle's `integratedTime` (TLOG_LOG_INACTIVE), as
 *    sigstore-go's `tlog.VerifySET` selects it;
 * 3. the Signed Entry Timestamp verifies with that key over the RFC 8785
 *    canonical JSON of `{body, integratedTime, logID, logIndex}`
 *    (TLOG_SET_INVALID) — checked before anything in the body is believed;
 * 4. the body is a `hashedrekord` 0.0.1 entry over SHA-256
 *    (TLOG_ENTRY_UNSUPPORTED), which containers/image also insists on;
 * 5. the entry binds exactly this signature: its signature bytes are the
 *    layer's signature (CVE-2022-23649: a genuine bundle of another
 *    signature), its public key is the key that verified the signature, and
 *    its hash is the SHA-256 of this payload (TLOG_BINDING_MISMATCH) — the
 *    comparisons cosign's `VerifyBundle` and containers/image's
 *    `VerifyRekorSET` make, and whose omission was CVE-2026-22703.
 *
 * Pure and synchronous: the caller supplies the logs it trusts.
 */
import { createHash, type KeyObject, timingSafeEqual } from 'node:crypto';
import { canonicalJsonBytes } from '../core/canonical-json.ts';
import { isVouchError, messageOf } from '../core/errors.ts';
import { decodeStdBase64 } from '../core/base64.ts';
import {
  type HashedRekordEntry,
  parseRekorBundle,
  parseRekorEntry,
  type RekorBundle,
  type RekorBundlePayload,
} from '../formats/rekor.ts';
import { decodePemBlocks, type PemBlock } from '../keys/pem.ts';
import { verifySignature } from '../keys/signer.ts';
import { logsWithId, type TransparencyLog, validAt } from './trusted-root.ts';

export type TlogProblemCode =
  | 'TLOG_BUNDLE_INVALID'
  | 'TLOG_LOG_UNKNOWN'
  | 'TLOG_LOG_INACTIVE'
  | 'TLOG_SET_INVALID'
  | 'TLOG_ENTRY_UNSUPPORTED'
  | 'TLOG_BINDING_MISMATCH';

export interface TlogProblem {
  readonly code: TlogProblemCode;
  /** What was expected, what was found. */
  readonly message: string;
}

/** A log entry whose SET verified and which binds the signature. */
export interface VerifiedLogEntry {
  /** The trusted log that signed the SET. */
  readonly log: TransparencyLog;
  readonly logIndex: number;
  /** Seconds since the Unix epoch: when the log says it integrated the entry. */
  readonly integratedTime: number;
}

export interface SignedPayload {
  /** The exact payload bytes that were signed (the `.sig` layer blob). */
  readonly payload: Uint8Array;
  /** The signature bytes (the decoded `dev.cosignproject.cosign/signature` annotation). */
  readonly signature: Uint8Array;
  /** The key that verified `signature` over `payload`. */
  readonly publicKey: KeyObject;
}

/**
 * Checks the `dev.sigstore.cosign/bundle` annotation text `annotation` of a
 * signature already verified with `signed.publicKey`, against `logs`.
 */
export function checkRekorBundle(
  annotation: string,
  signed: SignedPayload,
  logs: readonly TransparencyLog[],
): VerifiedLogEntry | TlogProblem {
  let bundle: RekorBundle;
  try {
    bundle = parseRekorBundle(annotation);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return { code: 'TLOG_BUNDLE_INVALID', message: messageOf(error) };
  }
  const verified = verifySignedEntryTimestamp(bundle, logs);
  if ('code' in verified) return verified;

  let entry;
  try {
    // parseRekorBundle checked that the body is standard base64.
    entry = parseRekorEntry(decodeStdBase64(bundle.payload.body) as Uint8Array);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return { code: 'TLOG_BUNDLE_INVALID', message: messageOf(error) };
  }
  if ('unsupported' in entry) {
    return {
      code: 'TLOG_ENTRY_UNSUPPORTED',
      message: `the log entry is ${quote(entry.kind)} ${quote(entry.apiVersion)}; a signature verified with a key must be logged as "hashedrekord" "0.0.1"`,
    };
  }
  if (entry.hashAlgorithm !== 'sha256') {
    return {
      code: 'TLOG_ENTRY_UNSUPPORTED',
      message: `the log entry hashes the payload with ${quote(entry.hashAlgorithm)}; only "sha256" is accepted, as by cosign and containers/image`,
    };
  }
  const mismatch = bindingProblem(entry, signed);
  if (mismatch !== undefined) return { code: 'TLOG_BINDING_MISMATCH', message: mismatch };
  return verified;
}

/**
 * Verifies the SET of `bundle` with the log its `logID` names among `logs`,
 * whose key must have been valid at `integratedTime`.
 */
export function verifySignedEntryTimestamp(
  bundle: RekorBundle,
  logs: readonly TransparencyLog[],
): VerifiedLogEntry | TlogProblem {
  const { logID, integratedTime, logIndex } = bundle.payload;
  const candidates = logsWithId(logs, logID);
  if (candidates.length === 0) {
    return {
      code: 'TLOG_LOG_UNKNOWN',
      message:
        logs.length === 0
          ? 'the signature carries a Rekor bundle, but no transparency log is trusted to check it'
          : `the bundle was signed by log ${quote(logID)}, which is not among the ${logs.length} trusted transparency log${logs.length === 1 ? '' : 's'}`,
    };
  }
  const active = candidates.filter((log) => validAt(log, integratedTime));
  if (active.length === 0) {
    return {
      code: 'TLOG_LOG_INACTIVE',
      message: `the key of log ${describeLog(candidates[0] as TransparencyLog)} was not valid at the bundle's integrated time ${isoTime(integratedTime)}`,
    };
  }
  const signed = setPayloadBytes(bundle.payload);
  const log = active.find((candidate) =>
    verifySignature(
      candidate.publicKey,
      signed,
      bundle.signedEntryTimestamp,
      candidate.hash === null ? undefined : { hash: candidate.hash },
    ),
  );
  if (log === undefined) {
    return {
      code: 'TLOG_SET_INVALID',
      message: `the signed entry timestamp does not verify with the key of log ${describeLog(active[0] as TransparencyLog)} (the bundle was altered, or signed by another key)`,
    };
  }
  return { log, logIndex, integratedTime };
}

/**
 * The bytes a SET signs: the RFC 8785 canonical JSON of the bundle payload
 * (Rekor `pkg/api/entries.go` signEntry; cosign `VerifySET`).
 */
export function setPayloadBytes(payload: RekorBundlePayload): Uint8Array {
  return canonicalJsonBytes({
    body: payload.body,
    integratedTime: payload.integratedTime,
    logID: payload.logID,
    logIndex: payload.logIndex,
  });
}

function bindingProblem(entry: HashedRekordEntry, signed: SignedPayload): string | undefined {
  if (!bytesEqual(entry.signature, signed.signature)) {
    return 'the log entry is for another signature than this layer carries (a bundle copied from another signature)';
  }
  const expected = signed.publicKey.export({ format: 'der', type: 'spki' });
  let blocks: PemBlock[];
  try {
    blocks = decodePemBlocks(entry.publicKey);
  } catch {
    blocks = [];
  }
  const text = Buffer.from(entry.publicKey).toString('latin1').trim();
  const block = blocks.length === 1 && text.startsWith('-----BEGIN ') ? blocks[0] : undefined;
  if (block === undefined || !text.endsWith(`-----END ${block.type}-----`)) {
    return 'the public key in the log entry is not a single PEM block';
  }
  if (block.type !== 'PUBLIC KEY') {
    return `the log entry binds a ${quote(block.type)}, not the public key that verified the signature`;
  }
  if (!bytesEqual(block.bytes, expected)) {
    return 'the log entry binds the signature to another public key than the one that verified it';
  }
  const hash = createHash('sha256').update(signed.payload).digest('hex');
  if (entry.hashValue.toLowerCase() !== hash) {
    return `the log entry is for a payload with SHA-256 ${truncate(entry.hashValue)}, but this payload's is ${hash}`;
  }
  return undefined;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

function describeLog(log: TransparencyLog): string {
  return log.baseUrl === '' ? log.logId : `${log.baseUrl} (${log.logId})`;
}

function isoTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds}` : date.toISOString();
}

function quote(text: string): string {
  return truncate(JSON.stringify(text));
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
