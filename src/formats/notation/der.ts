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
 * length), so this bounds nothing a real structure needs while keeping
 * asn1js's node budget proportional to the bytes it was given (a CRL of
 * 32 MiB holds far more than asn1js's default of 10,000 nodes).
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

/** An INTEGER's two's-complement content as a bigint (serial numbers, CRL numbers). */
export function integerValue(integer: asn1js.Integer): bigint {
  return integer.toBigInt();
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

/** Equal bytes, for raw names and DER certificates. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
