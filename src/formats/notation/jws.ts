/**
 * Notary Project JWS envelopes (`application/jose+json`): the flattened JWS
 * JSON serialization of RFC 7515 section 7.2.2, as specified by
 * notaryproject/specifications `specs/signature-envelope-jws.md` and
 * written by notation-core-go v1.3 `signature/jws` (jws.go, types.go,
 * envelope.go).
 *
 * Reading is strict where Go's `encoding/json` is lenient, so no envelope
 * means one thing to notation and another to vouch:
 *
 * - strict JSON (duplicate keys refused, no BOM, valid UTF-8), exactly
 *   `payload`, `protected`, `header`, `signature` (the spec: "no additional
 *   top level fields"); Go matches keys ignoring case, so case variants of a
 *   known key are refused everywhere;
 * - `protected`, `payload` and `signature` are base64url without padding, in
 *   their one canonical spelling (the signing input is their text);
 * - the protected header: `alg` one of PS256/384/512, ES256/384/512; `cty`;
 *   `crit`; `io.cncf.notary.signingScheme`; the signing time, authentic
 *   signing time and expiry as RFC 3339 (offsets allowed, as notation writes
 *   local times); every other key an extended attribute;
 * - the unprotected `header`: `x5c` (standard base64 DER, leaf first),
 *   optional `io.cncf.notary.timestampSignature` (standard base64) and
 *   `io.cncf.notary.signingAgent`, nothing else (the spec's list; the spec's
 *   example calls the timestamp `io.cncf.notary.timestamp`, the code and
 *   every real envelope `timestampSignature`).
 *
 * Writing (`buildJws`) reproduces notation-core-go's bytes: the protected
 * header and the payload are JSON objects marshalled by Go from maps, so
 * their keys are sorted (the payload goes through jwt.MapClaims); `crit` is
 * `[signingScheme, expiry?]`; the envelope is Go's marshal of `jwsEnvelope`
 * (`payload, protected, header{timestampSignature?, x5c, signingAgent?},
 * signature`). Times are written in UTC; notation writes the signer's local
 * zone, which is the same instant.
 */
import { decodeStdBase64, encodeStdBase64 } from '../../core/base64.ts';
import { parseStrictJson, type JsonObject, type JsonValue } from '../../core/strict-json.ts';
import { goMarshalBytes, goMap, type GoValue } from '../go-json.ts';
import {
  array,
  checkFields,
  exactFields,
  fold,
  object,
  quote,
  string,
  type Fail,
} from '../json-fields.ts';
import { parseGoTime } from '../notary/time.ts';
import {
  checkEnvelopeSize,
  completeEnvelope,
  envelopeFailure,
  type EnvelopeReadOptions,
  HEADER_AUTHENTIC_SIGNING_TIME,
  HEADER_EXPIRY,
  HEADER_SIGNING_AGENT,
  HEADER_SIGNING_SCHEME,
  HEADER_SIGNING_TIME,
  HEADER_TIMESTAMP_SIGNATURE,
  NOTATION_ALGORITHMS,
  NOTATION_PAYLOAD_MEDIA_TYPE,
  type NotationEnvelope,
  type NotationSignatureAlgorithm,
  SIGNING_SCHEME_X509,
} from './envelope.ts';
import {
  checkSignRequest,
  type NotationSignRequest,
  rfc3339Seconds,
  signAndTimestamp,
} from './signature.ts';

/** The envelope nests three levels (envelope → header → x5c); the protected header a few more for extended attributes. */
const ENVELOPE_MAX_DEPTH = 4;
const PROTECTED_MAX_DEPTH = 16;

/** Protected header names notation-core-go reads into its struct (types.go headerKeys); the rest are extended attributes. */
const SYSTEM_HEADERS = [
  'alg',
  'cty',
  'crit',
  HEADER_EXPIRY,
  HEADER_SIGNING_TIME,
  HEADER_SIGNING_SCHEME,
  HEADER_AUTHENTIC_SIGNING_TIME,
];

/** Parses a JWS envelope strictly (module comment); throws `denied` NOTATION_ENVELOPE_INVALID. */
export function parseJwsEnvelope(
  bytes: Uint8Array,
  options?: EnvelopeReadOptions,
): NotationEnvelope {
  const fail = envelopeFailure('jws');
  checkEnvelopeSize(bytes, options, fail);
  const envelope = object(
    strictJson(bytes, ENVELOPE_MAX_DEPTH, 'the envelope', fail),
    'the envelope',
    fail,
  );
  exactFields(envelope, ['payload', 'protected', 'header', 'signature'], 'the envelope', fail);
  const protectedText = string(envelope.protected, 'protected', fail);
  const payloadText = string(envelope.payload, 'payload', fail);
  const signature = base64Url(string(envelope.signature, 'signature', fail), 'signature', fail);
  const header = object(envelope.header, 'header', fail);
  checkFields(
    header,
    { required: ['x5c'], optional: [HEADER_TIMESTAMP_SIGNATURE, HEADER_SIGNING_AGENT] },
    'header',
    fail,
  );
  const certificateChain = array(header.x5c, 'header.x5c', fail).map((entry, i) =>
    stdBase64(string(entry, `header.x5c[${i}]`, fail), `header.x5c[${i}]`, fail),
  );
  const timestamp = header[HEADER_TIMESTAMP_SIGNATURE];
  const agent = header[HEADER_SIGNING_AGENT];
  const protectedHeader = object(
    strictJson(
      base64Url(protectedText, 'protected', fail),
      PROTECTED_MAX_DEPTH,
      'the protected header',
      fail,
    ),
    'the protected header',
    fail,
  );
  return completeEnvelope(
    {
      format: 'jws',
      ...readProtectedHeader(protectedHeader, fail),
      certificateChain,
      timestampToken:
        timestamp === undefined
          ? undefined
          : stdBase64(
              string(timestamp, `header[${quote(HEADER_TIMESTAMP_SIGNATURE)}]`, fail),
              'the timestamp',
              fail,
            ),
      signingAgent:
        agent === undefined
          ? undefined
          : string(agent, `header[${quote(HEADER_SIGNING_AGENT)}]`, fail),
      payload: base64Url(payloadText, 'payload', fail),
      // RFC 7515 section 5.1: ASCII(BASE64URL(protected) '.' BASE64URL(payload)), both as stored.
      signedBytes: new TextEncoder().encode(`${protectedText}.${payloadText}`),
      signature,
    },
    fail,
  );
}

function readProtectedHeader(header: JsonObject, fail: Fail) {
  const path = 'the protected header';
  for (const key of Object.keys(header)) {
    const variant = SYSTEM_HEADERS.find((name) => name !== key && fold(name) === fold(key));
    if (variant !== undefined) {
      throw fail(
        `${path} has ${quote(key)}, a case variant of ${quote(variant)} (Go would read it as that header)`,
      );
    }
  }
  checkFields(
    header,
    { required: ['alg', 'cty', 'crit', HEADER_SIGNING_SCHEME], unknown: 'ignore' },
    path,
    fail,
  );
  const alg = string(header.alg, `${path} alg`, fail);
  if (!(NOTATION_ALGORITHMS as readonly string[]).includes(alg)) {
    throw fail(`alg ${quote(alg)} is not one of ${NOTATION_ALGORITHMS.join(', ')}`);
  }
  const critical = array(header.crit, `${path} crit`, fail).map((name, i) =>
    string(name, `${path} crit[${i}]`, fail),
  );
  const extended = new Map<string, JsonValue>();
  for (const [key, value] of Object.entries(header)) {
    if (!SYSTEM_HEADERS.includes(key)) extended.set(key, value);
  }
  return {
    algorithm: alg as NotationSignatureAlgorithm,
    contentType: string(header.cty, `${path} cty`, fail),
    critical,
    signingScheme: string(header[HEADER_SIGNING_SCHEME], `${path} ${HEADER_SIGNING_SCHEME}`, fail),
    signingTime: time(header[HEADER_SIGNING_TIME], HEADER_SIGNING_TIME, fail),
    authenticSigningTime: time(
      header[HEADER_AUTHENTIC_SIGNING_TIME],
      HEADER_AUTHENTIC_SIGNING_TIME,
      fail,
    ),
    expiry: time(header[HEADER_EXPIRY], HEADER_EXPIRY, fail),
    extended,
  };
}

/** An RFC 3339 time as Go's `time.Time` reads it, in ms; undefined when absent. */
function time(value: JsonValue | undefined, name: string, fail: Fail): number | undefined {
  if (value === undefined) return undefined;
  const text = string(value, name, fail);
  const ms = parseGoTime(text);
  if (ms === undefined) throw fail(`${name} ${quote(text)} is not an RFC 3339 time`);
  return ms;
}

function strictJson(bytes: Uint8Array, maxDepth: number, what: string, fail: Fail): JsonValue {
  try {
    return parseStrictJson(bytes, { maxDepth });
  } catch (error) {
    throw fail(`${what} is not strict JSON: ${(error as Error).message}`);
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Base64url without padding (RFC 7515 section 2), in its canonical spelling only. */
function base64Url(text: string, what: string, fail: Fail): Uint8Array {
  const bytes = BASE64URL.test(text) ? Buffer.from(text, 'base64url') : undefined;
  if (bytes === undefined || bytes.toString('base64url') !== text) {
    throw fail(`${what} is not unpadded base64url`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A Go `[]byte` JSON field: standard base64 with padding (core/base64.ts). */
function stdBase64(text: string, what: string, fail: Fail): Uint8Array {
  const bytes = decodeStdBase64(text);
  if (bytes === undefined) throw fail(`${what} is not standard base64`);
  return bytes;
}

const base64UrlText = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/**
 * The JWS envelope notation-core-go writes for `request` (module comment):
 * signs with `request.signer`, checks the signature against the leaf
 * certificate, countersigns it when `request.timestamp` is given. Throws
 * `invalid` INVALID_NOTATION_INPUT for a request notation would refuse.
 */
export async function buildJws(request: NotationSignRequest): Promise<Uint8Array> {
  const checked = checkSignRequest(request);
  const crit = [HEADER_SIGNING_SCHEME, ...(checked.expiry === undefined ? [] : [HEADER_EXPIRY])];
  const protectedHeader = new Map<string, GoValue>([
    ['alg', checked.algorithm],
    ['crit', crit],
    ['cty', NOTATION_PAYLOAD_MEDIA_TYPE],
    [HEADER_SIGNING_SCHEME, SIGNING_SCHEME_X509],
    [HEADER_SIGNING_TIME, rfc3339Seconds(checked.signingTime)],
  ]);
  if (checked.expiry !== undefined)
    protectedHeader.set(HEADER_EXPIRY, rfc3339Seconds(checked.expiry));
  const target = request.targetArtifact;
  const artifact = new Map<string, GoValue>([
    ['mediaType', target.mediaType],
    ['digest', target.digest],
    ['size', target.size],
  ]);
  if (target.annotations !== undefined && Object.keys(target.annotations).length > 0) {
    artifact.set('annotations', goMap(target.annotations));
  }
  const protectedText = base64UrlText(goMarshalBytes(protectedHeader));
  const payloadText = base64UrlText(goMarshalBytes(new Map([['targetArtifact', artifact]])));
  const { signature, certificateChain, timestampToken } = await signAndTimestamp(
    request,
    checked,
    new TextEncoder().encode(`${protectedText}.${payloadText}`),
  );
  return goMarshalBytes({
    payload: payloadText,
    protected: protectedText,
    header: {
      ...(timestampToken === undefined
        ? {}
        : { [HEADER_TIMESTAMP_SIGNATURE]: encodeStdBase64(timestampToken) }),
      x5c: certificateChain.map(encodeStdBase64),
      ...(checked.signingAgent === undefined
        ? {}
        : { [HEADER_SIGNING_AGENT]: checked.signingAgent }),
    },
    signature: base64UrlText(signature),
  });
}
