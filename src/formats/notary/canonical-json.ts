/**
 * The canonical JSON notary signs (Notary v1, docs/formats.md "Canonical JSON
 * and byte-exact files"):
 * `MarshalCanonical` of docker/go `canonical/json` (encode.go), OLPC style.
 * Notary re-canonicalises the `signed` object from a generic map before
 * checking a signature (tuf/signed/verify.go `VerifySignatures`), so this is
 * applied to the parsed value, whatever bytes the server sent.
 *
 * - object keys sorted by Go's string order (bytes of UTF-8), no whitespace;
 * - strings escape only `"` and `\`: control characters and non-ASCII are
 *   written raw (unlike RFC 8785 and unlike Go's json.Marshal);
 * - numbers must be integers (a generic map holds float64, and the canonical
 *   encoder refuses non-integral floats).
 */
import { denied } from '../../core/errors.ts';
import { compareUtf8 } from '../go-json.ts';
import type { JsonValue } from '../../core/strict-json.ts';

export function notaryCanonicalJson(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw denied(
          'NOTARY_METADATA_INVALID',
          `canonical JSON holds only integers, found ${value}`,
        );
      }
      return String(value);
    case 'string':
      return canonicalString(value);
  }
  if (Array.isArray(value))
    return `[${value.map((v: JsonValue) => notaryCanonicalJson(v)).join(',')}]`;
  const object = value as { readonly [key: string]: JsonValue };
  const members = Object.keys(object)
    .sort(compareUtf8)
    .map((key) => `${canonicalString(key)}:${notaryCanonicalJson(object[key] as JsonValue)}`);
  return `{${members.join(',')}}`;
}

export function notaryCanonicalBytes(value: JsonValue): Uint8Array {
  return new TextEncoder().encode(notaryCanonicalJson(value));
}

function canonicalString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
