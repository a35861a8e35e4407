/**
 * The Notary Project plugin contract 1.0 for signing
 * (notaryproject/specifications `specs/plugin-extensibility.md`; the Go
 * types of notation-plugin-framework-go v1.0.0 `plugin/`, which notation-go
 * v1.3 runs in `plugin/plugin.go` and `signer/plugin.go`): the JSON each
 * command takes on stdin and gives on stdout, and the error a failing plugin
 * writes on stderr. Pure: src/notation/plugin.ts runs the executable.
 *
 * Requests are what Go's json.Marshal writes for the framework's structs
 * (`[]byte` as standard base64, `omitempty` fields left out). Responses are
 * read strictly where Go is lenient, so a plugin's answer means one thing:
 * strict JSON (duplicate keys refused, case variants of a field refused),
 * every field the spec calls required present and of its type, base64 in
 * Go's standard spelling; unknown fields are ignored, as Go ignores them.
 * Every refusal is `denied` NOTATION_PLUGIN_RESPONSE_INVALID naming the
 * plugin and the command: a plugin whose answer does not hold up is not
 * signed with.
 */
import { decodeStdBase64, encodeStdBase64 } from '../../core/base64.ts';
import { denied } from '../../core/errors.ts';
import { type JsonObject, type JsonValue, parseStrictJson } from '../../core/strict-json.ts';
import { array, checkFields, object, quote, string, type Fail } from '../json-fields.ts';
import {
  NOTATION_PAYLOAD_MEDIA_TYPE,
  type NotationEnvelopeMediaType,
  type NotationSignatureAlgorithm,
} from './envelope.ts';

/** plugin.ContractVersion: the only contract notation 1.3 speaks. */
export const PLUGIN_CONTRACT_VERSION = '1.0';

export type PluginCommand =
  | 'get-plugin-metadata'
  | 'describe-key'
  | 'generate-signature'
  | 'generate-envelope'
  | 'verify-signature';

export const CAPABILITY_SIGNATURE_GENERATOR = 'SIGNATURE_GENERATOR.RAW';
export const CAPABILITY_ENVELOPE_GENERATOR = 'SIGNATURE_GENERATOR.ENVELOPE';

/** `describe-key`'s keySpec → the algorithm (proto.DecodeKeySpec; signature-specification.md "Algorithm Selection"). */
const KEY_SPECS: Readonly<Record<string, NotationSignatureAlgorithm>> = {
  'RSA-2048': 'PS256',
  'RSA-3072': 'PS384',
  'RSA-4096': 'PS512',
  'EC-256': 'ES256',
  'EC-384': 'ES384',
  'EC-521': 'ES512',
};

/** `generate-signature`'s signingAlgorithm → the algorithm (plugin.SignatureAlgorithm values). */
const SIGNING_ALGORITHMS: Readonly<Record<string, NotationSignatureAlgorithm>> = {
  'RSASSA-PSS-SHA-256': 'PS256',
  'RSASSA-PSS-SHA-384': 'PS384',
  'RSASSA-PSS-SHA-512': 'PS512',
  'ECDSA-SHA-256': 'ES256',
  'ECDSA-SHA-384': 'ES384',
  'ECDSA-SHA-512': 'ES512',
};

const HASH_ALGORITHMS: Readonly<Record<NotationSignatureAlgorithm, string>> = {
  PS256: 'SHA-256',
  PS384: 'SHA-384',
  PS512: 'SHA-512',
  ES256: 'SHA-256',
  ES384: 'SHA-384',
  ES512: 'SHA-512',
};

const keySpecOf = (algorithm: NotationSignatureAlgorithm): string =>
  Object.entries(KEY_SPECS).find(([, a]) => a === algorithm)?.[0] ?? '';

export type PluginConfig = Readonly<Record<string, string>>;

/** `pluginConfig` is `omitempty`: an empty map is left out. */
export const config = (pluginConfig: PluginConfig) =>
  Object.keys(pluginConfig).length === 0 ? {} : { pluginConfig: { ...pluginConfig } };

export function metadataRequest(pluginConfig: PluginConfig) {
  return config(pluginConfig);
}

export function describeKeyRequest(keyId: string, pluginConfig: PluginConfig) {
  return { contractVersion: PLUGIN_CONTRACT_VERSION, keyId, ...config(pluginConfig) };
}

/** The payload to sign goes base64 encoded (for JWS, a second time: the spec's "double encoded"). */
export function generateSignatureRequest(
  keyId: string,
  algorithm: NotationSignatureAlgorithm,
  payload: Uint8Array,
  pluginConfig: PluginConfig,
) {
  return {
    contractVersion: PLUGIN_CONTRACT_VERSION,
    keyId,
    keySpec: keySpecOf(algorithm),
    hashAlgorithm: HASH_ALGORITHMS[algorithm],
    payload: encodeStdBase64(payload),
    ...config(pluginConfig),
  };
}

export function generateEnvelopeRequest(
  keyId: string,
  envelopeType: NotationEnvelopeMediaType,
  payload: Uint8Array,
  expirySeconds: number | undefined,
  pluginConfig: PluginConfig,
) {
  return {
    contractVersion: PLUGIN_CONTRACT_VERSION,
    keyId,
    payloadType: NOTATION_PAYLOAD_MEDIA_TYPE,
    signatureEnvelopeType: envelopeType,
    payload: encodeStdBase64(payload),
    ...(expirySeconds === undefined || expirySeconds === 0
      ? {}
      : { expiryDurationInSeconds: expirySeconds }),
    ...config(pluginConfig),
  };
}

export interface PluginMetadata {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  readonly url: string;
  readonly supportedContractVersions: readonly string[];
  readonly capabilities: readonly string[];
}

/** Answers are small JSON: a few levels deep (a map of annotations in an object). */
const RESPONSE_MAX_DEPTH = 4;

export function responseFailure(plugin: string, command: PluginCommand): Fail {
  return (problem) =>
    denied(
      'NOTATION_PLUGIN_RESPONSE_INVALID',
      `plugin ${quote(plugin)} answered ${command} with ${problem}`,
    );
}

export function document(bytes: Uint8Array, fail: Fail): JsonObject {
  let parsed: JsonValue;
  try {
    parsed = parseStrictJson(bytes, { maxDepth: RESPONSE_MAX_DEPTH });
  } catch (error) {
    throw fail(`something that is not strict JSON (${(error as Error).message})`);
  }
  return object(parsed, 'the answer', fail);
}

export function strings(value: JsonValue | undefined, path: string, fail: Fail): string[] {
  return array(value, path, fail).map((item, i) => string(item, `${path}[${i}]`, fail));
}

function base64Field(value: JsonValue | undefined, path: string, fail: Fail): Uint8Array {
  const decoded = decodeStdBase64(string(value, path, fail));
  if (decoded === undefined) throw fail(`${path} that is not standard base64`);
  return decoded;
}

function stringMap(value: JsonValue | undefined, path: string, fail: Fail): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(object(value, path, fail))) {
    out[key] = string(item, `${path}[${quote(key)}]`, fail);
  }
  return out;
}

/**
 * `get-plugin-metadata` as plugin.go `validate` checks it: every field
 * present and not empty, contract 1.0 among the supported ones, and the
 * name the plugin's directory has (`GetMetadata`).
 */
export function parseMetadataResponse(bytes: Uint8Array, plugin: string): PluginMetadata {
  const fail = responseFailure(plugin, 'get-plugin-metadata');
  const answer = document(bytes, fail);
  const fields = ['name', 'description', 'version', 'url', 'supportedContractVersions'] as const;
  checkFields(
    answer,
    { required: [...fields, 'capabilities'], unknown: 'ignore' },
    'the answer',
    fail,
  );
  const text = (field: (typeof fields)[number]) => {
    const value = string(answer[field], field, fail);
    if (value === '') throw fail(`an empty ${field}`);
    return value;
  };
  const metadata: PluginMetadata = {
    name: text('name'),
    description: text('description'),
    version: text('version'),
    url: text('url'),
    supportedContractVersions: strings(
      answer.supportedContractVersions,
      'supportedContractVersions',
      fail,
    ),
    capabilities: strings(answer.capabilities, 'capabilities', fail),
  };
  if (metadata.capabilities.length === 0) throw fail('no capabilities');
  if (!metadata.supportedContractVersions.includes(PLUGIN_CONTRACT_VERSION)) {
    throw fail(
      `supported contract versions ${JSON.stringify(metadata.supportedContractVersions)}, which lack ${PLUGIN_CONTRACT_VERSION}`,
    );
  }
  if (metadata.name !== plugin) {
    throw fail(
      `the name ${quote(metadata.name)}: the executable of plugin ${quote(metadata.name)} must be notation-${metadata.name} in plugins/${metadata.name}/`,
    );
  }
  return metadata;
}

/** `describe-key`: the same key ID (signer/plugin.go getKeySpec), a key spec notation knows. */
export function parseDescribeKeyResponse(
  bytes: Uint8Array,
  plugin: string,
  keyId: string,
): NotationSignatureAlgorithm {
  const fail = responseFailure(plugin, 'describe-key');
  const answer = document(bytes, fail);
  checkFields(answer, { required: ['keyId', 'keySpec'], unknown: 'ignore' }, 'the answer', fail);
  const answeredId = string(answer.keyId, 'keyId', fail);
  if (answeredId !== keyId) {
    throw fail(`key ID ${quote(answeredId)}, not the ${quote(keyId)} asked for`);
  }
  const keySpec = string(answer.keySpec, 'keySpec', fail);
  const algorithm = KEY_SPECS[keySpec];
  if (algorithm === undefined) {
    throw fail(`key spec ${quote(keySpec)}, which is none of ${Object.keys(KEY_SPECS).join(', ')}`);
  }
  return algorithm;
}

export interface PluginSignature {
  readonly signature: Uint8Array;
  readonly algorithm: NotationSignatureAlgorithm;
  /** DER certificates, leaf first, as the plugin sent them (checked by the envelope builders). */
  readonly certificateChain: readonly Uint8Array[];
}

/**
 * `generate-signature`: the same key ID (pluginPrimitiveSigner.Sign), and the
 * signing algorithm the key spec calls for (the spec's step 4.1; notation-go
 * leaves it to the envelope's own check).
 */
export function parseGenerateSignatureResponse(
  bytes: Uint8Array,
  plugin: string,
  keyId: string,
  algorithm: NotationSignatureAlgorithm,
): PluginSignature {
  const fail = responseFailure(plugin, 'generate-signature');
  const answer = document(bytes, fail);
  checkFields(
    answer,
    { required: ['keyId', 'signature', 'signingAlgorithm', 'certificateChain'], unknown: 'ignore' },
    'the answer',
    fail,
  );
  const answeredId = string(answer.keyId, 'keyId', fail);
  if (answeredId !== keyId) {
    throw fail(`key ID ${quote(answeredId)}, not the ${quote(keyId)} asked for`);
  }
  const name = string(answer.signingAlgorithm, 'signingAlgorithm', fail);
  const signed = SIGNING_ALGORITHMS[name];
  if (signed === undefined) {
    throw fail(
      `signing algorithm ${quote(name)}, which is none of ${Object.keys(SIGNING_ALGORITHMS).join(', ')}`,
    );
  }
  if (signed !== algorithm) {
    throw fail(
      `signing algorithm ${name}, but its key spec ${keySpecOf(algorithm)} calls for another`,
    );
  }
  const signature = base64Field(answer.signature, 'signature', fail);
  if (signature.byteLength === 0) throw fail('an empty signature');
  const chain = array(answer.certificateChain, 'certificateChain', fail).map((entry, i) =>
    base64Field(entry, `certificateChain[${i}]`, fail),
  );
  if (chain.length === 0) throw fail('an empty certificate chain');
  return { signature, algorithm: signed, certificateChain: chain };
}

export interface PluginEnvelope {
  readonly envelope: Uint8Array;
  /** Annotations for the signature manifest. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** `generate-envelope`: the envelope type asked for (signer/plugin.go generateSignatureEnvelope). */
export function parseGenerateEnvelopeResponse(
  bytes: Uint8Array,
  plugin: string,
  envelopeType: NotationEnvelopeMediaType,
): PluginEnvelope {
  const fail = responseFailure(plugin, 'generate-envelope');
  const answer = document(bytes, fail);
  checkFields(
    answer,
    {
      required: ['signatureEnvelope', 'signatureEnvelopeType'],
      optional: ['annotations'],
      unknown: 'ignore',
    },
    'the answer',
    fail,
  );
  const type = string(answer.signatureEnvelopeType, 'signatureEnvelopeType', fail);
  if (type !== envelopeType) {
    throw fail(`an envelope of type ${quote(type)}, not the ${envelopeType} asked for`);
  }
  const envelope = base64Field(answer.signatureEnvelope, 'signatureEnvelope', fail);
  return {
    envelope,
    annotations:
      answer.annotations === undefined || answer.annotations === null
        ? {}
        : stringMap(answer.annotations, 'annotations', fail),
  };
}

/** The error a plugin writes on stderr (plugin.Error), when it is one. */
export interface PluginError {
  readonly errorCode: string;
  readonly errorMessage?: string;
}

/** The plugin's error response, or undefined when stderr does not hold one. */
export function parsePluginError(stderr: Uint8Array): PluginError | undefined {
  let parsed: JsonValue;
  try {
    parsed = parseStrictJson(stderr, { maxDepth: RESPONSE_MAX_DEPTH });
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const { errorCode, errorMessage } = parsed as JsonObject;
  if (typeof errorCode !== 'string') return undefined;
  return {
    errorCode,
    ...(typeof errorMessage === 'string' && errorMessage !== '' ? { errorMessage } : {}),
  };
}
