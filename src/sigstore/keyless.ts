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
 *    CERT_INVALID; formats/certificate-chain.ts, which the strict bundle
 *    reader also runs first). (sigstore-go and @sigstore/verify read the leaf
 *    alone; sigstore-js 1.x wrote v0.1 bundles with the Fulcio root in the
 *    chain, which this refuses.)
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
 * Step 2 for a certificate already accepted with the same trust material,
 * at signing times its verdict cannot differ at, is taken from
 * verified-leaf-cache.ts; every other step is made for every signature.
 *
 * Synchronous, no network, the trust material is given; the one state kept
 * is that bounded record of accepted certificates.
 */
import type { Bundle } from '@sigstore/bundle';
import type { KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import {
  type SignedEntity,
  type Signer,
  toSignedEntity,
  type TrustMaterial,
  VerificationError,
  Verifier,
} from '@sigstore/verify';
import { messageOf } from '../core/errors.ts';
import { chainRootProblem } from '../formats/certificate-chain.ts';
import { verifyWithTrustedKeys } from './certificate-encoding.ts';
import {
  type CertificateClaims,
  type CertificateIdentity,
  certificateClaims,
  type IdentityProblemCode,
  identityProblem,
} from './certificate-identity.ts';
import type { KeylessTrust } from './keyless-trust.ts';
import { type TlogProblemCode, verifySignedEntryTimestamp } from './rekor.ts';
import {
  bindingProblem,
  describeError,
  earliestTimestamp,
  field,
  hexLogId,
  type LogEntry,
  logEntryOf,
  logProblem,
  logVerifierProblem,
  namesSigner,
  parseBody,
  sha256Hex,
  type SignatureCheck,
  type TransparencyLogEntry,
  withSignatureCheck,
} from './bundle-checks.ts';
import type { TransparencyLog } from './trusted-root.ts';
import {
  inSigningWindow,
  rememberVerifiedLeaf,
  type VerifiedLeaf,
  verifiedLeaf,
} from './verified-leaf-cache.ts';

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
export type KeylessLogEntry = LogEntry;

/** A verified keyless signature: who signed, when, and where it is logged. */
export interface KeylessSigner {
  /** The certificate's subject (SAN) and issuer, and its GitHub workflow claims. */
  readonly claims: CertificateClaims;
  /** Seconds since the Unix epoch: the earliest verified timestamp (SET or RFC 3161). */
  readonly signingTime: number;
  /** The verified tlog entries, in bundle order (none only when `allowUnlogged` let a timestamp stand in). */
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

export interface VerifyBundleOptions {
  /** Verifies the signature over a digest when the artifact's bytes are not at hand. */
  readonly checkSignature?: SignatureCheck;
  /**
   * Accept a bundle with no transparency log entry when an RFC 3161
   * timestamp of the trusted root's TSAs proves when it was signed (cosign's
   * `--tlog-upload=false` with a TSA, sigstore-go `WithSignedTimestamps`).
   * Off by default: a keyless signature counts only when logged, so that a
   * certificate's use is public.
   */
  readonly allowUnlogged?: boolean;
}

/**
 * Verifies `bundle` keylessly against `trust`, for a signer matching
 * `identity`. `content` is what was signed for a message-signature bundle
 * (the artifact bytes); for a DSSE bundle it is the envelope exactly as
 * stored when known (a classic `.att` layer blob), which `dsse` 0.0.1
 * entries' `envelopeHash` and `intoto` 0.0.1 entries' `content.hash` are
 * then checked against; undefined for a DSSE bundle stored as such, and for
 * a message signature whose artifact is known only by its digest, which
 * `checkSignature` then verifies (@sigstore/verify verifies an artifact's
 * bytes). Never throws for a problem with the bundle: it is the result.
 */
export function verifyBundle(
  bundle: Bundle,
  content: Uint8Array | undefined,
  trust: KeylessTrust,
  identity: CertificateIdentity,
  options: VerifyBundleOptions = {},
): BundleVerification {
  const { checkSignature } = options;
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
  // A certificate a past verification accepted is neither parsed nor
  // verified again (verified-leaf-cache.ts): it parsed then, and parses the same.
  const known = verifiedLeaf(trust.material, raw);
  let leaf = known === undefined ? parseLeaf(raw) : undefined;
  if (leaf !== undefined && 'code' in leaf) return leaf;
  if (material.$case === 'x509CertificateChain') {
    const rest = material.x509CertificateChain.certificates.slice(1);
    const rooted = chainRootProblem(rest.map(({ rawBytes }) => new Uint8Array(rawBytes)));
    if (rooted !== undefined) return { ok: false, ...rooted };
  }

  const entries: readonly TransparencyLogEntry[] = bundle.verificationMaterial.tlogEntries.filter(
    (entry): entry is TransparencyLogEntry =>
      entry.logId !== undefined && entry.kindVersion !== undefined,
  );
  if (entries.length !== bundle.verificationMaterial.tlogEntries.length) {
    return problem('BUNDLE_INVALID', 'a transparency log entry has no log ID or kind');
  }
  const timestamps =
    bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  if (entries.length === 0 && !(options.allowUnlogged === true && timestamps > 0)) {
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

  // Unlogged (allowed above only with a timestamp): the TSA's timestamp,
  // which @sigstore/verify's default threshold of one then requires, is
  // the signing time the certificate is checked at.
  const tlogThreshold = legacy.length > 0 || entries.length === 0 ? 0 : 1;
  const run = { bundle, content, trust, tlogThreshold, tlogEntries: others, checkSignature };
  let verified = known === undefined ? undefined : verifyWithKnownLeaf(run, known);
  if (verified === undefined) {
    leaf ??= parseLeaf(raw);
    if ('code' in leaf) return leaf;
    verified = verifyInFull(run, leaf);
  }
  if ('code' in verified) return verified;
  const { entity, claims } = verified;

  for (const entry of others) {
    const mismatch = bindingProblem(entry, { kind: 'certificate', der: raw }, content, bundle);
    if (mismatch !== undefined) return mismatch;
  }

  const mismatch = identityProblem(claims, identity);
  if (mismatch !== undefined) return { ok: false, ...mismatch };

  const signingTime = earliestTimestamp(entity);
  if (signingTime === undefined) {
    return problem('TIMESTAMP_INVALID', 'the signing time cannot be established');
  }
  if (leaf !== undefined && 'signerKey' in verified) {
    rememberVerifiedLeaf(trust.material, raw, leaf, {
      key: verified.signerKey,
      claims,
      signingTimes: signingTimes(entity),
    });
  }
  return {
    ok: true,
    claims,
    signingTime,
    tlog: entries.map((entry) => logEntryOf(entry, trust.tlogs)),
    certificate: new Uint8Array(raw),
  };
}

/** One verification's inputs to @sigstore/verify's `Verifier`. */
interface VerifierRun {
  readonly bundle: Bundle;
  readonly content: Uint8Array | undefined;
  readonly trust: KeylessTrust;
  readonly tlogThreshold: number;
  /** The entries @sigstore/verify checks (all but intoto 0.0.1). */
  readonly tlogEntries: readonly TransparencyLogEntry[];
  readonly checkSignature: SignatureCheck | undefined;
}

type Verified =
  | {
      readonly entity: SignedEntity;
      readonly claims: CertificateClaims;
      /** Set by a verification in full: the key @sigstore/verify decoded from the certificate. */
      readonly signerKey?: KeyObject;
    }
  | Problem;

function parseLeaf(raw: Uint8Array): X509Certificate | Problem {
  try {
    return X509Certificate.parse(Buffer.from(raw));
  } catch (error) {
    return {
      ok: false,
      code: 'CERT_INVALID',
      message: `the certificate is not DER X.509: ${messageOf(error)}`,
    };
  }
}

/**
 * The bundle's entity for the `Verifier`, with `key` as its signing key
 * (the certificate vouch parsed, which @sigstore/verify would otherwise
 * parse again from the same bytes, or a trusted key), and `checkSignature`
 * in place of its own signature check when given.
 */
function verifierEntity(run: VerifierRun, key: SignedEntity['key']): SignedEntity | Problem {
  const material = run.bundle.verificationMaterial;
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(
      {
        ...run.bundle,
        verificationMaterial: {
          ...material,
          content: { $case: 'publicKey', publicKey: { hint: '' } },
        },
      },
      run.content === undefined ? undefined : Buffer.from(run.content),
    );
    entity = { ...entity, key };
  } catch (error) {
    return {
      ok: false,
      code: 'BUNDLE_INVALID',
      message: `the bundle cannot be verified: ${messageOf(error)}`,
    };
  }
  return run.checkSignature === undefined ? entity : withSignatureCheck(entity, run.checkSignature);
}

/** Every check of @sigstore/verify, the certificate's included. */
function verifyInFull(run: VerifierRun, leaf: X509Certificate): Verified {
  // The Verifier compares and verifies this leaf against the CA certificates
  // several times; encode it once (certificate-encoding.ts).
  verifyWithTrustedKeys(leaf);
  const entity = verifierEntity(run, { $case: 'certificate', certificate: leaf });
  if ('code' in entity) return entity;
  let signer: Signer;
  try {
    signer = new Verifier(run.trust.material, { tlogThreshold: run.tlogThreshold }).verify({
      ...entity,
      tlogEntries: [...run.tlogEntries],
    });
  } catch (error) {
    return mapVerifierError(error, leaf, entity);
  }
  return { entity, claims: certificateClaims(leaf), signerKey: signer.key };
}

/**
 * The same checks for a certificate a past verification accepted: the
 * `Verifier` is handed the certificate's key as a trusted key valid exactly
 * in the signing window the certificate was accepted in
 * (verified-leaf-cache.ts), so it still establishes every timestamp,
 * verifies every log entry against this signature and payload, and the
 * signature with that key, and requires every signing time to fall in the
 * window. Undefined when any of that fails: the verification is then made
 * in full, which names the failed check as it always has.
 */
function verifyWithKnownLeaf(run: VerifierRun, known: VerifiedLeaf): Verified | undefined {
  const entity = verifierEntity(run, { $case: 'public-key', hint: '' });
  if ('code' in entity) return undefined;
  const trustMaterial: TrustMaterial = {
    ...run.trust.material,
    publicKey: () => ({
      publicKey: known.key,
      validFor: (date: Date) => inSigningWindow(known.window, date.getTime()),
    }),
  };
  try {
    new Verifier(trustMaterial, { tlogThreshold: run.tlogThreshold }).verify({
      ...entity,
      tlogEntries: [...run.tlogEntries],
    });
  } catch {
    return undefined;
  }
  return { entity, claims: known.claims };
}

/** Every time the certificate may have been checked at: each timestamp's, verified or not. */
function signingTimes(entity: SignedEntity): Date[] {
  return entity.timestamps.map((timestamp) =>
    timestamp.$case === 'timestamp-authority'
      ? timestamp.timestamp.signingTime
      : new Date(Number(timestamp.tlogEntry.integratedTime) * 1000),
  );
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
  if (!namesSigner(field(spec, 'publicKey'), { kind: 'certificate', der: certificate })) {
    return {
      ok: false,
      code: 'CERT_BINDING_MISMATCH',
      message: 'the intoto 0.0.1 log entry records another certificate than the one that signed',
    };
  }
  return undefined;
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
  const logged = logVerifierProblem(error.code);
  if (logged !== undefined) return problem(logged.code, logged.message);
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
