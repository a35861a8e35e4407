/**
 * Checks on the fields of strictly parsed JSON documents (strict-json.ts),
 * shared by the schemas vouch reads: simple-signing payloads, DSSE envelopes,
 * in-toto statements. Every check throws through the caller's `fail`, so each
 * schema keeps its own error code and says where the problem is.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../core/strict-json.ts';

export type Fail = (problem: string) => Error;

export function object(value: JsonValue | undefined, path: string, fail: Fail): JsonObject {
  if (!isJsonObject(value)) throw fail(`${path} must be an object, found ${describe(value)}`);
  return value;
}

export function string(value: JsonValue | undefined, path: string, fail: Fail): string {
  if (typeof value !== 'string') throw fail(`${path} must be a string, found ${describe(value)}`);
  return value;
}

export function array(
  value: JsonValue | undefined,
  path: string,
  fail: Fail,
): readonly JsonValue[] {
  if (!Array.isArray(value)) throw fail(`${path} must be an array, found ${describe(value)}`);
  return value as readonly JsonValue[];
}

export interface FieldRules {
  readonly required: readonly string[];
  readonly optional?: readonly string[];
  /**
   * Keys that are neither required nor optional: refused (the default), or
   * ignored as the DSSE and in-toto specs ask of consumers. Case variants of
   * a known key are refused either way: Go's decoder would read them as that
   * field.
   */
  readonly unknown?: 'refuse' | 'ignore';
}

/**
 * The keys of `value` against `rules`. Go's decoder (encoding/json,
 * bytes.EqualFold) matches struct fields ignoring case, so a key that only
 * differs in case from a known one would mean that field to cosign; it is
 * refused here so two readers never see two documents.
 */
export function checkFields(value: JsonObject, rules: FieldRules, path: string, fail: Fail): void {
  const known = [...rules.required, ...(rules.optional ?? [])];
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const variant = known.find((field) => fold(field) === fold(key));
    if (variant !== undefined) {
      throw fail(
        `${path} has key ${quote(key)}, a case variant of ${quote(variant)}: ` +
          'Go decoders would read it as that field, containers/image refuses it',
      );
    }
    if (rules.unknown === 'ignore') continue;
    throw fail(
      rules.optional === undefined || rules.optional.length === 0
        ? `${path} has unknown key ${quote(key)}; expected exactly ${known.map(quote).join(', ')}`
        : `${path} has unknown key ${quote(key)}; expected only ${known.map(quote).join(', ')}`,
    );
  }
  for (const field of rules.required) {
    if (!Object.hasOwn(value, field)) throw fail(`${path} is missing ${quote(field)}`);
  }
}

/** Exactly `fields`, all of them, nothing else (containers/image's exact-fields rule). */
export function exactFields(
  value: JsonObject,
  fields: readonly string[],
  path: string,
  fail: Fail,
): void {
  checkFields(value, { required: fields }, path, fail);
}

/** Case folding close to Go's EqualFold: upper-then-lower maps ſ to s and K (Kelvin) to k. */
export function fold(text: string): string {
  return text.toUpperCase().toLowerCase();
}

export function describe(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${truncate(JSON.stringify(value))}`;
}

export function quote(text: string): string {
  return truncate(JSON.stringify(text));
}

export function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
