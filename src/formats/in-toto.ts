/**
 * in-toto Statements (in-toto/attestation spec/v1/statement.md;
 * https://github.com/in-toto/attestation): the payload of an attestation's DSSE envelope,
 * binding a predicate (an SBOM, SLSA provenance, a scan) to subjects named by
 * digest.
 *
 * Writing. `vouch attest` makes a Statement v1 with the image as its only
 * subject, as cosign does (sigstore/cosign@d6d86c22:
 * pkg/cosign/attestation/attestation.go GenerateStatement;
 * cmd/cosign/cli/attest/attest.go): `name` is the repository without tag
 * (`digest.Repository.String()`, Docker Hub as `index.docker.io/library/x`)
 * and `digest` is `{"sha256": "<hex>"}`. The bytes follow what cosign 3
 * writes, `protojson.Marshal` of in-toto's `Statement` message:
 * - fields in proto order `_type, subject, predicateType, predicate`, and
 *   `name, digest` in a subject;
 * - the predicate is a `google.protobuf.Struct`, so object keys come out
 *   sorted (protojson marshalMap, order.GenericKeyOrder: byte-wise on UTF-8)
 *   and numbers are float64 written as Go writes them (shortest form,
 *   exponent below 1e-6 and from 1e21) — JavaScript numbers are float64 too;
 * - strings escape only `"`, `\` and control characters (no HTML escaping);
 * - no whitespace. protojson inserts a space after some commas at random per
 *   build (internal/detrand) precisely so that nobody relies on its bytes;
 *   vouch writes none. Verifiers, cosign's included, parse the statement, so
 *   only the signature over these exact bytes matters.
 * Two differences from cosign, both deliberate: `_type` is
 * `https://in-toto.io/Statement/v1` (cosign still writes v0.1; its verifier
 * does not look at `_type`), and the predicate is the user's JSON object as
 * given, where cosign re-decodes some types through Go structs (SLSA 0.2/1.0
 * provenance and `vuln` lose unknown fields there).
 *
 * Reading is strict, as cosign's reader is (protojson refuses unknown fields
 * and repeated fields): the statement has `_type`, `subject`, `predicateType`
 * and optionally `predicate`, nothing else — not even the aliases protojson
 * would accept (`type`, `predicate_type`) nor case variants Go's decoder
 * would match; `_type` is v1 or v0.1; `subject` is a non-empty list of
 * resource descriptors each with a `digest` map of strings; `predicate` is an
 * object, absent/null, or a string (cosign's legacy `--type spdx` text SBOM).
 */
import { denied, invalid } from '../core/errors.ts';
import { type Digest, digestAlgorithm, digestHex } from '../oci/digest.ts';
import { compareUtf8 } from './go-json.ts';
import { array, checkFields, describe, type Fail, object, quote, string } from './json-fields.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../core/strict-json.ts';

export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
/** What cosign's classic `attest` still writes (in-toto-golang StatementInTotoV01). */
export const STATEMENT_TYPE_V01 = 'https://in-toto.io/Statement/v0.1';

/** Subjects read from one statement; more and it is refused (cf. sigstore-go CVE-2024-45395). */
export const MAX_STATEMENT_SUBJECTS = 1024;

export interface StatementInput {
  /** The subject's name: cosign writes the repository without tag. */
  readonly subjectName: string;
  /** The image digest, the only subject. */
  readonly digest: Digest;
  /** The predicate type URI. */
  readonly predicateType: string;
  /** The predicate: a JSON object (strictly parsed, see `parsePredicate`). */
  readonly predicate: JsonObject;
}

export interface StatementSubject {
  readonly name?: string;
  /** Algorithm → lowercase hex, as written. */
  readonly digest: Readonly<Record<string, string>>;
}

export interface Statement {
  /** `_type`: v1 or v0.1. */
  readonly type: typeof STATEMENT_TYPE_V1 | typeof STATEMENT_TYPE_V01;
  readonly subjects: readonly StatementSubject[];
  readonly predicateType: string;
  /** The predicate as signed; null when absent. */
  readonly predicate: JsonObject | string | null;
  /** The whole statement as parsed, for output. */
  readonly document: JsonObject;
}

/** The statement bytes for one image (see the module comment). */
export function buildStatement(input: StatementInput): Uint8Array {
  const { subjectName, digest, predicateType, predicate } = input;
  if (typeof subjectName !== 'string' || subjectName === '') {
    throw invalid('INVALID_STATEMENT_INPUT', 'the subject name must be a non-empty string');
  }
  if (typeof predicateType !== 'string' || predicateType === '') {
    throw invalid('INVALID_STATEMENT_INPUT', 'the predicate type must be a non-empty string');
  }
  if (!isJsonObject(predicate)) {
    throw invalid('INVALID_STATEMENT_INPUT', 'the predicate must be a JSON object');
  }
  const text =
    `{"_type":${protoString(STATEMENT_TYPE_V1)}` +
    `,"subject":[{"name":${protoString(subjectName)}` +
    `,"digest":{${protoString(digestAlgorithm(digest))}:${protoString(digestHex(digest))}}}]` +
    `,"predicateType":${protoString(predicateType)}` +
    `,"predicate":${protoJson(predicate)}}`;
  return new TextEncoder().encode(text);
}

/**
 * The statement cosign 3 signs for an image signature (sigstore/cosign@d6d86c22
 * cmd/cosign/cli/sign/sign.go signDigestBundle): the image digest as the only
 * subject, with no name and cosign's `-a` annotations as the subject's
 * `annotations` (a `google.protobuf.Struct`, written even when empty), the
 * predicate type `https://sigstore.dev/cosign/sign/v1` and an empty predicate;
 * protojson bytes as `buildStatement` writes them.
 */
export function buildSignStatement(input: {
  readonly digest: Digest;
  readonly predicateType: string;
  readonly annotations: Readonly<Record<string, string>>;
}): Uint8Array {
  const { digest, predicateType, annotations } = input;
  const text =
    `{"_type":${protoString(STATEMENT_TYPE_V1)}` +
    `,"subject":[{"digest":{${protoString(digestAlgorithm(digest))}:${protoString(digestHex(digest))}}` +
    `,"annotations":${protoJson(annotations)}}]` +
    `,"predicateType":${protoString(predicateType)}` +
    `,"predicate":{}}`;
  return new TextEncoder().encode(text);
}

/**
 * A JSON value as protojson writes a `google.protobuf.Value`: object keys
 * sorted byte-wise on UTF-8, numbers as Go writes float64, no HTML escaping,
 * no whitespace.
 */
export function protoJson(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return protoNumber(value);
    case 'string':
      return protoString(value);
  }
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(protoJson).join(',')}]`;
  const object = value as JsonObject;
  const keys = Object.keys(object).sort(compareUtf8);
  return `{${keys.map((key) => `${protoString(key)}:${protoJson(object[key] as JsonValue)}`).join(',')}}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function protoString(value: string): string {
  if (LONE_SURROGATE.test(value)) {
    // protojson refuses invalid UTF-8; the bytes could not say what was asked.
    throw invalid('INVALID_JSON_STRING', 'string contains a lone surrogate (not valid Unicode)');
  }
  // JSON.stringify escapes exactly `"`, `\` and control characters, with
  // protojson's spellings (\b \f \n \r \t, else \u00xx in lowercase hex).
  return JSON.stringify(value);
}

function protoNumber(value: number): string {
  if (!Number.isFinite(value)) {
    throw invalid('INVALID_JSON_NUMBER', `cannot encode ${value} in a statement`);
  }
  // Go's strconv with encoding/json's thresholds and JavaScript's
  // Number#toString agree on every finite float64 but negative zero.
  return Object.is(value, -0) ? '-0' : String(value);
}

/**
 * A predicate file: one JSON object, strictly parsed (no duplicate keys,
 * valid UTF-8, nothing after it). Throws VouchError `invalid` PREDICATE_INVALID.
 */
export function parsePredicate(bytes: Uint8Array, where = 'the predicate'): JsonObject {
  let value: JsonValue;
  try {
    value = parseStrictJson(bytes, { maxDepth: 128 });
  } catch (error) {
    if (error instanceof StrictJsonError) {
      throw invalid('PREDICATE_INVALID', `${where} is not acceptable JSON: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  if (!isJsonObject(value)) {
    throw invalid('PREDICATE_INVALID', `${where} must be a JSON object, found ${describe(value)}`);
  }
  return value;
}

const STATEMENT_FIELDS = {
  required: ['_type', 'subject', 'predicateType'],
  optional: ['predicate'],
};
/** in-toto ResourceDescriptor (spec/v1/resource_descriptor.md); v0.1 subjects have name and digest. */
const SUBJECT_FIELDS = {
  required: ['digest'],
  optional: ['name', 'uri', 'content', 'downloadLocation', 'mediaType', 'annotations'],
};

/**
 * Parses statement bytes (see the module comment). Throws VouchError
 * `denied` STATEMENT_INVALID.
 */
export function parseStatement(bytes: Uint8Array, where = 'the attestation'): Statement {
  const fail: Fail = (problem) =>
    denied('STATEMENT_INVALID', `invalid in-toto statement in ${where}: ${problem}`);
  let value: JsonValue;
  try {
    value = parseStrictJson(bytes, { maxDepth: 128 });
  } catch (error) {
    if (error instanceof StrictJsonError) {
      throw denied('STATEMENT_INVALID', `invalid in-toto statement in ${where}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  const document = object(value, 'the statement', fail);
  checkFields(document, STATEMENT_FIELDS, 'the statement', fail);
  const type = string(document._type, '_type', fail);
  if (type !== STATEMENT_TYPE_V1 && type !== STATEMENT_TYPE_V01) {
    throw fail(
      `_type must be ${quote(STATEMENT_TYPE_V1)} or ${quote(STATEMENT_TYPE_V01)}, found ${quote(type)}`,
    );
  }
  const predicateType = string(document.predicateType, 'predicateType', fail);
  if (predicateType === '') throw fail('predicateType is empty');
  const list = array(document.subject, 'subject', fail);
  if (list.length === 0) throw fail('subject is empty');
  if (list.length > MAX_STATEMENT_SUBJECTS) {
    throw fail(
      `it has ${list.length} subjects, more than the ${MAX_STATEMENT_SUBJECTS} vouch examines`,
    );
  }
  const subjects = list.map((raw, i) => subject(raw, `subject[${i}]`, fail));
  const raw = document.predicate;
  let predicate: JsonObject | string | null;
  if (raw === undefined || raw === null) predicate = null;
  else if (typeof raw === 'string' || isJsonObject(raw)) predicate = raw;
  else throw fail(`predicate must be an object, found ${describe(raw)}`);
  return { type, subjects, predicateType, predicate, document };
}

function subject(raw: JsonValue, path: string, fail: Fail): StatementSubject {
  const entry = object(raw, path, fail);
  checkFields(entry, SUBJECT_FIELDS, path, fail);
  for (const field of ['name', 'uri', 'content', 'downloadLocation', 'mediaType']) {
    if (Object.hasOwn(entry, field)) string(entry[field], `${path}.${field}`, fail);
  }
  if (Object.hasOwn(entry, 'annotations')) object(entry.annotations, `${path}.annotations`, fail);
  const digests = object(entry.digest, `${path}.digest`, fail);
  const digest: Record<string, string> = {};
  for (const [algorithm, hex] of Object.entries(digests)) {
    digest[algorithm] = string(hex, `${path}.digest[${quote(algorithm)}]`, fail);
  }
  if (Object.keys(digest).length === 0) throw fail(`${path}.digest is empty`);
  return {
    ...(typeof entry.name === 'string' ? { name: entry.name } : {}),
    digest,
  };
}

/**
 * Whether some subject names `digest`: its digest map has the image's
 * algorithm with exactly the image's hex. cosign compares `"sha256:" +
 * subject.digest.sha256` with the image digest
 * (pkg/cosign/verifiers.go IntotoSubjectClaimVerifier); names are not
 * compared (subjects match purely by digest, statement.md).
 */
export function statementNames(statement: Statement, digest: Digest): boolean {
  const algorithm = digestAlgorithm(digest);
  const hex = digestHex(digest);
  return statement.subjects.some(
    (entry) => Object.hasOwn(entry.digest, algorithm) && entry.digest[algorithm] === hex,
  );
}
