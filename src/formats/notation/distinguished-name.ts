/**
 * X.509 distinguished names as notation reads them in `x509.subject:`
 * trusted identities (and in the signing certificate's subject when it
 * matches them): notation-go `internal/pkix/pkix.go` `ParseDistinguishedName`
 * and `IsSubsetDN` over go-ldap v3.4.11 `dn.go` `ParseDN`, reproduced here
 * step by step so that a name means to vouch what it means to notation:
 *
 * - a name holding `=#` anywhere is refused (notation refuses RFC 4514's
 *   hex-encoded BER values), so go-ldap's BER branch is never reached;
 * - RDNs are split at unescaped `,` `;` `+`, a type at its first unescaped
 *   `=`; types and values lose leading and trailing spaces (U+0020 only), then
 *   their escapes: `\` before one of ` "#+,;<=>\`, or two hex digits (a byte);
 * - a multi-valued RDN (`+`) is refused; `S` is read as `ST`; a type that
 *   repeats with a non-empty value is refused (go-ldap keeps type case:
 *   `st` is not `ST`); `C`, `ST` and `O` are required (non-empty);
 * - a trusted identity matches a subject when each of its attributes has the
 *   same value in the subject (`IsSubsetDN`: byte-equal values, a missing
 *   attribute reads as "").
 *
 * Values are strings of bytes in Go; here a value whose escapes make invalid
 * UTF-8 is refused instead, so two different byte strings never become one
 * JavaScript string.
 *
 * https://github.com/notaryproject/notation-go/blob/main/internal/pkix/pkix.go
 * https://github.com/go-ldap/ldap/blob/v3.4.11/v3/dn.go
 */

/** Attribute type → value, as notation-go's `map[string]string`. */
export type DistinguishedName = ReadonlyMap<string, string>;

export type DistinguishedNameResult =
  | { readonly ok: true; readonly dn: DistinguishedName }
  | { readonly ok: false; readonly problem: string };

const MANDATORY = ['C', 'ST', 'O'] as const;
const RULES = "it must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum";

/** notation-go `pkix.ParseDistinguishedName`. */
export function parseDistinguishedName(name: string): DistinguishedNameResult {
  const shown = JSON.stringify(name);
  if (name.includes('=#')) {
    return fail(
      `unsupported distinguished name (DN) ${shown}: notation does not support x509.subject identities containing "=#"`,
    );
  }
  const rdns = parseRdns(name);
  if (typeof rdns === 'string') {
    return fail(
      `parsing distinguished name (DN) ${shown} failed with err: ${rdns}. A valid DN must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum, and follow RFC 4514 standard`,
    );
  }
  const dn = new Map<string, string>();
  for (const rdn of rdns) {
    if (rdn.length > 1) {
      return fail(
        `distinguished name (DN) ${shown} has multi-valued RDN attributes, remove multi-valued RDN attributes as they are not supported`,
      );
    }
    for (const attribute of rdn) {
      const type = attribute.type === 'S' ? 'ST' : attribute.type;
      // pkix.go keeps the first non-empty value: an empty one may be replaced.
      if ((dn.get(type) ?? '') !== '') {
        return fail(
          `distinguished name (DN) ${shown} has duplicate RDN attribute for ${JSON.stringify(type)}, DN can only have unique RDN attributes`,
        );
      }
      dn.set(type, attribute.value);
    }
  }
  for (const field of MANDATORY) {
    if ((dn.get(field) ?? '') === '') {
      return fail(
        `distinguished name (DN) ${shown} has no mandatory RDN attribute for ${JSON.stringify(field)}, ${RULES}`,
      );
    }
  }
  return { ok: true, dn };
}

/** notation-go `pkix.IsSubsetDN`: every attribute of `subset` has its value in `of`. */
export function isSubsetDN(subset: DistinguishedName, of: DistinguishedName): boolean {
  for (const [type, value] of subset) {
    if ((of.get(type) ?? '') !== value) return false;
  }
  return true;
}

function fail(problem: string): DistinguishedNameResult {
  return { ok: false, problem };
}

interface Attribute {
  readonly type: string;
  readonly value: string;
}

/**
 * go-ldap `ParseDN`: the RDNs of `text`, or the problem. Scans by code unit;
 * every character it looks at is ASCII, so this splits where go-ldap's byte
 * scan does.
 */
function parseRdns(text: string): Attribute[][] | string {
  const rdns: Attribute[][] = [];
  if (GO_BLANK.test(text)) return rdns;
  let rdn: Attribute[] = [];
  let type = '';
  let escaping = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (escaping) {
      escaping = false;
    } else if (char === '\\') {
      escaping = true;
    } else if (char === '=' && type === '') {
      // A type that decodes to "" leaves the next '=' to try again, as in go-ldap.
      const decoded = decodeString(text.slice(start, i));
      if (!decoded.ok) return decoded.problem;
      type = decoded.text;
      start = i + 1;
    } else if (char === ',' || char === '+' || char === ';') {
      if (type === '') return 'incomplete type, value pair';
      const value = decodeString(text.slice(start, i));
      if (!value.ok) return value.problem;
      rdn.push({ type, value: value.text });
      type = '';
      start = i + 1;
      if (char !== '+') {
        rdns.push(rdn);
        rdn = [];
      }
    }
  }
  if (type === '') return 'DN ended with incomplete type, value pair';
  const value = decodeString(text.slice(start));
  if (!value.ok) return value.problem;
  rdn.push({ type, value: value.text });
  rdns.push(rdn);
  return rdns;
}

type Decoded =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly problem: string };

const SPECIAL = new Set([' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\']);
const HEX_PAIR = /^[0-9a-fA-F]{2}$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * go-ldap `decodeString`: trims spaces, then resolves escapes. A run of hex
 * escapes is a run of bytes; it must be UTF-8 on its own, since the text
 * around it cannot continue a sequence it leaves open.
 */
function decodeString(raw: string): Decoded {
  const text = stripSpaces(raw);
  let out = '';
  let bytes: number[] = [];
  const flush = (): boolean => {
    if (bytes.length === 0) return true;
    try {
      out += strictUtf8.decode(new Uint8Array(bytes));
    } catch {
      return false;
    }
    bytes = [];
    return true;
  };
  for (let i = 0; i < text.length; i++) {
    const backslash = text.indexOf('\\', i);
    const end = backslash === -1 ? text.length : backslash;
    if (end > i) {
      if (!flush()) break;
      out += text.slice(i, end);
      i = end;
      if (backslash === -1) break;
    }
    // text[i] is a backslash; go-ldap counts what follows in runes.
    const [next, after] = Array.from(text.slice(i + 1, i + 5));
    if (next === undefined) {
      return { ok: false, problem: `got corrupted escaped character: '${text}'` };
    }
    if (SPECIAL.has(next)) {
      if (!flush()) break;
      out += next;
      i += 1;
      continue;
    }
    const pair = next + (after ?? '');
    if (after === undefined || !HEX_PAIR.test(pair)) {
      return {
        ok: false,
        problem: `failed to decode escaped character: invalid hex ${JSON.stringify(pair)}`,
      };
    }
    bytes.push(Number.parseInt(pair, 16));
    i += 2;
  }
  if (!flush()) {
    return { ok: false, problem: `escaped bytes in ${JSON.stringify(raw)} are not valid UTF-8` };
  }
  return { ok: true, text: out };
}

/** go-ldap `stripLeadingAndTrailingSpaces`: an escaped trailing space survives. */
function stripSpaces(raw: string): string {
  let start = 0;
  let end = raw.length;
  while (start < end && raw[start] === ' ') start++;
  while (end > start && raw[end - 1] === ' ') end--;
  const trimmed = raw.slice(start, end);
  return trimmed.endsWith('\\') && raw.endsWith(' ') ? `${trimmed} ` : trimmed;
}

// Text that Go's strings.TrimSpace empties: unicode.IsSpace is '\t', '\n',
// '\v', '\f', '\r', ' ', U+0085, U+00A0 and the other White_Space characters.
const GO_BLANK = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
