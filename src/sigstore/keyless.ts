/**
 * Keyless verification of one Sigstore bundle: the signature was made with
 * the key of a short-lived Fulcio certificate, and logged in Rekor
 * (docs/formats.md "Sigstore keyless verification"). Bundles come from cosign's classic
 * `.sig`/`.att` layers (`formats/cosign-bundle.ts`) or are stored as such.
 *
 * The cryptography is @sigstore/verify's `Verifier`, run with no policy:
 *
 * 1. timestamps: a tlog entry's integrated time counts only with its SET;
 *    RFC 3161 timestamps verify with a trusted timestamp authority;
 * 2. the certificate chains to a CA of the trust root valid at every
 *    timestamp, each certificate of the path valid then (CERT_CHAIN_INVALID,
 *    CERT_EXPIRED), and carries an SCT of a trusted CT log (SCT_INVALID).
 *    The path is built from the leaf and the trust root only: certificates
 *    after the leaf in a v0.1/v0.2 `x509CertificateChain` are never used;
 * 3. every tlog entry's SET or inclusion proof verifies (TLOG_SET_INVALID,
 *    TLOG_INCLUSION_PROOF_INVALID) and its body records this signature and
 *    payload digest (TLOG_BINDING_MISMATCH);
 * 4. the signature verifies with the certificate's key (SIGNATURE_INVALID).
 *
 * Then the checks @sigstore/verify lacks:
 *
 * 5. no certificate after the leaf in an `x509CertificateChain` is a
 *    self-signed root, and each is X.509 (CERT_CHAIN_INCLUDES_ROOT,
 *    CERT_INVALID). Signers "MUST NOT include root CA certificates in
 *    bundles" (sigstore/protobuf-specs protos/sigstore_bundle.proto
 *    VerificationMaterial); the spec lets verifiers ignore one, but
 *    sigstore-conformance's bundle-with-root-cert_fail says a client "should
 *    reject this", and a root in a bundle only ever invites trusting it.
 *    (sigstore-go and @sigstore/verify read the leaf alone; sigstore-js 1.x
 *    wrote v0.1 bundles with the Fulcio root in the chain, which this refuses.)
 * 6. every tlog entry names this very certificate (CERT_BINDING_MISMATCH):
 *    @sigstore/verify compares only signature and digest, so a genuine entry
 *    of the same signature bytes logged with another certificate would pass —
 *    the class of bypass cosign fixed as CVE-2022-36056 and checks in
 *    `pkg/cosign/verify.go comparePublicKey`, and sigstore-go in
 *    `pkg/verify/tlog.go` ("transparency log certificate does not match");
 * 7. the certificate's identity and issuer match what was asked for
 *    (CERT_IDENTITY_MISMATCH, CERT_ISSUER_MISMATCH, CERT_CLAIM_MISMATCH).
 *
 * `intoto` 0.0.1 entries (classic attestations by cosign < 2.2.0), which
 * @sigstore/verify refuses, are checked here: the SET with vouch's own
 * `rekor.ts`, and the body binding the exact envelope bytes, the payload
 * and the certificate. Everything @sigstore/verify throws is "not verified"
 * (docs/formats.md "Sigstore keyless verification"), mapped to a code naming
 * the failed check.
 *
 * Pure and synchronous: no network, the trust material is given.
 */
import { createHash } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { type SignedEntity, toSignedEntity, VerificationError, Verifier } from '@sigstore/verify';
import { messageOf } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { decodePemBlocks } from '../keys/pem.ts';
import {
  type CertificateClaims,
  type CertificateIdentity,
  certificateClaims,
  type IdentityProblemCode,
  identityProblem,
} from './certificate-identity.ts';
import type { KeylessTrust } from './keyless-trust.ts';
import { type TlogProblemCode, verifySignedEntryTimestamp } from './rekor.ts';
import { logsWithId, type TransparencyLog, validAt } from './trusted-root.ts';

export type KeylessProblemCode =
  /** The bundle cannot be read as a Sigstore bundle. */
  | 'BUNDLE_INVALID'
  /** The bundle uses a feature @sigstore/verify does not implement. */
  | 'BUNDLE_UNSUPPORTED'
  /** Signed by a key, not a certificate: never counts keylessly. */
  | 'CERT_MISSING'
  /** The certificate is not DER X.509. */
  | 'CERT_INVALID'
  | 'CERT_CHAIN_INVALID'
  /** A v0.1/v0.2 chain carries a self-signed root after the leaf. */
  | 'CERT_CHAIN_INCLUDES_ROOT'
  | 'CERT_EXPIRED'
  | 'SCT_INVALID'
  | 'TIMESTAMP_INVALID'
  | 'TLOG_MISSING'
  | 'TLOG_INCLUSION_PROOF_INVALID'
  /** TLOG_LOG_UNKNOWN, TLOG_LOG_INACTIVE, TLOG_SET_INVALID, TLOG_ENTRY_UNSUPPORTED, TLOG_BINDING_MISMATCH, ... */
  | TlogProblemCode
  | 'CERT_BINDING_MISMATCH'
  | 'SIGNATURE_INVALID'
  | IdentityProblemCode;

/** Where a transparency log recorded the signature. */
export interface KeylessLogEntry {
  /** Lowercase hex log ID. */
  readonly logId: string;
  /** The log's URL, when the trust root names one. */
  readonly logUrl?: string;
  readonly logIndex: number;
  /** Seconds since the Unix epoch; 0 for Rekor v2 entries, which carry no time. */
  readonly integratedTime: number;
}

/** A verified keyless signature: who signed, when, and where it is logged. */
export interface KeylessSigner {
  /** The certificate's subject (SAN) and issuer, and its GitHub workflow claims. */
  readonly claims: CertificateClaims;
  /** Seconds since the Unix epoch: the earliest verified timestamp (SET or RFC 3161). */
  readonly signingTime: number;
  /** The verified tlog entries, in bundle order (at least one). */
  readonly tlog: readonly KeylessLogEntry[];
  /** The leaf certificate, DER. */
  readonly certificate: Uint8Array;
}

export type BundleVerification =
  | ({ readonly ok: true } & KeylessSigner)
  | {
      readonly ok: false;
      readonly code: KeylessProblemCode;
      /** What was expected, what was found. */
      readonly message: string;
    };

type Problem = Extract<BundleVerification, { ok: false }>;

/** A tlog entry as @sigstore/bundle reads it (log ID and kind are required there). */
type TransparencyLogEntry = SignedEntity['tlogEntries'][number];

/**
 * Verifies `bundle` keylessly against `trust`, for a signer matching
 * `identity`. `content` is what was signed for a message-signature bundle
 * (the artifact bytes); for a DSSE bundle it is the envelope exactly as
 * stored when known (a classic `.att` layer blob), which `dsse` 0.0.1
 * entries' `envelopeHash` and `intoto` 0.0.1 entries' `content.hash` are
 * then checked against; undefined for a DSSE bundle stored as such.
 * Never throws for a problem with the bundle: it is the result.
 */
export function verifyBundle(
  bundle: Bundle,
  content: Uint8Array | undefined,
  trust: KeylessTrust,
  identity: CertificateIdentity,
): BundleVerification {
  const problem = (code: KeylessProblemCode, message: string): Problem => ({
    ok: false,
    code,
    message,
  });
  const material = bundle.verificationMaterial.content;
  let raw: Buffer | undefined;
  if (material.$case === 'x509CertificateChain') {
    raw = material.x509CertificateChain.certificates[0]?.rawBytes;
  } else if (material.$case === 'certificate') {
    raw = material.certificate.rawBytes;
  }
  if (raw === undefined) {
    return problem(
      'CERT_MISSING',
      'the signature is made with a key, not a certificate: it cannot count for a certificate identity',
    );
  }
  let leaf: X509Certificate;
  try {
    leaf = X509Certificate.parse(Buffer.from(raw));
  } catch (error) {
    return problem('CERT_INVALID', `the certificate is not DER X.509: ${messageOf(error)}`);
  }
  if (material.$case === 'x509CertificateChain') {
    const rooted = chainProblem(material.x509CertificateChain.certificates.slice(1));
    if (rooted !== undefined) return rooted;
  }

  const entries: readonly TransparencyLogEntry[] = bundle.verificationMaterial.tlogEntries.filter(
    (entry): entry is TransparencyLogEntry =>
      entry.logId !== undefined && entry.kindVersion !== undefined,
  );
  if (entries.length !== bundle.verificationMaterial.tlogEntries.length) {
    return problem('BUNDLE_INVALID', 'a transparency log entry has no log ID or kind');
  }
  if (entries.length === 0) {
    return problem(
      'TLOG_MISSING',
      'the signature carries no transparency log entry; a keyless signature counts only when logged',
    );
  }
  for (const entry of entries) {
    const unknown = logProblem(entry, trust.tlogs);
    if (unknown !== undefined) return unknown;
  }

  // intoto 0.0.1 entries are checked here; @sigstore/verify checks the others.
  const legacy = entries.filter((entry) => isIntoto001(entry));
  const others = entries.filter((entry) => !isIntoto001(entry));
  for (const entry of legacy) {
    const failed = checkIntoto001(entry, bundle, content, raw, trust.tlogs);
    if (failed !== undefined) return failed;
  }

  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, content === undefined ? undefined : Buffer.from(content));
  } catch (error) {
    return problem('BUNDLE_INVALID', `the bundle cannot be verified: ${messageOf(error)}`);
  }
  try {
    new Verifier(trust.material, { tlogThreshold: legacy.length > 0 ? 0 : 1 }).verify({
      ...entity,
      tlogEntries: others,
    });
  } catch (error) {
    return mapVerifierError(error, leaf, entity);
  }

  for (const entry of others) {
    const mismatch = bindingProblem(entry, raw, content, bundle);
    if (mismatch !== undefined) return mismatch;
  }

  const claims = certificateClaims(leaf);
  const mismatch = identityProblem(claims, identity);
  if (mismatch !== undefined) return { ok: false, ...mismatch };

  return {
    ok: true,
    claims,
    signingTime: earliestTimestamp(entity),
    tlog: entries.map((entry) => logEntryOf(entry, trust.tlogs)),
    certificate: new Uint8Array(raw),
  };
}

/**
 * CERT_CHAIN_INCLUDES_ROOT if one of `rest` (the chain after the leaf) is a
 * self-signed root: its subject is its issuer (RFC 5280 §3.2 "self-issued")
 * and its own key verifies its signature. CERT_INVALID if one is not X.509.
 */
function chainProblem(rest: ReadonlyArray<{ readonly rawBytes: Buffer }>): Problem | undefined {
  for (const [index, { rawBytes }] of rest.entries()) {
    const position = index + 1;
    let certificate: X509Certificate;
    try {
      certificate = X509Certificate.parse(Buffer.from(rawBytes));
    } catch (error) {
      return {
        ok: false,
        code: 'CERT_INVALID',
        message: `certificate ${position} of the chain is not DER X.509: ${messageOf(error)}`,
      };
    }
    if (certificate.subject.equals(certificate.issuer) && selfSigned(certificate)) {
      return {
        ok: false,
        code: 'CERT_CHAIN_INCLUDES_ROOT',
        message: `certificate ${position} of the chain is a self-signed root; a bundle must not carry a root CA, roots come from the trust root`,
      };
    }
  }
  return undefined;
}

function selfSigned(certificate: X509Certificate): boolean {
  try {
    return certificate.verify();
  } catch {
    return false;
  }
}

function hexLogId(entry: TransparencyLogEntry): string {
  return Buffer.from(entry.logId.keyId).toString('hex');
}

/** For an entry with a SET: TLOG_LOG_UNKNOWN / TLOG_LOG_INACTIVE, worded better than the Verifier's. */
function logProblem(
  entry: TransparencyLogEntry,
  tlogs: readonly TransparencyLog[],
): Problem | undefined {
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

function isIntoto001(entry: TransparencyLogEntry): boolean {
  return entry.kindVersion.kind === 'intoto' && entry.kindVersion.version === '0.0.1';
}

/**
 * An intoto 0.0.1 entry (cosign `intotoEntry`, rekor
 * pkg/types/intoto/v0.0.1): its SET verifies with a trusted log, and its
 * body records the envelope (`content.hash` = SHA-256 of the envelope bytes
 * as stored, cosign `bundleHash`), the payload (`content.payloadHash`) and
 * this certificate (`publicKey`, a base64 PEM). It records no signature:
 * the envelope hash covers it.
 */
function checkIntoto001(
  entry: TransparencyLogEntry,
  bundle: Bundle,
  envelopeBytes: Uint8Array | undefined,
  certificate: Buffer,
  tlogs: readonly TransparencyLog[],
): Problem | undefined {
  if (entry.inclusionPromise === undefined) {
    return {
      ok: false,
      code: 'TLOG_ENTRY_UNSUPPORTED',
      message: 'an intoto 0.0.1 log entry is accepted only with its signed entry timestamp',
    };
  }
  const logIndex = Number(entry.logIndex);
  const integratedTime = Number(entry.integratedTime);
  const set = verifySignedEntryTimestamp(
    {
      signedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      payload: {
        body: Buffer.from(entry.canonicalizedBody).toString('base64'),
        integratedTime,
        logIndex,
        logID: hexLogId(entry),
      },
    },
    tlogs,
  );
  if ('code' in set) return { ok: false, code: set.code, message: set.message };

  const binding = (message: string): Problem => ({
    ok: false,
    code: 'TLOG_BINDING_MISMATCH',
    message: `the intoto 0.0.1 log entry ${message}`,
  });
  if (bundle.content.$case !== 'dsseEnvelope' || envelopeBytes === undefined) {
    return binding('binds an envelope, but the envelope bytes as stored are not available');
  }
  const body = parseBody(entry);
  const spec = field(body, 'spec');
  const contentField = field(spec, 'content');
  const hash = field(contentField, 'hash');
  const payloadHash = field(contentField, 'payloadHash');
  if (field(hash, 'algorithm') !== 'sha256' || field(payloadHash, 'algorithm') !== 'sha256') {
    return binding('does not record SHA-256 hashes of the envelope and payload');
  }
  const envelopeHash = sha256Hex(envelopeBytes);
  if (field(hash, 'value') !== envelopeHash) {
    return binding(
      `is for an envelope with SHA-256 ${String(field(hash, 'value'))}, but this layer's is ${envelopeHash}`,
    );
  }
  const payload = sha256Hex(bundle.content.dsseEnvelope.payload);
  if (field(payloadHash, 'value') !== payload) {
    return binding(
      `is for a payload with SHA-256 ${String(field(payloadHash, 'value'))}, but this envelope's is ${payload}`,
    );
  }
  if (!namesCertificate(field(spec, 'publicKey'), certificate)) {
    return {
      ok: false,
      code: 'CERT_BINDING_MISMATCH',
      message: 'the intoto 0.0.1 log entry records another certificate than the one that signed',
    };
  }
  return undefined;
}

/**
 * CERT_BINDING_MISMATCH unless the entry's body records `certificate` as
 * the signer, and for a `dsse` 0.0.1 entry of a stored envelope,
 * TLOG_BINDING_MISMATCH unless `envelopeHash` is that envelope's.
 */
function bindingProblem(
  entry: TransparencyLogEntry,
  certificate: Buffer,
  content: Uint8Array | undefined,
  bundle: Bundle,
): Problem | undefined {
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
    // Rekor v2 (protobuf JSON): the verifier's certificate DER, base64.
    const inner = field(spec, kind === 'hashedrekord' ? 'hashedRekordV002' : 'dsseV002');
    const verifiers =
      kind === 'hashedrekord'
        ? [field(field(inner, 'signature'), 'verifier')]
        : ((field(inner, 'signatures') as unknown[] | undefined) ?? []).map((signature) =>
            field(signature, 'verifier'),
          );
    const ders = verifiers.map((verifier) => field(field(verifier, 'x509Certificate'), 'rawBytes'));
    if (ders.length === 1 && typeof ders[0] === 'string') {
      if (Buffer.from(ders[0], 'base64').equals(certificate)) return undefined;
    }
    return certificateMismatch(kind, version);
  } else {
    return {
      ok: false,
      code: 'TLOG_ENTRY_UNSUPPORTED',
      message: `the log entry is ${JSON.stringify(kind)} ${JSON.stringify(version)}, which vouch cannot check names the certificate`,
    };
  }
  if (recorded.length === 1 && namesCertificate(recorded[0], certificate)) return undefined;
  return certificateMismatch(kind, version);
}

function certificateMismatch(kind: string, version: string): Problem {
  return {
    ok: false,
    code: 'CERT_BINDING_MISMATCH',
    message: `the ${kind} ${version} log entry records another signer than this certificate (a log entry of the same signature with another certificate; CVE-2022-36056)`,
  };
}

/** Whether `value` is the base64 of a single PEM CERTIFICATE block holding `certificate`. */
function namesCertificate(value: unknown, certificate: Buffer): boolean {
  if (typeof value !== 'string') return false;
  try {
    const blocks = decodePemBlocks(Buffer.from(value, 'base64'));
    const only = blocks.length === 1 ? blocks[0] : undefined;
    return only?.type === 'CERTIFICATE' && Buffer.from(only.bytes).equals(certificate);
  } catch {
    return false;
  }
}

function parseBody(entry: TransparencyLogEntry): unknown {
  try {
    return parseJson(Buffer.from(entry.canonicalizedBody).toString('utf8'));
  } catch {
    return undefined;
  }
}

function field(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The earliest verified timestamp of `entity`, in Unix seconds. */
function earliestTimestamp(entity: SignedEntity): number {
  const times = entity.timestamps.flatMap((timestamp) => {
    if (timestamp.$case === 'timestamp-authority') {
      return [Math.floor(timestamp.timestamp.signingTime.getTime() / 1000)];
    }
    return timestamp.tlogEntry.inclusionPromise === undefined
      ? []
      : [Number(timestamp.tlogEntry.integratedTime)];
  });
  return Math.min(...times);
}

function logEntryOf(
  entry: TransparencyLogEntry,
  tlogs: readonly TransparencyLog[],
): KeylessLogEntry {
  const logId = hexLogId(entry);
  const url = logsWithId(tlogs, logId)[0]?.baseUrl ?? '';
  return {
    logId,
    ...(url === '' ? {} : { logUrl: url }),
    logIndex: Number(entry.logIndex),
    integratedTime: Number(entry.integratedTime),
  };
}

/** Maps what @sigstore/verify threw to the check that failed. */
function mapVerifierError(error: unknown, leaf: X509Certificate, entity: SignedEntity): Problem {
  const detail = describeError(error);
  const problem = (code: KeylessProblemCode, message: string): Problem => ({
    ok: false,
    code,
    message: `${message} (${detail})`,
  });
  if (!(error instanceof VerificationError)) {
    return problem('BUNDLE_INVALID', 'the bundle could not be verified');
  }
  switch (error.code) {
    case 'CERTIFICATE_ERROR': {
      if (/\bSCTs?\b/.test(detail)) {
        return problem(
          'SCT_INVALID',
          'the certificate carries no signed certificate timestamp that verifies with a CT log of the trust root',
        );
      }
      const expired = outsideValidity(leaf, entity);
      if (expired !== undefined) return problem('CERT_EXPIRED', expired);
      return problem(
        'CERT_CHAIN_INVALID',
        'the certificate does not chain to a certificate authority of the trust root valid at signing time',
      );
    }
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return problem(
        'TLOG_SET_INVALID',
        'the signed entry timestamp does not verify with the key of the log (the entry was altered, or signed by another key)',
      );
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return problem(
        'TLOG_INCLUSION_PROOF_INVALID',
        'the inclusion proof or its checkpoint does not verify with the log',
      );
    case 'TLOG_MISSING_INCLUSION_ERROR':
    case 'TLOG_ERROR':
      return problem('TLOG_MISSING', 'no transparency log entry proves the signature was logged');
    case 'TLOG_BODY_ERROR':
      return problem(
        'TLOG_BINDING_MISMATCH',
        'the transparency log entry is not for this signature and payload',
      );
    case 'TIMESTAMP_ERROR':
      return problem('TIMESTAMP_INVALID', 'the signing time cannot be established');
    case 'SIGNATURE_ERROR':
      return problem(
        'SIGNATURE_INVALID',
        "the signature does not verify over the payload with the certificate's key",
      );
    case 'PUBLIC_KEY_ERROR':
      return problem('CERT_MISSING', 'the signature is made with a key, not a certificate');
    case 'NOT_IMPLEMENTED_ERROR':
      return problem('BUNDLE_UNSUPPORTED', 'the bundle uses a feature vouch cannot verify');
    default:
      return problem('BUNDLE_INVALID', 'the bundle could not be verified');
  }
}

/** Why the leaf was not valid at one of the entity's timestamps, or undefined. */
function outsideValidity(leaf: X509Certificate, entity: SignedEntity): string | undefined {
  for (const timestamp of entity.timestamps) {
    const date =
      timestamp.$case === 'timestamp-authority'
        ? timestamp.timestamp.signingTime
        : new Date(Number(timestamp.tlogEntry.integratedTime) * 1000);
    if (!leaf.validForDate(date)) {
      return `the certificate is valid from ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()}, but the signature was made at ${date.toISOString()}`;
    }
  }
  return undefined;
}

function describeError(error: unknown): string {
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
