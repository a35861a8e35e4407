/**
 * The JSON Canonicalization Scheme, RFC 8785 (JCS): what Rekor signs in a
 * Signed Entry Timestamp (sigstore/rekor pkg/api/entries.go `signEntry`;
 * docs/formats.md "Rekor entries and Signed Entry Timestamps") and what cosign and
 * containers/image rebuild to check it (`jsoncanonicalizer.Transform`).
 *
 * JCS is ECMAScript's own JSON serialization with object members sorted by
 * the UTF-16 code units of their names (RFC 8785 §3.2.3): strings are
 * escaped exactly as `JSON.stringify` escapes them (§3.2.2.2) and numbers are
 * written as `Number.prototype.toString` writes them (§3.2.2.3). So this is a
 * sorted-keys `JSON.stringify`, plus the two refusals JCS requires: numbers
 * that are not finite, and strings with lone surrogates (which
 * `JSON.stringify` would escape rather than refuse).
 *
 * Not to be confused with the "canonical JSON" of TUF/Notary (OLPC), which
 * escapes differently and forbids floats.
 */

export type CanonicalJsonValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalJsonValue[]
  | { readonly [key: string]: CanonicalJsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The RFC 8785 text of `value`. Throws a TypeError for values JCS cannot represent. */
export function canonicalJson(value: CanonicalJsonValue): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${value} cannot be written as JSON`);
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return canonicalString(value);
  if (Array.isArray(value)) {
    return `[${(value as readonly CanonicalJsonValue[]).map(canonicalJson).join(',')}]`;
  }
  const object = value as { readonly [key: string]: CanonicalJsonValue };
  const members = Object.keys(object)
    .sort()
    .map((key) => `${canonicalString(key)}:${canonicalJson(object[key] as CanonicalJsonValue)}`);
  return `{${members.join(',')}}`;
}

/** `canonicalJson` as UTF-8 bytes: what is hashed and signed. */
export function canonicalJsonBytes(value: CanonicalJsonValue): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

function canonicalString(text: string): string {
  if (LONE_SURROGATE.test(text)) throw new TypeError('a string with a lone surrogate is not JSON');
  return JSON.stringify(text);
}
