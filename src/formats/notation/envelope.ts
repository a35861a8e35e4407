/**
 * The parts of a Notary Project signature envelope that do not depend on its
 * encoding: one shape (`NotationEnvelope`) for JWS (jws.ts) and COSE
 * (cose.ts), the payload, and the rules both envelopes share.
 *
 * Specs: notaryproject/specifications `specs/signature-specification.md`,
 * `signature-envelope-jws.md`, `signature-envelope-cose.md`. Where the spec
 * leaves room, notation-core-go v1.3 (`signature/jws`, `signature/cose`,
 * `signature/internal/base/envelope.go`) decides, and vouch is never laxer:
 *
 * - the signing scheme is `notary.x509` (signing time) or
 *   `notary.x509.signingAuthority` (authentic signing time), never both
 *   times, and an expiry must be after the signing time
 *   (base/envelope.go validateSigningAndExpiryTime);
 * - `crit` lists `io.cncf.notary.signingScheme`, the expiry when present and
 *   the authentic signing time under signingAuthority, and otherwise only
 *   extended attributes that are present (jws/jws.go validateCriticalHeaders);
 *   no duplicates, no registered headers;
 * - `cty` is `application/vnd.cncf.notary.payload.v1+json` (notation-go
 *   internal/envelope ValidatePayloadContentType), and the payload is
 *   `{"targetArtifact": <descriptor>}` with mediaType, digest, size and
 *   optional annotations (and artifactType, which the spec allows);
 * - the certificate chain is non-empty, leaf first, each entry one DER
 *   certificate.
 *
 * Extended attributes (any other protected header) are kept with their
 * `critical` flag: a verifier must refuse a critical one it does not
 * process, as notation refuses `io.cncf.notary.verificationPlugin` without
 * its plugin.
 */
import { X509Certificate } from 'node:crypto';
import { denied } from '../../core/errors.ts';
import { parseStrictJson, type JsonValue } from '../../core/strict-json.ts';
import { isValidMediaType } from '../../oci/media-types.ts';
import { goMap, goMarshalBytes, type GoValue } from '../go-json.ts';
import { checkFields, object, quote, string, type Fail } from '../json-fields.ts';

export const JWS_ENVELOPE_MEDIA_TYPE = 'application/jose+json';
export const COSE_ENVELOPE_MEDIA_TYPE = 'application/cose';
export type NotationEnvelopeMediaType =
  typeof JWS_ENVELOPE_MEDIA_TYPE | typeof COSE_ENVELOPE_MEDIA_TYPE;

export function isNotationEnvelopeMediaType(value: string): value is NotationEnvelopeMediaType {
  return value === JWS_ENVELOPE_MEDIA_TYPE || value === COSE_ENVELOPE_MEDIA_TYPE;
}

/** The payload's content type (`cty` in JWS, label 3 in COSE): the only one notation accepts. */
export const NOTATION_PAYLOAD_MEDIA_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

/** Protected and unprotected header names of both envelopes (the spec's "collision resistant" names). */
export const HEADER_SIGNING_SCHEME = 'io.cncf.notary.signingScheme';
export const HEADER_SIGNING_TIME = 'io.cncf.notary.signingTime';
export const HEADER_AUTHENTIC_SIGNING_TIME = 'io.cncf.notary.authenticSigningTime';
export const HEADER_EXPIRY = 'io.cncf.notary.expiry';
export const HEADER_TIMESTAMP_SIGNATURE = 'io.cncf.notary.timestampSignature';
export const HEADER_SIGNING_AGENT = 'io.cncf.notary.signingAgent';

export const SIGNING_SCHEME_X509 = 'notary.x509';
export const SIGNING_SCHEME_SIGNING_AUTHORITY = 'notary.x509.signingAuthority';
export type NotationSigningScheme =
  typeof SIGNING_SCHEME_X509 | typeof SIGNING_SCHEME_SIGNING_AUTHORITY;

/**
 * The six algorithms of signature-specification.md "Signature Algorithm
 * Requirements", by their JWS names; the key decides which one
 * (signature.ts `notationAlgorithmOf`).
 */
export const NOTATION_ALGORITHMS = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;
export type NotationSignatureAlgorithm = (typeof NOTATION_ALGORITHMS)[number];

/** notation-go caps the envelope blob it fetches at 32 MiB (registry/repository.go maxBlobSizeLimit). */
export const DEFAULT_MAX_ENVELOPE_BYTES = 32 * 1024 * 1024;

/**
 * More certificates than any chain needs (leaf, a few intermediates, root);
 * each is parsed, so the count is capped rather than left to the size cap.
 */
export const MAX_CERTIFICATE_CHAIN = 32;

export interface EnvelopeReadOptions {
  /** Envelopes larger than this are refused unread; DEFAULT_MAX_ENVELOPE_BYTES unless given. */
  readonly maxBytes?: number;
}

/** The payload's `targetArtifact`: what was signed (an image manifest, or a blob). */
export interface NotationTargetArtifact {
  readonly mediaType: string;
  /** `algorithm:hex`; sha256, sha384 (blob signatures with P-384 keys) or sha512. */
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
}

/** A protected header other than the ones the spec defines (plugins' attributes, for instance). */
export interface NotationExtendedAttribute {
  readonly key: string;
  /** As decoded: JSON for JWS; CBOR (Map, Uint8Array, ...) for COSE. */
  readonly value: unknown;
  /** Listed in `crit`: a verifier that does not process it must refuse the signature. */
  readonly critical: boolean;
}

/** A parsed, well-formed envelope. Nothing in it is verified: see signature.ts. */
export interface NotationEnvelope {
  readonly format: 'jws' | 'cose';
  readonly mediaType: NotationEnvelopeMediaType;
  readonly signatureAlgorithm: NotationSignatureAlgorithm;
  readonly signingScheme: NotationSigningScheme;
  /**
   * `io.cncf.notary.signingTime` under `notary.x509` (the signer's claim), or
   * `io.cncf.notary.authenticSigningTime` under `notary.x509.signingAuthority`
   * (vouched for by the signing authority), as notation's SignerInfo has it.
   */
  readonly signingTime: Date;
  readonly expiry?: Date;
  /** DER certificates, leaf first (JWS `x5c`, COSE `x5chain`). */
  readonly certificateChain: readonly Uint8Array[];
  /** The RFC 3161 TimeStampToken over `signature`, unverified. */
  readonly timestampToken?: Uint8Array;
  readonly signingAgent?: string;
  readonly extendedAttributes: readonly NotationExtendedAttribute[];
  /** The payload bytes as signed, and what they say. */
  readonly payload: Uint8Array;
  readonly targetArtifact: NotationTargetArtifact;
  /** What the signature is over: the JWS signing input, or the COSE ToBeSigned (Sig_structure). */
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
}

/** The fields a JWS or COSE reader decoded, before the shared checks. Times in ms since the epoch. */
export interface DecodedEnvelope {
  readonly format: 'jws' | 'cose';
  readonly algorithm: NotationSignatureAlgorithm;
  readonly contentType: string;
  readonly critical: readonly string[];
  readonly signingScheme: string;
  readonly signingTime: number | undefined;
  readonly authenticSigningTime: number | undefined;
  readonly expiry: number | undefined;
  /** Every other protected header, in document order. */
  readonly extended: ReadonlyMap<string, unknown>;
  readonly certificateChain: readonly Uint8Array[];
  readonly timestampToken: Uint8Array | undefined;
  readonly signingAgent: string | undefined;
  readonly payload: Uint8Array;
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
}

export function envelopeFailure(format: 'jws' | 'cose'): Fail {
  const name = format === 'jws' ? 'JWS' : 'COSE';
  return (problem) =>
    denied('NOTATION_ENVELOPE_INVALID', `invalid Notary Project ${name} envelope: ${problem}`);
}

/** Refuses `bytes` over the cap before anything reads them. */
export function checkEnvelopeSize(
  bytes: Uint8Array,
  options: EnvelopeReadOptions | undefined,
  fail: Fail,
): void {
  const max = options?.maxBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  if (bytes.byteLength > max) throw fail(`${bytes.byteLength} bytes, more than the ${max} allowed`);
  if (bytes.byteLength === 0) throw fail('it is empty');
}

/** The shared checks of the module comment, then the common shape. */
export function completeEnvelope(decoded: DecodedEnvelope, fail: Fail): NotationEnvelope {
  if (decoded.contentType !== NOTATION_PAYLOAD_MEDIA_TYPE) {
    throw fail(`content type ${quote(decoded.contentType)} is not ${NOTATION_PAYLOAD_MEDIA_TYPE}`);
  }
  const scheme = decoded.signingScheme;
  let signingTime: number;
  if (scheme === SIGNING_SCHEME_X509) {
    if (decoded.authenticSigningTime !== undefined) {
      throw fail(`${HEADER_AUTHENTIC_SIGNING_TIME} must not be present under ${scheme}`);
    }
    if (decoded.signingTime === undefined) throw fail(`${HEADER_SIGNING_TIME} is missing`);
    signingTime = decoded.signingTime;
  } else if (scheme === SIGNING_SCHEME_SIGNING_AUTHORITY) {
    if (decoded.signingTime !== undefined) {
      throw fail(`${HEADER_SIGNING_TIME} must not be present under ${scheme}`);
    }
    if (decoded.authenticSigningTime === undefined) {
      throw fail(`${HEADER_AUTHENTIC_SIGNING_TIME} is missing`);
    }
    signingTime = decoded.authenticSigningTime;
  } else {
    throw fail(
      `signing scheme ${quote(scheme)} is neither ${SIGNING_SCHEME_X509} nor ${SIGNING_SCHEME_SIGNING_AUTHORITY}`,
    );
  }
  if (signingTime === GO_ZERO_TIME) throw fail('the signing time is the zero time');
  if (decoded.expiry !== undefined && decoded.expiry <= signingTime) {
    throw fail('the expiry is not after the signing time');
  }
  const critical = checkCritical(decoded, scheme, fail);
  if (decoded.signature.byteLength === 0) throw fail('the signature is empty');
  checkCertificateChain(decoded.certificateChain, fail);
  return {
    format: decoded.format,
    mediaType: decoded.format === 'jws' ? JWS_ENVELOPE_MEDIA_TYPE : COSE_ENVELOPE_MEDIA_TYPE,
    signatureAlgorithm: decoded.algorithm,
    signingScheme: scheme,
    signingTime: new Date(signingTime),
    ...(decoded.expiry === undefined ? {} : { expiry: new Date(decoded.expiry) }),
    certificateChain: decoded.certificateChain,
    ...(decoded.timestampToken === undefined || decoded.timestampToken.byteLength === 0
      ? {}
      : { timestampToken: decoded.timestampToken }),
    ...(decoded.signingAgent === undefined || decoded.signingAgent === ''
      ? {}
      : { signingAgent: decoded.signingAgent }),
    extendedAttributes: [...decoded.extended].map(([key, value]) => ({
      key,
      value,
      critical: critical.has(key),
    })),
    payload: decoded.payload,
    targetArtifact: parsePayload(decoded.payload, fail),
    signedBytes: decoded.signedBytes,
    signature: decoded.signature,
  };
}

/** Go's zero `time.Time` (0001-01-01T00:00:00Z), which notation reads as "no signing time". */
const GO_ZERO_TIME = new Date(0).setUTCFullYear(1, 0, 1);

/** `crit` against the headers present (module comment); the critical extended attributes. */
function checkCritical(decoded: DecodedEnvelope, scheme: string, fail: Fail): ReadonlySet<string> {
  if (decoded.critical.length === 0) throw fail('crit is missing or empty');
  const required = new Set([HEADER_SIGNING_SCHEME]);
  if (scheme === SIGNING_SCHEME_SIGNING_AUTHORITY) required.add(HEADER_AUTHENTIC_SIGNING_TIME);
  if (decoded.expiry !== undefined) required.add(HEADER_EXPIRY);
  const seen = new Set<string>();
  const extended = new Set<string>();
  for (const name of decoded.critical) {
    if (seen.has(name)) throw fail(`crit lists ${quote(name)} twice`);
    seen.add(name);
    if (required.has(name)) continue;
    if (!decoded.extended.has(name)) {
      throw fail(`crit lists ${quote(name)}, which is not a critical header present`);
    }
    extended.add(name);
  }
  const missing = [...required].filter((name) => !seen.has(name));
  if (missing.length > 0) throw fail(`crit does not list ${missing.map(quote).join(', ')}`);
  return extended;
}

function checkCertificateChain(chain: readonly Uint8Array[], fail: Fail): void {
  if (chain.length === 0) throw fail('the certificate chain is empty');
  if (chain.length > MAX_CERTIFICATE_CHAIN) {
    throw fail(
      `the certificate chain has ${chain.length} certificates, more than ${MAX_CERTIFICATE_CHAIN}`,
    );
  }
  chain.forEach((der, i) => parseCertificateDer(der, `certificate ${i}`, fail));
}

/**
 * One DER certificate, nothing before or after it. Node also reads PEM and
 * ignores trailing bytes; Go's x509.ParseCertificate does neither, so the
 * DER re-encoding must be the input itself.
 */
export function parseCertificateDer(der: Uint8Array, what: string, fail: Fail): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
    // Node decodes the key only when asked; Go's parser refuses a bad one up front.
    void certificate.publicKey;
  } catch {
    throw fail(`${what} is not an X.509 certificate`);
  }
  if (!Buffer.from(certificate.raw).equals(der))
    throw fail(`${what} is not exactly one DER certificate`);
  return certificate;
}

/**
 * The payload as notation-go marshals it (signer/signer.go: json.Marshal of
 * `envelope.Payload`, ocispec.Descriptor's field order: mediaType, digest,
 * size, annotations when there are any): what COSE envelopes carry and
 * what a plugin's `generate-envelope` is given. (JWS payloads go through
 * jwt.MapClaims, which sorts the keys: jws.ts.)
 */
export function marshalPayload(
  target: Pick<NotationTargetArtifact, 'mediaType' | 'digest' | 'size' | 'annotations'>,
): Uint8Array {
  const artifact: Record<string, GoValue> = {
    mediaType: target.mediaType,
    digest: target.digest,
    size: target.size,
  };
  if (target.annotations !== undefined && Object.keys(target.annotations).length > 0) {
    artifact.annotations = goMap(target.annotations);
  }
  return goMarshalBytes({ targetArtifact: artifact });
}

/** `algorithm:hex` for the digests a payload may carry (signature-specification.md "Payload"). */
const TARGET_DIGEST = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

/** Deep enough for `{"targetArtifact":{"annotations":{...}}}`. */
const PAYLOAD_MAX_DEPTH = 4;

/** `{"targetArtifact": <descriptor>}`, strictly (module comment). */
export function parsePayload(bytes: Uint8Array, fail: Fail): NotationTargetArtifact {
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes, { maxDepth: PAYLOAD_MAX_DEPTH });
  } catch (error) {
    throw fail(`the payload is not strict JSON: ${(error as Error).message}`);
  }
  const payload = object(document, 'payload', fail);
  checkFields(payload, { required: ['targetArtifact'] }, 'payload', fail);
  const target = object(payload.targetArtifact, 'payload.targetArtifact', fail);
  const at = (field: string) => `payload.targetArtifact.${field}`;
  checkFields(
    target,
    { required: ['mediaType', 'digest', 'size'], optional: ['annotations', 'artifactType'] },
    'payload.targetArtifact',
    fail,
  );
  const mediaType = string(target.mediaType, at('mediaType'), fail);
  if (!isValidMediaType(mediaType))
    throw fail(`${at('mediaType')} ${quote(mediaType)} is not a media type`);
  const digest = string(target.digest, at('digest'), fail);
  if (!TARGET_DIGEST.test(digest)) {
    throw fail(`${at('digest')} ${quote(digest)} is not a sha256, sha384 or sha512 digest`);
  }
  const size = target.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw fail(`${at('size')} must be a non-negative integer`);
  }
  let annotations: Record<string, string> | undefined;
  if (target.annotations !== undefined) {
    const map = object(target.annotations, at('annotations'), fail);
    annotations = {};
    for (const [key, value] of Object.entries(map)) {
      annotations[key] = string(value, `${at('annotations')}[${quote(key)}]`, fail);
    }
  }
  let artifactType: string | undefined;
  if (target.artifactType !== undefined) {
    artifactType = string(target.artifactType, at('artifactType'), fail);
    if (!isValidMediaType(artifactType)) throw fail(`${at('artifactType')} is not a media type`);
  }
  return {
    mediaType,
    digest,
    size,
    ...(annotations === undefined ? {} : { annotations }),
    ...(artifactType === undefined ? {} : { artifactType }),
  };
}
