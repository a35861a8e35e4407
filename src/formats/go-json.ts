/**
 * JSON bytes exactly as Go's `encoding/json` Marshal writes them, which is
 * what cosign, go-containerregistry and containers/image put on the wire.
 *
 * - Struct fields come out in declaration order: a plain object here is a Go
 *   struct, emitted in insertion order. The caller leaves out `omitempty`
 *   fields itself. (Never give a struct an integer-like field name: JavaScript
 *   would move it to the front.)
 * - Maps come out with keys sorted byte-wise on their UTF-8 encoding
 *   (encode.go mapEncoder: `strings.Compare`): a `Map` here is a Go map.
 * - Strings escape `"`, `\`, control characters (`\b \f \n \r \t`, others as
 *   `\u00XX`; Go >= 1.22 writes `\b` and `\f` short, as JSON.stringify does),
 *   and, because Marshal's `escapeHTML` is on, `<`, `>`, `&` as `\u003c`,
 *   `\u003e`, `\u0026`, and U+2028/U+2029 as `\u2028`/`\u2029`
 *   (encode.go appendString).
 * - No whitespace (`goMarshal`), or `json.MarshalIndent(v, "", indent)`'s
 *   (`goMarshalIndent`, as docker's `inspect` commands print: json.Indent of
 *   Marshal): one element per line, `": "` after keys, `[]` and `{}` when
 *   empty. Numbers are integers (Go int64); nothing vouch writes needs Go's
 *   float formatting, so other numbers are refused.
 */
import { invalid } from '../core/errors.ts';

export type GoValue =
  null | boolean | number | string | readonly GoValue[] | ReadonlyMap<string, GoValue> | GoStruct;

export interface GoStruct {
  readonly [field: string]: GoValue;
}

// Without the `u` flag a regular expression sees UTF-16 code units, so this
// finds a high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** A JSON string literal as Go writes it. Refuses strings that are not well-formed UTF-16. */
export function goString(value: string): string {
  if (LONE_SURROGATE.test(value)) {
    // Go would write U+FFFD for the lone surrogate: the bytes would not say what was asked.
    throw invalid('INVALID_JSON_STRING', 'string contains a lone surrogate (not valid Unicode)');
  }
  // JSON.stringify already escapes exactly Go's set of control characters
  // with the same spellings and lowercase hex; only the HTML set differs.
  return JSON.stringify(value).replace(HTML_UNSAFE, (c) => HTML_ESCAPES[c] as string);
}

export function goMarshal(value: GoValue): string {
  return marshal(value, undefined, '');
}

/** `json.MarshalIndent(value, "", indent)`. */
export function goMarshalIndent(value: GoValue, indent: string): string {
  return marshal(value, indent, '');
}

/** Marshal; with `indent`, each element on its own line after `margin` plus one more `indent`. */
function marshal(value: GoValue, indent: string | undefined, margin: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw invalid('INVALID_JSON_NUMBER', `cannot encode ${value}: only integers are written`);
      }
      return String(value);
    case 'string':
      return goString(value);
  }
  const inner = indent === undefined ? undefined : margin + indent;
  const wrap = (open: string, items: readonly string[], close: string) =>
    inner === undefined || items.length === 0
      ? `${open}${items.join(',')}${close}`
      : `${open}\n${inner}${items.join(`,\n${inner}`)}\n${margin}${close}`;
  const colon = indent === undefined ? ':' : ': ';
  if (Array.isArray(value)) {
    return wrap(
      '[',
      value.map((v: GoValue) => marshal(v, indent, inner ?? '')),
      ']',
    );
  }
  const fields =
    value instanceof Map
      ? [...(value as ReadonlyMap<string, GoValue>).entries()].sort(([a], [b]) => compareUtf8(a, b))
      : Object.entries(value as GoStruct);
  return wrap(
    '{',
    fields.map(([k, v]) => `${goString(k)}${colon}${marshal(v, indent, inner ?? '')}`),
    '}',
  );
}

export function goMarshalBytes(value: GoValue): Uint8Array {
  return new TextEncoder().encode(goMarshal(value));
}

/** A Go map from a record of strings (annotations, labels). */
export function goMap(record: Readonly<Record<string, string>>): ReadonlyMap<string, GoValue> {
  return new Map(Object.entries(record));
}

const encoder = new TextEncoder();

/**
 * Go's string order: byte-wise on UTF-8. JavaScript's default sort compares
 * UTF-16 code units, which differs once astral characters meet U+E000-U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  // Up to the first differing code unit the two encode alike; there, two
  // units outside the surrogate range are code points, whose order is their
  // UTF-8 bytes' order. Surrogates (astral characters, or lone ones, which
  // TextEncoder writes as U+FFFD) take the encoding path, as does a prefix
  // ending in one.
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (!isSurrogate(x) && !isSurrogate(y)) return x - y;
    return Buffer.compare(encoder.encode(a), encoder.encode(b));
  }
  if (common > 0 && isSurrogate(a.charCodeAt(common - 1))) {
    return Buffer.compare(encoder.encode(a), encoder.encode(b));
  }
  return a.length - b.length;
}

const isSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdfff;
