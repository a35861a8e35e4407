/**
 * The checks of a Sigstore bundle's transparency log entries that
 * @sigstore/verify lacks, shared by keyless verification (`keyless.ts`)
 * and verification with a key (`key-bundle.ts`):
 *
 * - `logProblem`: an entry with a SET names a log of the trust root valid at
 *   its integrated time (TLOG_LOG_UNKNOWN, TLOG_LOG_INACTIVE), worded better
 *   than the Verifier's error;
 * - `bindingProblem`: the entry's body records this very signer, the
 *   certificate or the public key (CERT_BINDING_MISMATCH, KEY_BINDING_MISMATCH):
 *   @sigstore/verify compares only signature and digest, so a genuine entry of
 *   the same signature bytes logged with another verifier would pass — the
 *   class of bypass cosign fixed as CVE-2022-36056 and checks in
 *   `pkg/cosign/verify.go comparePublicKey`, and sigstore-go in
 *   `pkg/verify/tlog.go` ("transparency log certificate does not match");
 *   and for a `dsse` 0.0.1 entry of a stored envelope, that `envelopeHash` is
 *   that envelope's (TLOG_BINDING_MISMATCH).
 *
 * Pure and synchronous.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { SignedEntity } from '@sigstore/verify';
import { messageOf } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { decodePemBlocks } from '../keys/pem.ts';
import { logsWithId, type TransparencyLog, validAt } from './trusted-root.ts';

/** A tlog entry as @sigstore/bundle reads it (log ID and kind are required there). */
export type TransparencyLogEntry = SignedEntity['tlogEntries'][number];

type EntryProblemCode =
  | 'TLOG_LOG_UNKNOWN'
  | 'TLOG_LOG_INACTIVE'
  | 'TLOG_BINDING_MISMATCH'
  | 'TLOG_ENTRY_UNSUPPORTED'
  | 'CERT_BINDING_MISMATCH'
  | 'KEY_BINDING_MISMATCH';

/** A failed check: a stable code and what was expected and found. */
export interface EntryProblem<C extends EntryProblemCode = EntryProblemCode> {
  readonly ok: false;
  readonly code: C;
  readonly message: string;
}

export interface CertificateSigner {
  readonly kind: 'certificate';
  /** The leaf, DER. */
  readonly der: Uint8Array;
}
export interface KeySigner {
  readonly kind: 'public-key';
  /** SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
}
/** Who signed: the leaf certificate, or a public key. */
export type TlogSigner = CertificateSigner | KeySigner;

/** Where a transparency log recorded the signature. */
export interface LogEntry {
  /** Lowercase hex log ID. */
  readonly logId: string;
  /** The log's URL, when the trust root names one. */
  readonly logUrl?: string;
  readonly logIndex: number;
  /** Seconds since the Unix epoch; 0 for Rekor v2 entries, which carry no time. */
  readonly integratedTime: number;
}

export function hexLogId(entry: TransparencyLogEntry): string {
  return Buffer.from(entry.logId.keyId).toString('hex');
}

/** For an entry with a SET: TLOG_LOG_UNKNOWN / TLOG_LOG_INACTIVE, worded better than the Verifier's. */
export function logProblem(
  entry: TransparencyLogEntry,
  tlogs: readonly TransparencyLog[],
): EntryProblem<'TLOG_LOG_UNKNOWN' | 'TLOG_LOG_INACTIVE'> | undefined {
  // Rekor v2 entries carry no SET: @sigstore/verify matches their checkpoint to a log.
  if (entry.inclusionPromise === undefined) return undefined;
  const logId = hexLogId(entry);
  const candidates = logsWithId(tlogs, logId);
  if (candidates.length === 0) {
    return {
      ok: false,
      code: 'TLOG_LOG_UNKNOWN',
      message: `the signature was logged by log ${logId}, which is not among the ${tlogs.length} transparency logs of the trust root`,
    };
  }
  const time = Number(entry.integratedTime);
  if (!candidates.some((log) => validAt(log, time))) {
    return {
      ok: false,
      code: 'TLOG_LOG_INACTIVE',
      message: `the key of log ${logId} was not valid at the entry's integrated time ${isoTime(time)}`,
    };
  }
  return undefined;
}

/**
 * CERT_BINDING_MISMATCH (KEY_BINDING_MISMATCH) unless the entry's body
 * records `signer`, and for a `dsse` 0.0.1 entry of a stored envelope,
 * TLOG_BINDING_MISMATCH unless `envelopeHash` is that envelope's.
 */
export function bindingProblem(
  entry: TransparencyLogEntry,
  signer: CertificateSigner,
  content: Uint8Array | undefined,
  bundle: Bundle,
): EntryProblem<Exclude<EntryProblemCode, 'KEY_BINDING_MISMATCH'>> | undefined;
export function bindingProblem(
  entry: TransparencyLogEntry,
  signer: KeySigner,
  content: Uint8Array | undefined,
  bundle: Bundle,
): EntryProblem<Exclude<EntryProblemCode, 'CERT_BINDING_MISMATCH'>> | undefined;
export function bindingProblem(
  entry: TransparencyLogEntry,
  signer: TlogSigner,
  content: Uint8Array | undefined,
  bundle: Bundle,
): EntryProblem | undefined {
  const { kind, version } = entry.kindVersion;
  const body = parseBody(entry);
  const spec = field(body, 'spec');
  let recorded: unknown[];
  if (kind === 'hashedrekord' && version === '0.0.1') {
    recorded = [field(field(field(spec, 'signature'), 'publicKey'), 'content')];
  } else if (kind === 'dsse' && version === '0.0.1') {
    const signatures = field(spec, 'signatures');
    recorded = Array.isArray(signatures)
      ? signatures.map((signature) => field(signature, 'verifier'))
      : [];
    if (content !== undefined && bundle.content.$case === 'dsseEnvelope') {
      const envelopeHash = field(field(spec, 'envelopeHash'), 'value');
      const expected = sha256Hex(content);
      if (envelopeHash !== expected) {
        return {
          ok: false,
          code: 'TLOG_BINDING_MISMATCH',
          message: `the dsse log entry is for an envelope with SHA-256 ${String(envelopeHash)}, but this layer's is ${expected}`,
        };
      }
    }
  } else if (kind === 'intoto' && version === '0.0.2') {
    const envelope = field(field(spec, 'content'), 'envelope');
    const signatures = field(envelope, 'signatures');
    recorded = Array.isArray(signatures)
      ? signatures.map((signature) => field(signature, 'publicKey'))
      : [];
  } else if ((kind === 'hashedrekord' || kind === 'dsse') && version === '0.0.2') {
    // Rekor v2 (protobuf JSON): the verifier's certificate DER or public key SPKI, base64.
    const inner = field(spec, kind === 'hashedrekord' ? 'hashedRekordV002' : 'dsseV002');
    const verifiers =
      kind === 'hashedrekord'
        ? [field(field(inner, 'signature'), 'verifier')]
        : ((field(inner, 'signatures') as unknown[] | undefined) ?? []).map((signature) =>
            field(signature, 'verifier'),
          );
    const [name, expected] =
      signer.kind === 'certificate' ? ['x509Certificate', signer.der] : ['publicKey', signer.spki];
    const ders = verifiers.map((verifier) => field(field(verifier, name), 'rawBytes'));
    if (ders.length === 1 && typeof ders[0] === 'string') {
      if (Buffer.from(ders[0], 'base64').equals(expected)) return undefined;
    }
    return signerMismatch(kind, version, signer);
  } else {
    return {
      ok: false,
      code: 'TLOG_ENTRY_UNSUPPORTED',
      message: `the log entry is ${JSON.stringify(kind)} ${JSON.stringify(version)}, which vouch cannot check names the signer`,
    };
  }
  if (recorded.length === 1 && namesSigner(recorded[0], signer)) return undefined;
  return signerMismatch(kind, version, signer);
}

function signerMismatch(kind: string, version: string, signer: TlogSigner): EntryProblem {
  return signer.kind === 'certificate'
    ? {
        ok: false,
        code: 'CERT_BINDING_MISMATCH',
        message: `the ${kind} ${version} log entry records another signer than this certificate (a log entry of the same signature with another certificate; CVE-2022-36056)`,
      }
    : {
        ok: false,
        code: 'KEY_BINDING_MISMATCH',
        message: `the ${kind} ${version} log entry records another signer than this public key (a log entry of the same signature with another key; CVE-2022-36056)`,
      };
}

/**
 * Whether `value` is the base64 of a single PEM block holding `signer`: a
 * CERTIFICATE with its DER, or a PUBLIC KEY with its SPKI.
 */
export function namesSigner(value: unknown, signer: TlogSigner): boolean {
  if (typeof value !== 'string') return false;
  try {
    const blocks = decodePemBlocks(Buffer.from(value, 'base64'));
    const only = blocks.length === 1 ? blocks[0] : undefined;
    const [type, expected] =
      signer.kind === 'certificate' ? ['CERTIFICATE', signer.der] : ['PUBLIC KEY', signer.spki];
    return only?.type === type && Buffer.from(only.bytes).equals(expected);
  } catch {
    return false;
  }
}

export function parseBody(entry: TransparencyLogEntry): unknown {
  try {
    return parseJson(Buffer.from(entry.canonicalizedBody).toString('utf8'));
  } catch {
    return undefined;
  }
}

export function field(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The earliest verified timestamp of `entity`, in Unix seconds; undefined when it has none. */
export function earliestTimestamp(entity: SignedEntity): number | undefined {
  const times = entity.timestamps.flatMap((timestamp) => {
    if (timestamp.$case === 'timestamp-authority') {
      return [Math.floor(timestamp.timestamp.signingTime.getTime() / 1000)];
    }
    return timestamp.tlogEntry.inclusionPromise === undefined
      ? []
      : [Number(timestamp.tlogEntry.integratedTime)];
  });
  return times.length === 0 ? undefined : Math.min(...times);
}

export function logEntryOf(
  entry: TransparencyLogEntry,
  tlogs: readonly TransparencyLog[],
): LogEntry {
  const logId = hexLogId(entry);
  const url = logsWithId(tlogs, logId)[0]?.baseUrl ?? '';
  return {
    logId,
    ...(url === '' ? {} : { logUrl: url }),
    logIndex: Number(entry.logIndex),
    integratedTime: Number(entry.integratedTime),
  };
}

/** What a transparency log check of @sigstore/verify reports, as both verifiers word it. */
export interface LogVerifierProblem {
  readonly code:
    'TLOG_SET_INVALID' | 'TLOG_INCLUSION_PROOF_INVALID' | 'TLOG_MISSING' | 'TLOG_BINDING_MISMATCH';
  readonly message: string;
}

/**
 * The transparency log error codes of @sigstore/verify's `VerificationError`
 * (`src/error.ts`), mapped to vouch's codes; undefined for every other code,
 * which each verifier maps its own way.
 */
export function logVerifierProblem(code: string): LogVerifierProblem | undefined {
  switch (code) {
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return {
        code: 'TLOG_SET_INVALID',
        message:
          'the signed entry timestamp does not verify with the key of the log (the entry was altered, or signed by another key)',
      };
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return {
        code: 'TLOG_INCLUSION_PROOF_INVALID',
        message: 'the inclusion proof or its checkpoint does not verify with the log',
      };
    case 'TLOG_MISSING_INCLUSION_ERROR':
    case 'TLOG_ERROR':
      return {
        code: 'TLOG_MISSING',
        message: 'no transparency log entry proves the signature was logged',
      };
    case 'TLOG_BODY_ERROR':
      return {
        code: 'TLOG_BINDING_MISMATCH',
        message: 'the transparency log entry is not for this signature and payload',
      };
    default:
      return undefined;
  }
}

/** An error and up to three of its causes, as one line. */
export function describeError(error: unknown): string {
  const parts = [messageOf(error)];
  let cause = error instanceof Error ? (error.cause as unknown) : undefined;
  for (let depth = 0; cause !== undefined && depth < 3; depth++) {
    parts.push(messageOf(cause));
    cause = cause instanceof Error ? (cause.cause as unknown) : undefined;
  }
  return parts.join(': ');
}

function isoTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds}` : date.toISOString();
}

/**
 * How a signature is checked when @sigstore/verify's own check does not
 * fit: given the verifying key and the signature bytes, whether it verifies
 * over what was signed (the caller knows what that is: the artifact, only
 * its digest, or a DSSE envelope's PAE).
 */
export type SignatureCheck = (key: KeyObject, signature: Uint8Array) => boolean;

/** `entity` with its signature checked by `check` instead of @sigstore/verify's own. */
export function withSignatureCheck(entity: SignedEntity, check: SignatureCheck): SignedEntity {
  const content = entity.signature;
  return {
    ...entity,
    signature: {
      signature: content.signature,
      compareSignature: (signature) => content.compareSignature(signature),
      compareDigest: (digest) => content.compareDigest(digest),
      compareSignedDigest: (digest) => content.compareSignedDigest(digest),
      verifySignature: (key) => check(key, new Uint8Array(content.signature)),
    },
  };
}
