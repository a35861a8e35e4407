/**
 * The JSON of the registry API extension for signatures that OpenShift's
 * integrated registry (and Quay) serve, as containers/image reads and writes
 * it (https://github.com/containers/image/blob/main/docker/docker_client.go
 * `extensionSignature`, `extensionSignatureList`, `getExtensionsSignatures`;
 * docker/docker_image_dest.go `putSignaturesToAPIExtension`):
 *
 *   GET  /extensions/v2/<repo>/signatures/<digest>
 *        {"signatures":[{"schemaVersion":2,"name":"<digest>@<id>","type":"atomic","content":"<base64>"}, ...]}
 *   PUT  the same path, one signature object as the body, answered 201.
 *
 * Only entries with schemaVersion 2 and type "atomic" are signatures
 * (`appendSignaturesFromAPIExtension`); others are kept in the parse but
 * skipped by `atomicSignatures`. Reading is stricter than Go's
 * encoding/json, on purpose, where two readers could see different lists:
 * duplicate keys, a case variant of a field name, null or a wrong type
 * where a field is, and base64 Go would not decode are refused; unknown
 * fields are ignored as Go ignores them (servers may add their own).
 */
import { decodeStdBase64, encodeStdBase64 } from '../../core/base64.ts';
import { denied, invalid } from '../../core/errors.ts';
import { type JsonValue, parseStrictJson, StrictJsonError } from '../../core/strict-json.ts';
import { type Digest, isDigest } from '../../oci/digest.ts';
import type {} from '../error-codes.ts';
import { array, checkFields, describe, object, string } from '../json-fields.ts';

/** containers/image `extensionSignatureSchemaVersion`. */
export const EXTENSION_SIGNATURE_SCHEMA_VERSION = 2;
/** containers/image `extensionSignatureTypeAtomic`. */
export const EXTENSION_SIGNATURE_TYPE_ATOMIC = 'atomic';
/** The most a signature list may be (containers/image iolimits `MaxSignatureListBodySize`). */
export const MAX_SIGNATURE_LIST_BYTES = 4 * 1024 * 1024;

export interface ExtensionSignature {
  readonly schemaVersion: number;
  readonly name: string;
  readonly type: string;
  readonly content: Uint8Array;
}

/**
 * Parses a GET answer. Missing or null `signatures` is an empty list, as in
 * Go. `where` names the registry and image in messages. Throws `denied`
 * SIGNATURE_EXTENSION_INVALID.
 */
export function parseSignatureList(bytes: Uint8Array, where: string): ExtensionSignature[] {
  const fail = (problem: string) =>
    denied('SIGNATURE_EXTENSION_INVALID', `${where}: invalid signature list: ${problem}`);
  if (bytes.byteLength > MAX_SIGNATURE_LIST_BYTES) {
    throw fail(`${bytes.byteLength} bytes, more than the ${MAX_SIGNATURE_LIST_BYTES} accepted`);
  }
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes);
  } catch (error) {
    if (error instanceof StrictJsonError) throw fail(error.message);
    throw error;
  }
  const top = object(document, 'the list', fail);
  checkFields(top, { required: [], optional: ['signatures'], unknown: 'ignore' }, 'the list', fail);
  const list = top['signatures'];
  if (list === undefined || list === null) return [];
  return array(list, 'signatures', fail).map((entry, i) => {
    const path = `signatures[${i}]`;
    const signature = object(entry, path, fail);
    checkFields(
      signature,
      { required: ['schemaVersion', 'name', 'type', 'content'], unknown: 'ignore' },
      path,
      fail,
    );
    const schemaVersion = signature['schemaVersion'];
    if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion)) {
      throw fail(`${path}.schemaVersion must be an integer, found ${describe(schemaVersion)}`);
    }
    const content = decodeStdBase64(string(signature['content'], `${path}.content`, fail));
    if (content === undefined) throw fail(`${path}.content is not standard base64`);
    return {
      schemaVersion,
      name: string(signature['name'], `${path}.name`, fail),
      type: string(signature['type'], `${path}.type`, fail),
      content,
    };
  });
}

/** The signature blobs of a list: its schemaVersion 2 "atomic" entries, in order. */
export function atomicSignatures(list: readonly ExtensionSignature[]): Uint8Array[] {
  return list.filter(isAtomic).map((signature) => signature.content);
}

export function isAtomic(signature: ExtensionSignature): boolean {
  return (
    signature.schemaVersion === EXTENSION_SIGNATURE_SCHEMA_VERSION &&
    signature.type === EXTENSION_SIGNATURE_TYPE_ATOMIC
  );
}

/**
 * The PUT body for one signature, byte for byte as Go's `json.Marshal` of
 * `extensionSignature` writes it. `id` is the 32 lowercase hex digits of 16
 * random bytes (the caller draws them): the name is `<digest>@<id>`.
 */
export function buildExtensionSignature(
  digest: Digest,
  content: Uint8Array,
  id: string,
): { readonly name: string; readonly body: Uint8Array } {
  if (!isDigest(digest)) throw invalid('UNSUPPORTED_DIGEST', `not a digest: ${String(digest)}`);
  if (!/^[0-9a-f]{32}$/.test(id)) {
    throw new RangeError('a signature id is 32 lowercase hexadecimal digits');
  }
  const name = `${digest}@${id}`;
  // Every value is ASCII without <, > or &, so Go's HTML escaping changes nothing.
  const json = `{"schemaVersion":${EXTENSION_SIGNATURE_SCHEMA_VERSION},"name":${JSON.stringify(name)},"type":"${EXTENSION_SIGNATURE_TYPE_ATOMIC}","content":"${encodeStdBase64(content)}"}`;
  return { name, body: new TextEncoder().encode(json) };
}
