/**
 * OCSP (RFC 6960) as notation-core-go uses it to check one certificate
 * (revocation/internal/ocsp/ocsp.go, with golang.org/x/crypto/ocsp): the
 * request it sends, whether it goes by GET or POST, and what a response must
 * be to count. Pure; the HTTP exchange is src/notation/'s.
 *
 * Stricter than x/crypto/ocsp where a wrong answer could pass: the single
 * response must match the whole CertID (issuer name and key hashes, not the
 * serial alone), and a delegated responder's certificate must be issued by
 * the certificate's issuer, carry id-kp-OCSPSigning and be valid now (RFC
 * 6960 §4.2.2.2); a response signed with the issuer's own key counts too.
 * Every failure is "could not check", never "revoked".
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  bytesOf,
  checkDerLengths,
  decodeAsn1,
  DerError,
  encodeDer,
  sameBytes,
  validTime,
} from './der.ts';
import { algorithmIdOf, OID, signatureProblem } from './signature-algorithm.ts';
import { EKU, type NotationCertificate, parseCertificate, validAt } from './x509.ts';

/** x/crypto/ocsp's limit is the caller's: notation reads at most 20 KiB. */
export const MAX_OCSP_RESPONSE_BYTES = 20480;

const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
const ID_CE_INVALIDITY_DATE = '2.5.29.24';
/** A responder clock this far ahead of ours is not a reason to give up. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Responders send one certificate; a few are tolerated, more are refused. */
const MAX_RESPONDER_CERTIFICATES = 4;

const CERT_ID_HASHES: Readonly<Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'>> = {
  [OID.sha1]: 'sha1',
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
};

/** OCSPResponseStatus names (RFC 6960 §4.2.1), for messages. */
const RESPONSE_STATUS: Readonly<Record<number, string>> = {
  1: 'malformedRequest',
  2: 'internalError',
  3: 'tryLater',
  5: 'sigRequired',
  6: 'unauthorized',
};

/**
 * The DER OCSPRequest for `cert`: one request, CertID hashed with SHA-1 as
 * notation does ("the hashing algorithm SHA1 ... supported by all that were
 * tested"), no nonce, unsigned.
 */
export function ocspRequest(cert: NotationCertificate, issuer: NotationCertificate): Uint8Array {
  const sha1 = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest();
  const certId = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({
        value: [new asn1js.ObjectIdentifier({ value: OID.sha1 }), new asn1js.Null()],
      }),
      new asn1js.OctetString({ valueHex: sha1(issuer.rawSubject) }),
      new asn1js.OctetString({ valueHex: sha1(issuer.subjectPublicKey) }),
      asn1js.Integer.fromBigInt(cert.serialNumber),
    ],
  });
  const request = new asn1js.Sequence({ value: [certId] });
  const tbsRequest = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [request] })] });
  return encodeDer(new asn1js.Sequence({ value: [tbsRequest] }));
}

export type OcspHttpRequest =
  | { readonly method: 'GET'; readonly url: URL }
  | { readonly method: 'POST'; readonly url: URL; readonly body: Uint8Array };

/**
 * How notation sends `request` to `server` (`executeOCSPCheck`): GET with
 * the URL-escaped base64 request appended to the server's path when both
 * are under 255 characters (RFC 6960 Appendix A.1), POST otherwise. Only
 * `http` servers are used, as notation does; anything else is a string
 * saying why.
 */
export function ocspHttpRequest(server: string, request: Uint8Array): OcspHttpRequest | string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return `the OCSP server ${JSON.stringify(server)} is not a URL`;
  }
  if (url.protocol !== 'http:') return `OCSP over ${url.protocol.slice(0, -1)} is not supported`;
  const base64 = Buffer.from(request).toString('base64');
  const escaped = encodeURIComponent(base64);
  if (base64.length < 255 && escaped.length < 255) {
    const get = new URL(url);
    get.pathname = `${url.pathname.replace(/\/+$/, '')}/${escaped}`;
    return { method: 'GET', url: get };
  }
  return { method: 'POST', url, body: request };
}

export type OcspCheck =
  | {
      /** `good` also when a revocation took effect after the given signing time. */
      readonly status: 'good' | 'revoked' | 'unknown';
      /** Until when the response may be used (its nextUpdate). */
      readonly nextUpdate: Date;
    }
  | { readonly status: 'error'; readonly message: string };

export interface OcspCheckOptions {
  readonly now: Date;
  /**
   * The authentic signing time: a revocation whose invalidity date is after
   * it does not count (`specs/trust-store-trust-policy.md`, "Revocation
   * Checking with OCSP").
   */
  readonly signingTime?: Date;
}

/**
 * What the OCSP response `body` says about `cert`, issued by `issuer`
 * (`ParseResponseForCert` and `checkStatusFromServer`).
 */
export function checkOcspResponse(
  body: Uint8Array,
  cert: NotationCertificate,
  issuer: NotationCertificate,
  options: OcspCheckOptions,
): OcspCheck {
  try {
    return checkResponse(body, cert, issuer, options);
  } catch (error) {
    // Whatever pkijs or asn1js throw on hostile bytes is a malformed response.
    return {
      status: 'error',
      message: `the OCSP response is malformed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

function checkResponse(
  body: Uint8Array,
  cert: NotationCertificate,
  issuer: NotationCertificate,
  options: OcspCheckOptions,
): OcspCheck {
  const error = (message: string): OcspCheck => ({ status: 'error', message });
  if (body.byteLength > MAX_OCSP_RESPONSE_BYTES) {
    return error(`the OCSP response has more than ${MAX_OCSP_RESPONSE_BYTES} bytes`);
  }
  const parsed = parseResponse(body);
  if ('status' in parsed) {
    return error(
      `the OCSP responder answered ${RESPONSE_STATUS[parsed.status] ?? `status ${parsed.status}`}`,
    );
  }
  const single = matchingResponse(parsed.basic, cert, issuer);
  if (typeof single === 'string') return error(single);
  const signer = responderProblem(parsed, issuer, options.now);
  if (signer !== undefined) return error(signer);
  for (const extension of single.singleExtensions ?? []) {
    if (extension.critical) {
      return error(`the OCSP response has the unsupported critical extension ${extension.extnID}`);
    }
  }
  // notation reads a missing nextUpdate as Go's zero time, so as expired.
  if (single.nextUpdate === undefined) return error('the OCSP response has no nextUpdate');
  const nextUpdate = validTime(single.nextUpdate, 'the OCSP response nextUpdate');
  validTime(single.thisUpdate, 'the OCSP response thisUpdate');
  if (options.now > nextUpdate) {
    return error(`the OCSP response expired at ${nextUpdate.toISOString()}`);
  }
  if (single.thisUpdate.getTime() > options.now.getTime() + CLOCK_SKEW_MS) {
    return error(`the OCSP response is not valid before ${single.thisUpdate.toISOString()}`);
  }
  const status = certStatus(single);
  if (status === undefined)
    return error('the OCSP response has an unknown certificate status form');
  if (status === 'revoked' && options.signingTime !== undefined) {
    const invalidity = invalidityDate(single);
    if (invalidity !== undefined && options.signingTime < invalidity) {
      return { status: 'good', nextUpdate };
    }
  }
  return { status, nextUpdate };
}

type ParsedResponse =
  | { readonly status: number }
  | {
      readonly basic: pkijs.BasicOCSPResponse;
      readonly certificates: readonly NotationCertificate[];
    };

function parseResponse(body: Uint8Array): ParsedResponse {
  // DER, as Go's encoding/asn1 reads it for notation (x/crypto/ocsp): asn1js
  // would accept BER's longer lengths, and pkijs then read values from them.
  checkDerLengths(body, 'the OCSP response is not DER');
  const tree = decodeAsn1(body, 'the OCSP response');
  let response: pkijs.OCSPResponse;
  try {
    response = new pkijs.OCSPResponse({ schema: tree });
  } catch (e) {
    throw new DerError(e instanceof Error ? e.message : String(e));
  }
  const status = response.responseStatus.valueBlock.valueDec;
  if (status !== 0) return { status };
  const bytes = response.responseBytes;
  if (bytes === undefined) throw new DerError('a successful response without responseBytes');
  if (bytes.responseType !== ID_PKIX_OCSP_BASIC) {
    throw new DerError(`the response type is ${bytes.responseType}, not id-pkix-ocsp-basic`);
  }
  const basicBytes = bytesOf(bytes.response.getValue());
  checkDerLengths(basicBytes, 'the basic OCSP response is not DER');
  const basicTree = decodeAsn1(basicBytes, 'the basic OCSP response');
  const rawCertificates = responderCertificates(basicTree);
  let basic: pkijs.BasicOCSPResponse;
  try {
    basic = new pkijs.BasicOCSPResponse({ schema: basicTree });
  } catch (e) {
    throw new DerError(e instanceof Error ? e.message : String(e));
  }
  if (rawCertificates.length > MAX_RESPONDER_CERTIFICATES) {
    throw new DerError(`it carries ${rawCertificates.length} certificates`);
  }
  return {
    basic,
    certificates: rawCertificates.map((der) =>
      parseCertificate(der, 'the OCSP responder certificate'),
    ),
  };
}

/** The DER of each certificate in `certs [0] EXPLICIT SEQUENCE OF Certificate`. */
function responderCertificates(basic: asn1js.AsnType): Uint8Array[] {
  if (!(basic instanceof asn1js.Sequence)) return [];
  const tagged = basic.valueBlock.value.find(
    (node) => node.idBlock.tagClass === 3 && node.idBlock.tagNumber === 0,
  );
  const list = (tagged as asn1js.Constructed | undefined)?.valueBlock.value[0];
  if (list === undefined) return [];
  if (!(list instanceof asn1js.Sequence)) throw new DerError('its certificates are not a SEQUENCE');
  return list.valueBlock.value.map((cert) => bytesOf(cert.valueBeforeDecodeView));
}

/** The SingleResponse whose CertID is `cert`'s, hashed as the response hashed it. */
function matchingResponse(
  basic: pkijs.BasicOCSPResponse,
  cert: NotationCertificate,
  issuer: NotationCertificate,
): pkijs.SingleResponse | string {
  const responses = basic.tbsResponseData.responses;
  if (responses.length === 0) return 'the OCSP response has no responses';
  for (const single of responses) {
    const id = single.certID;
    if (id.serialNumber.toBigInt() !== cert.serialNumber) continue;
    const hash = CERT_ID_HASHES[id.hashAlgorithm.algorithmId];
    if (hash === undefined) {
      return `the OCSP response hashes the certificate ID with the unsupported ${id.hashAlgorithm.algorithmId}`;
    }
    const digest = (bytes: Uint8Array) => createHash(hash).update(bytes).digest();
    if (
      sameBytes(digest(issuer.rawSubject), bytesOf(id.issuerNameHash.valueBlock.valueHexView)) &&
      sameBytes(digest(issuer.subjectPublicKey), bytesOf(id.issuerKeyHash.valueBlock.valueHexView))
    ) {
      return single;
    }
  }
  return 'the OCSP response has no response for this certificate';
}

/**
 * Why the response's signature does not come from `issuer` or a responder
 * it authorized (RFC 6960 §4.2.2.2), or undefined when it does.
 */
function responderProblem(
  parsed: Extract<ParsedResponse, { basic: unknown }>,
  issuer: NotationCertificate,
  now: Date,
): string | undefined {
  const { basic } = parsed;
  const tbs = bytesOf(basic.tbsResponseData.tbsView);
  const algorithm = algorithmIdOf(
    basic.signatureAlgorithm.toSchema(),
    'the OCSP response signature algorithm',
  );
  const signature = bytesOf(basic.signature.valueBlock.valueHexView);
  if (signatureProblem(issuer.publicKey, algorithm, tbs, signature) === undefined) return undefined;
  let reason = `the OCSP response is not signed by "${issuer.subject}" or a responder it authorized`;
  for (const responder of parsed.certificates) {
    if (signatureProblem(responder.publicKey, algorithm, tbs, signature) !== undefined) continue;
    const issued =
      sameBytes(responder.rawIssuer, issuer.rawSubject) &&
      signatureProblem(
        issuer.publicKey,
        responder.signatureAlgorithm,
        responder.tbs,
        responder.signature,
      ) === undefined;
    if (!issued) {
      reason = `the OCSP responder "${responder.subject}" is not issued by "${issuer.subject}"`;
    } else if (!(responder.extKeyUsage?.purposes.includes(EKU.ocspSigning) ?? false)) {
      reason = `the OCSP responder "${responder.subject}" does not have the OCSPSigning extended key usage`;
    } else if (!validAt(responder, now)) {
      reason = `the OCSP responder certificate "${responder.subject}" is not valid now`;
    } else {
      return undefined;
    }
  }
  return reason;
}

/** CertStatus ::= CHOICE { good [0] NULL, revoked [1] RevokedInfo, unknown [2] NULL }. */
function certStatus(single: pkijs.SingleResponse): 'good' | 'revoked' | 'unknown' | undefined {
  const node = single.certStatus as asn1js.AsnType;
  if (node.idBlock.tagClass !== 3) return undefined;
  return (['good', 'revoked', 'unknown'] as const)[node.idBlock.tagNumber];
}

/**
 * The invalidityDate single extension (RFC 5280 §5.3.2), if any and well
 * formed: notation ignores a malformed one, leaving the certificate revoked.
 */
function invalidityDate(single: pkijs.SingleResponse): Date | undefined {
  const extension = single.singleExtensions?.find((e) => e.extnID === ID_CE_INVALIDITY_DATE);
  if (extension === undefined) return undefined;
  try {
    const value = decodeAsn1(
      bytesOf(extension.extnValue.valueBlock.valueHexView),
      'invalidityDate',
    );
    const date = value instanceof asn1js.GeneralizedTime ? value.toDate() : undefined;
    return date === undefined || Number.isNaN(date.getTime()) ? undefined : date;
  } catch {
    return undefined;
  }
}
