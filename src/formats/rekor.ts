/**
 * What Rekor leaves on a cosign signature: the `dev.sigstore.cosign/bundle`
 * layer annotation (cosign pkg/cosign/bundle/rekor.go), and the log entry body
 * inside it (sigstore/rekor pkg/types; docs/formats.md "Rekor entries and
 * Signed Entry Timestamps").
 *
 * The annotation is cosign's `RekorBundle`:
 *
 * ```json
 * {"SignedEntryTimestamp":"<base64 signature>",
 *  "Payload":{"body":"<base64 entry>","integratedTime":N,"logIndex":N,"logID":"<hex>"}}
 * ```
 *
 * It is read as strictly as containers/image reads it
 * (`signature/internal/rekor_set.go` `UntrustedRekorSET`,
 * `UntrustedRekorPayload`): exactly those fields at each level, no duplicate
 * keys anywhere (two readers must not see two different bundles), base64 as
 * Go's `[]byte` decoding reads it, and integers that are integers. Beyond
 * containers/image, the integers must be non-negative and exactly
 * representable (at most 2^53 - 1), since a rounded number would be a
 * different SET payload.
 *
 * The body is the canonicalized Rekor entry. Only `hashedrekord` 0.0.1 binds
 * a signature over a payload to a key, and is what cosign writes for image
 * signatures; its fields are read exactly as Rekor canonicalizes them
 * (`sigstore/rekor pkg/types/hashedrekord/v0.0.1`). Other kinds are reported
 * as such, for the caller to refuse.
 *
 * Errors: VouchError `denied` TLOG_BUNDLE_INVALID, naming what is wrong.
 */
import { denied } from '../core/errors.ts';
import { decodeStdBase64 } from '../core/base64.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  parseStrictJsonText,
  StrictJsonError,
} from '../core/strict-json.ts';

/** The parsed `dev.sigstore.cosign/bundle` annotation. Nothing in it is verified yet. */
export interface RekorBundle {
  /** The log's signature over the canonical JSON of `payload` (ECDSA: ASN.1 DER). */
  readonly signedEntryTimestamp: Uint8Array;
  readonly payload: RekorBundlePayload;
}

/** Rekor's `LogEntryAnon` without its verification: what the SET signs. */
export interface RekorBundlePayload {
  /** The base64 text of the entry body, exactly as given (the SET covers this text). */
  readonly body: string;
  /** Seconds since the Unix epoch at which the log says it integrated the entry. */
  readonly integratedTime: number;
  readonly logIndex: number;
  /** Hex SHA-256 of the log's public key (DER SubjectPublicKeyInfo), as given. */
  readonly logID: string;
}

/** A `hashedrekord` 0.0.1 entry: this signature of a payload with that hash, by this key. */
export interface HashedRekordEntry {
  readonly kind: 'hashedrekord';
  readonly apiVersion: '0.0.1';
  /** `spec.data.hash.algorithm`, e.g. `sha256`. */
  readonly hashAlgorithm: string;
  /** `spec.data.hash.value`: the hex digest of the signed payload, as given. */
  readonly hashValue: string;
  /** `spec.signature.content`, decoded: the signature bytes. */
  readonly signature: Uint8Array;
  /** `spec.signature.publicKey.content`, decoded: a PEM public key or certificate. */
  readonly publicKey: Uint8Array;
}

/** An entry of another kind or version: the log says something, but not about a hashedrekord. */
export interface OtherRekorEntry {
  readonly kind: string;
  readonly apiVersion: string;
  readonly unsupported: true;
}

export type RekorEntry = HashedRekordEntry | OtherRekorEntry;

/** Parses the bundle annotation text. Throws `denied` TLOG_BUNDLE_INVALID. */
export function parseRekorBundle(annotation: string): RekorBundle {
  let document: JsonValue;
  try {
    document = parseStrictJsonText(annotation);
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    throw bundleError(`it is not valid JSON: ${error.message}`, error);
  }
  const top = exactFields(document, ['SignedEntryTimestamp', 'Payload'], 'the bundle');
  const set = base64Field(top, 'SignedEntryTimestamp', 'the bundle');
  if (set.byteLength === 0) throw bundleError('SignedEntryTimestamp is empty');
  const payload = exactFields(
    top.Payload,
    ['body', 'integratedTime', 'logIndex', 'logID'],
    'the bundle Payload',
  );
  const body = payload.body;
  if (typeof body !== 'string') {
    throw bundleError(`Payload.body must be a base64 string, found ${describe(body)}`);
  }
  if (decodeStdBase64(body) === undefined) {
    throw bundleError('Payload.body is not standard base64');
  }
  const logID = payload.logID;
  if (typeof logID !== 'string') {
    throw bundleError(`Payload.logID must be a string, found ${describe(logID)}`);
  }
  return {
    signedEntryTimestamp: set,
    payload: {
      body,
      integratedTime: integerField(payload, 'integratedTime'),
      logIndex: integerField(payload, 'logIndex'),
      logID,
    },
  };
}

/**
 * Parses a log entry body (the decoded `Payload.body`). Returns the
 * hashedrekord 0.0.1 fields, or the kind and version of any other entry.
 * Throws `denied` TLOG_BUNDLE_INVALID for a body that is not a Rekor entry.
 */
export function parseRekorEntry(body: Uint8Array): RekorEntry {
  let document: JsonValue;
  try {
    document = parseStrictJson(body);
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    throw bundleError(`the log entry body is not valid JSON: ${error.message}`, error);
  }
  if (!isJsonObject(document)) {
    throw bundleError(`the log entry body must be a JSON object, found ${describe(document)}`);
  }
  const { kind, apiVersion } = document;
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
    throw bundleError('the log entry body has no string "kind" and "apiVersion"');
  }
  if (kind !== 'hashedrekord' || apiVersion !== '0.0.1') {
    return { kind, apiVersion, unsupported: true };
  }
  const entry = exactFields(document, ['apiVersion', 'kind', 'spec'], 'the hashedrekord entry');
  const spec = exactFields(entry.spec, ['data', 'signature'], 'the hashedrekord spec');
  const data = exactFields(spec.data, ['hash'], 'the hashedrekord spec.data');
  const hash = exactFields(data.hash, ['algorithm', 'value'], 'the hashedrekord spec.data.hash');
  const signature = exactFields(
    spec.signature,
    ['content', 'publicKey'],
    'the hashedrekord spec.signature',
  );
  const publicKey = exactFields(
    signature.publicKey,
    ['content'],
    'the hashedrekord spec.signature.publicKey',
  );
  const { algorithm, value } = hash;
  if (typeof algorithm !== 'string' || typeof value !== 'string') {
    throw bundleError('the hashedrekord spec.data.hash algorithm and value must be strings');
  }
  return {
    kind,
    apiVersion,
    hashAlgorithm: algorithm,
    hashValue: value,
    signature: base64Field(signature, 'content', 'the hashedrekord spec.signature'),
    publicKey: base64Field(publicKey, 'content', 'the hashedrekord spec.signature.publicKey'),
  };
}

function bundleError(problem: string, cause?: unknown) {
  return denied('TLOG_BUNDLE_INVALID', `the Rekor bundle annotation is malformed: ${problem}`, {
    cause,
  });
}

function exactFields(
  value: JsonValue | undefined,
  fields: readonly string[],
  what: string,
): JsonObject {
  if (!isJsonObject(value)) {
    throw bundleError(`${what} must be a JSON object, found ${describe(value)}`);
  }
  const keys = Object.keys(value);
  const unknown = keys.filter((key) => !fields.includes(key));
  if (unknown.length > 0) {
    throw bundleError(`${what} has unexpected field ${JSON.stringify(unknown[0])}`);
  }
  const missing = fields.filter((field) => !Object.hasOwn(value, field));
  if (missing.length > 0) {
    throw bundleError(`${what} has no ${JSON.stringify(missing[0])} field`);
  }
  return value;
}

function base64Field(object: JsonObject, field: string, what: string): Uint8Array {
  const value = object[field];
  if (typeof value !== 'string') {
    throw bundleError(`${what} field ${field} must be a base64 string, found ${describe(value)}`);
  }
  const bytes = decodeStdBase64(value);
  if (bytes === undefined) throw bundleError(`${what} field ${field} is not standard base64`);
  return bytes;
}

function integerField(object: JsonObject, field: string): number {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw bundleError(
      `Payload.${field} must be a non-negative integer below 2^53, found ${describe(value)}`,
    );
  }
  return value;
}

function describe(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  return JSON.stringify(value);
}
