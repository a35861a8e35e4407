/**
 * Keyless signing, as cosign signs in CI (sigstore/cosign
 * cmd/cosign/cli/sign/sign.go, pkg/cosign/tlog.go), built on the Sigstore
 * project's own client, @sigstore/sign, with vouch's checks around it:
 *
 * 1. One ephemeral P-256 key per run. Fulcio is asked once
 *    (`FulcioSigner`, proof of possession over the token's subject) for a
 *    certificate binding the key to the OIDC identity; every image of the
 *    run is signed with that key and certificate.
 * 2. Before the key signs anything that is logged or stored, the
 *    certificate is checked (sigstore/signing-certificate.ts: our key,
 *    chain to a Fulcio CA of the trusted root, SCTs from its CT logs).
 * 3. Each signature is logged in Rekor (`hashedrekord` for a message
 *    signature, `dsse` for an envelope) and, when a TSA is configured,
 *    timestamped (RFC 3161), by @sigstore/sign's bundle builders.
 * 4. What comes back is verified as a verifier will see it before it is
 *    handed to the caller to store: the classic `.sig` layer through the
 *    same conversion `vouch verify` uses (formats/classic-bundle.ts), a
 *    bundle through the strict bundle reader; then sigstore/keyless.ts
 *    `verifyBundle` (SET and inclusion proof against the trusted root, the
 *    entry body binding this signature, certificate and digest, the TSA
 *    timestamp, the chain, and the identity exactly as certified).
 *
 * Errors say which step failed: the service's `*_REFUSED` (`invalid`: it
 * turned the request down, usually the token), `*_UNAVAILABLE` (could not
 * reach it), `*_RESPONSE_INVALID` (`denied`: it answered something that is
 * not what was asked), SIGNING_CERTIFICATE_* (step 2), and
 * TLOG_ENTRY_INVALID / TIMESTAMP_INVALID / KEYLESS_SIGNATURE_INVALID
 * (step 4). An identity token never appears in a message.
 */
import { generateKeyPairSync } from 'node:crypto';
import { bundleToJSON, envelopeToJSON } from '@sigstore/bundle';
import { pem } from '@sigstore/core';
import {
  type Bundle,
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
  type Signer as SigstoreSigner,
  TSAWitness,
  type Witness,
} from '@sigstore/sign';
import { abortError } from '../core/abort.ts';
import { encodeStdBase64 } from '../core/base64.ts';
import { denied, invalid, isVouchError, messageOf, unavailable } from '../core/errors.ts';
import { bundleOfClassicAttestation, bundleOfClassicSignature } from '../formats/classic-bundle.ts';
import { classicAnnotations, type ClassicLogEntry } from '../formats/classic-annotations.ts';
import { IN_TOTO_PAYLOAD_TYPE } from '../formats/dsse.ts';
import { SIGNATURE_ANNOTATION } from '../formats/signature-manifest.ts';
import { parseBundle } from '../formats/sigstore-bundle-reader.ts';
import { createKeySigner, type Signer } from '../keys/signer.ts';
import { exactly } from '../sigstore/certificate-identity.ts';
import { type KeylessTrust } from '../sigstore/keyless-trust.ts';
import { type BundleVerification, verifyBundle } from '../sigstore/keyless.ts';
import {
  type CheckedSigningCertificate,
  checkSigningCertificate,
} from '../sigstore/signing-certificate.ts';

/** The services a keyless run talks to. */
export interface KeylessServices {
  /** Fulcio's base URL (`POST /api/v2/signingCert`). */
  readonly fulcioUrl: string;
  /** Rekor's base URL (v1 API); undefined logs nothing, which needs a TSA. */
  readonly rekorUrl?: string | undefined;
  /** An RFC 3161 timestamp authority's base URL (`POST /api/v1/timestamp`). */
  readonly tsaUrl?: string | undefined;
}

export interface KeylessSigningOptions {
  /** The OIDC identity token, already checked (sigstore/identity-token.ts). */
  readonly identityToken: string;
  readonly services: KeylessServices;
  /** The trusted root's keyless material: the CAs, CT logs, logs and TSAs signatures must verify with. */
  readonly trust: KeylessTrust;
  /** Time limit of one HTTP request. Default 30 s. */
  readonly timeoutMs?: number;
  /** Retries of a request that failed with a network error, 408, 429 or 5xx. Default 2. */
  readonly retries?: number;
  /** Stops every step when aborted (the command's deadline). */
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
}

/** Where a signature was logged. */
export interface LogEntryRef {
  readonly logIndex: number;
  readonly logUrl: string;
}

/** A `.sig` layer's signature and annotations, verified. */
export interface KeylessPayloadSignature {
  readonly signatureBase64: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly logEntry?: LogEntryRef;
}

/** A `.att` layer's DSSE envelope (the layer blob) and annotations, verified. */
export interface KeylessEnvelope {
  readonly envelope: Uint8Array;
  readonly annotations: Readonly<Record<string, string>>;
  readonly logEntry?: LogEntryRef;
}

/** A Sigstore bundle (v0.3 JSON, as written), verified. */
export interface KeylessBundle {
  readonly bundle: Uint8Array;
  readonly logEntry?: LogEntryRef;
}

/** A run's certificate, and signing with it. */
export interface KeylessSigning {
  /** The ephemeral key: `publicKey` is what the certificate certifies. */
  readonly signer: Signer;
  readonly certificate: CheckedSigningCertificate;
  /** Signs a simple-signing payload: the classic `.sig` layer's signature and annotations. */
  signPayload(payload: Uint8Array): Promise<KeylessPayloadSignature>;
  /**
   * Signs `statement` (in-toto) in a DSSE envelope for a classic `.att`
   * layer, logged as a `dsse` entry (cosign >= 2.2). Not timestamped: cosign
   * timestamps a classic attestation's envelope bytes, which a bundle's
   * timestamp never covers; use `signStatementBundle` for a timestamped one.
   */
  signEnvelope(statement: Uint8Array): Promise<KeylessEnvelope>;
  /** Signs `statement` (in-toto) in a DSSE envelope: a v0.3 bundle (cosign 3's referrers). */
  signStatementBundle(statement: Uint8Array): Promise<KeylessBundle>;
  /** Signs `data` itself: a v0.3 message-signature bundle (`sign-blob`). */
  signMessageBundle(data: Uint8Array): Promise<KeylessBundle>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 2;

type Service = 'Fulcio' | 'Rekor' | 'TSA';

/**
 * Gets the run's certificate from Fulcio and checks it; nothing is signed
 * for the caller until this returned. Throws the errors of the module
 * comment.
 */
export async function startKeylessSigning(options: KeylessSigningOptions): Promise<KeylessSigning> {
  const { identityToken: token, services, trust } = options;
  if (typeof token !== 'string' || token === '') {
    throw invalid('INVALID_OPTION', 'keyless signing needs an identity token');
  }
  if (services.rekorUrl === undefined && services.tsaUrl === undefined) {
    throw invalid(
      'INVALID_OPTION',
      'keyless signing needs a transparency log or a timestamp authority: a signature without either has no trusted signing time',
    );
  }
  const now = options.now ?? (() => new Date());
  const fetchOptions = {
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: { retries: options.retries ?? DEFAULT_RETRIES },
  };
  const guard = <T>(service: Service, url: string, work: () => Promise<T>) =>
    guarded(service, url, token, options.signal, work);

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = createKeySigner(privateKey, { hash: 'sha256' });
  const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const keyHolder: SigstoreSigner = {
    sign: async (data) => ({
      signature: Buffer.from(await signer.sign(data)),
      key: { $case: 'publicKey', publicKey: publicKeyPem },
    }),
  };
  const fulcio = new FulcioSigner({
    fulcioBaseURL: services.fulcioUrl,
    identityProvider: { getToken: () => Promise.resolve(token) },
    keyHolder,
    ...fetchOptions,
  });
  const issued = await guard('Fulcio', services.fulcioUrl, () => fulcio.sign(Buffer.alloc(0)));
  if (issued.key.$case !== 'x509Certificate') {
    throw denied(
      'FULCIO_RESPONSE_INVALID',
      `Fulcio (${services.fulcioUrl}) answered without a certificate`,
    );
  }
  const certificatePem = issued.key.certificate;
  const certificate = checkSigningCertificate(
    leafDer(certificatePem, services.fulcioUrl),
    publicKey,
    trust,
    now(),
  );

  const certified: SigstoreSigner = {
    sign: async (data) => ({
      signature: Buffer.from(await signer.sign(data)),
      key: { $case: 'x509Certificate', certificate: certificatePem },
    }),
  };
  const witnesses: Witness[] = [];
  const logs: Witness[] = [];
  if (services.rekorUrl !== undefined) {
    const url = services.rekorUrl;
    const rekor = new RekorWitness({
      rekorBaseURL: url,
      entryType: 'dsse',
      majorApiVersion: 1,
      ...fetchOptions,
    });
    const log: Witness = {
      testify: (content, key) => guard('Rekor', url, () => rekor.testify(content, key)),
    };
    witnesses.push(log);
    logs.push(log);
  }
  if (services.tsaUrl !== undefined) {
    const url = services.tsaUrl;
    const tsa = new TSAWitness({ tsaBaseURL: url, ...fetchOptions });
    witnesses.push({ testify: (content) => guard('TSA', url, () => tsa.testify(content)) });
  }
  const messages = new MessageSignatureBundleBuilder({ signer: certified, witnesses });
  const envelopes = new DSSEBundleBuilder({ signer: certified, witnesses });
  const classicEnvelopes = new DSSEBundleBuilder({ signer: certified, witnesses: logs });
  const identity = {
    subject: exactly(certificate.claims.subject),
    issuer: exactly(certificate.claims.issuer),
  };
  const check = (verification: BundleVerification): void => {
    if (!verification.ok) throw verificationError(verification, services);
  };
  const logEntryOf = (bundle: Bundle): LogEntryRef | undefined => {
    const entry = bundle.verificationMaterial.tlogEntries[0];
    return entry === undefined || services.rekorUrl === undefined
      ? undefined
      : { logIndex: Number(entry.logIndex), logUrl: services.rekorUrl };
  };
  const asBundle = (bundle: Bundle, content: Uint8Array | undefined): KeylessBundle => {
    const json = new TextEncoder().encode(JSON.stringify(bundleToJSON(bundle)));
    check(
      verifyBundle(parseBundle(json, 'the bundle just signed').bundle, content, trust, identity, {
        allowUnlogged: services.rekorUrl === undefined,
      }),
    );
    const logEntry = logEntryOf(bundle);
    return { bundle: json, ...(logEntry === undefined ? {} : { logEntry }) };
  };

  return {
    signer,
    certificate,
    async signPayload(payload) {
      if (services.rekorUrl === undefined) {
        throw invalid(
          'INVALID_OPTION',
          'a classic keyless signature needs a transparency log entry (its Rekor bundle annotation is what verifiers check); without one, store a Sigstore bundle (--bundle-format)',
        );
      }
      const bundle = await messages.create({ data: Buffer.from(payload) });
      if (bundle.content.$case !== 'messageSignature') {
        throw new Error('unreachable: a message-signature builder made another bundle');
      }
      const signatureBase64 = encodeStdBase64(bundle.content.messageSignature.signature);
      const entry = bundle.verificationMaterial.tlogEntries[0];
      const timestamp = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps[0];
      const annotations = classicAnnotations({
        certificate: certificate.certificate,
        chain: certificate.chain,
        ...(entry === undefined ? {} : { logEntry: classicLogEntry(entry, services) }),
        ...(timestamp === undefined ? {} : { timestamp: timestamp.signedTimestamp }),
      });
      // Read back exactly as `vouch verify` reads the stored layer.
      const stored = readBack(() =>
        bundleOfClassicSignature({
          blob: payload,
          annotations: { ...annotations, [SIGNATURE_ANNOTATION]: signatureBase64 },
        }),
      );
      check(verifyBundle(stored, payload, trust, identity));
      const logEntry = logEntryOf(bundle);
      return { signatureBase64, annotations, ...(logEntry === undefined ? {} : { logEntry }) };
    },
    async signEnvelope(statement) {
      if (services.rekorUrl === undefined) {
        throw invalid(
          'INVALID_OPTION',
          'a classic keyless attestation needs a transparency log entry (cosign verifies it by its Rekor bundle); store it as a Sigstore bundle instead',
        );
      }
      const bundle = await classicEnvelopes.create({
        data: Buffer.from(statement),
        type: IN_TOTO_PAYLOAD_TYPE,
      });
      if (bundle.content.$case !== 'dsseEnvelope') {
        throw new Error('unreachable: a DSSE builder made another bundle');
      }
      // The bytes Rekor hashed for the entry's envelopeHash are the layer.
      const envelope = new TextEncoder().encode(
        JSON.stringify(envelopeToJSON(bundle.content.dsseEnvelope)),
      );
      const entry = bundle.verificationMaterial.tlogEntries[0];
      const annotations = classicAnnotations({
        certificate: certificate.certificate,
        chain: certificate.chain,
        ...(entry === undefined ? {} : { logEntry: classicLogEntry(entry, services) }),
      });
      const stored = readBack(() => bundleOfClassicAttestation({ blob: envelope, annotations }));
      check(verifyBundle(stored, envelope, trust, identity));
      const logEntry = logEntryOf(bundle);
      return { envelope, annotations, ...(logEntry === undefined ? {} : { logEntry }) };
    },
    async signStatementBundle(statement) {
      return asBundle(
        await envelopes.create({ data: Buffer.from(statement), type: IN_TOTO_PAYLOAD_TYPE }),
        undefined,
      );
    },
    async signMessageBundle(data) {
      return asBundle(await messages.create({ data: Buffer.from(data) }), data);
    },
  };
}

/** The DER of the PEM leaf Fulcio returned. */
function leafDer(certificatePem: string, url: string): Uint8Array {
  try {
    return new Uint8Array(pem.toDER(certificatePem));
  } catch (error) {
    throw denied(
      'FULCIO_RESPONSE_INVALID',
      `Fulcio (${url}) answered with a certificate that is not PEM: ${messageOf(error)}`,
    );
  }
}

function classicLogEntry(
  entry: Bundle['verificationMaterial']['tlogEntries'][number],
  services: KeylessServices,
): ClassicLogEntry {
  const set = entry.inclusionPromise?.signedEntryTimestamp;
  if (set === undefined || entry.logId === undefined) {
    throw denied(
      'TLOG_ENTRY_INVALID',
      `Rekor (${services.rekorUrl ?? ''}) returned an entry without a signed entry timestamp: cosign's annotation needs one`,
    );
  }
  return {
    signedEntryTimestamp: set,
    body: entry.canonicalizedBody,
    integratedTime: Number(entry.integratedTime),
    logIndex: Number(entry.logIndex),
    logId: entry.logId.keyId,
  };
}

/** A layer just made, read back as `vouch verify` reads it. */
function readBack(read: () => Bundle): Bundle {
  try {
    return read();
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw denied(
      'KEYLESS_SIGNATURE_INVALID',
      `the signature just made does not read back as a keyless layer: ${error.message}`,
      { cause: error },
    );
  }
}

function verificationError(
  problem: Extract<BundleVerification, { ok: false }>,
  services: KeylessServices,
) {
  const nothing = 'nothing was stored';
  if (problem.code.startsWith('TLOG_')) {
    return denied(
      'TLOG_ENTRY_INVALID',
      `the entry Rekor (${services.rekorUrl ?? ''}) returned does not verify (${problem.code}): ${problem.message}; ${nothing}`,
    );
  }
  if (problem.code === 'TIMESTAMP_INVALID') {
    return denied(
      'TIMESTAMP_INVALID',
      `the timestamp the TSA (${services.tsaUrl ?? ''}) returned does not verify: ${problem.message}; ${nothing}`,
    );
  }
  return denied(
    'KEYLESS_SIGNATURE_INVALID',
    `the signature just made does not verify (${problem.code}): ${problem.message}; ${nothing}`,
  );
}

/**
 * Runs one request to `service`, turning its failures into errors that say
 * which service and step failed, without the token, and stopping at
 * `signal`.
 */
async function guarded<T>(
  service: Service,
  url: string,
  token: string,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  if (signal?.aborted) throw abortError(signal, `the request to ${service}`);
  let onAbort: (() => void) | undefined;
  const aborted =
    signal === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          onAbort = () => reject(abortError(signal, `the request to ${service}`));
          signal.addEventListener('abort', onAbort, { once: true });
        });
  try {
    return await (aborted === undefined ? work() : Promise.race([work(), aborted]));
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw serviceError(service, url, token, error);
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}

const CODES = {
  Fulcio: { refused: 'FULCIO_REFUSED', down: 'FULCIO_UNAVAILABLE', bad: 'FULCIO_RESPONSE_INVALID' },
  Rekor: { refused: 'REKOR_REFUSED', down: 'REKOR_UNAVAILABLE', bad: 'REKOR_RESPONSE_INVALID' },
  TSA: { refused: 'TSA_REFUSED', down: 'TSA_UNAVAILABLE', bad: 'TSA_RESPONSE_INVALID' },
} as const;

/** HTTP statuses @sigstore/sign retries: a service that is down or busy, not one that said no. */
function transient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function serviceError(service: Service, url: string, token: string, error: unknown) {
  const codes = CODES[service];
  const cause = (error as { cause?: unknown } | undefined)?.cause ?? error;
  // @sigstore/sign reads the token's subject for the proof of possession;
  // its message would quote the token, so only the cause's is used.
  if ((error as { code?: unknown } | undefined)?.code === 'IDENTITY_TOKEN_PARSE_ERROR') {
    return invalid(
      'IDENTITY_TOKEN_INVALID',
      `the identity token has no subject Fulcio can certify: ${messageOf(cause).split(token).join('[identity token]')}`,
    );
  }
  const status = (cause as { statusCode?: unknown } | undefined)?.statusCode;
  // A service may echo the request: the token must not reach a terminal or a log.
  const text = messageOf(cause).split(token).join('[identity token]');
  if (typeof status === 'number') {
    return transient(status)
      ? unavailable(codes.down, `${service} (${url}) is not available: ${text}`)
      : invalid(codes.refused, `${service} (${url}) refused the request: ${text}`);
  }
  const network = (cause as { code?: unknown } | undefined)?.code;
  if (typeof network === 'string' && /^(E[A-Z]+|UND_ERR_\w+|FETCH_ERROR)$/.test(network)) {
    return unavailable(codes.down, `could not reach ${service} (${url}): ${text}`);
  }
  if (cause instanceof Error && cause.name === 'FetchError') {
    return unavailable(codes.down, `could not reach ${service} (${url}): ${text}`);
  }
  return denied(codes.bad, `${service} (${url}) answered something vouch cannot use: ${text}`);
}
