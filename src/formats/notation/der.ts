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
