/**
 * Keyless signing in tests: an ephemeral Sigstore (a Fulcio-like CA with a
 * CT log, and a Rekor-like transparency log) from @sigstore/mock's
 * primitives (https://github.com/sigstore/sigstore-js/tree/main/packages/mock),
 * since Fulcio and Rekor cannot run
 * here. It issues short-lived certificates with Fulcio's OIDC extensions,
 * logs entries with SETs, and writes the trusted_root.json that names it.
 *
 * What it mints is what cosign stores classically: a `.sig` layer (the
 * payload and its signature, certificate, chain and Rekor bundle
 * annotations) or an `.att` layer (a DSSE envelope logged as `dsse` 0.0.1,
 * or `intoto` 0.0.1 as cosign < 2.2 did). The pieces (certificate, signing
 * key, log entry) are also returned, for building Sigstore bundles.
 *
 * Options let a test break one thing at a time: the certificate's clock
 * (outside its validity at signing time), the body recording another
 * certificate (the CVE-2022-36056 binding bypass), another CA or CT log.
 *
 * test/helpers/local-sigstore.ts serves the same pieces over HTTP.
 */
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  type KeyPairKeyObjectResult,
  sign,
} from 'node:crypto';
import { initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';
import { encodeStdBase64 } from '../../src/core/base64.ts';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
} from '../../src/formats/cosign-signature.ts';
import { encodeEnvelope, IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from '../../src/formats/dsse.ts';
import { encodePem } from '../../src/keys/pem.ts';

type CA = Awaited<ReturnType<typeof initializeCA>>;
type CTLog = Awaited<ReturnType<typeof initializeCTLog>>;
type TLog = Awaited<ReturnType<typeof initializeTLog>>;

const ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const GITHUB_OIDS = {
  trigger: '1.3.6.1.4.1.57264.1.2',
  sha: '1.3.6.1.4.1.57264.1.3',
  name: '1.3.6.1.4.1.57264.1.4',
  repository: '1.3.6.1.4.1.57264.1.5',
  ref: '1.3.6.1.4.1.57264.1.6',
} as const;

export const TEST_REKOR_URL = 'https://rekor.keyless.test.invalid';
export const TEST_FULCIO_URL = 'https://fulcio.keyless.test.invalid';
export const CHAINGUARD_IDENTITY =
  'https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main';
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export interface KeylessSigstoreOptions {
  /** The CA's clock: certificates are valid from it for 10 minutes. Default: now. */
  readonly caClock?: Date;
  /** The log's clock: the integrated time of its entries. Default: now. */
  readonly logClock?: Date;
  /**
   * Where the log is served: its checkpoints are signed in this URL's host's
   * name, and the trusted root gives it as the log's base URL. Default TEST_REKOR_URL.
   */
  readonly rekorUrl?: string;
  /** Where the CA is served (the trusted root's `uri`). Default TEST_FULCIO_URL. */
  readonly fulcioUrl?: string;
}

/** An ephemeral Sigstore: a CA issuing with SCTs from its CT log, and a transparency log. */
export interface KeylessSigstore {
  readonly ca: CA;
  readonly ctlog: CTLog;
  readonly tlog: TLog;
  /** The CA's root certificate, DER. */
  readonly root: Uint8Array;
  /** The CA's key (its root's), for another CA instance issuing under the same root. */
  readonly caKeys: KeyPairKeyObjectResult;
  readonly rekorUrl: string;
  readonly fulcioUrl: string;
}

export async function createKeylessSigstore(
  options: KeylessSigstoreOptions = {},
): Promise<KeylessSigstore> {
  const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rekorUrl = options.rekorUrl ?? TEST_REKOR_URL;
  const caKeys = p256();
  const ctlog = await initializeCTLog(p256(), options.caClock);
  const ca = await initializeCA(caKeys, ctlog, options.caClock);
  const tlog = await initializeTLog(rekorUrl, p256(), options.logClock);
  return {
    ca,
    ctlog,
    tlog,
    root: bytesOf(ca.rootCertificate),
    caKeys,
    rekorUrl,
    fulcioUrl: options.fulcioUrl ?? TEST_FULCIO_URL,
  };
}

/** An RFC 3161 timestamp authority as a trusted root names it. */
export interface TrustedTimestampAuthority {
  /** DER certificates, the one that signs timestamps first, up to the root. */
  readonly certChain: readonly Uint8Array[];
  readonly uri: string;
}

/** Sigstores whose CA, CT log and transparency log a trusted root names. */
export interface TrustedParts {
  readonly cas?: readonly KeylessSigstore[];
  readonly ctlogs?: readonly KeylessSigstore[];
  readonly tlogs?: readonly KeylessSigstore[];
  readonly tsas?: readonly TrustedTimestampAuthority[];
  /** validFor.start of everything; default 2020-01-01. `null` leaves the CAs' start out. */
  readonly start?: string | null;
}

/** A trusted_root.json naming `sigstore` (or a mix of parts of several). */
export function keylessTrustedRootJson(sigstore: KeylessSigstore | TrustedParts): string {
  const parts: TrustedParts =
    'ca' in sigstore ? { cas: [sigstore], ctlogs: [sigstore], tlogs: [sigstore] } : sigstore;
  const start = parts.start === undefined ? '2020-01-01T00:00:00Z' : parts.start;
  const validFor = start === null ? {} : { start };
  const logEntry = (publicKey: Uint8Array, logId: Uint8Array, baseUrl: string) => ({
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: encodeStdBase64(publicKey),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: { start: start ?? '2020-01-01T00:00:00Z' },
    },
    logId: { keyId: encodeStdBase64(logId) },
  });
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: (parts.tlogs ?? []).map((s) =>
      logEntry(
        s.tlog.publicKey,
        createHash('sha256').update(s.tlog.publicKey).digest(),
        s.rekorUrl,
      ),
    ),
    certificateAuthorities: (parts.cas ?? []).map((s) => ({
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: s.fulcioUrl,
      certChain: { certificates: [{ rawBytes: encodeStdBase64(s.root) }] },
      validFor,
    })),
    ctlogs: (parts.ctlogs ?? []).map((s) =>
      logEntry(s.ctlog.publicKey, bytesOf(s.ctlog.logID), 'https://ctfe.keyless.test.invalid'),
    ),
    timestampAuthorities: (parts.tsas ?? []).map((tsa) => ({
      subject: { organization: 'sigstore.mock', commonName: 'tsa' },
      uri: tsa.uri,
      certChain: {
        certificates: tsa.certChain.map((der) => ({ rawBytes: encodeStdBase64(der) })),
      },
      validFor,
    })),
  });
}

export interface SignerIdentity {
  /** The SAN (a URI: @sigstore/mock issues URI SANs). */
  readonly subject: string;
  readonly issuer: string;
  /** GitHub workflow claims (OIDs .1.2-.1.6). */
  readonly github?: Partial<Record<keyof typeof GITHUB_OIDS, string>>;
}

/** A certificate issued to a fresh key. */
export interface IssuedCertificate {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** DER. */
  readonly certificate: Uint8Array;
  readonly pem: string;
}

export async function issueCertificate(
  sigstore: KeylessSigstore,
  identity: SignerIdentity,
): Promise<IssuedCertificate> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const extensions = [
    { oid: ISSUER_V1, value: identity.issuer, legacy: true },
    { oid: ISSUER_V2, value: identity.issuer },
    ...Object.entries(identity.github ?? {}).map(([claim, value]) => ({
      oid: GITHUB_OIDS[claim as keyof typeof GITHUB_OIDS],
      value,
      legacy: true,
    })),
  ];
  const der = await sigstore.ca.issueCertificate({
    publicKey: publicKey.export({ format: 'der', type: 'spki' }),
    subjectAltName: identity.subject,
    extensions,
  });
  const certificate = bytesOf(der);
  return { privateKey, publicKey, certificate, pem: encodePem('CERTIFICATE', certificate) };
}

export interface MintOptions {
  /** The certificate the log entry records instead of the signer's (binding bypass). */
  readonly entryCertificatePem?: string;
  /** The Sigstore that logs it, when not the one that issued the certificate. */
  readonly log?: KeylessSigstore;
}

/**
 * A minted classic layer: its blob and the keyless annotations (certificate,
 * chain, Rekor bundle; `signatureLayer` / `attestationLayer` add the
 * signature and predicate type ones), plus the pieces.
 */
export interface MintedLayer {
  readonly blob: Uint8Array;
  readonly annotations: Record<string, string>;
  readonly signer: IssuedCertificate;
  /** The Rekor bundle annotation's content, parsed. */
  readonly logEntry: RekorLogEntry;
}

export interface RekorLogEntry {
  readonly body: string;
  readonly integratedTime: number;
  readonly logIndex: number;
  readonly logID: string;
  readonly signedEntryTimestamp: string;
  /** The inclusion proof as the log answers it (a one-entry tree; root hash in hex). */
  readonly inclusionProof: RekorInclusionProof;
}

export interface RekorInclusionProof {
  readonly logIndex: number;
  readonly treeSize: number;
  readonly rootHash: string;
  readonly hashes: readonly string[];
  readonly checkpoint: string;
}

/** A keyless cosign signature over `payload` (a `.sig` layer). */
export async function mintKeylessSignature(
  sigstore: KeylessSigstore,
  identity: SignerIdentity,
  payload: Uint8Array,
  options: MintOptions = {},
): Promise<MintedLayer & { readonly signatureBase64: string }> {
  const signer = await issueCertificate(sigstore, identity);
  const signature = sign('sha256', payload, signer.privateKey).toString('base64');
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: sha256Hex(payload) } },
      signature: {
        content: signature,
        publicKey: { content: pemBase64(options.entryCertificatePem ?? signer.pem) },
      },
    },
  };
  const logEntry = await logBody(options.log ?? sigstore, body);
  return {
    blob: payload,
    signatureBase64: signature,
    annotations: {
      [CERTIFICATE_ANNOTATION]: signer.pem,
      [CHAIN_ANNOTATION]: encodePem('CERTIFICATE', sigstore.root),
      [BUNDLE_ANNOTATION]: bundleAnnotation(logEntry),
    },
    signer,
    logEntry,
  };
}

/** A keyless cosign attestation of `statement` (an `.att` layer), logged as `kind`. */
export async function mintKeylessAttestation(
  sigstore: KeylessSigstore,
  identity: SignerIdentity,
  statement: Uint8Array,
  kind: 'dsse' | 'intoto' = 'dsse',
  options: MintOptions = {},
): Promise<MintedLayer> {
  const signer = await issueCertificate(sigstore, identity);
  const sig = sign('sha256', preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement), signer.privateKey);
  const envelope = encodeEnvelope({
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: statement,
    signatures: [{ sig, keyid: '' }],
  });
  const certificate = pemBase64(options.entryCertificatePem ?? signer.pem);
  const envelopeHash = { algorithm: 'sha256', value: sha256Hex(envelope) };
  const payloadHash = { algorithm: 'sha256', value: sha256Hex(statement) };
  const body =
    kind === 'dsse'
      ? {
          apiVersion: '0.0.1',
          kind: 'dsse',
          spec: {
            envelopeHash,
            payloadHash,
            signatures: [{ signature: sig.toString('base64'), verifier: certificate }],
          },
        }
      : {
          apiVersion: '0.0.1',
          kind: 'intoto',
          spec: { content: { hash: envelopeHash, payloadHash }, publicKey: certificate },
        };
  const logEntry = await logBody(options.log ?? sigstore, body);
  return {
    blob: envelope,
    annotations: {
      [CERTIFICATE_ANNOTATION]: signer.pem,
      [CHAIN_ANNOTATION]: encodePem('CERTIFICATE', sigstore.root),
      [BUNDLE_ANNOTATION]: bundleAnnotation(logEntry),
    },
    signer,
    logEntry,
  };
}

export interface BundleMintOptions extends MintOptions {
  /**
   * What proves the entry was logged: the SET (`inclusionPromise`), the
   * inclusion proof with its checkpoint, or both (default), as cosign 3
   * writes from Rekor v1's answer.
   */
  readonly proof?: 'promise' | 'inclusion-proof' | 'both';
  /** Flip a bit of the SET, as a tampered bundle would carry. */
  readonly breakPromise?: boolean;
}

/**
 * A Sigstore bundle v0.3 as cosign 3 writes it keylessly (`cosign attest` /
 * `cosign sign` with the new bundle format; sigstore-go sign.Bundle,
 * protojson): the DSSE envelope of `statement` signed with a fresh
 * certificate's key, `verificationMaterial.certificate` (the leaf only),
 * and one `dsse` 0.0.1 tlog entry with the inclusion promise and/or the
 * inclusion proof and checkpoint from the log's answer.
 */
export async function mintKeylessBundle(
  sigstore: KeylessSigstore,
  identity: SignerIdentity,
  statement: Uint8Array,
  options: BundleMintOptions = {},
): Promise<{ readonly bundle: Uint8Array; readonly signer: IssuedCertificate }> {
  const signer = await issueCertificate(sigstore, identity);
  const sig = sign('sha256', preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement), signer.privateKey);
  const envelope = encodeEnvelope({
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: statement,
    signatures: [{ sig, keyid: '' }],
  });
  const body = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256Hex(envelope) },
      payloadHash: { algorithm: 'sha256', value: sha256Hex(statement) },
      signatures: [
        {
          signature: sig.toString('base64'),
          verifier: pemBase64(options.entryCertificatePem ?? signer.pem),
        },
      ],
    },
  };
  const entry = await logBody(options.log ?? sigstore, body);
  const proof = options.proof ?? 'both';
  const set = Buffer.from(entry.signedEntryTimestamp, 'base64');
  if (options.breakPromise === true) set[set.length - 1] = (set.at(-1) ?? 0) ^ 0x01;
  const { inclusionProof } = entry;
  // protojson: int64 as strings, bytes as standard base64, empty fields left out.
  const tlogEntry = {
    logIndex: String(entry.logIndex),
    logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: String(entry.integratedTime),
    ...(proof === 'inclusion-proof'
      ? {}
      : { inclusionPromise: { signedEntryTimestamp: set.toString('base64') } }),
    ...(proof === 'promise'
      ? {}
      : {
          inclusionProof: {
            logIndex: String(inclusionProof.logIndex),
            rootHash: Buffer.from(inclusionProof.rootHash, 'hex').toString('base64'),
            treeSize: String(inclusionProof.treeSize),
            hashes: inclusionProof.hashes,
            checkpoint: { envelope: inclusionProof.checkpoint },
          },
        }),
    canonicalizedBody: entry.body,
  };
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: encodeStdBase64(signer.certificate) },
      tlogEntries: [tlogEntry],
    },
    dsseEnvelope: JSON.parse(new TextDecoder().decode(envelope)) as unknown,
  };
  return { bundle: new TextEncoder().encode(JSON.stringify(bundle)), signer };
}

/** Logs `body` in the Sigstore's transparency log. */
export async function logBody(sigstore: KeylessSigstore, body: object): Promise<RekorLogEntry> {
  const response = await sigstore.tlog.log(body);
  const [entry] = Object.values(response) as [
    {
      body: string;
      integratedTime: number;
      logIndex: number;
      logID: string;
      verification: { signedEntryTimestamp: string; inclusionProof: RekorInclusionProof };
    },
  ];
  return {
    body: entry.body,
    integratedTime: entry.integratedTime,
    logIndex: entry.logIndex,
    logID: entry.logID,
    signedEntryTimestamp: entry.verification.signedEntryTimestamp,
    inclusionProof: entry.verification.inclusionProof,
  };
}

/** cosign's `dev.sigstore.cosign/bundle` annotation for a log entry. */
export function bundleAnnotation(entry: RekorLogEntry): string {
  return JSON.stringify({
    SignedEntryTimestamp: entry.signedEntryTimestamp,
    Payload: {
      body: entry.body,
      integratedTime: entry.integratedTime,
      logIndex: entry.logIndex,
      logID: entry.logID,
    },
  });
}

/** A copy of `view`'s bytes (the mock hands out views into larger buffers). */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function pemBase64(pem: string): string {
  return Buffer.from(pem).toString('base64');
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
