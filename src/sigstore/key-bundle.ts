/**
 * Verification of a Sigstore bundle signed with a key (`publicKey`
 * verification material, as cosign 3 `sign-blob --key --bundle` writes):
 * the key decides, and every transparency log entry and RFC 3161 timestamp
 * the bundle carries must still verify against the trusted root, as
 * sigstore-go does with key trust material (cosign 3 `verify-blob --key`).
 *
 * @sigstore/verify's `Verifier` with `publicKeyTrustOf`'s material (the
 * given key whatever the bundle's hint) checks the timestamps, each log
 * entry's SET or inclusion proof and that its body records this signature
 * and digest; then, as for keyless bundles (`bundle-checks.ts`), each entry
 * must record this very key (KEY_BINDING_MISMATCH). The signature itself is
 * checked by the caller's `checkSignature` (what was signed: the artifact,
 * its digest, or a DSSE envelope's PAE, with the hash the key type signs
 * with), since @sigstore/verify's own check picks a hash Ed25519 and P-384
 * keys do not all use.
 *
 * With `requireTlog` a bundle without a log entry fails (TLOG_MISSING);
 * without, it counts by its key alone, as `vouch verify --key` counts a
 * signature without a Rekor bundle.
 *
 * Pure and synchronous: no network, the trust material is given.
 */
import type { KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { type SignedEntity, toSignedEntity, VerificationError, Verifier } from '@sigstore/verify';
import { messageOf } from '../core/errors.ts';
import {
  bindingProblem,
  describeError,
  earliestTimestamp,
  type LogEntry,
  logEntryOf,
  logProblem,
  logVerifierProblem,
  type SignatureCheck,
  type TransparencyLogEntry,
  withSignatureCheck,
} from './bundle-checks.ts';
import type { KeylessTrust } from './keyless-trust.ts';

export type KeyBundleProblemCode =
  | 'BUNDLE_INVALID'
  | 'BUNDLE_UNSUPPORTED'
  /** The bundle carries a certificate: it is verified keylessly, not with a key. */
  | 'SIGNED_WITH_CERTIFICATE'
  | 'TLOG_MISSING'
  | 'TLOG_LOG_UNKNOWN'
  | 'TLOG_LOG_INACTIVE'
  | 'TLOG_SET_INVALID'
  | 'TLOG_INCLUSION_PROOF_INVALID'
  | 'TLOG_BINDING_MISMATCH'
  | 'TLOG_ENTRY_UNSUPPORTED'
  | 'KEY_BINDING_MISMATCH'
  | 'TIMESTAMP_INVALID'
  | 'SIGNATURE_INVALID';

export type KeyBundleVerification =
  | {
      readonly ok: true;
      /** The verified tlog entries, in bundle order (none when nothing was logged). */
      readonly tlog: readonly LogEntry[];
      /** Seconds since the Unix epoch: the earliest verified timestamp, if any. */
      readonly signingTime?: number;
    }
  | { readonly ok: false; readonly code: KeyBundleProblemCode; readonly message: string };

type Problem = Extract<KeyBundleVerification, { ok: false }>;

export interface KeyBundleOptions {
  /** Verifies the signature with the key (see the module comment). */
  readonly checkSignature: SignatureCheck;
  /** Fail a bundle that carries no transparency log entry. */
  readonly requireTlog?: boolean;
}

/**
 * Verifies `bundle` as signed by `publicKey` (whose trust, with the trusted
 * root's logs and timestamp authorities, is `trust`: `publicKeyTrustOf`).
 * `content` is the artifact of a message signature when its bytes are known.
 * Never throws for a problem with the bundle: it is the result.
 */
export function verifyKeyBundle(
  bundle: Bundle,
  content: Uint8Array | undefined,
  publicKey: KeyObject,
  trust: KeylessTrust,
  options: KeyBundleOptions,
): KeyBundleVerification {
  const problem = (code: KeyBundleProblemCode, message: string): Problem => ({
    ok: false,
    code,
    message,
  });
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    return problem(
      'SIGNED_WITH_CERTIFICATE',
      'the signature is made with a certificate, not a key: verify it with --certificate-identity and --certificate-oidc-issuer',
    );
  }
  const entries: readonly TransparencyLogEntry[] = bundle.verificationMaterial.tlogEntries.filter(
    (entry): entry is TransparencyLogEntry =>
      entry.logId !== undefined && entry.kindVersion !== undefined,
  );
  if (entries.length !== bundle.verificationMaterial.tlogEntries.length) {
    return problem('BUNDLE_INVALID', 'a transparency log entry has no log ID or kind');
  }
  if (options.requireTlog === true && entries.length === 0) {
    return problem(
      'TLOG_MISSING',
      'the signature carries no transparency log entry, and one is required (--require-tlog)',
    );
  }
  for (const entry of entries) {
    const unknown = logProblem(entry, trust.tlogs);
    if (unknown !== undefined) return unknown;
    if (entry.kindVersion.kind === 'intoto' && entry.kindVersion.version === '0.0.1') {
      return problem(
        'TLOG_ENTRY_UNSUPPORTED',
        'an intoto 0.0.1 log entry (a classic cosign attestation) is not checked for a key bundle',
      );
    }
  }

  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, content === undefined ? undefined : Buffer.from(content));
  } catch (error) {
    return problem('BUNDLE_INVALID', `the bundle cannot be verified: ${messageOf(error)}`);
  }
  try {
    new Verifier(trust.material, {
      tlogThreshold: 0,
      timestampThreshold: 0,
      ctlogThreshold: 0,
    }).verify({ ...withSignatureCheck(entity, options.checkSignature), tlogEntries: [...entries] });
  } catch (error) {
    return mapVerifierError(error);
  }

  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  for (const entry of entries) {
    const mismatch = bindingProblem(entry, { kind: 'public-key', spki }, undefined, bundle);
    if (mismatch !== undefined) return mismatch;
  }
  const signingTime = earliestTimestamp(entity);
  return {
    ok: true,
    tlog: entries.map((entry) => logEntryOf(entry, trust.tlogs)),
    ...(signingTime === undefined ? {} : { signingTime }),
  };
}

/** Maps what @sigstore/verify threw to the check that failed. */
function mapVerifierError(error: unknown): Problem {
  const detail = describeError(error);
  const problem = (code: KeyBundleProblemCode, message: string): Problem => ({
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
    case 'TIMESTAMP_ERROR':
      return problem('TIMESTAMP_INVALID', 'a timestamp of the bundle does not verify');
    case 'SIGNATURE_ERROR':
      return problem('SIGNATURE_INVALID', 'the signature does not verify with the key');
    case 'NOT_IMPLEMENTED_ERROR':
      return problem('BUNDLE_UNSUPPORTED', 'the bundle uses a feature vouch cannot verify');
    default:
      return problem('BUNDLE_INVALID', 'the bundle could not be verified');
  }
}
