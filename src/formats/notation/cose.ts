/**
 * Notary Project COSE envelopes (`application/cose`): COSE_Sign1_Tagged
 * (RFC 9052 section 4.2, CBOR tag 18) as specified by
 * notaryproject/specifications `specs/signature-envelope-cose.md` and
 * written by notation-core-go v1.3 `signature/cose/envelope.go` on
 * veraison/go-cose v1.3.
 *
 * CBOR is read by cbor2 with every leniency off, which covers what go-cose's
 * decoder refuses (indefinite lengths, duplicate map keys) and more:
 * non-preferred (overlong) integer and length encodings (so the protected
 * header bytes are the ones go-cose re-encodes into the Sig_structure),
 * floats, undefined and unassigned simple values, nesting deeper than
 * `CBOR_MAX_DEPTH`, trailing bytes, invalid UTF-8. Then:
 *
 * - the message is tag 18 around `[protected: bstr, unprotected: map,
 *   payload: bstr, signature: bstr]`, with no other tag outside the
 *   protected header (go-cose decodes the message with tags forbidden);
 * - the protected header is a non-empty map with `1` (alg: -37/-38/-39
 *   PS256/384/512, -7/-35/-36 ES256/384/512), `2` (crit: text labels), `3`
 *   (content type) and the text labels `io.cncf.notary.signingScheme`,
 *   `...signingTime` / `...authenticSigningTime` / `...expiry` as tag 1
 *   around an integer (RFC 8949 section 3.4.2; notation-core-go parseTime
 *   takes tag 1 only); other text labels are extended attributes, other
 *   integer labels are refused (notation writes none);
 * - the unprotected header holds `33` (x5chain: an array of bstr, leaf
 *   first), and optionally `io.cncf.notary.signingAgent` (tstr) and
 *   `io.cncf.notary.timestampSignature` (bstr), nothing else;
 * - what is signed is `Sig_structure = ["Signature1", protected, h'', payload]`
 *   (RFC 9052 section 4.4), encoded deterministically.
 *
 * Writing (`buildCose`) is go-cose's encoding: core deterministic CBOR (map
 * keys sorted by their encoded bytes, RFC 8949 section 4.2.1), times as tag
 * 1 integers, `crit` = `[signingScheme, expiry?]`, the payload as notation-go
 * marshals it (struct order: mediaType, digest, size, annotations).
 */
import { createRequire } from 'node:module';
import type * as Cbor from 'cbor2';
import { quote, type Fail } from '../json-fields.ts';
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
  marshalPayload,
  NOTATION_PAYLOAD_MEDIA_TYPE,
  type NotationEnvelope,
  type NotationSignatureAlgorithm,
  SIGNING_SCHEME_X509,
} from './envelope.ts';
import { checkSignRequest, type NotationSignRequest, signAndTimestamp } from './signature.ts';

/**
 * cbor2, loaded when a COSE envelope is first read or written: verifying JWS
 * signatures never needs it, and a one-shot command would pay for loading
 * it. Node 24 requires ES modules synchronously, so the readers stay sync.
 */
let cborModule: typeof Cbor | undefined;
const cbor = (): typeof Cbor =>
  (cborModule ??= createRequire(import.meta.url)('cbor2') as typeof Cbor);

/** COSE header labels (RFC 9052 section 3.1; x5chain: RFC 9360 section 2). */
const LABEL_ALG = 1;
const LABEL_CRIT = 2;
const LABEL_CONTENT_TYPE = 3;
const LABEL_X5CHAIN = 33;

const TAG_SIGN1 = 18;
const TAG_EPOCH_TIME = 1;

/** COSE algorithm identifiers (IANA COSE Algorithms) of the six notation algorithms. */
const COSE_ALGORITHMS: ReadonlyMap<number, NotationSignatureAlgorithm> = new Map([
  [-37, 'PS256'],
  [-38, 'PS384'],
  [-39, 'PS512'],
  [-7, 'ES256'],
  [-35, 'ES384'],
  [-36, 'ES512'],
]);
const COSE_ALGORITHM_IDS: ReadonlyMap<NotationSignatureAlgorithm, number> = new Map(
  [...COSE_ALGORITHMS].map(([id, name]) => [name, id]),
);

/** The message nests four levels (tag → array → map → x5chain); headers a few more for extended attributes. */
const CBOR_MAX_DEPTH = 16;

const DECODE_OPTIONS = {
  maxDepth: CBOR_MAX_DEPTH,
  rejectStreaming: true,
  rejectDuplicateKeys: true,
  requirePreferred: true,
  rejectFloats: true,
  rejectSimple: true,
  rejectUndefined: true,
  rejectBigInts: true,
  preferMap: true,
  // Tags come back as Tag objects, never converted (tag 1 to a Date, tag 24 decoded...).
  ignoreGlobalTags: true,
} as const;

/** A plain Uint8Array view of `bytes`: cbor2 would encode a Buffer as its toJSON() map. */
const plain = (bytes: Uint8Array) =>
  new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function decodeCbor(bytes: Uint8Array, what: string, fail: Fail): unknown {
  try {
    return cbor().decode(bytes, DECODE_OPTIONS);
  } catch (error) {
    throw fail(`${what} is not strict CBOR: ${(error as Error).message}`);
  }
}

/** Parses a COSE envelope strictly (module comment); throws `denied` NOTATION_ENVELOPE_INVALID. */
export function parseCoseEnvelope(
  bytes: Uint8Array,
  options?: EnvelopeReadOptions,
): NotationEnvelope {
  const fail = envelopeFailure('cose');
  checkEnvelopeSize(bytes, options, fail);
  // Byte strings come back as subarrays of the input: of a plain Uint8Array,
  // never of a Buffer, which cbor2 would re-encode as its toJSON() map.
  const message = decodeCbor(plain(bytes), 'the envelope', fail);
  if (!(message instanceof cbor().Tag) || message.tag !== TAG_SIGN1) {
    throw fail('it is not a COSE_Sign1_Tagged message (CBOR tag 18)');
  }
  const contents = message.contents;
  if (!Array.isArray(contents) || contents.length !== 4) {
    throw fail('COSE_Sign1 must be an array of 4: protected, unprotected, payload, signature');
  }
  const [protectedBytes, unprotected, payload, signature] = contents as unknown[];
  const protectedHeader = readProtectedHeader(
    byteString(protectedBytes, 'the protected header', fail),
    fail,
  );
  const unprotectedHeader = readUnprotectedHeader(unprotected, fail);
  const payloadBytes = byteString(payload, 'the payload', fail);
  if (payloadBytes.byteLength === 0) throw fail('the payload is empty');
  return completeEnvelope(
    {
      format: 'cose',
      ...protectedHeader.fields,
      ...unprotectedHeader,
      payload: payloadBytes,
      signedBytes: sigStructure(protectedHeader.bytes, payloadBytes),
      signature: byteString(signature, 'the signature', fail),
    },
    fail,
  );
}

/** ToBeSigned for COSE_Sign1 with empty external_aad (RFC 9052 section 4.4). */
function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return cbor().encode(['Signature1', protectedBytes, new Uint8Array(0), payload], { cde: true });
}

function byteString(value: unknown, what: string, fail: Fail): Uint8Array {
  if (!(value instanceof Uint8Array)) throw fail(`${what} must be a byte string`);
  return value;
}

function textString(value: unknown, what: string, fail: Fail): string {
  if (typeof value !== 'string') throw fail(`${what} must be a text string`);
  return value;
}

function readProtectedHeader(bytes: Uint8Array, fail: Fail) {
  // go-cose: an empty bstr is an empty header (then no alg); anything else must be a map.
  if (bytes.byteLength === 0 || (bytes[0] as number) >> 5 !== 5) {
    throw fail('the protected header must be a serialized, non-empty map');
  }
  const header = decodeCbor(bytes, 'the protected header', fail);
  if (!(header instanceof Map)) throw fail('the protected header must be a map');
  const extended = new Map<string, unknown>();
  for (const [label, value] of header as Map<unknown, unknown>) {
    if (typeof label === 'number') {
      if (label !== LABEL_ALG && label !== LABEL_CRIT && label !== LABEL_CONTENT_TYPE) {
        throw fail(`the protected header has label ${label}, which notation does not use`);
      }
    } else if (typeof label !== 'string') {
      throw fail('a protected header label must be an integer or a text string');
    } else if (!SYSTEM_LABELS.includes(label)) {
      refuseTags(value, `protected header ${quote(label)}`, fail);
      extended.set(label, value);
    }
  }
  const alg = header.get(LABEL_ALG);
  const algorithm = typeof alg === 'number' ? COSE_ALGORITHMS.get(alg) : undefined;
  if (algorithm === undefined) {
    throw fail(`alg (label 1) must be one of ${[...COSE_ALGORITHMS.keys()].join(', ')}`);
  }
  const crit = header.get(LABEL_CRIT);
  if (crit === undefined) throw fail('crit (label 2) is missing');
  if (!Array.isArray(crit)) throw fail('crit (label 2) must be an array');
  const critical = crit.map((name: unknown, i) => textString(name, `crit[${i}]`, fail));
  const scheme = header.get(HEADER_SIGNING_SCHEME);
  if (scheme === undefined) throw fail(`${HEADER_SIGNING_SCHEME} is missing`);
  const contentType = header.get(LABEL_CONTENT_TYPE);
  if (contentType === undefined) throw fail('content type (label 3) is missing');
  return {
    bytes,
    fields: {
      algorithm,
      contentType: textString(contentType, 'content type (label 3)', fail),
      critical,
      signingScheme: textString(scheme, HEADER_SIGNING_SCHEME, fail),
      signingTime: epochTime(header.get(HEADER_SIGNING_TIME), HEADER_SIGNING_TIME, fail),
      authenticSigningTime: epochTime(
        header.get(HEADER_AUTHENTIC_SIGNING_TIME),
        HEADER_AUTHENTIC_SIGNING_TIME,
        fail,
      ),
      expiry: epochTime(header.get(HEADER_EXPIRY), HEADER_EXPIRY, fail),
      extended,
    },
  };
}

/** Text labels notation-core-go reads itself (envelope.go validateCritHeaders systemHeaders). */
const SYSTEM_LABELS: readonly string[] = [
  HEADER_SIGNING_SCHEME,
  HEADER_SIGNING_TIME,
  HEADER_AUTHENTIC_SIGNING_TIME,
  HEADER_EXPIRY,
];

/** Tag 1 around an integer number of seconds: ms since the epoch; undefined when absent. */
function epochTime(value: unknown, name: string, fail: Fail): number | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof cbor().Tag) || value.tag !== TAG_EPOCH_TIME) {
    throw fail(`${name} must be an epoch time (CBOR tag 1)`);
  }
  const seconds = value.contents;
  const ms = typeof seconds === 'number' ? seconds * 1000 : NaN;
  if (!Number.isSafeInteger(seconds) || Number.isNaN(new Date(ms).getTime())) {
    throw fail(`${name} must be a whole number of seconds in range`);
  }
  return ms;
}

/** No tag anywhere in `value` (go-cose forbids them outside the protected header's known labels). */
function refuseTags(value: unknown, what: string, fail: Fail): void {
  if (value instanceof cbor().Tag) throw fail(`${what} holds a CBOR tag`);
  if (Array.isArray(value)) for (const item of value) refuseTags(item, what, fail);
  if (value instanceof Map) {
    for (const [key, item] of value) {
      refuseTags(key, what, fail);
      refuseTags(item, what, fail);
    }
  }
}

function readUnprotectedHeader(value: unknown, fail: Fail) {
  if (!(value instanceof Map)) throw fail('the unprotected header must be a map');
  refuseTags(value, 'the unprotected header', fail);
  for (const label of value.keys()) {
    if (
      label !== LABEL_X5CHAIN &&
      label !== HEADER_SIGNING_AGENT &&
      label !== HEADER_TIMESTAMP_SIGNATURE
    ) {
      throw fail(
        `the unprotected header has ${typeof label === 'string' ? quote(label) : `label ${String(label)}`}; only x5chain (33), ${HEADER_SIGNING_AGENT} and ${HEADER_TIMESTAMP_SIGNATURE} are allowed`,
      );
    }
  }
  const chain = value.get(LABEL_X5CHAIN);
  if (chain === undefined) throw fail('x5chain (label 33) is missing');
  if (!Array.isArray(chain)) throw fail('x5chain (label 33) must be an array of certificates');
  const agent = value.get(HEADER_SIGNING_AGENT);
  const timestamp = value.get(HEADER_TIMESTAMP_SIGNATURE);
  return {
    certificateChain: chain.map((der: unknown, i) => byteString(der, `x5chain[${i}]`, fail)),
    signingAgent: agent === undefined ? undefined : textString(agent, HEADER_SIGNING_AGENT, fail),
    timestampToken:
      timestamp === undefined ? undefined : byteString(timestamp, HEADER_TIMESTAMP_SIGNATURE, fail),
  };
}

/**
 * The COSE envelope notation-core-go writes for `request` (module comment):
 * signs the Sig_structure with `request.signer`, checks the signature
 * against the leaf certificate, countersigns it when `request.timestamp` is
 * given. Throws `invalid` INVALID_NOTATION_INPUT for a request notation
 * would refuse.
 */
export async function buildCose(request: NotationSignRequest): Promise<Uint8Array> {
  const checked = checkSignRequest(request);
  const crit = [HEADER_SIGNING_SCHEME, ...(checked.expiry === undefined ? [] : [HEADER_EXPIRY])];
  const header = new Map<number | string, unknown>([
    [LABEL_ALG, COSE_ALGORITHM_IDS.get(checked.algorithm)],
    [LABEL_CRIT, crit],
    [LABEL_CONTENT_TYPE, NOTATION_PAYLOAD_MEDIA_TYPE],
    [HEADER_SIGNING_SCHEME, SIGNING_SCHEME_X509],
    [HEADER_SIGNING_TIME, new (cbor().Tag)(TAG_EPOCH_TIME, checked.signingTime)],
  ]);
  if (checked.expiry !== undefined)
    header.set(HEADER_EXPIRY, new (cbor().Tag)(TAG_EPOCH_TIME, checked.expiry));
  const protectedBytes = cbor().encode(header, { cde: true });
  const payload = marshalPayload(request.targetArtifact);
  const { signature, certificateChain, timestampToken } = await signAndTimestamp(
    request,
    checked,
    sigStructure(protectedBytes, payload),
  );
  const unprotected = new Map<number | string, unknown>([
    [LABEL_X5CHAIN, certificateChain.map(plain)],
  ]);
  if (checked.signingAgent !== undefined)
    unprotected.set(HEADER_SIGNING_AGENT, checked.signingAgent);
  if (timestampToken !== undefined)
    unprotected.set(HEADER_TIMESTAMP_SIGNATURE, plain(timestampToken));
  return cbor().encode(
    new (cbor().Tag)(TAG_SIGN1, [protectedBytes, unprotected, payload, plain(signature)]),
    {
      cde: true,
    },
  );
}
