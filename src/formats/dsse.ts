/**
 * DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse
 * protocol.md, envelope.md: https://github.com/secure-systems-lab/dsse): what cosign stores
 * as one `.att` layer. The signature is over the pre-authentication encoding
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *
 * where LEN is the byte length in ASCII decimal without leading zeros and
 * `type` is UTF-8 (spec test vector: `DSSEv1 29 http://example.com/HelloWorld
 * 11 hello world`). Never sign or verify the envelope bytes themselves.
 *
 * Writing reproduces cosign's layer bytes: since cosign 3 the envelope comes
 * out of a Sigstore bundle and is written with Go's `json.Marshal` of the
 * protobuf-specs struct (sigstore/cosign@d6d86c22:
 * cmd/cosign/cli/signcommon/common.go ExtractComponentsFromProtoBundle;
 * sigstore/protobuf-specs@104df67: gen/pb-go/dsse/envelope.pb.go), so the key
 * order is `payload, payloadType, signatures` and a signature is
 * `{"sig":...}` with `keyid` left out when empty (`omitempty`); bytes are
 * standard base64. (cosign 2 wrote go-securesystemslib's struct instead,
 * `payloadType, payload, signatures[{keyid:"", sig}]`; both read the same.)
 *
 * Reading is strict where two readers could disagree and lenient where the
 * spec asks it:
 * - duplicate keys are refused anywhere (strict-json.ts), and so is a key
 *   that only differs in case from `payload`, `payloadType`, `signatures`,
 *   `sig` or `keyid` (Go's decoder, which cosign and go-securesystemslib use,
 *   would read it as that field);
 * - `payload`, `payloadType`, `signatures` and each `sig` are required and
 *   must be strings / a non-empty array; `keyid` may be absent (it is an
 *   unauthenticated hint and is never used to pick a key);
 * - other keys are ignored, as envelope.md "Parsing rules" requires (they
 *   are not signed either way);
 * - base64 is standard or URL-safe, padded, line breaks skipped — what
 *   go-securesystemslib's `b64Decode` accepts (dsse/envelope.go) and the
 *   spec requires ("Verifiers MUST accept either");
 * - at most MAX_ENVELOPE_SIGNATURES signatures, so an envelope cannot make a
 *   verifier try thousands of signatures against every key.
 */
import { denied } from '../core/errors.ts';
import { decodeStdBase64, encodeStdBase64 } from '../core/base64.ts';
import { goMarshalBytes, type GoValue } from './go-json.ts';
import { array, checkFields, type Fail, object, string } from './json-fields.ts';
import { type JsonValue, parseStrictJson, StrictJsonError } from '../core/strict-json.ts';

/** Layer media type of a cosign attestation (cosign pkg/types/payload.go DssePayloadType). */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** The DSSE payloadType of an in-toto statement (cosign pkg/types/payload.go IntotoPayloadType). */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Signatures read from one envelope; more and the envelope is refused. */
export const MAX_ENVELOPE_SIGNATURES = 16;

export interface EnvelopeSignature {
  /** The raw signature (ECDSA: ASN.1 DER). */
  readonly sig: Uint8Array;
  /** The unauthenticated key hint; '' when absent. */
  readonly keyid: string;
}

export interface Envelope {
  readonly payloadType: string;
  /** The serialized body: the exact bytes that were signed (through PAE). */
  readonly payload: Uint8Array;
  readonly signatures: readonly EnvelopeSignature[];
}

const encoder = new TextEncoder();

/** The bytes a DSSE signature is made over: PAE(UTF8(payloadType), payload). */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = encoder.encode(payloadType);
  const header = encoder.encode(`DSSEv1 ${type.byteLength} `);
  const middle = encoder.encode(` ${payload.byteLength} `);
  const out = new Uint8Array(
    header.byteLength + type.byteLength + middle.byteLength + payload.byteLength,
  );
  out.set(header, 0);
  out.set(type, header.byteLength);
  out.set(middle, header.byteLength + type.byteLength);
  out.set(payload, header.byteLength + type.byteLength + middle.byteLength);
  return out;
}

/** The envelope as cosign 3 writes it (see the module comment). */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const out: Record<string, GoValue> = {};
  // protobuf-specs' struct tags are all `omitempty`.
  if (envelope.payload.byteLength > 0) out.payload = encodeStdBase64(envelope.payload);
  if (envelope.payloadType !== '') out.payloadType = envelope.payloadType;
  if (envelope.signatures.length > 0) {
    out.signatures = envelope.signatures.map((signature) => {
      const entry: Record<string, string> = {};
      if (signature.sig.byteLength > 0) entry.sig = encodeStdBase64(signature.sig);
      if (signature.keyid !== '') entry.keyid = signature.keyid;
      return entry;
    });
  }
  return goMarshalBytes(out);
}

/**
 * Parses envelope bytes (see the module comment). `where` names the source
 * for messages. Throws VouchError `denied` ENVELOPE_INVALID.
 */
export function parseEnvelope(bytes: Uint8Array, where = 'the attestation'): Envelope {
  const fail: Fail = (problem) =>
    denied('ENVELOPE_INVALID', `invalid DSSE envelope in ${where}: ${problem}`);
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes);
  } catch (error) {
    if (error instanceof StrictJsonError) {
      throw denied('ENVELOPE_INVALID', `invalid DSSE envelope in ${where}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  const top = object(document, 'the envelope', fail);
  checkFields(
    top,
    { required: ['payload', 'payloadType', 'signatures'], unknown: 'ignore' },
    'the envelope',
    fail,
  );
  const payloadType = string(top.payloadType, 'payloadType', fail);
  const payload = decodeDsseBase64(string(top.payload, 'payload', fail), 'payload', fail);
  const list = array(top.signatures, 'signatures', fail);
  if (list.length === 0) throw fail('signatures is empty');
  if (list.length > MAX_ENVELOPE_SIGNATURES) {
    throw fail(
      `it has ${list.length} signatures, more than the ${MAX_ENVELOPE_SIGNATURES} vouch examines`,
    );
  }
  const signatures = list.map((raw, i) => {
    const path = `signatures[${i}]`;
    const entry = object(raw, path, fail);
    checkFields(entry, { required: ['sig'], optional: ['keyid'], unknown: 'ignore' }, path, fail);
    const sig = decodeDsseBase64(string(entry.sig, `${path}.sig`, fail), `${path}.sig`, fail);
    const keyid = Object.hasOwn(entry, 'keyid') ? string(entry.keyid, `${path}.keyid`, fail) : '';
    return { sig, keyid };
  });
  return { payloadType, payload, signatures };
}

const URL_BASE64 = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/**
 * go-securesystemslib's b64Decode: Go's padded StdEncoding, else padded
 * URLEncoding; both skip `\r` and `\n`.
 */
function decodeDsseBase64(text: string, path: string, fail: Fail): Uint8Array {
  const standard = decodeStdBase64(text);
  if (standard !== undefined) return standard;
  const compact = text.replace(/[\r\n]/g, '');
  if (URL_BASE64.test(compact)) return new Uint8Array(Buffer.from(compact, 'base64url'));
  throw fail(`${path} is not base64 (standard or URL-safe, padded)`);
}
