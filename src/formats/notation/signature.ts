/**
 * The cryptography of Notary Project signatures, the same for JWS and COSE:
 * the key decides the algorithm (signature-specification.md "Algorithm
 * Selection": RSA 2048/3072/4096 → PS256/384/512, ECDSA P-256/384/521 →
 * ES256/384/512, nothing else), and the envelope's `alg` must be that one
 * (notation-core-go signature/internal/base/envelope.go
 * validateCertificateChain), which stops algorithm substitution.
 *
 * - RSASSA-PSS with the salt as long as the hash: RFC 7518 section 3.5 for
 *   JWS, RFC 8230 section 2 for COSE (go-cose rsa.go). notation's JWS
 *   verifier (golang-jwt v4) also accepts other salt lengths; vouch does not.
 * - ECDSA as raw `r || s`, each the curve's size: RFC 7518 section 3.4 for
 *   JWS, RFC 8152 section 8.1 for COSE (go-cose ecdsa.go
 *   decodeECDSASignature, golang-jwt ecdsa.go).
 *
 * Also the signing side: the request both builders take, checked the same
 * way, and a signer over a private key held in memory.
 */
import { constants, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { denied, invalid } from '../../core/errors.ts';
import {
  marshalPayload,
  MAX_CERTIFICATE_CHAIN,
  NOTATION_ALGORITHMS,
  type NotationEnvelope,
  type NotationSignatureAlgorithm,
  type NotationTargetArtifact,
  parseCertificateDer,
  parsePayload,
} from './envelope.ts';

interface AlgorithmSpec {
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** Bytes of the hash: the PSS salt length. */
  readonly hashBytes: number;
  readonly rsaBits?: number;
  readonly curve?: string;
  /** Bytes of r and of s. */
  readonly curveBytes?: number;
}

const ALGORITHMS: Readonly<Record<NotationSignatureAlgorithm, AlgorithmSpec>> = {
  PS256: { hash: 'sha256', hashBytes: 32, rsaBits: 2048 },
  PS384: { hash: 'sha384', hashBytes: 48, rsaBits: 3072 },
  PS512: { hash: 'sha512', hashBytes: 64, rsaBits: 4096 },
  ES256: { hash: 'sha256', hashBytes: 32, curve: 'prime256v1', curveBytes: 32 },
  ES384: { hash: 'sha384', hashBytes: 48, curve: 'secp384r1', curveBytes: 48 },
  ES512: { hash: 'sha512', hashBytes: 64, curve: 'secp521r1', curveBytes: 66 },
};

/** The algorithm a key signs Notary Project signatures with, or undefined for a key notation refuses. */
export function notationAlgorithmOf(key: KeyObject): NotationSignatureAlgorithm | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  for (const [name, spec] of Object.entries(ALGORITHMS) as [
    NotationSignatureAlgorithm,
    AlgorithmSpec,
  ][]) {
    if (key.asymmetricKeyType === 'rsa' && details.modulusLength === spec.rsaBits) return name;
    if (key.asymmetricKeyType === 'ec' && details.namedCurve === spec.curve) return name;
  }
  return undefined;
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `RSA ${details.modulusLength ?? '?'} bits`;
  if (key.asymmetricKeyType === 'ec') return `EC on ${details.namedCurve ?? 'explicit parameters'}`;
  return `${key.asymmetricKeyType ?? 'unknown'} key`;
}

/** Whether `signature` by `key` over `data` verifies with `algorithm` (module comment). Never throws. */
function verifyWith(
  algorithm: NotationSignatureAlgorithm,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const spec = ALGORITHMS[algorithm];
  try {
    if (spec.curveBytes !== undefined) {
      if (signature.byteLength !== 2 * spec.curveBytes) return false;
      return cryptoVerify(spec.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    return cryptoVerify(
      spec.hash,
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.hashBytes },
      signature,
    );
  } catch {
    return false;
  }
}

/**
 * Checks the envelope's signature with its leaf certificate's key: the key
 * is one notation signs with, `alg` is the one that key calls for, and the
 * signature over `signedBytes` verifies. Throws `denied`
 * NOTATION_SIGNATURE_INVALID otherwise. Says nothing about whether the
 * certificate is trusted.
 */
export function verifyNotationSignature(envelope: NotationEnvelope): void {
  const fail = (problem: string) =>
    denied(
      'NOTATION_SIGNATURE_INVALID',
      `the Notary Project signature does not verify: ${problem}`,
    );
  const [leafDer] = envelope.certificateChain;
  if (leafDer === undefined) throw fail('there is no certificate');
  const key = parseCertificateDer(leafDer, 'the leaf certificate', fail).publicKey;
  const algorithm = notationAlgorithmOf(key);
  if (algorithm === undefined) {
    throw fail(`the leaf certificate's key (${describeKey(key)}) is not one notation signs with`);
  }
  if (algorithm !== envelope.signatureAlgorithm) {
    throw fail(
      `the envelope says ${envelope.signatureAlgorithm}, but the leaf certificate's key (${describeKey(key)}) signs with ${algorithm}`,
    );
  }
  if (!verifyWith(algorithm, key, envelope.signedBytes, envelope.signature)) {
    throw fail(
      `the ${algorithm} signature does not match the signed content and the leaf certificate's key`,
    );
  }
}

/** Signs the exact bytes given; returns the raw signature (PSS, or ECDSA `r || s`). */
export type NotationSigner = (data: Uint8Array) => Promise<Uint8Array>;

/** A `NotationSigner` over a private key held in memory, with the algorithm its key calls for. */
export function notationKeySigner(privateKey: KeyObject): NotationSigner {
  if (privateKey.type !== 'private') {
    throw invalid(
      'INVALID_NOTATION_INPUT',
      `a signer needs a private key, found a ${privateKey.type} key`,
    );
  }
  const algorithm = notationAlgorithmOf(privateKey);
  if (algorithm === undefined) {
    throw invalid(
      'INVALID_NOTATION_INPUT',
      `notation does not sign with ${describeKey(privateKey)}: use RSA 2048, 3072 or 4096 bits, or ECDSA P-256, P-384 or P-521`,
    );
  }
  const spec = ALGORITHMS[algorithm];
  const key =
    spec.curveBytes === undefined
      ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.hashBytes }
      : { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  return (data) =>
    new Promise((resolve, reject) => {
      cryptoSign(spec.hash, data, key, (error, signature) => {
        if (error) {
          reject(
            invalid('INVALID_NOTATION_INPUT', `could not sign with the ${algorithm} key`, {
              cause: error,
            }),
          );
        } else {
          resolve(new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength));
        }
      });
    });
}

/**
 * A signer that hands back the certificate chain with each signature, as a
 * plugin's `generate-signature` does (plugin-extensibility.md "Signature
 * Generator"): the chain is known only once it has signed.
 */
export interface NotationChainSigner {
  /** The algorithm its key signs with, known before it signs (the plugin's `describe-key`). */
  readonly algorithm: NotationSignatureAlgorithm;
  sign(data: Uint8Array): Promise<{
    readonly signature: Uint8Array;
    /** DER certificates, leaf first. */
    readonly certificateChain: readonly Uint8Array[];
  }>;
}

interface SignRequestCommon {
  /** The descriptor of what is signed; its annotations are signed too (`notation sign --user-metadata`). */
  readonly targetArtifact: Pick<
    NotationTargetArtifact,
    'mediaType' | 'digest' | 'size' | 'annotations'
  >;
  /** Truncated to the second, as notation-core-go does (base/envelope.go Sign). */
  readonly signingTime: Date;
  /** The "best by use" time; truncated to the second, after the signing time. */
  readonly expiry?: Date;
  /** `io.cncf.notary.signingAgent`; left out when empty. */
  readonly signingAgent?: string;
  /**
   * Countersigns the signature with an RFC 3161 timestamp authority: given
   * the signature bytes and the algorithm (whose hash the request uses, as
   * notation-core-go's timestampJWS does), returns the TimeStampToken (DER).
   * Optional.
   */
  readonly timestamp?: (
    signature: Uint8Array,
    algorithm: NotationSignatureAlgorithm,
  ) => Promise<Uint8Array>;
}

/** A request signed by a key whose certificate chain is known beforehand. */
export interface NotationKeySignRequest extends SignRequestCommon {
  /** DER certificates, leaf first; the leaf's key is the signer's. */
  readonly certificateChain: readonly Uint8Array[];
  readonly signer: NotationSigner;
}

/** A request signed by a signer that returns its chain (a plugin). */
export interface NotationChainSignRequest extends SignRequestCommon {
  readonly signer: NotationChainSigner;
}

/** What `buildJws` and `buildCose` sign: notation's GenericSigner request (notary.x509 scheme). */
export type NotationSignRequest = NotationKeySignRequest | NotationChainSignRequest;

/** A request checked and normalised: what both builders encode. */
export interface CheckedSignRequest {
  readonly algorithm: NotationSignatureAlgorithm;
  /** Seconds since the epoch. */
  readonly signingTime: number;
  readonly expiry: number | undefined;
  readonly signingAgent: string | undefined;
}

const inputError = (problem: string) =>
  invalid('INVALID_NOTATION_INPUT', `cannot sign a Notary Project signature: ${problem}`);

/**
 * The chain's leaf and the algorithm its key signs with; throws through
 * `fail` for a chain notation would not sign with (empty, too long, not
 * DER certificates, a key notation does not use).
 */
export function signingLeaf(
  chain: readonly Uint8Array[],
  fail: (problem: string) => Error,
): { readonly key: KeyObject; readonly algorithm: NotationSignatureAlgorithm } {
  if (chain.length > MAX_CERTIFICATE_CHAIN) {
    throw fail(`the certificate chain has more than ${MAX_CERTIFICATE_CHAIN} certificates`);
  }
  const [leaf] = chain.map((der, i) => parseCertificateDer(der, `certificate ${i}`, fail));
  if (leaf === undefined) throw fail('the certificate chain is empty');
  const key = leaf.publicKey;
  const algorithm = notationAlgorithmOf(key);
  if (algorithm === undefined) {
    throw fail(`notation does not sign with the leaf certificate's key (${describeKey(key)})`);
  }
  return { key, algorithm };
}

/** The checks notation-core-go makes before signing (base/envelope.go validateSignRequest). */
export function checkSignRequest(request: NotationSignRequest): CheckedSignRequest {
  const algorithm =
    typeof request.signer === 'function'
      ? signingLeaf((request as NotationKeySignRequest).certificateChain, inputError).algorithm
      : request.signer.algorithm;
  if (!NOTATION_ALGORITHMS.includes(algorithm)) {
    throw inputError(`${String(algorithm)} is not a Notary Project signature algorithm`);
  }
  // The payload builders write must read back.
  parsePayload(marshalPayload(request.targetArtifact), inputError);
  const signingTime = seconds(request.signingTime, 'signing time');
  const expiry = request.expiry === undefined ? undefined : seconds(request.expiry, 'expiry');
  if (expiry !== undefined && expiry <= signingTime) {
    throw inputError('the expiry must be after the signing time (to the second)');
  }
  return {
    algorithm,
    signingTime,
    expiry,
    signingAgent: request.signingAgent === '' ? undefined : request.signingAgent,
  };
}

/** Whole seconds since the epoch, for a time Go's RFC 3339 writer takes (years 1970 to 9999). */
function seconds(time: Date, what: string): number {
  const ms = time.getTime();
  if (!Number.isFinite(ms) || ms < 0 || time.getUTCFullYear() > 9999) {
    throw inputError(`the ${what} must be between 1970 and 9999`);
  }
  return Math.floor(ms / 1000);
}

/**
 * Whether `signature` over `data` verifies with `key` under `algorithm`
 * (module comment). Never throws: what the signing side checks a signer's
 * answer with.
 */
export function signatureVerifies(
  algorithm: NotationSignatureAlgorithm,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  return verifyWith(algorithm, key, data, signature);
}

/**
 * Signs `data`, checks the signature with the leaf certificate's key (for a
 * chain signer, also that its leaf's key is the algorithm it announced),
 * then countersigns it when asked.
 */
export async function signAndTimestamp(
  request: NotationSignRequest,
  checked: CheckedSignRequest,
  data: Uint8Array,
): Promise<{
  readonly signature: Uint8Array;
  readonly certificateChain: readonly Uint8Array[];
  readonly timestampToken: Uint8Array | undefined;
}> {
  let signature: Uint8Array;
  let certificateChain: readonly Uint8Array[];
  if (typeof request.signer === 'function') {
    signature = await request.signer(data);
    certificateChain = (request as NotationKeySignRequest).certificateChain;
  } else {
    ({ signature, certificateChain } = await request.signer.sign(data));
  }
  const leaf = signingLeaf(certificateChain, inputError);
  if (leaf.algorithm !== checked.algorithm) {
    throw inputError(
      `the signer said it signs with ${checked.algorithm}, but its leaf certificate's key (${describeKey(leaf.key)}) signs with ${leaf.algorithm}`,
    );
  }
  if (!verifyWith(checked.algorithm, leaf.key, data, signature)) {
    throw inputError(
      `the ${checked.algorithm} signature does not verify with the leaf certificate's key: the signer's key and the certificate do not match`,
    );
  }
  if (request.timestamp === undefined) {
    return { signature, certificateChain, timestampToken: undefined };
  }
  const timestampToken = await request.timestamp(signature, checked.algorithm);
  if (timestampToken.byteLength === 0)
    throw inputError('the timestamp authority returned an empty token');
  return { signature, certificateChain, timestampToken };
}

/** Go's time.RFC3339 of whole seconds in UTC, as notation writes JWS times from a UTC clock. */
export function rfc3339Seconds(secondsSinceEpoch: number): string {
  return new Date(secondsSinceEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
