/**
 * Deciding Notary Project signatures, with no I/O (docs/design.md principle
 * 2): given the evidence (evidence.ts), the applicable trust policy
 * statement, the trust stores it names, the revocation answers gathered
 * beforehand and the time, each signature is checked as notation-go v1.3's
 * verifier checks it (`verifier/verifier.go` `processSignature`, then
 * `Verify`'s descriptor and user metadata checks), in its order:
 *
 * 1. integrity: the envelope parses, its signature verifies with its leaf,
 *    the chain meets the certificate requirements, the signed
 *    `targetArtifact` is this image (media type, digest, size), and a
 *    critical extended attribute comes with a verification plugin
 *    (`io.cncf.notary.verificationPlugin`) that is to process it; then that
 *    plugin's metadata: installed, its version at least the signature's
 *    minimum, with `SIGNATURE_VERIFIER.*` capabilities
 *    (formats/notation/verification-plugin.ts);
 * 2. authenticity: a certificate of the chain is in a `ca` store of the
 *    statement (`signingAuthority` under `notary.x509.signingAuthority`),
 *    byte for byte; then the leaf's subject, as Go prints it, matches a
 *    trusted identity (`x509.subject` subset match, or `*`), unless the
 *    plugin checks trusted identities;
 * 3. expiry: the signature's expiry, if any, is after now;
 * 4. authenticTimestamp: under `notary.x509`, each certificate valid now —
 *    unless the statement names a `tsa` store (and, with `verifyTimestamp:
 *    afterCertExpiry`, some certificate has expired), when a verified RFC
 *    3161 timestamp must fall within the chain's validity instead, its TSA
 *    chain not revoked; under `notary.x509.signingAuthority`, each
 *    certificate valid at the authentic signing time;
 * 5. revocation: no certificate of the chain revoked (unless the level skips
 *    it, or the plugin checks revocation);
 * 6. the plugin's `verify-signature`, asked for the checks it has the
 *    capability for (revocation only when the level does not skip it): a
 *    failed trusted identity is an authenticity failure, a failed revocation
 *    check a revocation failure, each under its action; a plugin that fails,
 *    answers badly or leaves a critical attribute unprocessed fails the
 *    signature outright, as notation's errors there do.
 *
 * A failed check whose action is `enforce` refuses the signature there; one
 * whose action is `log` becomes a warning and the checks go on. Any one
 * signature that passes verifies the image ("any one signature suffices",
 * notation.go `Verify`). The spec lists authenticTimestamp before expiry;
 * notation-go checks expiry first, and vouch does what the code does.
 *
 * https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md#signature-verification
 * https://github.com/notaryproject/notation-go/blob/v1.3.2/verifier/verifier.go
 * https://github.com/notaryproject/notation-go/blob/v1.3.2/notation.go
 *
 * The plugin runs and the revocation checks are I/O: `planNotation` says
 * which are needed given the answers so far (a plugin's metadata before
 * anything else of its signatures, its `verify-signature` only once the
 * revocation answers that could stop the signature first are in), the
 * caller gets those and plans again until nothing is missing, then
 * `evaluateNotation` decides.
 */
import { denied, type ErrorCategory, invalid, unavailable, VouchError } from '../core/errors.ts';
import {
  chainValidAt,
  type ChainPurpose,
  trustAnchorOf,
  validateChain,
} from '../formats/notation/certificate-chain.ts';
import { isSubsetDN, parseDistinguishedName } from '../formats/notation/distinguished-name.ts';
import { type NotationEnvelope, SIGNING_SCHEME_X509 } from '../formats/notation/envelope.ts';
import { parseNotationEnvelope } from '../formats/notation/parse-envelope.ts';
import type { ChainRevocation } from '../formats/notation/revocation-result.ts';
import { verifyNotationSignature } from '../formats/notation/signature.ts';
import type { PluginConfig, PluginMetadata } from '../formats/notation/plugin-protocol.ts';
import type { verifyTimestamp } from '../formats/notation/timestamp.ts';
import type {
  TrustPolicyStatement,
  TrustStoreReference,
  TrustStoreType,
} from '../formats/notation/trust-policy.ts';
import type { ValidationAction, ValidationType } from '../formats/notation/verification-level.ts';
import {
  CAPABILITY_REVOCATION_CHECK_VERIFIER,
  CAPABILITY_TRUSTED_IDENTITY_VERIFIER,
  HEADER_VERIFICATION_PLUGIN,
  pluginVerifierCapabilities,
  unprocessedAttributes,
  type VerificationPluginRequirement,
  type VerifierCapability,
  verificationPluginOf,
  verifySignatureRequest,
  type VerifySignatureResponse,
} from '../formats/notation/verification-plugin.ts';
import type { JsonValue } from '../core/strict-json.ts';
import { type NotationCertificate, parseCertificate } from '../formats/notation/x509.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import type {} from './error-codes.ts';
import type {
  NotationEvidence,
  NotationSignatureEvidence,
  RejectedNotationSignature,
  UntrustedNotationSignature,
} from './evidence.ts';

/** What a trust store named by the statement holds, or why it could not be read. */
export type TrustStoreContents =
  | { readonly ok: true; readonly certificates: readonly NotationCertificate[] }
  | { readonly ok: false; readonly error: VouchError };

export interface NotationTrust {
  /** The trust policy statement that applies to the image. */
  readonly statement: TrustPolicyStatement;
  /** Every store the statement names, by `trustStoreKey`. */
  readonly trustStores: ReadonlyMap<string, TrustStoreContents>;
}

/** `type:name`, as a trust policy writes a store. */
export function trustStoreKey(store: TrustStoreReference): string {
  return `${store.type}:${store.name}`;
}

/** A certificate chain whose revocation status a signature's checks need. */
export interface NotationRevocationRequest {
  /** Identifies the request among the answers (`revocationKey`). */
  readonly key: string;
  readonly purpose: ChainPurpose;
  /** Leaf first, ending with the root. */
  readonly chain: readonly NotationCertificate[];
  /** The authentic signing time, under `notary.x509.signingAuthority`. */
  readonly signingTime?: Date;
}

/** The revocation answers, by `NotationRevocationRequest.key`. */
export type NotationRevocations = ReadonlyMap<string, ChainRevocation>;

/** A `verify-signature` a signature's checks need. */
export interface NotationPluginCall {
  /** Identifies the call among the answers: the signature manifest's digest. */
  readonly key: string;
  readonly plugin: string;
  readonly request: JsonValue;
  /** The checks asked for, and the attributes given to process (for reading the answer). */
  readonly checks: readonly VerifierCapability[];
  readonly unprocessed: readonly string[];
}

/** What verification plugins answered, or why they could not. */
export interface NotationPluginAnswers {
  /** `get-plugin-metadata`, by plugin name. */
  readonly metadata: ReadonlyMap<string, PluginMetadata | VouchError>;
  /** `verify-signature`, by `NotationPluginCall.key`. */
  readonly responses: ReadonlyMap<string, VerifySignatureResponse | VouchError>;
}

export const NO_PLUGIN_ANSWERS: NotationPluginAnswers = {
  metadata: new Map(),
  responses: new Map(),
};

/** The I/O the evaluation still needs (`planNotation`). */
export interface NotationPlan {
  /** Verification plugins whose metadata is needed. */
  readonly pluginMetadata: readonly string[];
  readonly revocations: readonly NotationRevocationRequest[];
  readonly pluginCalls: readonly NotationPluginCall[];
}

export type NotationFailureCode =
  | 'NOTATION_INTEGRITY_FAILED'
  /** A critical extended attribute no verification plugin is there to process. */
  | 'NOTATION_UNSUPPORTED_CRITICAL_ATTRIBUTE'
  /** The verification plugin a signature names could not verify it: absent, too old, failed, answered badly. */
  | 'NOTATION_VERIFICATION_PLUGIN_FAILED'
  /** `--user-metadata` asked for an annotation the signed payload lacks. */
  | 'NOTATION_USER_METADATA_MISMATCH'
  | 'NOTATION_AUTHENTICITY_FAILED'
  | 'NOTATION_AUTHENTIC_TIMESTAMP_FAILED'
  | 'NOTATION_EXPIRED'
  | 'NOTATION_REVOKED'
  | 'NOTATION_REVOCATION_UNAVAILABLE';

export interface NotationFailure {
  /** The check that failed; the codes above that are no check of notation's count as integrity. */
  readonly check: ValidationType;
  readonly code: NotationFailureCode;
  /**
   * `denied` (the signature is bad), `unavailable` (a revocation status
   * could not be had, a plugin failed) or `invalid` (a trust store could not
   * be read, a plugin is not installed).
   */
  readonly category: ErrorCategory;
  readonly message: string;
  /** The trust store's or the plugin's error. */
  readonly cause?: VouchError;
}

export type NotationCheckOutcome =
  /** Run and passed. */
  | 'passed'
  /** Run and failed: enforced (the signature is refused) or logged (a warning). */
  | 'failed'
  /** The level skips it (`revocation` only, or every check under level skip). */
  | 'skipped'
  /** Not reached: an earlier enforced check failed. */
  | 'not-run';

export interface NotationCheckResult {
  readonly check: ValidationType;
  readonly action: ValidationAction;
  readonly outcome: NotationCheckOutcome;
  /** The failures of a failed check (authenticity may fail twice: trust store, then identity). */
  readonly failures: readonly NotationFailure[];
}

/** Who signed, as the envelope says; present once the envelope parsed. */
export interface NotationSigner {
  readonly signingScheme: NotationEnvelope['signingScheme'];
  readonly signingTime: Date;
  readonly expiry?: Date;
  /** The leaf's subject as notation prints it. */
  readonly subject: string;
  /** Lowercase SHA-256 hex of the leaf. */
  readonly thumbprint: string;
  /** The trust store certificate the chain reached, once authenticity passed. */
  readonly trustAnchor?: string;
  /** The verified timestamp, when one decided the authentic timestamp check. */
  readonly timestamp?: { readonly genTime: Date; readonly tsa: string };
  /** The payload's annotations (`notation sign --user-metadata`), signed. */
  readonly userMetadata: Readonly<Record<string, string>>;
}

export interface NotationSignatureResult {
  /** Position among the notation signatures listed. */
  readonly index: number;
  /** The signature manifest's digest. */
  readonly digest: Digest;
  readonly verified: boolean;
  /** Every check, in the order notation runs them. */
  readonly checks: readonly NotationCheckResult[];
  /** Why the signature is refused: the enforced failure. */
  readonly failure?: NotationFailure;
  /** Failed checks whose action is `log`, in order. */
  readonly warnings: readonly NotationFailure[];
  readonly signer?: NotationSigner;
}

export interface NotationVerdict {
  /** The statement applied and what its level makes of each check. */
  readonly statement: TrustPolicyStatement;
  /** The first signature that verified, in listing order. */
  readonly verified?: NotationSignatureResult;
  /** Every examined signature, in listing order. */
  readonly results: readonly NotationSignatureResult[];
  /** Why the image is not verified; absent when it is. */
  readonly error?: VouchError;
}

/** formats/notation/timestamp.ts `verifyTimestamp`. */
export type TimestampVerifier = typeof verifyTimestamp;

/**
 * Whether `statement` has RFC 3161 timestamps verified (it names a `tsa`
 * store): only then does the evaluation need `verifyTimestamp`.
 */
export function verifiesTimestamps(statement: TrustPolicyStatement): boolean {
  return statement.trustStores.some((store) => store.type === 'tsa');
}

export interface NotationEvaluateOptions {
  /**
   * formats/notation/timestamp.ts `verifyTimestamp`, required when the
   * statement `verifiesTimestamps`; without it, a signature whose timestamp
   * decides fails the authentic timestamp check. The caller loads it
   * (verify.ts imports it only then): with it comes pkijs, whose loading
   * alone costs a one-shot `vouch notation verify` more than its checks.
   */
  readonly verifyTimestamp?: TimestampVerifier;
  /**
   * Annotations the signed payload must carry (`notation verify
   * --user-metadata`); a signature without them is refused whatever the level.
   */
  readonly userMetadata?: Readonly<Record<string, string>>;
  /** Given to verification plugins as `pluginConfig` (`notation verify --plugin-config`). */
  readonly pluginConfig?: PluginConfig;
}

/**
 * The I/O the signatures' evaluation still needs, given the answers so far
 * (module comment): the metadata of plugins named, the revocation checks of
 * chains of signatures that get that far (every enforced check before
 * passes, assuming each missing revocation answer is good), and the
 * `verify-signature` calls of signatures none of whose revocation answers
 * is missing. Nothing missing: `evaluateNotation`.
 */
export function planNotation(
  evidence: NotationEvidence,
  trust: NotationTrust,
  now: Date,
  answers: { revocations: NotationRevocations; plugins: NotationPluginAnswers },
  options: NotationEvaluateOptions = {},
): NotationPlan {
  const metadata = new Set<string>();
  const revocations = new Map<string, NotationRevocationRequest>();
  const calls = new Map<string, NotationPluginCall>();
  for (const signature of evidence.signatures) {
    let pending = false;
    const lookups: Lookups = {
      revocation: (request) => {
        const answer = answers.revocations.get(request.key);
        if (answer !== undefined) return answer;
        pending = true;
        revocations.set(request.key, request);
        return { result: 'ok', certificates: [] };
      },
      pluginMetadata: (name) => {
        const answer = answers.plugins.metadata.get(name);
        if (answer === undefined) metadata.add(name);
        return answer;
      },
      pluginResponse: (call) => {
        const answer = answers.plugins.responses.get(call.key);
        if (answer === undefined && !pending) calls.set(call.key, call);
        return answer;
      },
    };
    evaluateSignature(signature, { evidence, trust, now, options, lookups, planning: true });
  }
  return {
    pluginMetadata: [...metadata],
    revocations: [...revocations.values()],
    pluginCalls: [...calls.values()],
  };
}

/**
 * The revocation checks the signatures' evaluation will need, when no
 * signature names a verification plugin (those stop at the plugin's
 * metadata): `planNotation`'s first answer.
 */
export function planNotationRevocation(
  evidence: NotationEvidence,
  trust: NotationTrust,
  now: Date,
  options: NotationEvaluateOptions = {},
): NotationRevocationRequest[] {
  return [
    ...planNotation(
      evidence,
      trust,
      now,
      { revocations: new Map(), plugins: NO_PLUGIN_ANSWERS },
      options,
    ).revocations,
  ];
}

/**
 * Decides each signature and the image (module comment). A revocation answer
 * missing from `revocations` counts as "could not be checked"; a signature
 * whose plugin's metadata is missing from `plugins` fails, as verification
 * plugins were not run.
 */
export function evaluateNotation(
  evidence: NotationEvidence,
  trust: NotationTrust,
  revocations: NotationRevocations,
  now: Date,
  options: NotationEvaluateOptions = {},
  plugins: NotationPluginAnswers = NO_PLUGIN_ANSWERS,
): NotationVerdict {
  const lookups: Lookups = {
    revocation: (request) =>
      revocations.get(request.key) ?? {
        result: 'unknown',
        certificates: [],
        problem: { index: 0, subject: '', message: 'its revocation status was not checked' },
      },
    pluginMetadata: (name) => plugins.metadata.get(name),
    pluginResponse: (call) => plugins.responses.get(call.key),
  };
  const results = [
    ...evidence.signatures.map((signature) =>
      evaluateSignature(signature, { evidence, trust, now, options, lookups, planning: false }),
    ),
    ...evidence.rejected.map((rejected) => rejectedResult(rejected, trust.statement)),
    ...evidence.untrusted.map((untrusted) => untrustedResult(untrusted, trust)),
  ].sort((a, b) => a.index - b.index);
  const verified = results.find((result) => result.verified);
  const statement = trust.statement;
  if (verified !== undefined) return { statement, verified, results };
  return { statement, results, error: imageError(evidence, results) };
}

/** The error of an image none of whose signatures verified. */
function imageError(
  evidence: NotationEvidence,
  results: readonly NotationSignatureResult[],
): VouchError {
  const { reference, descriptor } = evidence.image;
  const at = evidence.referrersLocation;
  if (results.length === 0) {
    return denied(
      'NOTATION_NO_SIGNATURES',
      `${reference}: no Notary Project signature is associated with ${descriptor.digest} (${at})`,
    );
  }
  const failures = results.flatMap((result) =>
    result.failure === undefined ? [] : [result.failure],
  );
  const config = failures.find((failure) => failure.category === 'invalid');
  if (config?.cause !== undefined) return config.cause;
  const unknown = failures.find((failure) => failure.category === 'unavailable');
  if (unknown !== undefined) {
    const message = `${reference}: no signature verified, and ${unknown.message}`;
    return unknown.cause?.category === 'unavailable'
      ? new VouchError('unavailable', unknown.cause.code, message, { cause: unknown.cause })
      : unavailable('NOTATION_REVOCATION_UNAVAILABLE', message);
  }
  const notExamined =
    evidence.notExamined === 0
      ? ''
      : `; ${plural(evidence.notExamined, 'more signature')} ${evidence.notExamined === 1 ? 'was' : 'were'} not examined (more than the maximum number of signatures to examine)`;
  const first = results.find((result) => result.failure !== undefined);
  const why =
    first?.failure === undefined
      ? ''
      : ` (signature ${first.index}: ${first.failure.code}: ${first.failure.message})`;
  const none =
    results.length === 1
      ? `the signature at ${at} did not verify`
      : `none of the ${results.length} signatures at ${at} verified`;
  return denied(
    evidence.notExamined === 0 ? 'NOTATION_NO_VALID_SIGNATURE' : 'NOTATION_TOO_MANY_SIGNATURES',
    `${reference}: ${none}${why}${notExamined}`,
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** The answers of the I/O; undefined when not (yet) had. */
interface Lookups {
  revocation(request: NotationRevocationRequest): ChainRevocation;
  pluginMetadata(name: string): PluginMetadata | VouchError | undefined;
  pluginResponse(call: NotationPluginCall): VerifySignatureResponse | VouchError | undefined;
}

interface Context {
  readonly evidence: NotationEvidence;
  readonly trust: NotationTrust;
  readonly now: Date;
  readonly options: NotationEvaluateOptions;
  readonly lookups: Lookups;
  /** planNotation: a missing plugin answer stops the signature quietly. */
  readonly planning: boolean;
}

/** notation's order of checks (module comment). */
const ORDER: readonly ValidationType[] = [
  'integrity',
  'authenticity',
  'expiry',
  'authenticTimestamp',
  'revocation',
];

const FAILURE_CODES: Readonly<Record<ValidationType, NotationFailureCode>> = {
  integrity: 'NOTATION_INTEGRITY_FAILED',
  authenticity: 'NOTATION_AUTHENTICITY_FAILED',
  authenticTimestamp: 'NOTATION_AUTHENTIC_TIMESTAMP_FAILED',
  expiry: 'NOTATION_EXPIRED',
  revocation: 'NOTATION_REVOKED',
};

/** Collects check results as notation's `isCriticalFailure` and `logVerificationResult` treat them. */
class Checks {
  readonly #statement: TrustPolicyStatement;
  readonly #failures = new Map<ValidationType, NotationFailure[]>();
  readonly #passed = new Set<ValidationType>();
  readonly warnings: NotationFailure[] = [];
  failure: NotationFailure | undefined;

  constructor(statement: TrustPolicyStatement) {
    this.#statement = statement;
  }

  action(check: ValidationType): ValidationAction {
    return this.#statement.verification.actions[check];
  }

  pass(check: ValidationType): true {
    this.#passed.add(check);
    return true;
  }

  /** Records a failure; false when it is enforced and the checks stop. */
  fail(
    check: ValidationType,
    message: string,
    extra: { code?: NotationFailureCode; category?: ErrorCategory; cause?: VouchError } = {},
  ): boolean {
    const failure: NotationFailure = {
      check,
      code: extra.code ?? FAILURE_CODES[check],
      category: extra.category ?? 'denied',
      message,
      ...(extra.cause === undefined ? {} : { cause: extra.cause }),
    };
    this.#failures.set(check, [...(this.#failures.get(check) ?? []), failure]);
    // Integrity and what notation fails outright are enforced whatever the level.
    if (check === 'integrity' || this.action(check) === 'enforce') {
      this.failure = failure;
      return false;
    }
    this.warnings.push(failure);
    return true;
  }

  results(): NotationCheckResult[] {
    return ORDER.map((check) => {
      const action = this.action(check);
      const failures = this.#failures.get(check) ?? [];
      const outcome: NotationCheckOutcome =
        failures.length > 0
          ? 'failed'
          : this.#passed.has(check)
            ? 'passed'
            : action === 'skip'
              ? 'skipped'
              : 'not-run';
      return { check, action, outcome, failures };
    });
  }
}

/** A listed signature that could not be read: an integrity failure. */
function rejectedResult(
  rejected: RejectedNotationSignature,
  statement: TrustPolicyStatement,
): NotationSignatureResult {
  const checks = new Checks(statement);
  checks.fail('integrity', `unable to read the signature: ${rejected.reason}`);
  return finish(rejected.index, rejected.digest, checks, undefined);
}

/**
 * A signature skipped unfetched because its thumbprints name no trusted
 * certificate (evidence.ts): an authenticity failure, which is enforced
 * whenever signatures are skipped so.
 */
function untrustedResult(
  untrusted: UntrustedNotationSignature,
  trust: NotationTrust,
): NotationSignatureResult {
  const checks = new Checks(trust.statement);
  const stores = trust.statement.trustStores
    .filter((store) => store.type !== 'tsa')
    .map(trustStoreKey)
    .join(', ');
  checks.fail(
    'authenticity',
    `the signature is not produced by a trusted signer: its manifest lists the certificate thumbprints ${untrusted.thumbprints.join(', ')}, none of which is in the trust store ${stores}; its envelope was not fetched`,
  );
  return finish(untrusted.index, untrusted.digest, checks, undefined);
}

function finish(
  index: number,
  digest: Digest,
  checks: Checks,
  signer: NotationSigner | undefined,
): NotationSignatureResult {
  return {
    index,
    digest,
    verified: checks.failure === undefined,
    checks: checks.results(),
    ...(checks.failure === undefined ? {} : { failure: checks.failure }),
    warnings: checks.warnings,
    ...(signer === undefined ? {} : { signer }),
  };
}

function evaluateSignature(
  signature: NotationSignatureEvidence,
  context: Context,
): NotationSignatureResult {
  const { statement } = context.trust;
  const checks = new Checks(statement);
  const done = (signer?: NotationSigner) =>
    finish(signature.index, signature.manifest.digest, checks, signer);
  const read = integrity(signature, context, checks);
  if (read === undefined) return done();
  const { envelope, chain } = read;
  let plugin: VerificationPlugin | undefined;
  if (read.plugin !== undefined) {
    plugin = verificationPlugin(read.plugin, envelope, context, checks);
    if (plugin === undefined) return done();
  }
  const pluginChecks = plugin?.capabilities ?? [];
  const leaf = chain[0] as NotationCertificate;
  let signer: NotationSigner = {
    signingScheme: envelope.signingScheme,
    signingTime: envelope.signingTime,
    ...(envelope.expiry === undefined ? {} : { expiry: envelope.expiry }),
    subject: leaf.subject,
    thumbprint: digestOf(leaf.der).slice('sha256:'.length),
    userMetadata: envelope.targetArtifact.annotations ?? {},
  };

  const anchor = authenticity(
    envelope,
    chain,
    context,
    checks,
    pluginChecks.includes(CAPABILITY_TRUSTED_IDENTITY_VERIFIER),
  );
  if (anchor === false) return done(signer);
  if (anchor !== undefined) signer = { ...signer, trustAnchor: anchor.subject };

  if (!expiry(envelope, context, checks)) return done(signer);

  const stamped = authenticTimestamp(envelope, chain, context, checks);
  if (stamped === false) return done(signer);
  if (stamped !== undefined) signer = { ...signer, timestamp: stamped };

  if (
    checks.action('revocation') !== 'skip' &&
    !pluginChecks.includes(CAPABILITY_REVOCATION_CHECK_VERIFIER)
  ) {
    const request = revocationRequest(
      'codeSigning',
      chain,
      envelope.signingScheme === SIGNING_SCHEME_X509 ? undefined : envelope.signingTime,
    );
    const problem = revocationProblem(context.lookups.revocation(request), 'signing');
    if (problem === undefined) checks.pass('revocation');
    else if (!checks.fail('revocation', problem.message, problem)) return done(signer);
  }

  if (plugin !== undefined && !pluginVerification(plugin, envelope, signature, context, checks)) {
    return done(signer);
  }

  const wanted = Object.entries(context.options.userMetadata ?? {});
  const missing = wanted.filter(([key, value]) => signer.userMetadata[key] !== value);
  if (missing.length > 0) {
    checks.fail(
      'integrity',
      `the signed payload does not carry the user metadata ${missing.map(([key, value]) => `${key}=${value}`).join(', ')}`,
      { code: 'NOTATION_USER_METADATA_MISMATCH' },
    );
  }
  return done(signer);
}

type OpenedEnvelope =
  | {
      readonly ok: true;
      readonly envelope: NotationEnvelope;
      readonly chain: NotationCertificate[];
    }
  | { readonly ok: false; readonly message: string };

/**
 * Each signature's envelope parsed, its signature verified and its chain
 * parsed, once: `planNotationRevocation` and `evaluateNotation` both
 * evaluate every signature, and this part depends on the envelope bytes
 * alone (neither the time nor the trust policy).
 */
const openedEnvelopes = new WeakMap<NotationSignatureEvidence, OpenedEnvelope>();

function openEnvelope(signature: NotationSignatureEvidence, bytes: Uint8Array): OpenedEnvelope {
  let opened = openedEnvelopes.get(signature);
  if (opened === undefined) {
    try {
      const envelope = parseNotationEnvelope(signature.manifest.envelopeMediaType, bytes);
      verifyNotationSignature(envelope);
      const chain = envelope.certificateChain.map((der, i) =>
        parseCertificate(der, `certificate ${i}`),
      );
      opened = { ok: true, envelope, chain };
    } catch (error) {
      opened = { ok: false, message: (error as Error).message };
    }
    openedEnvelopes.set(signature, opened);
  }
  return opened;
}

/** Step 1; the envelope and its parsed chain, or undefined after recording the failure. */
function integrity(
  signature: NotationSignatureEvidence,
  context: Context,
  checks: Checks,
):
  | {
      envelope: NotationEnvelope;
      chain: NotationCertificate[];
      plugin?: VerificationPluginRequirement;
    }
  | undefined {
  const bytes = signature.envelope;
  if (bytes === undefined) {
    checks.fail('integrity', 'the signature envelope was not fetched');
    return undefined;
  }
  const opened = openEnvelope(signature, bytes);
  if (!opened.ok) {
    checks.fail('integrity', `unable to verify the signature: ${opened.message}`);
    return undefined;
  }
  const { envelope, chain } = opened;
  const invalid = validateChain(chain, 'codeSigning');
  if (invalid !== undefined) {
    checks.fail('integrity', `the certificate chain is invalid: ${invalid.message}`);
    return undefined;
  }
  const named = verificationPluginOf(envelope);
  if (!named.ok) {
    checks.fail('integrity', named.problem);
    return undefined;
  }
  const critical = envelope.extendedAttributes.filter((attribute) => attribute.critical);
  if (named.plugin === undefined && critical.length > 0) {
    const names = critical.map((attribute) => JSON.stringify(attribute.key)).join(', ');
    checks.fail(
      'integrity',
      `the signature carries the critical attribute${critical.length === 1 ? '' : 's'} ${names}, which only a verification plugin processes, and it names no verification plugin (${HEADER_VERIFICATION_PLUGIN})`,
      { code: 'NOTATION_UNSUPPORTED_CRITICAL_ATTRIBUTE' },
    );
    return undefined;
  }
  const target = envelope.targetArtifact;
  const image = context.evidence.image.descriptor;
  if (
    target.digest !== image.digest ||
    target.size !== image.size ||
    target.mediaType !== image.mediaType
  ) {
    checks.fail(
      'integrity',
      `the signature is for ${target.digest} (${target.mediaType}, ${target.size} bytes), not for the image ${image.digest} (${image.mediaType}, ${image.size} bytes)`,
    );
    return undefined;
  }
  checks.pass('integrity');
  return { envelope, chain, ...(named.plugin === undefined ? {} : { plugin: named.plugin }) };
}

interface VerificationPlugin {
  readonly requirement: VerificationPluginRequirement;
  readonly capabilities: readonly VerifierCapability[];
}

/** A failure of the plugin or of its use: outright, as notation returns an error there. */
function pluginFailure(checks: Checks, message: string, cause?: VouchError): void {
  checks.fail('integrity', message, {
    code: 'NOTATION_VERIFICATION_PLUGIN_FAILED',
    category: cause?.category ?? 'denied',
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Step 1, continued (verifier.go `processSignature`): the plugin the
 * signature names, installed, recent enough, able to verify; undefined
 * when the checks stop (or, planning, its metadata is still to be had).
 */
function verificationPlugin(
  requirement: VerificationPluginRequirement,
  envelope: NotationEnvelope,
  context: Context,
  checks: Checks,
): VerificationPlugin | undefined {
  const name = JSON.stringify(requirement.name);
  const metadata = context.lookups.pluginMetadata(requirement.name);
  if (metadata === undefined) {
    if (!context.planning) {
      checks.fail(
        'integrity',
        `the signature names the verification plugin ${name} (critical attribute "${HEADER_VERIFICATION_PLUGIN}"), and verification plugins are not run here, so it cannot be verified`,
        { code: 'NOTATION_UNSUPPORTED_CRITICAL_ATTRIBUTE' },
      );
    }
    return undefined;
  }
  if (metadata instanceof VouchError) {
    pluginFailure(
      checks,
      `the signature needs the verification plugin ${name}: ${metadata.message}`,
      metadata,
    );
    return undefined;
  }
  const usable = pluginVerifierCapabilities(metadata, requirement);
  if (!usable.ok) {
    pluginFailure(checks, usable.problem);
    return undefined;
  }
  // Values a plugin cannot be given fail before any check runs.
  const request = verifySignatureRequest({
    envelope,
    plugin: requirement,
    trustedIdentities: [],
    checks: [],
    pluginConfig: {},
  });
  if (!request.ok) {
    pluginFailure(checks, request.problem);
    return undefined;
  }
  return { requirement, capabilities: usable.capabilities };
}

/**
 * Step 6 (verifier.go `executePlugin`, `processPluginResponse`): false
 * when the checks stop (or, planning, the answer is still to be had).
 */
function pluginVerification(
  plugin: VerificationPlugin,
  envelope: NotationEnvelope,
  signature: NotationSignatureEvidence,
  context: Context,
  checks: Checks,
): boolean {
  const name = JSON.stringify(plugin.requirement.name);
  const { statement } = context.trust;
  const asked = plugin.capabilities.filter(
    (check) =>
      !(check === CAPABILITY_REVOCATION_CHECK_VERIFIER && checks.action('revocation') === 'skip'),
  );
  const unprocessed = unprocessedAttributes(envelope);
  if (asked.length === 0) {
    if (unprocessed.length === 0) return true;
    pluginFailure(
      checks,
      `the critical attribute${unprocessed.length === 1 ? '' : 's'} ${unprocessed.map((key) => JSON.stringify(key)).join(', ')} can only be processed by plugin ${name}, and the trust policy leaves it nothing to check`,
    );
    return false;
  }
  const request = verifySignatureRequest({
    envelope,
    plugin: plugin.requirement,
    trustedIdentities: statement.trustedIdentities.map((identity) =>
      identity.kind === 'any' ? '*' : identity.text,
    ),
    checks: asked,
    pluginConfig: context.options.pluginConfig ?? {},
  });
  if (!request.ok) {
    pluginFailure(checks, request.problem);
    return false;
  }
  const call: NotationPluginCall = {
    key: signature.manifest.digest,
    plugin: plugin.requirement.name,
    request: request.request,
    checks: asked,
    unprocessed,
  };
  const response = context.lookups.pluginResponse(call);
  if (response === undefined) {
    if (!context.planning)
      pluginFailure(checks, `plugin ${name} was not asked to verify the signature`);
    return false;
  }
  if (response instanceof VouchError) {
    pluginFailure(checks, response.message, response);
    return false;
  }
  for (const check of asked) {
    const result = response.results.get(check);
    if (result === undefined || result.success) {
      if (check === CAPABILITY_REVOCATION_CHECK_VERIFIER) checks.pass('revocation');
      continue;
    }
    const reason = JSON.stringify(result.reason ?? '');
    const go =
      check === CAPABILITY_TRUSTED_IDENTITY_VERIFIER
        ? checks.fail(
            'authenticity',
            `trusted identity verification by plugin ${name} failed with reason ${reason}`,
          )
        : checks.fail(
            'revocation',
            `revocation check by verification plugin ${name} failed with reason ${reason}`,
          );
    if (!go) return false;
  }
  return true;
}

/**
 * The certificates of the statement's stores of `type`, each store once,
 * in the statement's order (verifier/helpers.go `loadX509TrustStoresWithType`);
 * or the first store that could not be read.
 */
function storeCertificates(
  trust: NotationTrust,
  type: TrustStoreType,
): { certificates: NotationCertificate[] } | { error: VouchError } {
  const certificates: NotationCertificate[] = [];
  const seen = new Set<string>();
  for (const store of trust.statement.trustStores) {
    const key = trustStoreKey(store);
    if (store.type !== type || seen.has(key)) continue;
    seen.add(key);
    const contents = trust.trustStores.get(key);
    if (contents === undefined) {
      return {
        error: invalid('NOTATION_TRUST_STORE_NOT_FOUND', `the trust store ${key} was not loaded`),
      };
    }
    if (!contents.ok) return { error: contents.error };
    certificates.push(...contents.certificates);
  }
  return { certificates };
}

/**
 * Step 2: the trust store, then the trusted identity. The trust store
 * certificate reached; undefined when the trust store check failed and was
 * logged; false when the checks stop.
 */
function authenticity(
  envelope: NotationEnvelope,
  chain: readonly NotationCertificate[],
  context: Context,
  checks: Checks,
  pluginChecksIdentity: boolean,
): NotationCertificate | undefined | false {
  const { trust } = context;
  const type: TrustStoreType =
    envelope.signingScheme === SIGNING_SCHEME_X509 ? 'ca' : 'signingAuthority';
  const loaded = storeCertificates(trust, type);
  let anchor: NotationCertificate | undefined;
  let failed = false;
  if ('error' in loaded) {
    failed = true;
    if (!checks.fail('authenticity', loaded.error.message, trustStoreFailure(loaded.error)))
      return false;
  } else if (loaded.certificates.length === 0) {
    failed = true;
    const message = `no trusted certificates are found to verify authenticity: trust policy statement ${JSON.stringify(trust.statement.name)} names no ${type} trust store, which ${envelope.signingScheme} signatures are verified with`;
    if (!checks.fail('authenticity', message)) return false;
  } else {
    anchor = trustAnchorOf(chain, loaded.certificates);
    if (anchor === undefined) {
      failed = true;
      const stores = trust.statement.trustStores
        .filter((store) => store.type === type)
        .map(trustStoreKey)
        .join(', ');
      const message = `the signature is not produced by a trusted signer: no certificate of its chain (leaf "${chain[0]?.subject}") is in the trust store ${stores}`;
      if (!checks.fail('authenticity', message)) return false;
    }
  }
  // A plugin that checks trusted identities does so in step 6, instead.
  const identity = pluginChecksIdentity
    ? undefined
    : trustedIdentityProblem(trust.statement, chain[0] as NotationCertificate);
  if (identity !== undefined) {
    if (!checks.fail('authenticity', identity)) return false;
    return undefined;
  }
  if (!failed) checks.pass('authenticity');
  return anchor;
}

/** A trust store that could not be read fails the check as `invalid`: the configuration is at fault. */
function trustStoreFailure(error: VouchError): {
  category: ErrorCategory;
  cause: VouchError;
} {
  return { category: error.category, cause: error };
}

/** verifier.go `verifyX509TrustedIdentities`: why the leaf matches no trusted identity, or undefined. */
function trustedIdentityProblem(
  statement: TrustPolicyStatement,
  leaf: NotationCertificate,
): string | undefined {
  const identities = statement.trustedIdentities;
  if (identities.some((identity) => identity.kind === 'any')) return undefined;
  const subjects = identities.flatMap((identity) =>
    identity.kind === 'x509.subject' ? [identity] : [],
  );
  const name = JSON.stringify(statement.name);
  if (subjects.length === 0) {
    return `no x509 trusted identities are configured in the trust policy ${name}`;
  }
  const parsed = parseDistinguishedName(leaf.subject);
  if (!parsed.ok) {
    return `error while parsing the certificate subject from the digital signature: ${parsed.problem}`;
  }
  if (subjects.some((identity) => isSubsetDN(identity.dn, parsed.dn))) return undefined;
  return `the signing certificate's subject "${leaf.subject}" does not match the X.509 trusted identities ${subjects.map((identity) => JSON.stringify(identity.text)).join(', ')} of trust policy statement ${name}`;
}

/** Step 3 (verifier.go `verifyExpiry`); false when the checks stop. */
function expiry(envelope: NotationEnvelope, context: Context, checks: Checks): boolean {
  const { expiry } = envelope;
  if (expiry !== undefined && !(context.now < expiry)) {
    return checks.fail(
      'expiry',
      `the signature expired at ${expiry.toISOString()} (it is now ${context.now.toISOString()})`,
    );
  }
  checks.pass('expiry');
  return true;
}

/**
 * Step 4 (verifier.go `verifyAuthenticTimestamp`, `verifyTimestamp`): the
 * verified timestamp when one decided, undefined when none did (or the
 * failure was logged), false when the checks stop.
 */
function authenticTimestamp(
  envelope: NotationEnvelope,
  chain: readonly NotationCertificate[],
  context: Context,
  checks: Checks,
): { genTime: Date; tsa: string } | undefined | false {
  const fail = (message: string, extra?: Parameters<Checks['fail']>[2]) =>
    checks.fail('authenticTimestamp', message, extra) && undefined;
  if (envelope.signingScheme !== SIGNING_SCHEME_X509) {
    const invalid = chainValidAt(chain, envelope.signingTime, 'the authentic signing time');
    if (invalid !== undefined) return fail(invalid.message);
    checks.pass('authenticTimestamp');
    return undefined;
  }
  const { statement } = context.trust;
  const now = context.now;
  const tsaConfigured = verifiesTimestamps(statement);
  const stamped =
    tsaConfigured &&
    (statement.verifyTimestamp === 'always' || chain.some((cert) => now > cert.notAfter));
  if (!stamped) {
    // No timestamp to rely on: the chain must be valid now.
    const invalid = chainValidAt(chain, now, 'the verification time');
    if (invalid !== undefined) return fail(invalid.message);
    checks.pass('authenticTimestamp');
    return undefined;
  }
  const token = envelope.timestampToken;
  if (token === undefined) {
    return fail('no timestamp countersignature was found in the signature envelope');
  }
  const loaded = storeCertificates(context.trust, 'tsa');
  if ('error' in loaded) {
    return fail(
      `failed to load the tsa trust store: ${loaded.error.message}`,
      trustStoreFailure(loaded.error),
    );
  }
  if (loaded.certificates.length === 0) {
    return fail('no trusted TSA certificate found in trust store');
  }
  const verifyTimestamp = context.options.verifyTimestamp;
  if (verifyTimestamp === undefined) {
    return fail('the timestamp cannot be verified: no timestamp verifier was given');
  }
  const verified = verifyTimestamp({
    token,
    signature: envelope.signature,
    tsaRoots: loaded.certificates,
    signingChain: chain,
  });
  if (!verified.ok) return fail(verified.message);
  const request = revocationRequest('timestamping', verified.tsaChain, undefined);
  const problem = revocationProblem(context.lookups.revocation(request), 'timestamping');
  if (problem !== undefined) return fail(problem.message, { category: problem.category });
  checks.pass('authenticTimestamp');
  return { genTime: verified.genTime, tsa: verified.tsaChain[0]?.subject ?? '' };
}

function revocationRequest(
  purpose: ChainPurpose,
  chain: readonly NotationCertificate[],
  signingTime: Date | undefined,
): NotationRevocationRequest {
  const key = [
    purpose,
    signingTime?.toISOString() ?? '',
    ...chain.map((cert) => digestOf(cert.der)),
  ].join(' ');
  return { key, purpose, chain, ...(signingTime === undefined ? {} : { signingTime }) };
}

/** verifier.go `revocationFinalResult`, worded as notation words it. */
function revocationProblem(
  revocation: ChainRevocation,
  kind: 'signing' | 'timestamping',
): { code: NotationFailureCode; category: ErrorCategory; message: string } | undefined {
  const problem = revocation.problem;
  const subject = problem?.subject ? ` with subject "${problem.subject}"` : '';
  const detail = problem?.message ? `: ${problem.message}` : '';
  switch (revocation.result) {
    case 'ok':
      return undefined;
    case 'revoked':
      return {
        code: 'NOTATION_REVOKED',
        category: 'denied',
        message: `the ${kind} certificate${subject} is revoked${detail}`,
      };
    case 'unknown':
      return {
        code: 'NOTATION_REVOCATION_UNAVAILABLE',
        category: 'unavailable',
        message: `the revocation status of the ${kind} certificate${subject} is unknown${detail}`,
      };
  }
}
