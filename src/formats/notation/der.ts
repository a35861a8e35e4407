/**
 * Reading the ASN.1 structures of Notary Project verification (certificates,
 * CRLs, OCSP responses, RFC 3161 tokens) with asn1js and pkijs, as strictly
 * as Go's parsers that notation uses: one whole value, nothing after it, and
 * resource limits on the parse (nesting depth, node count), since every byte
 * comes from a signature envelope or a revocation server.
 */
import * as asn1js from 'asn1js';

/** Nesting deeper than this is no certificate, CRL or token (asn1js's own default). */
const MAX_DEPTH = 100;
/**
 * Nodes per input byte: an ASN.1 node takes at least two bytes (tag and
 * length); real certificates, OCSP responses and tokens have one node per
 * four to seven bytes (the densest certificate of a system CA bundle: 0.26
 * a byte). The budget keeps asn1js's work on hostile input (about 10 µs a
 * node) proportional to the bytes, which each caller caps; CRLs, which can
 * be megabytes, are read with DerReader instead.
 */
const NODES_PER_BYTE = 0.5;

export class DerError extends Error {
  override name = 'DerError';
}

/** `bytes` as one ASN.1 value with nothing after it; throws DerError. */
export function decodeAsn1(bytes: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(bytes, {
    maxDepth: MAX_DEPTH,
    maxNodes: Math.max(64, Math.ceil(bytes.byteLength * NODES_PER_BYTE)),
  });
  if (parsed.offset === -1 || parsed.result.error !== '') {
    throw new DerError(`${what} is not valid ASN.1: ${parsed.result.error || 'unreadable'}`);
  }
  if (parsed.offset !== bytes.byteLength) {
    throw new DerError(
      `${what} has ${bytes.byteLength - parsed.offset} bytes after its ASN.1 value`,
    );
  }
  return parsed.result;
}

/**
 * Walking a value asn1js decoded, as RFC 5280 structures are written: each
 * helper takes the node found where the structure puts a value and checks
 * its tag (class, number, and whether it is constructed, as DER encodes
 * that type), throwing DerError when it is some other value or missing.
 */
const UNIVERSAL = 1;
const CONTEXT_SPECIFIC = 3;
export const TAG = {
  boolean: 1,
  integer: 2,
  bitString: 3,
  octetString: 4,
  oid: 6,
  sequence: 16,
  set: 17,
  utcTime: 23,
  generalizedTime: 24,
} as const;

type Node = asn1js.AsnType | undefined;

function tagged(node: Node, tagClass: number, tagNumber: number, constructed: boolean): boolean {
  const id = node?.idBlock;
  return (
    id !== undefined &&
    id.tagClass === tagClass &&
    id.tagNumber === tagNumber &&
    id.isConstructed === constructed
  );
}

/** Whether `node` is the context-specific `[tagNumber]`. */
export function isContextTag(node: Node, tagNumber: number, constructed: boolean): boolean {
  return tagged(node, CONTEXT_SPECIFIC, tagNumber, constructed);
}

/** Whether `node` has the universal tag `tagNumber` (a primitive one: not SEQUENCE or SET). */
export function isUniversal(node: Node, tagNumber: number): boolean {
  const constructed = tagNumber === TAG.sequence || tagNumber === TAG.set;
  return tagged(node, UNIVERSAL, tagNumber, constructed);
}

/** The values inside a SEQUENCE (or SET), at least `min` and at most `max` of them. */
export function itemsOf(
  node: Node,
  what: string,
  { min = 0, max = Infinity, tag = TAG.sequence as number } = {},
): asn1js.AsnType[] {
  if (!tagged(node, UNIVERSAL, tag, true)) {
    throw new DerError(`${what} is not a ${tag === TAG.set ? 'SET' : 'SEQUENCE'}`);
  }
  return boundedItems(node as asn1js.Constructed, what, min, max);
}

/** The one value inside the explicit context tag `[tagNumber]`. */
export function explicitOf(node: Node, tagNumber: number, what: string): asn1js.AsnType {
  if (!isContextTag(node, tagNumber, true)) throw new DerError(`${what} is not a [${tagNumber}]`);
  return boundedItems(node as asn1js.Constructed, what, 1, 1)[0] as asn1js.AsnType;
}

/**
 * The values inside a constructed node, which must fill it exactly: asn1js
 * lets the last value run past the end of the one holding it (and reads the
 * next from inside it), and takes BER's indefinite lengths, where DER (and
 * Go's parser) has neither.
 */
export function contentsOf(node: asn1js.AsnType, what: string): asn1js.AsnType[] {
  const items = (node as asn1js.Constructed).valueBlock.value as asn1js.AsnType[];
  let inner = 0;
  for (const item of items) inner += item.valueBeforeDecodeView.byteLength;
  if (node.lenBlock.isIndefiniteForm || inner !== node.lenBlock.length) {
    throw new DerError(`${what} is not DER: its values do not fill it exactly`);
  }
  return items;
}

function boundedItems(
  node: asn1js.Constructed,
  what: string,
  min: number,
  max: number,
): asn1js.AsnType[] {
  const items = contentsOf(node, what);
  if (items.length < min || items.length > max) {
    throw new DerError(`${what} has ${items.length} values`);
  }
  return items;
}

function universal<T>(node: Node, tagNumber: number, what: string, name: string): T {
  if (!isUniversal(node, tagNumber)) throw new DerError(`${what} is not ${name}`);
  return node as T;
}

export function integerOf(node: Node, what: string): asn1js.Integer {
  return universal(node, TAG.integer, what, 'an INTEGER');
}

export function oidOf(node: Node, what: string): string {
  return universal<asn1js.ObjectIdentifier>(
    node,
    TAG.oid,
    what,
    'an OBJECT IDENTIFIER',
  ).valueBlock.toString();
}

export function booleanOf(node: Node, what: string): boolean {
  return universal<asn1js.Boolean>(node, TAG.boolean, what, 'a BOOLEAN').valueBlock.value;
}

/** A BIT STRING's bytes (after its unused-bits count). */
export function bitStringOf(node: Node, what: string): Uint8Array {
  return bytesOf(
    universal<asn1js.BitString>(node, TAG.bitString, what, 'a BIT STRING').valueBlock.valueHexView,
  );
}

export function octetsOf(node: Node, what: string): Uint8Array {
  return bytesOf(
    universal<asn1js.OctetString>(node, TAG.octetString, what, 'an OCTET STRING').valueBlock
      .valueHexView,
  );
}

/** An RFC 5280 Time: UTCTime or GeneralizedTime. */
export function timeOf(node: Node, what: string): Date {
  if (!isUniversal(node, TAG.utcTime) && !isUniversal(node, TAG.generalizedTime)) {
    throw new DerError(`${what} is not a UTCTime or GeneralizedTime`);
  }
  return validTime((node as asn1js.UTCTime).toDate(), what);
}

/** The encoding `node` was decoded from. */
export function encodingOf(node: asn1js.AsnType): Uint8Array {
  return bytesOf(node.valueBeforeDecodeView);
}

/** A pkijs structure read from `bytes` (one whole value); throws DerError. */
export function decodeWith<T>(
  construct: new (parameters: { schema: asn1js.AsnType }) => T,
  bytes: Uint8Array,
  what: string,
): T {
  const schema = decodeAsn1(bytes, what);
  try {
    return new construct({ schema });
  } catch (error) {
    throw new DerError(`${what} is malformed: ${error instanceof Error ? error.message : error}`);
  }
}

/** The bytes of `view` as a Uint8Array of their own (pkijs hands out views and ArrayBuffers). */
export function bytesOf(view: ArrayBuffer | Uint8Array): Uint8Array {
  return new Uint8Array(view instanceof Uint8Array ? view : new Uint8Array(view)).slice();
}

/** The DER encoding of an asn1js value (for values built here: OCSP requests). */
export function encodeDer(value: asn1js.AsnType): Uint8Array {
  return new Uint8Array(value.toBER(false));
}

/**
 * A time read from ASN.1, refused when it is no time at all: an invalid
 * Date compares false both ways, so it would pass every validity check.
 */
export function validTime(date: Date, what: string): Date {
  if (Number.isNaN(date.getTime())) throw new DerError(`${what} is not a valid time`);
  return date;
}

/** One DER value: its tag byte, its contents, and the whole encoding. */
export interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
  readonly whole: Uint8Array;
}

/**
 * A strict DER reader over one level of a structure, for the one input too
 * large for asn1js: CRLs, with hundreds of thousands of entries (asn1js
 * spends seconds and gigabytes of objects on a few megabytes). Definite,
 * minimal lengths only, single-byte tags, nothing allocated but views.
 */
export class DerReader {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  #offset = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  get done(): boolean {
    return this.#offset >= this.#bytes.byteLength;
  }

  /** The next value's tag, undefined at the end. */
  peek(): number | undefined {
    return this.#bytes[this.#offset];
  }

  /** The next value, which must have tag `tag` when given. */
  read(tag?: number): Tlv {
    const bytes = this.#bytes;
    const start = this.#offset;
    const found = bytes[start];
    const fail = (why: string) => new DerError(`${this.#what}: ${why} at byte ${start}`);
    if (found === undefined) throw fail('a value is missing');
    if (tag !== undefined && found !== tag) {
      throw fail(`tag 0x${found.toString(16)} where 0x${tag.toString(16)} belongs`);
    }
    if ((found & 0x1f) === 0x1f) throw fail('a multi-byte tag');
    let length = bytes[start + 1];
    let header = 2;
    if (length === undefined) throw fail('a length is missing');
    if (length === 0x80) throw fail('an indefinite length');
    if (length > 0x80) {
      const count = length & 0x7f;
      if (count > 4) throw fail('a length of more than four bytes');
      if (bytes[start + 2] === 0) throw fail('a length that is not minimal');
      length = 0;
      for (let i = 0; i < count; i++) {
        const byte = bytes[start + 2 + i];
        if (byte === undefined) throw fail('a length is cut short');
        length = length * 256 + byte;
      }
      if (length < 0x80) throw fail('a length that is not minimal');
      header += count;
    }
    const end = start + header + length;
    if (end > bytes.byteLength) throw fail('a value longer than its input');
    this.#offset = end;
    return {
      tag: found,
      value: bytes.subarray(start + header, end),
      whole: bytes.subarray(start, end),
    };
  }

  /** The next value if it has tag `tag`. */
  readOptional(tag: number): Tlv | undefined {
    return this.peek() === tag ? this.read(tag) : undefined;
  }

  /** Nothing may follow. */
  end(): void {
    if (!this.done) throw new DerError(`${this.#what}: unexpected data at byte ${this.#offset}`);
  }
}

/**
 * Throws DerError unless `bytes` are DER values whose constructed values hold
 * DER values, all the way down: definite, minimal lengths (which asn1js does
 * not require, and Go's cryptobyte does). Primitive contents are not looked
 * into.
 */
export function checkDerLengths(bytes: Uint8Array, what: string, depth = 0): void {
  if (depth > MAX_DEPTH) throw new DerError(`${what} nests deeper than ${MAX_DEPTH} values`);
  const reader = new DerReader(bytes, what);
  while (!reader.done) {
    const { tag, value } = reader.read();
    if (tag & 0x20) checkDerLengths(value, what, depth + 1);
  }
}

/** A DER INTEGER's contents as a bigint; minimal encoding required (as Go's cryptobyte). */
export function derInteger(value: Uint8Array, what: string): bigint {
  const [first, second] = value;
  if (first === undefined) throw new DerError(`${what} is an empty INTEGER`);
  if (
    second !== undefined &&
    ((first === 0 && second < 0x80) || (first === 0xff && second >= 0x80))
  ) {
    throw new DerError(`${what} is an INTEGER that is not minimally encoded`);
  }
  const unsigned = BigInt(`0x${Buffer.from(value).toString('hex')}`);
  return first >= 0x80 ? unsigned - (1n << BigInt(value.byteLength * 8)) : unsigned;
}

const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

/** An RFC 5280 Time (UTCTime or GeneralizedTime, seconds, `Z`), as Go's x509 parser reads it. */
export function derTime(tlv: Tlv, what: string): Date {
  const text = Buffer.from(tlv.value).toString('latin1');
  const match =
    tlv.tag === UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : tlv.tag === GENERALIZED_TIME
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
        : null;
  if (match === null) throw new DerError(`${what} is not a UTCTime or GeneralizedTime`);
  const [yearText, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // RFC 5280 §4.1.2.5.1: two-digit years 50-99 are 19xx, 00-49 are 20xx.
  const year = tlv.tag === UTC_TIME ? (yearText < 50 ? 2000 : 1900) + yearText : yearText;
  const time = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    time.getUTCFullYear() !== year ||
    time.getUTCMonth() !== month - 1 ||
    time.getUTCDate() !== day ||
    time.getUTCHours() !== hour ||
    time.getUTCMinutes() !== minute ||
    time.getUTCSeconds() !== second
  ) {
    throw new DerError(`${what} is not a valid time`);
  }
  return time;
}

/** Whether the next value is a Time. */
export function isTimeTag(tag: number | undefined): boolean {
  return tag === UTC_TIME || tag === GENERALIZED_TIME;
}

/** Equal bytes, for raw names and DER certificates. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
