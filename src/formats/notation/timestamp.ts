/**
 * Verifying the RFC 3161 timestamp countersignature of a Notary Project
 * signature (`io.cncf.notary.timestampSignature`), as notation-go does in
 * verifier/verifier.go `verifyTimestamp` with tspclient-go (token.go
 * `ParseSignedToken`, `SignedToken.Verify`, `SigningCertificate`,
 * `TSTInfo.Validate`; internal/cms/signed.go) and notation-core-go
 * `ValidateTimestampingCertChain`; the steps are those of specifications
 * `specs/trust-store-trust-policy.md`, "Validate Authentic Timestamp":
 *
 * 1. the token is CMS SignedData (version 3) over an id-ct-TSTInfo;
 * 2. the TSTInfo (version 1) stamps the hash (SHA-256/384/512) of exactly
 *    the envelope's signature bytes — a token over another signature is
 *    refused (NOTATION_TIMESTAMP_MISMATCH);
 * 3. a SignerInfo (version 1) names its certificate in a
 *    signing-certificate-v2 attribute (RFC 5816) whose hash matches it;
 *    that certificate chains, through the token's certificates, to a `tsa`
 *    trust store certificate, valid at genTime, every extended key usage
 *    allowing timeStamping (NOTATION_TIMESTAMP_UNTRUSTED otherwise); the
 *    SignerInfo's signature verifies over its signed attributes, whose
 *    content type and message digest match the TSTInfo and whose signing
 *    time, if any, falls in the chain's validity;
 * 4. the TSA chain meets the Notary Project certificate requirements for
 *    timestamping (certificate-chain.ts `validateChain`), the signer's
 *    certificate having id-kp-timeStamping as its only, critical, extended
 *    key usage;
 * 5. genTime ± accuracy (RFC 3161 §2.4.2; 1 s under the baseline policy of
 *    RFC 3628 when no accuracy is given) lies within the validity of every
 *    certificate of the signing chain (NOTATION_TIMESTAMP_OUTSIDE_VALIDITY).
 *
 * The TSA chain's revocation is I/O and the caller's (src/notation/).
 */
import { createHash } from 'node:crypto';
import { isVouchError } from '../../core/errors.ts';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { buildChain } from './chain-building.ts';
import { type ChainProblemCode, validateChain } from './certificate-chain.ts';
import { bytesOf, decodeAsn1, decodeWith, DerError, sameBytes } from './der.ts';
import { SHA2_BY_OID, signatureProblem, signerInfoScheme } from './signature-algorithm.ts';
import { EKU, type NotationCertificate, parseCertificate, validAt } from './x509.ts';

export type TimestampProblemCode =
  /** Not a timestamp token notation accepts: structure, versions, signature, attributes. */
  | 'NOTATION_TIMESTAMP_INVALID'
  /** The token stamps other bytes than this signature. */
  | 'NOTATION_TIMESTAMP_MISMATCH'
  /** The TSA's certificate does not chain to a `tsa` trust store certificate. */
  | 'NOTATION_TIMESTAMP_UNTRUSTED'
  /** genTime ± accuracy is not within the signing chain's validity. */
  | 'NOTATION_TIMESTAMP_OUTSIDE_VALIDITY'
  /** The TSA chain fails the certificate requirements. */
  | ChainProblemCode;

export interface TimestampInput {
  /** The TimeStampToken bytes (the decoded `io.cncf.notary.timestampSignature`). */
  readonly token: Uint8Array;
  /** The envelope's signature bytes, which the token must stamp. */
  readonly signature: Uint8Array;
  /** The certificates of the policy's `tsa` trust stores. */
  readonly tsaRoots: readonly NotationCertificate[];
  /** The envelope's certificate chain, leaf first. */
  readonly signingChain: readonly NotationCertificate[];
}

export interface VerifiedTimestamp {
  readonly genTime: Date;
  /** The accuracy used, in milliseconds (fractions for microseconds). */
  readonly accuracyMs: number;
  /** genTime − accuracy and genTime + accuracy, in milliseconds since the epoch. */
  readonly earliest: number;
  readonly latest: number;
  /** The TSA's chain, signer first, ending with a `tsa` trust store certificate. */
  readonly tsaChain: readonly NotationCertificate[];
  /** The TSTInfo's message imprint hash, and its nonce (what a signer's request sent). */
  readonly imprintHash: TokenInfo['imprintHash'];
  readonly nonce?: bigint;
}

export type TimestampVerification =
  | ({ readonly ok: true } & VerifiedTimestamp)
  | { readonly ok: false; readonly code: TimestampProblemCode; readonly message: string };

type Failure = Extract<TimestampVerification, { ok: false }>;

/** Tokens are a few kilobytes (Microsoft's, chain included: 6 KB); anything this large is not one. */
export const MAX_TOKEN_BYTES = 64 * 1024;
/** More certificates or signers than a token needs are refused before any is checked. */
const MAX_TOKEN_CERTIFICATES = 32;
const MAX_SIGNER_INFOS = 8;

const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ID_SIGNING_TIME = '1.2.840.113549.1.9.5';
const ID_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
/** RFC 3628 §5.2 baseline time-stamp policy (ETSI TS 102 023). */
const BASELINE_POLICY = '0.4.0.2023.1.1';

const fail = (code: TimestampProblemCode, message: string): Failure => ({
  ok: false,
  code,
  message,
});

class TokenError extends Error {}

export function verifyTimestamp(input: TimestampInput): TimestampVerification {
  try {
    return verify(input);
  } catch (error) {
    // Whatever pkijs or asn1js throw on hostile bytes is an invalid token.
    return fail(
      'NOTATION_TIMESTAMP_INVALID',
      `the timestamp token is invalid: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * What `notation inspect` shows of a token (cmd/notation/inspect.go
 * `parseTimestamp`: `ParseSignedToken`, `Info`, `Validate`): its time and the
 * certificates it carries, once it parses and stamps exactly `signature`.
 * Nothing about who signed it is verified: see `verifyTimestamp`.
 */
export type TimestampReading =
  | {
      readonly ok: true;
      readonly genTime: Date;
      /** genTime − accuracy and genTime + accuracy, in milliseconds since the epoch. */
      readonly earliest: number;
      readonly latest: number;
      /** The certificates the token carries, in its order. */
      readonly certificates: readonly NotationCertificate[];
    }
  | Failure;

export function readTimestampToken(token: Uint8Array, signature: Uint8Array): TimestampReading {
  try {
    const read = readToken(token, signature);
    if (!read.ok) return read;
    const { info, certificates } = read.token;
    return {
      ok: true,
      genTime: new Date(Math.floor(info.genTime)),
      earliest: info.genTime - info.accuracyMs,
      latest: info.genTime + info.accuracyMs,
      certificates,
    };
  } catch (error) {
    return fail(
      'NOTATION_TIMESTAMP_INVALID',
      `the timestamp token is invalid: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** The token parsed, its size checked first and its imprint after. */
function readToken(
  bytes: Uint8Array,
  signature: Uint8Array,
): { readonly ok: true; readonly token: ParsedToken } | Failure {
  if (bytes.byteLength === 0) {
    return fail('NOTATION_TIMESTAMP_INVALID', 'the timestamp countersignature is empty');
  }
  if (bytes.byteLength > MAX_TOKEN_BYTES) {
    return fail(
      'NOTATION_TIMESTAMP_INVALID',
      `the timestamp countersignature has ${bytes.byteLength} bytes, more than ${MAX_TOKEN_BYTES}`,
    );
  }
  let token: ParsedToken;
  try {
    token = parseToken(bytes);
  } catch (error) {
    if (error instanceof TokenError || error instanceof DerError || isVouchError(error)) {
      return fail('NOTATION_TIMESTAMP_INVALID', `the timestamp token is invalid: ${error.message}`);
    }
    throw error;
  }
  const info = token.info;
  const digest = createHash(info.imprintHash).update(signature).digest();
  if (!sameBytes(digest, info.imprint)) {
    return fail(
      'NOTATION_TIMESTAMP_MISMATCH',
      'the timestamp token stamps other bytes than this signature: its message imprint is not the hash of the signature',
    );
  }
  return { ok: true, token };
}

function verify(input: TimestampInput): TimestampVerification {
  const read = readToken(input.token, input.signature);
  if (!read.ok) return read;
  const { token } = read;
  const info = token.info;
  if (input.tsaRoots.length === 0) {
    return fail('NOTATION_TIMESTAMP_UNTRUSTED', 'no trusted TSA certificates are configured');
  }
  const signed = verifySigners(token, input.tsaRoots);
  if (!signed.ok) return signed;
  const chainProblem = validateChain(signed.chain, 'timestamping');
  if (chainProblem !== undefined) {
    return fail(
      chainProblem.code,
      `the timestamping certificate chain is invalid: ${chainProblem.message}`,
    );
  }
  const earliest = info.genTime - info.accuracyMs;
  const latest = info.genTime + info.accuracyMs;
  for (const cert of input.signingChain) {
    if (earliest < cert.notBefore.getTime()) {
      return fail(
        'NOTATION_TIMESTAMP_OUTSIDE_VALIDITY',
        `the timestamp may be before the certificate "${cert.subject}" is valid: it says ${range(earliest, latest)}, the certificate is valid from ${cert.notBefore.toISOString()}`,
      );
    }
    if (latest > cert.notAfter.getTime()) {
      return fail(
        'NOTATION_TIMESTAMP_OUTSIDE_VALIDITY',
        `the timestamp may be after the certificate "${cert.subject}" expired: it says ${range(earliest, latest)}, the certificate expired at ${cert.notAfter.toISOString()}`,
      );
    }
  }
  return {
    ok: true,
    genTime: new Date(Math.floor(info.genTime)),
    accuracyMs: info.accuracyMs,
    earliest,
    latest,
    tsaChain: signed.chain,
    imprintHash: info.imprintHash,
    ...(info.nonce === undefined ? {} : { nonce: info.nonce }),
  };
}

function range(earliest: number, latest: number): string {
  return `[${new Date(Math.floor(earliest)).toISOString()}, ${new Date(Math.ceil(latest)).toISOString()}]`;
}

interface TokenInfo {
  readonly imprintHash: 'sha256' | 'sha384' | 'sha512';
  readonly imprint: Uint8Array;
  /** Milliseconds since the epoch, with the fraction GeneralizedTime gives. */
  readonly genTime: number;
  readonly accuracyMs: number;
  readonly nonce?: bigint;
}

interface ParsedToken {
  readonly eContentType: string;
  readonly eContent: Uint8Array;
  readonly info: TokenInfo;
  readonly certificates: readonly NotationCertificate[];
  readonly signerInfos: readonly pkijs.SignerInfo[];
}

/** `ParseSignedToken` and `Info`: the CMS structure and the TSTInfo. */
function parseToken(bytes: Uint8Array): ParsedToken {
  const contentInfo = decodeWith(pkijs.ContentInfo, bytes, 'the timestamp token');
  if (contentInfo.contentType !== ID_SIGNED_DATA) {
    throw new TokenError(`its content type is ${contentInfo.contentType}, not signed data`);
  }
  const content = contentInfo.content as asn1js.AsnType;
  // The certificates as the token carries them, byte for byte: the
  // signing-certificate-v2 hash and the trust store compare exact DER.
  const rawCertificates = certificateBytes(content);
  const signedData = new pkijs.SignedData({ schema: content });
  if (signedData.version !== 3) {
    throw new TokenError(`its signed data has version ${signedData.version}, not 3`);
  }
  const encap = signedData.encapContentInfo;
  if (encap.eContentType !== ID_CT_TSTINFO) {
    throw new TokenError(`it signs content of type ${encap.eContentType}, not id-ct-TSTInfo`);
  }
  if (encap.eContent === undefined) throw new TokenError('it has no TSTInfo');
  const eContent = bytesOf(encap.eContent.getValue());
  if (rawCertificates.length > MAX_TOKEN_CERTIFICATES) {
    throw new TokenError(
      `it carries ${rawCertificates.length} certificates, more than ${MAX_TOKEN_CERTIFICATES}`,
    );
  }
  if (signedData.signerInfos.length > MAX_SIGNER_INFOS) {
    throw new TokenError(
      `it has ${signedData.signerInfos.length} signers, more than ${MAX_SIGNER_INFOS}`,
    );
  }
  return {
    eContentType: encap.eContentType,
    eContent,
    info: parseTstInfo(eContent),
    certificates: rawCertificates.map((der, i) =>
      parseCertificate(der, `timestamp token certificate ${i + 1}`),
    ),
    signerInfos: signedData.signerInfos,
  };
}

/** The DER of each entry of SignedData's `certificates [0] IMPLICIT CertificateSet`; only X.509 certificates. */
function certificateBytes(signedData: asn1js.AsnType): Uint8Array[] {
  if (!(signedData instanceof asn1js.Sequence))
    throw new TokenError('its content is not signed data');
  const set = signedData.valueBlock.value.find(
    (node) => node.idBlock.tagClass === 3 && node.idBlock.tagNumber === 0,
  );
  if (set === undefined) return [];
  const entries = (set as asn1js.Constructed).valueBlock.value ?? [];
  return entries.map((entry) => {
    if (!(entry instanceof asn1js.Sequence)) {
      throw new TokenError('it carries a certificate that is not an X.509 certificate');
    }
    return bytesOf(entry.valueBeforeDecodeView);
  });
}

/** `TSTInfo.Validate`'s checks of the structure; the imprint is compared by the caller. */
function parseTstInfo(bytes: Uint8Array): TokenInfo {
  const tree = decodeAsn1(bytes, 'the TSTInfo');
  const genTimeNode = tree instanceof asn1js.Sequence ? tree.valueBlock.value[4] : undefined;
  if (!(genTimeNode instanceof asn1js.GeneralizedTime)) {
    throw new TokenError('its TSTInfo has no genTime');
  }
  const genTime = generalizedTime(new TextDecoder().decode(genTimeNode.valueBlock.valueHexView));
  let info: pkijs.TSTInfo;
  try {
    info = new pkijs.TSTInfo({ schema: tree });
  } catch (error) {
    throw new TokenError(
      `its TSTInfo is malformed: ${error instanceof Error ? error.message : error}`,
    );
  }
  if (info.version !== 1) throw new TokenError(`its TSTInfo has version ${info.version}, not 1`);
  const hashOid = info.messageImprint.hashAlgorithm.algorithmId;
  const imprintHash = SHA2_BY_OID[hashOid];
  if (imprintHash === undefined) {
    throw new TokenError(`its message imprint uses the unsupported hash algorithm ${hashOid}`);
  }
  return {
    imprintHash,
    imprint: bytesOf(info.messageImprint.hashedMessage.valueBlock.valueHexView),
    genTime,
    accuracyMs: accuracyOf(info),
    ...(info.nonce === undefined ? {} : { nonce: info.nonce.toBigInt() }),
  };
}

/** RFC 3161 GeneralizedTime: `YYYYMMDDhhmmss[.f+]Z`, kept to the sub-millisecond. */
function generalizedTime(text: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (match === null) {
    throw new TokenError(`its genTime ${JSON.stringify(text)} is not a UTC GeneralizedTime`);
  }
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const whole = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(whole);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    throw new TokenError(`its genTime ${JSON.stringify(text)} is not a valid time`);
  }
  const fraction = match[7];
  return fraction === undefined ? whole : whole + Number(`0.${fraction}`) * 1000;
}

/**
 * tspclient-go `TSTInfo.Validate`: the accuracy given, or 1 s under the
 * baseline policy when none is. Negative or absurd components are refused:
 * they would narrow the range a timestamp is checked by.
 */
function accuracyOf(info: pkijs.TSTInfo): number {
  const accuracy = info.accuracy;
  const parts = [accuracy?.seconds ?? 0, accuracy?.millis ?? 0, accuracy?.micros ?? 0];
  if (parts.some((n) => !Number.isSafeInteger(n) || n < 0 || n > 2 ** 31)) {
    throw new TokenError('its TSTInfo has an invalid accuracy');
  }
  const [seconds = 0, millis = 0, micros = 0] = parts;
  if (seconds === 0 && millis === 0 && micros === 0 && info.policy === BASELINE_POLICY) return 1000;
  return seconds * 1000 + millis + micros / 1000;
}

/**
 * `SignedToken.Verify`: the first SignerInfo that verifies gives the TSA
 * chain; when none does, the last one's problem is reported.
 */
function verifySigners(
  token: ParsedToken,
  roots: readonly NotationCertificate[],
): { readonly ok: true; readonly chain: readonly NotationCertificate[] } | Failure {
  if (token.signerInfos.length === 0) {
    return fail('NOTATION_TIMESTAMP_INVALID', 'the timestamp token has no signer');
  }
  let last: Failure | undefined;
  for (const signerInfo of token.signerInfos) {
    const result = verifySigner(token, signerInfo, roots);
    if (result.ok) return result;
    last = result;
  }
  return last ?? fail('NOTATION_TIMESTAMP_INVALID', 'the timestamp token has no signer');
}

function verifySigner(
  token: ParsedToken,
  signerInfo: pkijs.SignerInfo,
  roots: readonly NotationCertificate[],
): { readonly ok: true; readonly chain: readonly NotationCertificate[] } | Failure {
  const invalid = (message: string) =>
    fail('NOTATION_TIMESTAMP_INVALID', `the timestamp token's signature is invalid: ${message}`);
  let signer: NotationCertificate;
  try {
    signer = signingCertificate(token, signerInfo);
  } catch (error) {
    if (error instanceof TokenError || error instanceof DerError) return invalid(error.message);
    throw error;
  }
  if (signerInfo.version !== 1) {
    return invalid(
      `its signer info has version ${signerInfo.version}; only version 1 is supported`,
    );
  }
  const built = buildChain({
    leaf: signer,
    intermediates: token.certificates,
    roots,
    time: new Date(Math.floor(token.info.genTime)),
    usage: EKU.timeStamping,
  });
  if ('problem' in built) {
    return fail(
      'NOTATION_TIMESTAMP_UNTRUSTED',
      `the timestamp's signing certificate "${signer.subject}" is not trusted: ${built.problem}`,
    );
  }
  const scheme = signerInfoScheme(
    signerInfo.digestAlgorithm.algorithmId,
    signerInfo.signatureAlgorithm.algorithmId,
  );
  if (typeof scheme === 'string') return invalid(scheme);
  const signedAttrs = signerInfo.signedAttrs;
  if (signedAttrs === undefined) return invalid('it has no signed attributes');
  const signedBytes = bytesOf(signedAttrs.encodedValue); // tag already SET (RFC 5652 §5.4)
  const bad = signatureProblem(
    signer.publicKey,
    scheme,
    signedBytes,
    bytesOf(signerInfo.signature.valueBlock.valueHexView),
  );
  if (bad !== undefined) return invalid(bad);
  const attributes = signedAttributesProblem(token, signerInfo, built.chain);
  if (attributes !== undefined) return invalid(attributes);
  // RFC 3161 §2.3 (timeStamping alone, critical), which SignedToken.Verify
  // also checks on the signer, is checked by validateChain on the whole chain.
  return { ok: true, chain: built.chain };
}

/** The first value of the first attribute of type `oid`. */
function attribute(signerInfo: pkijs.SignerInfo, oid: string): unknown {
  return signerInfo.signedAttrs?.attributes.find((a) => a.type === oid)?.values[0];
}

/**
 * `SigningCertificate`: the certificate the signing-certificate-v2
 * attribute names (its IssuerSerial, else the SignerInfo's sid), whose hash
 * must be the attribute's certHash.
 */
function signingCertificate(token: ParsedToken, signerInfo: pkijs.SignerInfo): NotationCertificate {
  const value = attribute(signerInfo, ID_SIGNING_CERTIFICATE_V2);
  if (value === undefined) {
    throw new TokenError('it has no signing-certificate-v2 attribute');
  }
  const first = essCertIdV2(value as asn1js.AsnType);
  let issuer: Uint8Array;
  let serial: bigint;
  if (first.issuerSerial !== undefined) {
    ({ issuer, serial } = first.issuerSerial);
  } else if (signerInfo.sid instanceof pkijs.IssuerAndSerialNumber) {
    issuer = bytesOf(signerInfo.sid.issuer.valueBeforeDecode);
    serial = signerInfo.sid.serialNumber.toBigInt();
  } else {
    throw new TokenError('its signer is identified by key identifier, which is not supported');
  }
  const cert = token.certificates.find(
    (c) => sameBytes(c.rawIssuer, issuer) && c.serialNumber === serial,
  );
  if (cert === undefined) throw new TokenError('its signing certificate is not in the token');
  const hash = createHash(first.hash).update(cert.der).digest();
  if (!sameBytes(hash, first.certHash)) {
    throw new TokenError(
      "the signing certificate's hash does not match the signing-certificate-v2 attribute",
    );
  }
  return cert;
}

interface EssCertIdV2 {
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly certHash: Uint8Array;
  readonly issuerSerial?: { readonly issuer: Uint8Array; readonly serial: bigint };
}

/**
 * RFC 5035 §3: SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF
 * ESSCertIDv2, ... }; ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT
 * sha256, certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }. The
 * first ESSCertIDv2 names the signer (RFC 5035 §4).
 */
function essCertIdV2(value: asn1js.AsnType): EssCertIdV2 {
  const bad = (what: string) => new TokenError(`its signing-certificate-v2 attribute ${what}`);
  if (!(value instanceof asn1js.Sequence)) throw bad('is not a SEQUENCE');
  const certs = value.valueBlock.value[0];
  if (!(certs instanceof asn1js.Sequence)) throw bad('has no certificate list');
  const first = certs.valueBlock.value[0];
  if (!(first instanceof asn1js.Sequence)) throw bad('names no certificate');
  const fields = [...first.valueBlock.value];
  let hash: EssCertIdV2['hash'] = 'sha256';
  if (fields[0] instanceof asn1js.Sequence) {
    const algorithm = new pkijs.AlgorithmIdentifier({ schema: fields.shift() });
    const named = SHA2_BY_OID[algorithm.algorithmId];
    if (named === undefined)
      throw bad(`uses the unsupported hash algorithm ${algorithm.algorithmId}`);
    hash = named;
  }
  const certHash = fields.shift();
  if (!(certHash instanceof asn1js.OctetString)) throw bad('has no certHash');
  const issuerSerial = fields.shift();
  if (issuerSerial === undefined)
    return { hash, certHash: bytesOf(certHash.valueBlock.valueHexView) };
  if (!(issuerSerial instanceof asn1js.Sequence)) throw bad('has a malformed issuerSerial');
  const [names, serialNumber] = issuerSerial.valueBlock.value;
  const directoryName = names instanceof asn1js.Sequence ? names.valueBlock.value[0] : undefined;
  // GeneralName directoryName [4] EXPLICIT Name (tspclient-go takes this one).
  if (
    directoryName === undefined ||
    directoryName.idBlock.tagClass !== 3 ||
    directoryName.idBlock.tagNumber !== 4
  ) {
    throw bad('has no issuer name');
  }
  const name = (directoryName as asn1js.Constructed).valueBlock.value[0];
  if (!(name instanceof asn1js.Sequence) || !(serialNumber instanceof asn1js.Integer)) {
    throw bad('has a malformed issuerSerial');
  }
  return {
    hash,
    certHash: bytesOf(certHash.valueBlock.valueHexView),
    issuerSerial: { issuer: bytesOf(name.valueBeforeDecodeView), serial: serialNumber.toBigInt() },
  };
}

/**
 * `verifySignedAttributes`: content type, message digest over the TSTInfo
 * with the SignerInfo's digest algorithm, and a signing time (when present)
 * within the chain's validity.
 */
function signedAttributesProblem(
  token: ParsedToken,
  signerInfo: pkijs.SignerInfo,
  chain: readonly NotationCertificate[],
): string | undefined {
  const contentType = attribute(signerInfo, ID_CONTENT_TYPE);
  if (!(contentType instanceof asn1js.ObjectIdentifier)) return 'it has no content type attribute';
  if (contentType.valueBlock.toString() !== token.eContentType) {
    return 'its content type attribute does not match the signed content';
  }
  const messageDigest = attribute(signerInfo, ID_MESSAGE_DIGEST);
  if (!(messageDigest instanceof asn1js.OctetString)) return 'it has no message digest attribute';
  const digestOid = signerInfo.digestAlgorithm.algorithmId;
  const hash = SHA2_BY_OID[digestOid];
  if (hash === undefined) return `its digest algorithm ${digestOid} is not supported`;
  const digest = createHash(hash).update(token.eContent).digest();
  if (!sameBytes(digest, bytesOf(messageDigest.valueBlock.valueHexView))) {
    return 'its message digest attribute is not the digest of the TSTInfo';
  }
  const signingTime = attribute(signerInfo, ID_SIGNING_TIME);
  if (signingTime === undefined) return undefined;
  if (!(signingTime instanceof asn1js.UTCTime)) return 'its signing time attribute is not a time';
  const time = signingTime.toDate();
  if (Number.isNaN(time.getTime())) return 'its signing time attribute is not a valid time';
  return chain.every((cert) => validAt(cert, time))
    ? undefined
    : `its signing time ${time.toISOString()} is outside the validity of its certificate chain`;
}
