/**
 * containers/image's signature verification policy, `policy.json`
 * (containers-policy.json(5):
 * https://github.com/containers/image/blob/main/docs/containers-policy.json.5.md),
 * read as containers/image reads it (signature/policy_config.go,
 * policy_config_sigstore.go, policy_types.go): "unrecognized, duplicated or
 * otherwise invalid fields cause the entire file ... to be rejected".
 *
 * What upstream's parser does and this one does too:
 *
 * - every object is read with `ParanoidUnmarshalJSONObject`: duplicate keys
 *   and unknown keys refused, keys matched exactly (no case folding);
 * - `default` is required and, like every requirement list, not empty;
 * - requirement types `insecureAcceptAnything`, `reject`, `signedBy`,
 *   `signedBaseLayer`, `sigstoreSigned`; identity rules `matchExact`,
 *   `matchRepoDigestOrExact` (the default), `matchRepository`,
 *   `exactReference`, `exactRepository`, `remapIdentity`, each with exactly
 *   its fields;
 * - the key-source rules of `newPRSignedBy` and `newPRSigstoreSigned`
 *   (exactly one source; `fulcio` needs a Rekor key, `pki` refuses one;
 *   `caPath` xor `caData`; ...), with Go's reading of empty and null values:
 *   a `null` or `""` path is no path, a `null` `keyData` is no data but
 *   `""` is (empty) data, `[]` or `null` for a `...Paths`/`...Datas` list of
 *   `sigstoreSigned` is refused;
 * - `[]byte` fields (`keyData`, `caData`, ...) are Go's standard base64;
 * - scopes of transports upstream validates: `dir` and `sif` scopes are
 *   clean absolute paths other than `/`, `docker-archive` has only `""`.
 *   Scopes of other transports are kept unchecked (upstream checks some of
 *   them, e.g. `oci`, `containers-storage`; vouch never evaluates them).
 *
 * Where vouch is stricter, because it matches canonical references
 * (oci/reference.ts): a `docker` scope whose host a reference would spell
 * differently (`Example.com`, `host:05000`, `registry-1.docker.io`) is
 * refused, naming the spelling to use, rather than kept as a scope that could
 * never apply. `null` inside a list of paths is refused (Go would read `""`
 * and fail when evaluating). Size and nesting are capped.
 *
 * Errors are `invalid` CONTAINERS_POLICY_INVALID and name the offending
 * member by its path, e.g. `transports.docker["example.com"][0].keyPath`.
 */
import { posix } from 'node:path';
import { invalid } from '../../core/errors.ts';
import { decodeStdBase64 } from '../../core/base64.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../../core/strict-json.ts';
import { canonicalRegistry, parseReference } from '../../oci/reference.ts';
import { describe, quote } from '../json-fields.ts';
import './error-codes.ts';

/** policy.json files are a few KiB; keyrings inlined as keyData stay well below this. */
export const MAX_POLICY_BYTES = 4 * 1024 * 1024;
const MAX_POLICY_DEPTH = 32;
/** Prefixes of remapIdentity are names: distribution bounds a path to 255 characters. */
const MAX_PREFIX_LENGTH = 1024;

export type IdentityRule =
  | { readonly type: 'matchExact' }
  | { readonly type: 'matchRepoDigestOrExact' }
  | { readonly type: 'matchRepository' }
  | { readonly type: 'exactReference'; readonly dockerReference: string }
  | { readonly type: 'exactRepository'; readonly dockerRepository: string }
  | { readonly type: 'remapIdentity'; readonly prefix: string; readonly signedPrefix: string };

/** Where trusted material comes from: one file, several files, inline bytes or several inline. */
export type MaterialSource =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'paths'; readonly paths: readonly string[] }
  | { readonly kind: 'data'; readonly data: Uint8Array }
  | { readonly kind: 'datas'; readonly datas: readonly Uint8Array[] };

/** A single file or inline bytes (`caPath` / `caData` and the like). */
export type SingleSource = Extract<MaterialSource, { kind: 'path' } | { kind: 'data' }>;

/** `signedBy` keyType values upstream accepts; only GPGKeys is evaluated (by upstream and vouch). */
export type SignedByKeyType =
  'GPGKeys' | 'signedByGPGKeys' | 'X509Certificates' | 'signedByX509CAs';
const KEY_TYPES: readonly SignedByKeyType[] = [
  'GPGKeys',
  'signedByGPGKeys',
  'X509Certificates',
  'signedByX509CAs',
];

export interface FulcioTrust {
  readonly ca: SingleSource;
  readonly oidcIssuer: string;
  readonly subjectEmail: string;
}

export interface PkiTrust {
  readonly caRoots: SingleSource;
  readonly caIntermediates?: SingleSource;
  /** Empty when not required. */
  readonly subjectEmail: string;
  /** Empty when not required. */
  readonly subjectHostname: string;
}

export type PolicyRequirement =
  | { readonly type: 'insecureAcceptAnything' }
  | { readonly type: 'reject' }
  | {
      readonly type: 'signedBy';
      readonly keyType: SignedByKeyType;
      readonly keys: Exclude<MaterialSource, { kind: 'datas' }>;
      readonly signedIdentity: IdentityRule;
    }
  | { readonly type: 'signedBaseLayer'; readonly baseLayerIdentity: IdentityRule }
  | {
      readonly type: 'sigstoreSigned';
      /** Exactly one of keys, fulcio and pki is present. */
      readonly keys?: MaterialSource;
      readonly fulcio?: FulcioTrust;
      readonly pki?: PkiTrust;
      readonly rekorPublicKeys?: MaterialSource;
      readonly signedIdentity: IdentityRule;
    };

export type PolicyRequirements = readonly PolicyRequirement[];

export interface ContainersPolicy {
  readonly default: PolicyRequirements;
  /** transport name → scope → requirements. Maps, so no scope is an Object prototype key. */
  readonly transports: ReadonlyMap<string, ReadonlyMap<string, PolicyRequirements>>;
}

type Fail = (path: string, problem: string) => Error;

const fail: Fail = (path, problem) =>
  invalid('CONTAINERS_POLICY_INVALID', `invalid policy: ${path}: ${problem}`);

/**
 * Parses policy.json bytes. `where` (a file name) prefixes messages.
 * Throws `invalid` CONTAINERS_POLICY_INVALID.
 */
export function parseContainersPolicy(bytes: Uint8Array, where?: string): ContainersPolicy {
  const failIn: Fail =
    where === undefined
      ? fail
      : (path, problem) =>
          invalid('CONTAINERS_POLICY_INVALID', `invalid policy in ${where}: ${path}: ${problem}`);
  if (bytes.byteLength > MAX_POLICY_BYTES) {
    throw failIn('(document)', `${bytes.byteLength} bytes, more than the ${MAX_POLICY_BYTES} read`);
  }
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes, { maxDepth: MAX_POLICY_DEPTH });
  } catch (error) {
    if (error instanceof StrictJsonError) throw failIn('(document)', error.message);
    throw error;
  }
  return new Reader(failIn).policy(document);
}

class Reader {
  private readonly fail: Fail;

  constructor(failWith: Fail) {
    this.fail = failWith;
  }

  policy(value: JsonValue): ContainersPolicy {
    const root = this.object(value, '(document)');
    this.keys(root, '(document)', ['default', 'transports']);
    if (!Object.hasOwn(root, 'default')) throw this.fail('default', 'default policy is missing');
    const defaults = this.requirements(root.default, 'default');
    const transports = new Map<string, ReadonlyMap<string, PolicyRequirements>>();
    if (Object.hasOwn(root, 'transports')) {
      const map = this.object(root.transports, 'transports');
      for (const [name, scopesValue] of Object.entries(map)) {
        const path = `transports${member(name)}`;
        const scopes = new Map<string, PolicyRequirements>();
        for (const [scope, requirements] of Object.entries(this.object(scopesValue, path))) {
          const scopePath = `${path}${member(scope)}`;
          if (scope !== '') this.checkScope(name, scope, scopePath);
          scopes.set(scope, this.requirements(requirements, scopePath));
        }
        transports.set(name, scopes);
      }
    }
    return { default: defaults, transports };
  }

  private checkScope(transport: string, scope: string, path: string): void {
    switch (transport) {
      case 'docker':
        return this.checkDockerScope(scope, path);
      case 'dir':
      case 'sif':
        // directory/directory_transport.go, sif/transport.go ValidatePolicyConfigurationScope.
        if (!scope.startsWith('/')) throw this.fail(path, 'the scope must be an absolute path');
        if (scope === '/') throw this.fail(path, 'use the generic default scope "" instead of "/"');
        if (cleanPath(scope) !== scope) {
          throw this.fail(path, `non-canonical path, write it as ${quote(cleanPath(scope))}`);
        }
        return;
      case 'docker-archive':
        throw this.fail(path, 'docker-archive supports no scope but the default ""');
      default:
        return;
    }
  }

  /**
   * docker/docker_transport.go accepts every scope; vouch refuses those whose
   * host a parsed reference spells differently, since they could never apply
   * to a canonical reference while upstream would apply them to that spelling.
   */
  private checkDockerScope(scope: string, path: string): void {
    const slash = scope.indexOf('/');
    const host = slash === -1 ? scope : scope.slice(0, slash);
    if (host.startsWith('*.')) {
      if (host !== host.toLowerCase() || slash !== -1) {
        throw this.fail(
          path,
          'a wildcard scope is "*." and a lower-case domain without port or path',
        );
      }
      return;
    }
    // index.docker.io: upstream normalizes references to docker.io too, so
    // such a scope never applies there either; kept, as upstream keeps it.
    if (host === 'index.docker.io') return;
    let canonical: string;
    try {
      canonical = canonicalRegistry(host);
    } catch {
      // Not a registry vouch can name (e.g. "busybox:latest"): no reference
      // has that host, here or upstream, so the scope never applies.
      return;
    }
    if (canonical !== host) {
      throw this.fail(
        path,
        `vouch matches images by canonical names, in which this registry is ${quote(canonical)}; write the scope with it`,
      );
    }
  }

  private requirements(value: JsonValue | undefined, path: string): PolicyRequirements {
    if (value === null) {
      throw this.fail(path, 'list of verification policy requirements must not be empty');
    }
    if (!Array.isArray(value)) {
      throw this.fail(path, `must be an array of requirements, found ${describe(value)}`);
    }
    const list = value as readonly JsonValue[];
    if (list.length === 0) {
      throw this.fail(path, 'list of verification policy requirements must not be empty');
    }
    return list.map((item, index) => this.requirement(item, `${path}[${index}]`));
  }

  private requirement(value: JsonValue, path: string): PolicyRequirement {
    const object = this.object(value, path);
    const type = object.type;
    switch (type) {
      case 'insecureAcceptAnything':
      case 'reject':
        this.keys(object, path, ['type'], ['type']);
        return { type };
      case 'signedBy':
        return this.signedBy(object, path);
      case 'signedBaseLayer': {
        this.keys(object, path, ['type', 'baseLayerIdentity'], ['type', 'baseLayerIdentity']);
        return {
          type,
          baseLayerIdentity: this.identity(object.baseLayerIdentity, `${path}.baseLayerIdentity`),
        };
      }
      case 'sigstoreSigned':
        return this.sigstoreSigned(object, path);
      default:
        throw this.fail(
          `${path}.type`,
          typeof type === 'string' || type === undefined || type === null
            ? `unknown policy requirement type ${quote(typeof type === 'string' ? type : '')}`
            : `must be a string, found ${describe(type)}`,
        );
    }
  }

  private signedBy(object: JsonObject, path: string): PolicyRequirement {
    this.keys(object, path, [
      'type',
      'keyType',
      'keyPath',
      'keyPaths',
      'keyData',
      'signedIdentity',
    ]);
    const signedIdentity = this.optionalIdentity(object, path);
    const present = ['keyPath', 'keyPaths', 'keyData'].filter((key) => Object.hasOwn(object, key));
    if (present.length === 0) {
      throw this.fail(
        path,
        'exactly one of keyPath, keyPaths and keyData must be specified, none of them present',
      );
    }
    if (present.length > 1) {
      throw this.fail(
        path,
        'exactly one of keyPath, keyPaths and keyData must be specified, more than one present',
      );
    }
    // newPRSignedBy: the type of keyType is checked before the key sources.
    const keyTypeValue = this.nullableString(object.keyType, `${path}.keyType`);
    if (!(KEY_TYPES as readonly string[]).includes(keyTypeValue)) {
      throw this.fail(`${path}.keyType`, `unrecognized keyType value ${quote(keyTypeValue)}`);
    }
    const keyType = keyTypeValue as SignedByKeyType;
    const keys = this.source(object, present[0] as string, path, 'keyPath', 'keyPaths', 'keyData');
    if (keys === undefined || keys.kind === 'datas') {
      throw this.fail(path, 'exactly one of keyPath, keyPaths and keyData must be specified');
    }
    return { type: 'signedBy', keyType, keys, signedIdentity };
  }

  private sigstoreSigned(object: JsonObject, path: string): PolicyRequirement {
    const keyFields = ['keyPath', 'keyPaths', 'keyData', 'keyDatas'];
    const rekorFields = [
      'rekorPublicKeyPath',
      'rekorPublicKeyPaths',
      'rekorPublicKeyData',
      'rekorPublicKeyDatas',
    ];
    this.keys(object, path, [
      'type',
      ...keyFields,
      'fulcio',
      ...rekorFields,
      'pki',
      'signedIdentity',
    ]);
    const signedIdentity = this.optionalIdentity(object, path);
    // policy_config_sigstore.go applies the options in this order; each
    // present field is read (and may fail) before the sources are counted.
    const keySources = keyFields
      .filter((key) => Object.hasOwn(object, key))
      .map((key) =>
        this.source(object, key, path, ...(keyFields as [string, string, string, string])),
      )
      .filter((source) => source !== undefined);
    const fulcio = Object.hasOwn(object, 'fulcio')
      ? this.fulcio(object.fulcio, `${path}.fulcio`)
      : undefined;
    const rekorSources = rekorFields
      .filter((key) => Object.hasOwn(object, key))
      .map((key) =>
        this.source(object, key, path, ...(rekorFields as [string, string, string, string])),
      )
      .filter((source) => source !== undefined);
    const pki = Object.hasOwn(object, 'pki') ? this.pki(object.pki, `${path}.pki`) : undefined;

    const count = keySources.length + (fulcio === undefined ? 0 : 1) + (pki === undefined ? 0 : 1);
    if (count !== 1) {
      throw this.fail(
        path,
        'exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, and pki must be specified',
      );
    }
    if (rekorSources.length > 1) {
      throw this.fail(
        path,
        'at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas can be used simultaneously',
      );
    }
    const rekorPublicKeys = rekorSources[0];
    if (fulcio !== undefined && rekorPublicKeys === undefined) {
      throw this.fail(
        path,
        'one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas must be specified if fulcio is used',
      );
    }
    if (pki !== undefined && rekorPublicKeys !== undefined) {
      throw this.fail(path, 'Rekor public keys are not supported for pki');
    }
    return {
      type: 'sigstoreSigned',
      ...(keySources[0] === undefined ? {} : { keys: keySources[0] }),
      ...(fulcio === undefined ? {} : { fulcio }),
      ...(pki === undefined ? {} : { pki }),
      ...(rekorPublicKeys === undefined ? {} : { rekorPublicKeys }),
      signedIdentity,
    };
  }

  private fulcio(value: JsonValue | undefined, path: string): FulcioTrust {
    const object = this.object(value, path);
    this.keys(object, path, ['caPath', 'caData', 'oidcIssuer', 'subjectEmail']);
    const ca = this.singleSource(object, path, 'caPath', 'caData');
    const oidcIssuer = this.nullableString(object.oidcIssuer, `${path}.oidcIssuer`);
    const subjectEmail = this.nullableString(object.subjectEmail, `${path}.subjectEmail`);
    if (oidcIssuer === '') throw this.fail(path, 'oidcIssuer not specified');
    if (subjectEmail === '') throw this.fail(path, 'subjectEmail not specified');
    return { ca, oidcIssuer, subjectEmail };
  }

  private pki(value: JsonValue | undefined, path: string): PkiTrust {
    const object = this.object(value, path);
    this.keys(object, path, [
      'caRootsPath',
      'caRootsData',
      'caIntermediatesPath',
      'caIntermediatesData',
      'subjectEmail',
      'subjectHostname',
    ]);
    const caRoots = this.singleSource(object, path, 'caRootsPath', 'caRootsData');
    const caIntermediates = this.singleSource(
      object,
      path,
      'caIntermediatesPath',
      'caIntermediatesData',
      true,
    );
    const subjectEmail = this.nullableString(object.subjectEmail, `${path}.subjectEmail`);
    const subjectHostname = this.nullableString(object.subjectHostname, `${path}.subjectHostname`);
    if (subjectEmail === '' && subjectHostname === '') {
      throw this.fail(path, 'at least one of subjectEmail, subjectHostname must be specified');
    }
    return {
      caRoots,
      ...(caIntermediates === undefined ? {} : { caIntermediates }),
      subjectEmail,
      subjectHostname,
    };
  }

  /** `xPath` xor `xData`; both absent is an error unless `optional`. */
  private singleSource(
    object: JsonObject,
    path: string,
    pathKey: string,
    dataKey: string,
    optional?: false,
  ): SingleSource;
  private singleSource(
    object: JsonObject,
    path: string,
    pathKey: string,
    dataKey: string,
    optional: true,
  ): SingleSource | undefined;
  private singleSource(
    object: JsonObject,
    path: string,
    pathKey: string,
    dataKey: string,
    optional = false,
  ): SingleSource | undefined {
    const file = this.nullableString(object[pathKey], `${path}.${pathKey}`);
    const data = this.bytes(object[dataKey], `${path}.${dataKey}`);
    if (file !== '' && data !== undefined) {
      throw this.fail(path, `${pathKey} and ${dataKey} cannot be used simultaneously`);
    }
    if (file !== '') return { kind: 'path', path: file };
    if (data !== undefined) return { kind: 'data', data };
    if (optional) return undefined;
    throw this.fail(path, `at least one of ${pathKey} and ${dataKey} must be specified`);
  }

  /**
   * One key-material field as Go reads it: undefined when its value is no
   * source (`""` or `null` path, `null` data); `...Paths`/`...Datas` of
   * sigstoreSigned must not be empty or null (`PRSigstoreSignedWithKeyPaths`),
   * signedBy's `keyPaths` may be `[]` but not `null` (newPRSignedBy).
   */
  private source(
    object: JsonObject,
    key: string,
    path: string,
    pathKey: string,
    pathsKey: string,
    dataKey: string,
    datasKey?: string,
  ): MaterialSource | undefined {
    const value = object[key];
    const where = `${path}.${key}`;
    const sigstore = datasKey !== undefined;
    switch (key) {
      case pathKey: {
        const file = this.nullableString(value, where);
        return file === '' ? undefined : { kind: 'path', path: file };
      }
      case pathsKey: {
        if (value === null || (sigstore && Array.isArray(value) && value.length === 0)) {
          if (sigstore) throw this.fail(where, 'contains no entries');
          return undefined;
        }
        const list = this.array(value, where);
        const paths = list.map((item, index) => {
          if (typeof item !== 'string') {
            throw this.fail(`${where}[${index}]`, `must be a string, found ${describe(item)}`);
          }
          return item;
        });
        return { kind: 'paths', paths };
      }
      case dataKey: {
        const data = this.bytes(value, where);
        return data === undefined ? undefined : { kind: 'data', data };
      }
      case datasKey: {
        if (value === null || (Array.isArray(value) && value.length === 0)) {
          throw this.fail(where, 'contains no entries');
        }
        const list = this.array(value, where);
        const datas = list.map((item, index) => {
          const data = this.bytes(item, `${where}[${index}]`);
          if (data === undefined)
            throw this.fail(`${where}[${index}]`, 'must be base64, found null');
          return data;
        });
        return { kind: 'datas', datas };
      }
      default:
        throw new Error(`no key source ${key}`);
    }
  }

  private optionalIdentity(object: JsonObject, path: string): IdentityRule {
    if (!Object.hasOwn(object, 'signedIdentity')) return { type: 'matchRepoDigestOrExact' };
    return this.identity(object.signedIdentity, `${path}.signedIdentity`);
  }

  private identity(value: JsonValue | undefined, path: string): IdentityRule {
    const object = isJsonObject(value) ? value : undefined;
    const type = object?.type;
    if (object === undefined || typeof type !== 'string') {
      if (value === null || (object !== undefined && (type === undefined || type === null))) {
        throw this.fail(path, 'unknown policy reference match type ""');
      }
      throw this.fail(path, `must be an object with a string "type", found ${describe(value)}`);
    }
    switch (type) {
      case 'matchExact':
      case 'matchRepoDigestOrExact':
      case 'matchRepository':
        this.keys(object, path, ['type'], ['type']);
        return { type };
      case 'exactReference': {
        this.keys(object, path, ['type', 'dockerReference'], ['type', 'dockerReference']);
        const dockerReference = this.nullableString(
          object.dockerReference,
          `${path}.dockerReference`,
        );
        const parsed = this.reference(dockerReference, `${path}.dockerReference`);
        if (parsed.tag === undefined && parsed.digest === undefined) {
          throw this.fail(
            `${path}.dockerReference`,
            `${quote(dockerReference)} contains neither a tag nor digest`,
          );
        }
        return { type, dockerReference };
      }
      case 'exactRepository': {
        this.keys(object, path, ['type', 'dockerRepository'], ['type', 'dockerRepository']);
        const dockerRepository = this.nullableString(
          object.dockerRepository,
          `${path}.dockerRepository`,
        );
        this.reference(dockerRepository, `${path}.dockerRepository`);
        return { type, dockerRepository };
      }
      case 'remapIdentity': {
        this.keys(
          object,
          path,
          ['type', 'prefix', 'signedPrefix'],
          ['type', 'prefix', 'signedPrefix'],
        );
        const prefix = this.nullableString(object.prefix, `${path}.prefix`);
        const signedPrefix = this.nullableString(object.signedPrefix, `${path}.signedPrefix`);
        this.remapPrefix(prefix, `${path}.prefix`);
        this.remapPrefix(signedPrefix, `${path}.signedPrefix`);
        return { type, prefix, signedPrefix };
      }
      default:
        throw this.fail(`${path}.type`, `unknown policy reference match type ${quote(type)}`);
    }
  }

  private reference(text: string, path: string) {
    try {
      return parseReference(text);
    } catch (error) {
      throw this.fail(path, `invalid format of ${quote(text)}: ${(error as Error).message}`);
    }
  }

  private remapPrefix(text: string, path: string): void {
    if (text.length > MAX_PREFIX_LENGTH || !isIdentityRemappingPrefix(text)) {
      throw this.fail(path, `prefix ${quote(text)} is not valid`);
    }
  }

  private object(value: JsonValue | undefined, path: string): JsonObject {
    if (!isJsonObject(value))
      throw this.fail(path, `JSON object expected, found ${describe(value)}`);
    return value;
  }

  private array(value: JsonValue | undefined, path: string): readonly JsonValue[] {
    if (!Array.isArray(value)) throw this.fail(path, `must be an array, found ${describe(value)}`);
    return value as readonly JsonValue[];
  }

  /** A Go string field: `null` leaves it empty. */
  private nullableString(value: JsonValue | undefined, path: string): string {
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string')
      throw this.fail(path, `must be a string, found ${describe(value)}`);
    return value;
  }

  /** A Go `[]byte` field: `null` or absent leaves it nil; otherwise standard base64. */
  private bytes(value: JsonValue | undefined, path: string): Uint8Array | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string')
      throw this.fail(path, `must be base64, found ${describe(value)}`);
    const bytes = decodeStdBase64(value);
    if (bytes === undefined) throw this.fail(path, 'is not standard base64');
    return bytes;
  }

  /** ParanoidUnmarshalJSONObject: only `known` keys; with `exact`, each of those too. */
  private keys(
    object: JsonObject,
    path: string,
    known: readonly string[],
    exact?: readonly string[],
  ): void {
    for (const key of Object.keys(object)) {
      if (!known.includes(key)) throw this.fail(path, `unknown key ${quote(key)}`);
    }
    for (const key of exact ?? []) {
      if (!Object.hasOwn(object, key)) throw this.fail(path, `key ${quote(key)} missing`);
    }
  }
}

/** `.name` for identifiers, `["x"]` for everything else. */
function member(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `.${key}` : `[${quote(key)}]`;
}

/** Go's filepath.Clean for an absolute path. */
function cleanPath(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/**
 * policy_config.go validateIdentityRemappingPrefix: the whole text is a
 * domain (`DomainRegexp`), or a name (`NameRegexp`) that starts with a domain
 * and "/". Scanned by hand: containers/image's name grammar allows an empty
 * separator (`(?:[._]|__|[-]*)`), which as a JavaScript regular expression
 * would backtrack exponentially (Go's RE2 is linear).
 */
export function isIdentityRemappingPrefix(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash === -1) return isDomain(text);
  if (!isDomain(text.slice(0, slash))) return false;
  return text
    .slice(slash + 1)
    .split('/')
    .every(isNameComponent);
}

/** reference/regexp.go `domain`: components `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` joined by ".", then an optional ":" port. */
function isDomain(text: string): boolean {
  const colon = text.indexOf(':');
  const host = colon === -1 ? text : text.slice(0, colon);
  if (colon !== -1 && !/^[0-9]+$/.test(text.slice(colon + 1))) return false;
  return host.split('.').every((part) => /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(part));
}

/**
 * reference/regexp.go `nameComponent` with its `separator`: lower-case
 * alphanumerics, separated by ".", "_", "__" or any run of "-" (including
 * none), starting and ending with an alphanumeric.
 */
function isNameComponent(text: string): boolean {
  let previous = 'separator';
  let underscores = 0;
  for (const char of text) {
    if (/[a-z0-9]/.test(char)) {
      previous = 'alnum';
      underscores = 0;
    } else if (char === '-') {
      if (previous === 'separator' || previous === 'dot' || previous === 'underscore') return false;
      previous = 'dash';
    } else if (char === '.') {
      if (previous !== 'alnum') return false;
      previous = 'dot';
    } else if (char === '_') {
      if (previous === 'underscore' && underscores === 1) {
        underscores = 2;
      } else if (previous === 'alnum') {
        previous = 'underscore';
        underscores = 1;
      } else {
        return false;
      }
    } else {
      return false;
    }
  }
  return previous === 'alnum';
}
