/**
 * A JSON parser for signed data, where two readers must never see two
 * different documents in the same bytes. `JSON.parse` keeps the last of
 * duplicate keys, Go's decoder keeps the last too but matches struct fields
 * case-insensitively, containers/image refuses duplicates: a payload with
 * `"docker-manifest-digest"` twice could mean one digest to one verifier and
 * another to the next. So this parser refuses, anywhere in the document:
 *
 * - duplicate keys in an object;
 * - a leading byte order mark, invalid UTF-8 (Go would substitute U+FFFD),
 *   and `\uD800`-style escapes of lone surrogates (Go substitutes U+FFFD);
 * - numbers that overflow a float64 (Go's decoder fails on them);
 * - anything RFC 8259 does not allow (trailing commas, comments, leading
 *   zeros, raw control characters in strings, text after the value);
 * - nesting deeper than `maxDepth`.
 *
 * Case variants of a key are *not* refused here: in a Go map they are
 * different keys. Schemas decoded into Go structs check their exact key sets
 * (see simple-signing.ts).
 *
 * Objects come back with a null prototype, so `__proto__` is an ordinary key.
 */
import { MAX_JSON_DEPTH } from '../core/json.ts';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export class StrictJsonError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(offset >= 0 ? `${message} at offset ${offset}` : message);
    this.name = 'StrictJsonError';
    this.offset = offset;
  }
}

export interface StrictJsonOptions {
  /** Deepest nesting of arrays and objects accepted; MAX_JSON_DEPTH (64) unless given. */
  readonly maxDepth?: number;
  /**
   * The members to build, when the caller reads only some (an admission
   * review: issue 15, allocation per review). At an object parsed under a
   * shape, a member named with `true` is built whole, one named with a shape
   * is built under it (when its value is an object; otherwise whole), and any
   * other member is checked as strictly as the rest (duplicate keys, UTF-8,
   * escapes, numbers, depth) but not built: it is absent from the result.
   * Without it, everything is built.
   */
  readonly shape?: JsonShape;
}

/** Which members of an object to build (see `StrictJsonOptions.shape`). */
export interface JsonShape {
  readonly [key: string]: JsonShape | true;
}

// ignoreBOM keeps a leading U+FEFF in the text, where the parser refuses it as Go does.
// One decoder serves every call: without `stream`, each decode stands alone.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function parseStrictJson(bytes: Uint8Array, options: StrictJsonOptions = {}): JsonValue {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new StrictJsonError('not valid UTF-8', -1);
  }
  return parseStrictJsonText(text, options);
}

export function parseStrictJsonText(text: string, options: StrictJsonOptions = {}): JsonValue {
  const parser = new Parser(text, options.maxDepth ?? MAX_JSON_DEPTH);
  parser.skipWhitespace();
  const value = parser.value(0, options.shape);
  parser.skipWhitespace();
  if (parser.pos !== text.length) parser.fail('unexpected data after the JSON value');
  return value;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Parser {
  pos = 0;
  private readonly text: string;
  private readonly maxDepth: number;

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  fail(message: string, at: number = this.pos): never {
    throw new StrictJsonError(message, at);
  }

  skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  value(depth: number, shape?: JsonShape): JsonValue {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(depth + 1, shape);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case undefined:
        return this.fail('unexpected end of input');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`invalid literal, expected ${word}`);
    this.pos += word.length;
    return value;
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    if (!NUMBER.test(this.text)) return this.fail('invalid number');
    const text = this.text.slice(this.pos, NUMBER.lastIndex);
    const value = Number(text);
    if (!Number.isFinite(value)) this.fail(`number ${text} is out of range`);
    this.pos = NUMBER.lastIndex;
    return value;
  }

  /**
   * Checks the value here as `value` would, without building it: for the
   * members a shape leaves out. Objects still refuse duplicate keys.
   */
  private skip(depth: number): void {
    const c = this.text[this.pos];
    if (c === '"') {
      this.skipString();
    } else if (c === '{' || c === '[') {
      if (depth + 1 > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
      const close = c === '{' ? '}' : ']';
      const keys = c === '{' ? new KeySet() : undefined;
      this.pos++;
      this.skipWhitespace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return;
      }
      for (;;) {
        this.skipWhitespace();
        if (keys !== undefined) {
          const keyAt = this.pos;
          if (this.text[this.pos] !== '"') this.fail('expected a string key');
          const key = this.string();
          if (!keys.add(key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
          this.skipWhitespace();
          if (this.text[this.pos] !== ':') this.fail("expected ':'");
          this.pos++;
          this.skipWhitespace();
        }
        this.skip(depth + 1);
        this.skipWhitespace();
        const next = this.text[this.pos];
        this.pos++;
        if (next === close) return;
        if (next !== ',') this.fail(`expected ',' or '${close}'`, this.pos - 1);
      }
    } else {
      this.value(depth);
    }
  }

  /** `string` without building the string. */
  private skipString(): void {
    const t = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string', start);
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c < 0x20) this.fail('raw control character in string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      this.escape();
    }
  }

  private string(): string {
    const t = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string', start);
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('raw control character in string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(runStart, this.pos);
      out += this.escape();
      runStart = this.pos;
    }
  }

  /** The escape at `pos` (a backslash), decoded; moves past it. */
  private escape(): string {
    const t = this.text;
    const e = t[this.pos + 1];
    if (e === 'u') {
      const unit = this.hex4(this.pos + 2);
      this.pos += 6;
      if (unit >= 0xd800 && unit <= 0xdbff) {
        const low = t.startsWith('\\u', this.pos) ? this.hex4(this.pos + 2) : -1;
        if (low < 0xdc00 || low > 0xdfff) this.fail('escaped lone surrogate', this.pos - 6);
        this.pos += 6;
        return String.fromCharCode(unit, low);
      }
      if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('escaped lone surrogate', this.pos - 6);
      return String.fromCharCode(unit);
    }
    const replacement = e === undefined ? undefined : SIMPLE_ESCAPES[e];
    if (replacement === undefined) this.fail('invalid escape in string');
    this.pos += 2;
    return replacement;
  }

  private hex4(at: number): number {
    const digits = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape', at - 2);
    return Number.parseInt(digits, 16);
  }

  private array(depth: number): JsonValue[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++;
    const out: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      out.push(this.value(depth));
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ']') return out;
      if (c !== ',') this.fail("expected ',' or ']'", this.pos - 1);
    }
  }

  private object(depth: number, shape?: JsonShape): JsonObject {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    // The keys of members a shape leaves out, for the duplicate check (the
    // ones built are checked in `out`); made at the first one.
    let skipped: KeySet | undefined;
    this.pos++;
    // Filled as an ordinary object and given its null prototype at the end:
    // V8 keeps such an object in its compact, fast form, where one made by
    // Object.create(null) starts as a hash table (issue 15: allocation per
    // admission review).
    const out: Record<string, JsonValue> = {};
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return Object.setPrototypeOf(out, null) as JsonObject;
    }
    for (;;) {
      this.skipWhitespace();
      const keyAt = this.pos;
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const key = this.string();
      const member =
        shape === undefined ? true : Object.hasOwn(shape, key) ? shape[key] : undefined;
      if (member === undefined ? !(skipped ??= new KeySet()).add(key) : Object.hasOwn(out, key)) {
        this.fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
      }
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      this.skipWhitespace();
      if (member === undefined) {
        this.skip(depth);
      } else {
        this.member(out, key, this.value(depth, member === true ? undefined : member));
      }
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === '}') return Object.setPrototypeOf(out, null) as JsonObject;
      if (c !== ',') this.fail("expected ',' or '}'", this.pos - 1);
    }
  }

  private member(out: Record<string, JsonValue>, key: string, value: JsonValue): void {
    // `__proto__` is an own key like any other, never the prototype setter.
    if (key === '__proto__') {
      Object.defineProperty(out, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = value;
  }
}

/**
 * The keys of an object checked but not built, for the duplicate check: a
 * short list while there are few (most such objects have a handful of keys,
 * and a Set costs more to make than they do), a Set past that, so the check
 * stays linear in the keys however many there are.
 */
class KeySet {
  #list: string[] | undefined = [];
  #set: Set<string> | undefined;

  /** Adds `key`; false if it was there already. */
  add(key: string): boolean {
    if (this.#list !== undefined) {
      if (this.#list.includes(key)) return false;
      this.#list.push(key);
      if (this.#list.length > 8) {
        this.#set = new Set(this.#list);
        this.#list = undefined;
      }
      return true;
    }
    const set = this.#set as Set<string>;
    if (set.has(key)) return false;
    set.add(key);
    return true;
  }
}
