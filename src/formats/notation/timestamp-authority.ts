/**
 * The exchange with an RFC 3161 timestamp authority when notation signs
 * with `--timestamp-url`: the request, and the checks of the answer before
 * its token goes in the envelope as `io.cncf.notary.timestampSignature`.
 * notation-core-go v1.3 `internal/timestamp/timestamp.go` `Timestamp` on
 * tspclient-go v1.0 (request.go `NewRequest`, response.go `Validate`,
 * token.go `SigningCertificate`, `SignedToken.Verify`):
 *
 * - the request stamps the hash of the signature bytes with the hash of the
 *   signature's algorithm (SHA-256 for PS256/ES256, ...), asks for the TSA's
 *   certificate (`certReq`, which plugin-extensibility.md requires) and
 *   carries a random 159-bit nonce;
 * - the answer is a TimeStampResp, nothing after it, status granted (or
 *   granted with modifications); its token is CMS SignedData over an
 *   id-ct-TSTInfo whose version is 1, whose message imprint is exactly the
 *   request's (algorithm and hash: a token over other bytes is refused) and
 *   whose nonce is the request's;
 * - a signer of the token is the certificate its signing-certificate-v2
 *   attribute names and hashes, the signed attributes bind the TSTInfo
 *   (content type, message digest) and their signature verifies with that
 *   certificate's key; the certificate chains, through the token's
 *   certificates, to one of the roots given (`--timestamp-root-cert`), every
 *   certificate valid now, intermediates CAs whose extended key usages (if
 *   any) allow time stamping; the signer's only extended key usage is
 *   id-kp-timeStamping, marked critical (RFC 3161 section 2.3).
 *
 * This is the signer's check that the TSA answered what was asked, by the
 * authority the user named, before anything is written. notation also
 * checks the TSA chain against the Notary Project certificate requirements
 * and its revocation at this point; verification checks the token in full
 * against the trust policy's `tsa` stores.
 *
 * Every refusal is `denied` NOTATION_TSA_RESPONSE_INVALID.
 */
import { createHash, randomBytes, verify, X509Certificate, constants } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { denied, invalid } from '../../core/errors.ts';
import { decodePemBlocks } from '../../keys/pem.ts';
import type { NotationSignatureAlgorithm } from './envelope.ts';

/** tspclient-go http.go maxBodyLength: a TSA answers a few kilobytes. */
export const MAX_TIMESTAMP_RESPONSE_BYTES = 1024 * 1024;
/** RFC 3161 section 3.4. */
export const TIMESTAMP_QUERY_MEDIA_TYPE = 'application/timestamp-query';
export const TIMESTAMP_REPLY_MEDIA_TYPE = 'application/timestamp-reply';

type Hash = 'sha256' | 'sha384' | 'sha512';

const HASH_OIDS: Readonly<Record<Hash, string>> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};
const HASH_BY_OID: Readonly<Record<string, Hash>> = Object.fromEntries(
  Object.entries(HASH_OIDS).map(([hash, oid]) => [oid, hash as Hash]),
);

const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ID_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
const ID_EXT_KEY_USAGE = '2.5.29.37';
const ID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** Signature algorithms that name their hash: the hash must be the SignerInfo's digest algorithm. */
const SIGNATURE_HASHES: Readonly<Record<string, [Hash, 'rsa' | 'ecdsa']>> = {
  '1.2.840.113549.1.1.11': ['sha256', 'rsa'],
  '1.2.840.113549.1.1.12': ['sha384', 'rsa'],
  '1.2.840.113549.1.1.13': ['sha512', 'rsa'],
  '1.2.840.10045.4.3.2': ['sha256', 'ecdsa'],
  '1.2.840.10045.4.3.3': ['sha384', 'ecdsa'],
  '1.2.840.10045.4.3.4': ['sha512', 'ecdsa'],
};

/** More than any token carries: each is parsed, so the count is capped. */
const MAX_TOKEN_CERTIFICATES = 16;
const MAX_SIGNER_INFOS = 4;
const MAX_CHAIN_LENGTH = 8;

const HASH_OF: Readonly<Record<NotationSignatureAlgorithm, Hash>> = {
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
};

export interface TimestampRequest {
  /** The DER TimeStampReq to POST. */
  readonly der: Uint8Array;
  readonly hash: Hash;
  /** The hash of the signature: what the token must stamp. */
  readonly imprint: Uint8Array;
  readonly nonce: bigint;
}

/** The request that stamps `signature`, made by a key of `algorithm` (module comment). */
export function timestampRequest(
  signature: Uint8Array,
  algorithm: NotationSignatureAlgorithm,
): TimestampRequest {
  const hash = HASH_OF[algorithm];
  const imprint = new Uint8Array(createHash(hash).update(signature).digest());
  // A positive integer below 2^159, as tspclient-go generateNonce picks it.
  const nonceBytes = randomBytes(20);
  nonceBytes[0] = (nonceBytes[0] as number) & 0x7f;
  const nonce = BigInt(`0x${nonceBytes.toString('hex')}`);
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({
        algorithmId: HASH_OIDS[hash],
        algorithmParams: new asn1js.Null(),
      }),
      hashedMessage: new asn1js.OctetString({ valueHex: imprint }),
    }),
    nonce: asn1js.Integer.fromBigInt(nonce),
    certReq: true,
  });
  return { der: new Uint8Array(request.toSchema().toBER()), hash, imprint, nonce };
}

/**
 * The root of `--timestamp-root-cert`, as notation `sign` reads it
 * (cmd/notation/sign.go prepareSigningOpts): exactly one certificate, PEM
 * or DER, self-issued and self-signed (internal/x509 IsRootCertificate).
 * Throws `invalid` NOTATION_TSA_ROOT_INVALID.
 */
export function parseTimestampRoot(bytes: Uint8Array, source: string): X509Certificate {
  const fail = (problem: string) =>
    invalid(
      'NOTATION_TSA_ROOT_INVALID',
      `${source}: ${problem}; expecting a single x509 root certificate in PEM or DER format`,
    );
  const blocks = decodePemBlocks(bytes, { source });
  let ders: Uint8Array[];
  if (blocks.length > 0) {
    ders = blocks.filter((block) => block.type === 'CERTIFICATE').map((block) => block.bytes);
  } else {
    ders = [bytes];
  }
  if (ders.length === 0) throw fail('no certificate found');
  if (ders.length > 1) throw fail('found more than one certificate');
  let root: X509Certificate;
  try {
    root = new X509Certificate(ders[0] as Uint8Array);
  } catch {
    throw fail('it is not an X.509 certificate');
  }
  if (!same(view(root.raw), ders[0] as Uint8Array)) throw fail('it is not one DER certificate');
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) {
    throw fail('the certificate is not a root certificate (self-issued and self-signed)');
  }
  return root;
}

export interface CheckedTimestamp {
  /** The TimeStampToken, byte for byte as the TSA sent it. */
  readonly token: Uint8Array;
  readonly genTime: Date;
}

class TsaError extends Error {}

const refused = (problem: string) =>
  denied(
    'NOTATION_TSA_RESPONSE_INVALID',
    `the timestamp authority's answer is refused: ${problem}`,
  );

/**
 * Checks the TSA's answer to `request` against `roots` at `now` (module
 * comment); returns the token to embed. Throws `denied`
 * NOTATION_TSA_RESPONSE_INVALID.
 */
export function checkTimestampResponse(
  response: Uint8Array,
  request: TimestampRequest,
  roots: readonly X509Certificate[],
  now: Date,
): CheckedTimestamp {
  try {
    return check(response, request, roots, now);
  } catch (error) {
    if (error instanceof TsaError) throw refused(error.message);
    // Whatever asn1js or pkijs throw on hostile bytes.
    throw refused(`it is malformed (${error instanceof Error ? error.message : String(error)})`);
  }
}

function decode(bytes: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset === -1 || parsed.result.error !== '') {
    throw new TsaError(`${what} is not valid ASN.1`);
  }
  if (parsed.offset !== bytes.byteLength) {
    throw new TsaError(`${what} has ${bytes.byteLength - parsed.offset} bytes after it`);
  }
  return parsed.result;
}

const view = (buffer: ArrayBuffer | Uint8Array) =>
  buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

function check(
  response: Uint8Array,
  request: TimestampRequest,
  roots: readonly X509Certificate[],
  now: Date,
): CheckedTimestamp {
  if (response.byteLength > MAX_TIMESTAMP_RESPONSE_BYTES) {
    throw new TsaError(`it is more than ${MAX_TIMESTAMP_RESPONSE_BYTES} bytes`);
  }
  const tree = decode(response, 'it');
  const answer = new pkijs.TimeStampResp({ schema: tree });
  const status = answer.status.status;
  if (status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) {
    const text = (answer.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ');
    throw new TsaError(`it did not grant the request (status ${status}${text ? `: ${text}` : ''})`);
  }
  const tokenNode = (tree as asn1js.Sequence).valueBlock.value[1];
  if (tokenNode === undefined || answer.timeStampToken === undefined) {
    throw new TsaError('it holds no timestamp token');
  }
  const token = new Uint8Array(view(tokenNode.valueBeforeDecodeView));
  if (answer.timeStampToken.contentType !== ID_SIGNED_DATA) {
    throw new TsaError('its token is not CMS signed data');
  }
  const signedContent = answer.timeStampToken.content as asn1js.AsnType;
  const signedData = new pkijs.SignedData({ schema: signedContent });
  const encap = signedData.encapContentInfo;
  if (encap.eContentType !== ID_CT_TSTINFO || encap.eContent === undefined) {
    throw new TsaError('its token does not sign a TSTInfo');
  }
  const eContent = new Uint8Array(encap.eContent.getValue());
  const info = new pkijs.TSTInfo({ schema: decode(eContent, 'its TSTInfo') });
  if (info.version !== 1) throw new TsaError(`its TSTInfo has version ${info.version}, not 1`);
  const imprint = info.messageImprint;
  if (
    HASH_BY_OID[imprint.hashAlgorithm.algorithmId] !== request.hash ||
    !same(view(imprint.hashedMessage.valueBlock.valueHexView), request.imprint)
  ) {
    throw new TsaError(
      `it stamps other bytes than this signature: its message imprint is not the ${request.hash} of the signature`,
    );
  }
  if (info.nonce === undefined || info.nonce.toBigInt() !== request.nonce) {
    throw new TsaError('its nonce is not the one asked for');
  }
  if (Number.isNaN(info.genTime.getTime())) throw new TsaError('its genTime is not a time');
  const certificates = tokenCertificates(signedContent);
  const signers = signedData.signerInfos;
  if (signers.length === 0 || signers.length > MAX_SIGNER_INFOS) {
    throw new TsaError(`its token has ${signers.length} signers`);
  }
  let last = 'no signer verifies';
  for (const signer of signers) {
    const problem = signerProblem(signer, eContent, certificates, roots, now);
    if (problem === undefined) return { token, genTime: info.genTime };
    last = problem;
  }
  throw new TsaError(last);
}

interface TokenCertificate {
  readonly node: X509Certificate;
  readonly pki: pkijs.Certificate;
  readonly der: Uint8Array;
}

/** The token's certificates, each as the TSA encoded it. */
function tokenCertificates(signedData: asn1js.AsnType): TokenCertificate[] {
  const set = (signedData as asn1js.Sequence).valueBlock.value.find(
    (node) => node.idBlock.tagClass === 3 && node.idBlock.tagNumber === 0,
  );
  const entries = set === undefined ? [] : ((set as asn1js.Constructed).valueBlock.value ?? []);
  if (entries.length > MAX_TOKEN_CERTIFICATES) {
    throw new TsaError(`its token carries more than ${MAX_TOKEN_CERTIFICATES} certificates`);
  }
  return entries.map((entry) => {
    const der = new Uint8Array(view(entry.valueBeforeDecodeView));
    return { node: new X509Certificate(der), pki: new pkijs.Certificate({ schema: entry }), der };
  });
}

function attribute(signer: pkijs.SignerInfo, oid: string): asn1js.AsnType | undefined {
  const found = signer.signedAttrs?.attributes.filter((a) => a.type === oid) ?? [];
  if (found.length !== 1 || found[0]?.values.length !== 1) return undefined;
  return found[0].values[0];
}

/** Why `signer` does not make the token good, or undefined when it does. */
function signerProblem(
  signer: pkijs.SignerInfo,
  eContent: Uint8Array,
  certificates: readonly TokenCertificate[],
  roots: readonly X509Certificate[],
  now: Date,
): string | undefined {
  if (signer.version !== 1 || !(signer.sid instanceof pkijs.IssuerAndSerialNumber)) {
    return 'its signer is not named by issuer and serial number (signer info version 1)';
  }
  const sid = signer.sid;
  const certificate = certificates.find(
    (c) => c.pki.issuer.isEqual(sid.issuer) && c.pki.serialNumber.isEqual(sid.serialNumber),
  );
  if (certificate === undefined) return 'its signing certificate is not in the token';
  const binding = signingCertificateProblem(signer, certificate);
  if (binding !== undefined) return binding;
  const digest = HASH_BY_OID[signer.digestAlgorithm.algorithmId];
  if (digest === undefined) return 'its signer uses an unsupported digest algorithm';
  const contentType = attribute(signer, ID_CONTENT_TYPE);
  if (
    !(contentType instanceof asn1js.ObjectIdentifier) ||
    contentType.valueBlock.toString() !== ID_CT_TSTINFO
  ) {
    return 'its signed attributes do not say they sign a TSTInfo';
  }
  const messageDigest = attribute(signer, ID_MESSAGE_DIGEST);
  if (
    !(messageDigest instanceof asn1js.OctetString) ||
    !same(view(messageDigest.valueBlock.valueHexView), createHash(digest).update(eContent).digest())
  ) {
    return 'its signed attributes do not hold the digest of its TSTInfo';
  }
  const signedAttrs = signer.signedAttrs;
  if (signedAttrs === undefined) return 'its signer has no signed attributes';
  if (
    !signatureVerifies(
      signer,
      digest,
      certificate.node,
      view(signedAttrs.encodedValue),
      view(signer.signature.valueBlock.valueHexView),
    )
  ) {
    return "its signature does not verify with its signing certificate's key";
  }
  const chain = chainToRoot(certificate, certificates, roots);
  if (typeof chain === 'string') return chain;
  for (const link of chain) {
    if (now < link.validFromDate || now > link.validToDate) {
      return `the TSA certificate "${link.subject.replaceAll('\n', ', ')}" is not valid now`;
    }
  }
  return extendedKeyUsageProblem(certificate, chain.slice(1, -1), certificates);
}

/** tspclient-go SigningCertificate: signing-certificate-v2 names this certificate and hashes it. */
function signingCertificateProblem(
  signer: pkijs.SignerInfo,
  certificate: TokenCertificate,
): string | undefined {
  const attr = attribute(signer, ID_SIGNING_CERTIFICATE_V2);
  const ids = attr instanceof asn1js.Sequence ? attr.valueBlock.value[0] : undefined;
  const first = ids instanceof asn1js.Sequence ? ids.valueBlock.value[0] : undefined;
  if (!(first instanceof asn1js.Sequence)) {
    return 'its signer has no signing-certificate-v2 attribute naming its certificate';
  }
  const fields = first.valueBlock.value;
  let hash: Hash = 'sha256';
  let index = 0;
  if (fields[0] instanceof asn1js.Sequence) {
    const algorithm = new pkijs.AlgorithmIdentifier({ schema: fields[0] }).algorithmId;
    const named = HASH_BY_OID[algorithm];
    if (named === undefined) return 'its signing-certificate-v2 uses an unsupported hash';
    hash = named;
    index = 1;
  }
  const certHash = fields[index];
  if (
    !(certHash instanceof asn1js.OctetString) ||
    !same(view(certHash.valueBlock.valueHexView), createHash(hash).update(certificate.der).digest())
  ) {
    return "its signing certificate's hash is not the one its signing-certificate-v2 attribute holds";
  }
  const issuerSerial = fields[index + 1];
  if (issuerSerial instanceof asn1js.Sequence) {
    const serial = issuerSerial.valueBlock.value[1];
    if (!(serial instanceof asn1js.Integer) || !serial.isEqual(certificate.pki.serialNumber)) {
      return 'its signing-certificate-v2 attribute names another certificate';
    }
  }
  return undefined;
}

/** The SignerInfo's signature over its signed attributes, with Node's verifier. */
function signatureVerifies(
  signer: pkijs.SignerInfo,
  digest: Hash,
  certificate: X509Certificate,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const algorithm = signer.signatureAlgorithm.algorithmId;
  const key = certificate.publicKey;
  try {
    if (algorithm === RSASSA_PSS) {
      const params = new pkijs.RSASSAPSSParams({
        schema: signer.signatureAlgorithm.algorithmParams,
      });
      const pssHash = HASH_BY_OID[params.hashAlgorithm.algorithmId];
      if (pssHash === undefined || key.asymmetricKeyType !== 'rsa') return false;
      return verify(
        pssHash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength },
        signature,
      );
    }
    const named = SIGNATURE_HASHES[algorithm];
    let kind: 'rsa' | 'ecdsa';
    if (named !== undefined) {
      if (named[0] !== digest) return false;
      kind = named[1];
    } else if (algorithm === RSA_ENCRYPTION) {
      kind = 'rsa';
    } else if (algorithm === EC_PUBLIC_KEY) {
      kind = 'ecdsa';
    } else {
      return false;
    }
    if (key.asymmetricKeyType !== (kind === 'rsa' ? 'rsa' : 'ec')) return false;
    return kind === 'rsa'
      ? verify(digest, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature)
      : verify(digest, data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

/**
 * The path from the signing certificate to one of `roots` through the
 * token's certificates: signing certificate first, the root last. A root
 * given as the signing certificate itself is a path of one.
 */
function chainToRoot(
  leaf: TokenCertificate,
  certificates: readonly TokenCertificate[],
  roots: readonly X509Certificate[],
): X509Certificate[] | string {
  const issued = (child: X509Certificate, parent: X509Certificate) =>
    child.checkIssued(parent) && child.verify(parent.publicKey);
  const path: X509Certificate[] = [leaf.node];
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
    const current = path[path.length - 1] as X509Certificate;
    const root = roots.find((r) => same(view(r.raw), view(current.raw)) || issued(current, r));
    if (root !== undefined) {
      if (!same(view(root.raw), view(current.raw))) path.push(root);
      return path;
    }
    const next = certificates.find(
      (c) => c.node.ca && !path.some((p) => same(view(p.raw), c.der)) && issued(current, c.node),
    );
    if (next === undefined) break;
    path.push(next.node);
  }
  return `the TSA certificate "${leaf.node.subject.replaceAll('\n', ', ')}" does not chain to the timestamp root certificate given`;
}

/**
 * RFC 3161 section 2.3 on the signer (timeStamping alone, critical), and
 * Go's chain-wide rule on the intermediates: an extended key usage
 * extension, where present, allows time stamping.
 */
function extendedKeyUsageProblem(
  signer: TokenCertificate,
  intermediates: readonly X509Certificate[],
  certificates: readonly TokenCertificate[],
): string | undefined {
  const usage = (certificate: pkijs.Certificate) => {
    const extension = certificate.extensions?.find((e) => e.extnID === ID_EXT_KEY_USAGE);
    if (extension === undefined) return undefined;
    const parsed = extension.parsedValue as pkijs.ExtKeyUsage | undefined;
    return { critical: extension.critical, usages: parsed?.keyPurposes ?? [] };
  };
  const own = usage(signer.pki);
  if (
    own === undefined ||
    !own.critical ||
    own.usages.length !== 1 ||
    own.usages[0] !== ID_KP_TIME_STAMPING
  ) {
    return 'the TSA certificate must have time stamping as its only extended key usage, marked critical';
  }
  for (const intermediate of intermediates) {
    const token = certificates.find((c) => same(c.der, view(intermediate.raw)));
    const theirs = token === undefined ? undefined : usage(token.pki);
    if (
      theirs !== undefined &&
      !theirs.usages.includes(ID_KP_TIME_STAMPING) &&
      !theirs.usages.includes(ANY_EXTENDED_KEY_USAGE)
    ) {
      return `the TSA's intermediate certificate "${intermediate.subject.replaceAll('\n', ', ')}" does not allow time stamping`;
    }
  }
  return undefined;
}
