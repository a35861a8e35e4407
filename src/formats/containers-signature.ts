/**
 * containers/image's own file format for a sigstore signature, used in its
 * `dir:` layouts (`signature-N` files beside `manifest.json`) and lookaside
 * storage: the byte 0x00, the ASCII format name `sigstore-json`, a newline,
 * then JSON `{"mimeType": ..., "payload": <base64>, "annotations": {...}}`
 * (containers/image@df7e80d2:internal/signature/signature.go Blob/FromBlob,
 * internal/signature/sigstore.go). The fields are exactly the `.sig` layer's
 * media type, blob and annotations, so a parsed file turns into the layer
 * cosign would have stored.
 *
 * The older GPG "simple signing" files (no 0x00 marker) are not read here.
 */
import { denied } from '../core/errors.ts';
import { digestOf } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { decodeStdBase64 } from '../core/base64.ts';
import {
  isJsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../core/strict-json.ts';

export const SIGSTORE_FORMAT = 'sigstore-json';

export interface ContainersSigstoreSignature {
  readonly mimeType: string;
  /** The payload bytes (the `.sig` layer blob). */
  readonly payload: Uint8Array;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * Parses a containers/image signature file holding a sigstore signature.
 * `where` names it for messages. Throws VouchError `denied`
 * CONTAINERS_SIGNATURE_INVALID.
 */
export function parseContainersSignature(
  bytes: Uint8Array,
  where = 'signature file',
): ContainersSigstoreSignature {
  const fail = (problem: string, cause?: unknown) =>
    denied('CONTAINERS_SIGNATURE_INVALID', `invalid signature file ${where}: ${problem}`, {
      cause,
    });
  if (bytes.byteLength === 0) throw fail('it is empty');
  if (bytes[0] !== 0x00) {
    throw fail(
      `it starts with byte 0x${(bytes[0] as number).toString(16).padStart(2, '0')}, not 0x00 (a GPG simple-signing signature?)`,
    );
  }
  const newline = bytes.indexOf(0x0a, 1);
  if (newline === -1) throw fail('the format name is not followed by a newline');
  const format = bytes.subarray(1, newline);
  if (!format.every((b) => b >= 0x20 && b < 0x7f))
    throw fail('the format name is not printable ASCII');
  const formatName = new TextDecoder().decode(format);
  if (formatName !== SIGSTORE_FORMAT) {
    throw fail(
      `format is ${JSON.stringify(formatName)}, expected ${JSON.stringify(SIGSTORE_FORMAT)}`,
    );
  }
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes.subarray(newline + 1));
  } catch (error) {
    if (error instanceof StrictJsonError) throw fail(error.message, error);
    throw error;
  }
  if (!isJsonObject(document)) throw fail('expected a JSON object');
  for (const key of Object.keys(document)) {
    if (key !== 'mimeType' && key !== 'payload' && key !== 'annotations') {
      throw fail(`unknown key ${JSON.stringify(key)}`);
    }
  }
  const { mimeType, payload, annotations } = document;
  if (typeof mimeType !== 'string') throw fail('mimeType must be a string');
  if (typeof payload !== 'string') throw fail('payload must be a base64 string');
  // Go decodes []byte fields with base64.StdEncoding.
  const payloadBytes = decodeStdBase64(payload);
  if (payloadBytes === undefined) throw fail('payload is not standard base64');
  // Null prototype: an annotation named __proto__ is just a key.
  const out = Object.create(null) as Record<string, string>;
  if (annotations !== undefined && annotations !== null) {
    if (!isJsonObject(annotations)) throw fail('annotations must be an object of strings');
    for (const [key, value] of Object.entries(annotations)) {
      if (typeof value !== 'string')
        throw fail(`annotation ${JSON.stringify(key)} must be a string`);
      out[key] = value;
    }
  }
  return {
    mimeType,
    payload: payloadBytes,
    annotations: out,
  };
}

/** The `.sig` layer descriptor this signature corresponds to. */
export function layerOfContainersSignature(signature: ContainersSigstoreSignature): Descriptor {
  return {
    mediaType: signature.mimeType,
    digest: digestOf(signature.payload),
    size: signature.payload.byteLength,
    annotations: signature.annotations,
  };
}
