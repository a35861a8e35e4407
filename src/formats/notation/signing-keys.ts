/**
 * notation's signing keys, `{NOTATION_CONFIG}/signingkeys.json`, read as
 * notation-go v1.3 `config/keys.go` reads it (`LoadSigningKeys`,
 * `validateKeys`) and resolved as notation `internal/cmd/signer.go`
 * `GetSigner` and `pkg/configutil` `ResolveKey` resolve `--key NAME`:
 *
 * ```json
 * {"default": "mykey",
 *  "keys": [{"name": "mykey", "keyPath": "/…/mykey.key", "certPath": "/…/mykey.crt"},
 *           {"name": "kms", "id": "arn:…", "pluginName": "com.example.kms",
 *            "pluginConfig": {"region": "eu-west-1"}}]}
 * ```
 *
 * A key with `keyPath` or `certPath` is a local key pair (Go allocates the
 * embedded `X509KeyPair` as soon as one of its fields is present, and
 * `GetSigner` tries it first); otherwise `id` and `pluginName` name a
 * plugin key. Names are unique and not empty; `default`, when present, names
 * one of them. Strict JSON with Go's field rules (unknown keys ignored, case
 * variants of a known key refused: Go would read them as that field).
 */
import { invalid } from '../../core/errors.ts';
import { parseStrictJson, type JsonValue } from '../../core/strict-json.ts';
import { array, checkFields, object, quote, string, type Fail } from '../json-fields.ts';

/** A signingkeys.json is a few kilobytes. */
export const MAX_SIGNING_KEYS_BYTES = 1024 * 1024;

export type SigningKeyEntry =
  | {
      readonly kind: 'files';
      readonly name: string;
      readonly keyPath: string;
      readonly certPath: string;
    }
  | {
      readonly kind: 'plugin';
      readonly name: string;
      readonly keyId: string;
      readonly plugin: string;
      readonly pluginConfig: Readonly<Record<string, string>>;
    };

export interface SigningKeys {
  readonly default?: string;
  readonly keys: readonly RawKey[];
}

interface RawKey {
  readonly name: string;
  readonly keyPath?: string;
  readonly certPath?: string;
  readonly id?: string;
  readonly pluginName?: string;
  readonly pluginConfig?: Readonly<Record<string, string>>;
}

/** Parses signingkeys.json (module comment); throws `invalid` NOTATION_SIGNING_KEYS_INVALID. */
export function parseSigningKeys(bytes: Uint8Array, source: string): SigningKeys {
  const fail: Fail = (problem) =>
    invalid('NOTATION_SIGNING_KEYS_INVALID', `malformed ${source}: ${problem}`);
  let parsed: JsonValue;
  try {
    parsed = parseStrictJson(bytes, { maxDepth: 4 });
  } catch (error) {
    throw fail(`not strict JSON: ${(error as Error).message}`);
  }
  const document = object(parsed, 'the file', fail);
  checkFields(
    document,
    { required: [], optional: ['default', 'keys'], unknown: 'ignore' },
    'the file',
    fail,
  );
  const keys =
    document.keys === undefined || document.keys === null
      ? []
      : array(document.keys, 'keys', fail).map((item, i) => rawKey(item, `keys[${i}]`, fail));
  const names = new Set<string>();
  for (const key of keys) {
    if (key.name === '') throw fail('key name cannot be empty');
    if (names.has(key.name)) throw fail(`multiple keys with name ${quote(key.name)} found`);
    names.add(key.name);
  }
  let defaultKey: string | undefined;
  if (document.default !== undefined && document.default !== null) {
    defaultKey = string(document.default, 'default', fail);
    if (defaultKey === '') throw fail('default key name cannot be empty');
    if (!names.has(defaultKey)) throw fail(`default key ${quote(defaultKey)} not found`);
  }
  return { ...(defaultKey === undefined ? {} : { default: defaultKey }), keys };
}

const KEY_FIELDS = ['name', 'keyPath', 'certPath', 'id', 'pluginName', 'pluginConfig'] as const;

function rawKey(value: JsonValue, path: string, fail: Fail): RawKey {
  const entry = object(value, path, fail);
  checkFields(
    entry,
    { required: ['name'], optional: KEY_FIELDS.slice(1), unknown: 'ignore' },
    path,
    fail,
  );
  const text = (field: (typeof KEY_FIELDS)[number]) => {
    const item = entry[field];
    return item === undefined || item === null ? undefined : string(item, `${path}.${field}`, fail);
  };
  let pluginConfig: Record<string, string> | undefined;
  if (entry.pluginConfig !== undefined && entry.pluginConfig !== null) {
    pluginConfig = {};
    for (const [key, item] of Object.entries(
      object(entry.pluginConfig, `${path}.pluginConfig`, fail),
    )) {
      pluginConfig[key] = string(item, `${path}.pluginConfig[${quote(key)}]`, fail);
    }
  }
  const keyPath = text('keyPath');
  const certPath = text('certPath');
  const id = text('id');
  const pluginName = text('pluginName');
  return {
    name: string(entry.name, `${path}.name`, fail),
    ...(keyPath === undefined ? {} : { keyPath }),
    ...(certPath === undefined ? {} : { certPath }),
    ...(id === undefined ? {} : { id }),
    ...(pluginName === undefined ? {} : { pluginName }),
    ...(pluginConfig === undefined ? {} : { pluginConfig }),
  };
}

/**
 * The key `name` names, or the default key when `name` is undefined.
 * Throws `invalid` NOTATION_SIGNING_KEY_NOT_FOUND when there is no such key
 * (or no default), NOTATION_SIGNING_KEYS_INVALID for an entry notation
 * could not sign with.
 */
export function resolveSigningKey(
  keys: SigningKeys,
  name: string | undefined,
  source: string,
): SigningKeyEntry {
  const wanted = name ?? keys.default;
  if (wanted === undefined) {
    throw invalid(
      'NOTATION_SIGNING_KEY_NOT_FOUND',
      `no signing key given and no default key set in ${source}: name one with --key (notation key add, notation key update --default)`,
    );
  }
  const key = keys.keys.find((k) => k.name === wanted);
  if (key === undefined) {
    throw invalid(
      'NOTATION_SIGNING_KEY_NOT_FOUND',
      `signing key ${quote(wanted)} not found in ${source}`,
    );
  }
  const bad = (problem: string) =>
    invalid(
      'NOTATION_SIGNING_KEYS_INVALID',
      `signing key ${quote(wanted)} in ${source}: ${problem}`,
    );
  if (key.keyPath !== undefined || key.certPath !== undefined) {
    // signer.NewGenericSignerFromFiles.
    if (key.keyPath === undefined || key.keyPath === '') throw bad('key path not specified');
    if (key.certPath === undefined || key.certPath === '')
      throw bad('certificate path not specified');
    return { kind: 'files', name: wanted, keyPath: key.keyPath, certPath: key.certPath };
  }
  if (key.id !== undefined || key.pluginName !== undefined) {
    if (key.id === undefined || key.id === '') throw bad('missing key id');
    if (key.pluginName === undefined || key.pluginName === '')
      throw bad('plugin name cannot be empty');
    return {
      kind: 'plugin',
      name: wanted,
      keyId: key.id,
      plugin: key.pluginName,
      pluginConfig: key.pluginConfig ?? {},
    };
  }
  throw bad(
    'unsupported key, either provide a local key and certificate file paths, or a plugin key',
  );
}
