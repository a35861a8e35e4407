/**
 * Notary v1 TUF metadata, parsed and validated strictly from bytes. This is
 * not TUF 1.0 on the wire (docs/formats.md "Not TUF 1.0 on the wire"; notary
 * tuf/data/{types,root,targets,snapshot,timestamp,roles,keys}.go):
 * capitalised `_type`, no `spec_version`, keys, hashes and signatures in
 * base64, snapshot and timestamp `meta` without versions and keyed by role
 * name, delegations with prefix `paths` and no `terminating`.
 *
 * Every document is `{"signed":…,"signatures":[…]}`; what a signature covers
 * is the canonical JSON of `signed` re-serialised from the parsed value
 * (`message`), and what snapshot and timestamp hash is the raw `bytes`.
 * Fields are the ones Go's structs declare: unknown keys, case variants of
 * known keys (which Go's decoder would read as that field), duplicate keys,
 * keys filed under an ID that is not theirs, and signatures that are not
 * base64 are all refused.
 */
import { denied } from '../../core/errors.ts';
import { decodeStdBase64 } from '../../core/base64.ts';
import { array, checkFields, describe, object, quote, string } from '../json-fields.ts';
import {
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../../core/strict-json.ts';
import { notaryCanonicalBytes } from './canonical-json.ts';
import { NOTARY_KEY_TYPES, type NotaryKey, type NotaryKeyType, notaryKey } from './keys.ts';
import { parseGoTime } from './time.ts';

export const BASE_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type BaseRole = (typeof BASE_ROLES)[number];

export interface Signature {
  readonly keyId: string;
  /** Lower-cased, as notary's Signature.UnmarshalJSON does. */
  readonly method: string;
  readonly signature: Uint8Array;
}

export interface RoleKeys {
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

export interface FileMeta {
  readonly length: number;
  /** Algorithm name to digest bytes; sha256 is 32 bytes and sha512 64 when present. */
  readonly hashes: ReadonlyMap<string, Uint8Array>;
}

interface Common {
  readonly version: number;
  /** Milliseconds since the epoch. */
  readonly expires: number;
}

export interface RootMetadata extends Common {
  readonly type: 'Root';
  readonly consistentSnapshot: boolean;
  readonly keys: ReadonlyMap<string, NotaryKey>;
  readonly roles: Readonly<Record<BaseRole, RoleKeys>>;
}

export interface DelegationRole extends RoleKeys {
  readonly name: string;
  /** Target name prefixes; `""` allows every name. */
  readonly paths: readonly string[];
}

export interface TargetsMetadata extends Common {
  readonly type: 'Targets';
  readonly targets: ReadonlyMap<string, FileMeta>;
  readonly delegationKeys: ReadonlyMap<string, NotaryKey>;
  readonly delegations: readonly DelegationRole[];
}

export interface SnapshotMetadata extends Common {
  readonly type: 'Snapshot';
  readonly meta: ReadonlyMap<string, FileMeta>;
}

export interface TimestampMetadata extends Common {
  readonly type: 'Timestamp';
  readonly snapshot: FileMeta;
}

export type Metadata = RootMetadata | TargetsMetadata | SnapshotMetadata | TimestampMetadata;
export type MetadataType = Metadata['type'];

export interface SignedMetadata<T extends Metadata> {
  readonly signed: T;
  readonly signatures: readonly Signature[];
  /** The canonical JSON of `signed`: what the signatures cover. */
  readonly message: Uint8Array;
  /** The document as served: what snapshot and timestamp hash. */
  readonly bytes: Uint8Array;
}

type ByType = {
  Root: RootMetadata;
  Targets: TargetsMetadata;
  Snapshot: SnapshotMetadata;
  Timestamp: TimestampMetadata;
};

const KEY_ID = /^[0-9a-f]{64}$/;
const HASH_SIZES: Readonly<Record<string, number>> = { sha256: 32, sha512: 64 };

/**
 * Parses one role's file. `where` names it in errors (`root.json`,
 * `targets/releases`); every problem is a `denied` NOTARY_METADATA_INVALID,
 * since it is the server's content that is wrong.
 */
export function parseMetadata<T extends MetadataType>(
  bytes: Uint8Array,
  type: T,
  where: string,
): SignedMetadata<ByType[T]> {
  const fail = (problem: string) =>
    denied('NOTARY_METADATA_INVALID', `${where} is not valid notary ${type} metadata: ${problem}`);
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes);
  } catch (error) {
    if (error instanceof StrictJsonError) throw fail(error.message);
    throw error;
  }
  const top = object(document, 'the document', fail);
  checkFields(top, { required: ['signed', 'signatures'] }, 'the document', fail);
  const signed = object(top.signed, 'signed', fail);
  const signatures = array(top.signatures, 'signatures', fail).map((value, index) =>
    parseSignature(value, `signatures[${index}]`, fail),
  );
  const actualType = string(signed._type, 'signed._type', fail);
  if (actualType !== type)
    throw fail(`signed._type is ${quote(actualType)}, expected ${quote(type)}`);
  const parsed = parseSigned(signed, type, fail) as ByType[T];
  return { signed: parsed, signatures, message: notaryCanonicalBytes(signed), bytes };
}

/** The version of a file already trusted, without checking anything else. */
export function metadataVersion(bytes: Uint8Array, type: MetadataType, where: string): number {
  return parseMetadata(bytes, type, where).signed.version;
}

type Fail = (problem: string) => Error;

function parseSigned(signed: JsonObject, type: MetadataType, fail: Fail): Metadata {
  switch (type) {
    case 'Root': {
      checkFields(
        signed,
        { required: ['_type', 'consistent_snapshot', 'expires', 'keys', 'roles', 'version'] },
        'signed',
        fail,
      );
      const consistent = signed.consistent_snapshot;
      if (typeof consistent !== 'boolean') {
        throw fail(`signed.consistent_snapshot must be a boolean, found ${describe(consistent)}`);
      }
      const keys = parseKeys(signed.keys, 'signed.keys', fail);
      const rolesObject = object(signed.roles, 'signed.roles', fail);
      const roles = {} as Record<BaseRole, RoleKeys>;
      for (const name of Object.keys(rolesObject)) {
        // root.go isValidRootStructure: only the four base roles.
        if (!(BASE_ROLES as readonly string[]).includes(name)) {
          throw fail(`signed.roles has ${quote(name)}, which is not a base role`);
        }
      }
      for (const name of BASE_ROLES) {
        const path = `signed.roles.${name}`;
        if (!Object.hasOwn(rolesObject, name)) throw fail(`${path} is missing`);
        const role = object(rolesObject[name], path, fail);
        checkFields(role, { required: ['keyids', 'threshold'] }, path, fail);
        roles[name] = parseRoleKeys(role, path, keys, fail);
      }
      return { type, ...common(signed, fail), consistentSnapshot: consistent, keys, roles };
    }
    case 'Targets': {
      checkFields(
        signed,
        { required: ['_type', 'delegations', 'expires', 'targets', 'version'] },
        'signed',
        fail,
      );
      const targets = parseFiles(signed.targets, 'signed.targets', fail);
      const delegations = object(signed.delegations, 'signed.delegations', fail);
      checkFields(delegations, { required: ['keys', 'roles'] }, 'signed.delegations', fail);
      const delegationKeys = parseKeys(delegations.keys, 'signed.delegations.keys', fail);
      const names = new Set<string>();
      const roles = array(delegations.roles, 'signed.delegations.roles', fail).map(
        (value, index) => {
          const path = `signed.delegations.roles[${index}]`;
          const role = object(value, path, fail);
          checkFields(
            role,
            { required: ['keyids', 'name', 'threshold'], optional: ['paths'] },
            path,
            fail,
          );
          const name = string(role.name, `${path}.name`, fail);
          if (names.has(name)) throw fail(`${path} delegates ${quote(name)} a second time`);
          names.add(name);
          const paths =
            role.paths === undefined
              ? []
              : array(role.paths, `${path}.paths`, fail).map((p, i) =>
                  string(p, `${path}.paths[${i}]`, fail),
                );
          return { name, paths, ...parseRoleKeys(role, path, delegationKeys, fail) };
        },
      );
      return { type, ...common(signed, fail), targets, delegationKeys, delegations: roles };
    }
    case 'Snapshot': {
      checkFields(signed, { required: ['_type', 'expires', 'meta', 'version'] }, 'signed', fail);
      const meta = parseFiles(signed.meta, 'signed.meta', fail);
      // snapshot.go isValidSnapshotStructure: root and targets, each with a sha256.
      for (const role of ['root', 'targets']) {
        if (!meta.get(role)?.hashes.has('sha256'))
          throw fail(`signed.meta has no sha256 for ${role}`);
      }
      return { type, ...common(signed, fail), meta };
    }
    case 'Timestamp': {
      checkFields(signed, { required: ['_type', 'expires', 'meta', 'version'] }, 'signed', fail);
      const snapshot = parseFiles(signed.meta, 'signed.meta', fail).get('snapshot');
      // timestamp.go isValidTimestampStructure
      if (snapshot === undefined || !snapshot.hashes.has('sha256')) {
        throw fail('signed.meta has no sha256 for snapshot');
      }
      return { type, ...common(signed, fail), snapshot };
    }
  }
}

function common(signed: JsonObject, fail: Fail): Common {
  const version = signed.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw fail(`signed.version must be a whole number, found ${describe(version)}`);
  }
  const expiresText = string(signed.expires, 'signed.expires', fail);
  const expires = parseGoTime(expiresText);
  if (expires === undefined)
    throw fail(`signed.expires ${quote(expiresText)} is not an RFC 3339 time`);
  return { version, expires };
}

function parseSignature(value: JsonValue, path: string, fail: Fail): Signature {
  const signature = object(value, path, fail);
  checkFields(signature, { required: ['keyid', 'method', 'sig'] }, path, fail);
  const keyId = string(signature.keyid, `${path}.keyid`, fail);
  if (!KEY_ID.test(keyId)) throw fail(`${path}.keyid ${quote(keyId)} is not a key ID`);
  const method = string(signature.method, `${path}.method`, fail).toLowerCase();
  const bytes = decodeStdBase64(string(signature.sig, `${path}.sig`, fail));
  if (bytes === undefined || bytes.length === 0) throw fail(`${path}.sig is not base64`);
  return { keyId, method, signature: bytes };
}

function parseKeys(value: JsonValue | undefined, path: string, fail: Fail): Map<string, NotaryKey> {
  const keys = new Map<string, NotaryKey>();
  const entries = object(value, path, fail);
  for (const [id, entry] of Object.entries(entries)) {
    const at = `${path}[${quote(id)}]`;
    const key = object(entry, at, fail);
    checkFields(key, { required: ['keytype', 'keyval'] }, at, fail);
    const type = string(key.keytype, `${at}.keytype`, fail);
    if (!(NOTARY_KEY_TYPES as readonly string[]).includes(type)) {
      throw fail(`${at}.keytype ${quote(type)} is not one of ${NOTARY_KEY_TYPES.join(', ')}`);
    }
    const keyval = object(key.keyval, `${at}.keyval`, fail);
    checkFields(keyval, { required: ['private', 'public'] }, `${at}.keyval`, fail);
    if (keyval.private !== null) throw fail(`${at}.keyval.private must be null in public metadata`);
    const publicBytes = decodeStdBase64(string(keyval.public, `${at}.keyval.public`, fail));
    if (publicBytes === undefined || publicBytes.length === 0) {
      throw fail(`${at}.keyval.public is not base64`);
    }
    const parsed = notaryKey(type as NotaryKeyType, publicBytes, at);
    // keys.go: a signature's keyid must be the key's own ID; a key filed under
    // another ID could never verify anything, or worse, be counted twice.
    if (parsed.id !== id)
      throw fail(`${at} is filed under an ID that is not its own (${parsed.id})`);
    keys.set(id, parsed);
  }
  return keys;
}

function parseRoleKeys(
  role: JsonObject,
  path: string,
  keys: ReadonlyMap<string, NotaryKey>,
  fail: Fail,
): RoleKeys {
  const keyIds = array(role.keyids, `${path}.keyids`, fail).map((id, index) =>
    string(id, `${path}.keyids[${index}]`, fail),
  );
  const seen = new Set<string>();
  for (const id of keyIds) {
    if (seen.has(id)) throw fail(`${path}.keyids lists ${id} twice`);
    seen.add(id);
    if (!keys.has(id)) throw fail(`${path}.keyids names ${id}, which is not among the keys`);
  }
  const threshold = role.threshold;
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 1) {
    throw fail(`${path}.threshold must be at least 1, found ${describe(threshold)}`);
  }
  if (threshold > keyIds.length) {
    throw fail(`${path}.threshold ${threshold} is more than its ${keyIds.length} keys`);
  }
  return { keyIds, threshold };
}

function parseFiles(value: JsonValue | undefined, path: string, fail: Fail): Map<string, FileMeta> {
  const files = new Map<string, FileMeta>();
  for (const [name, entry] of Object.entries(object(value, path, fail))) {
    const at = `${path}[${quote(name)}]`;
    const file = object(entry, at, fail);
    checkFields(file, { required: ['hashes', 'length'], optional: ['custom'] }, at, fail);
    const length = file.length;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw fail(`${at}.length must be a whole number, found ${describe(length)}`);
    }
    const hashes = new Map<string, Uint8Array>();
    for (const [algorithm, digest] of Object.entries(object(file.hashes, `${at}.hashes`, fail))) {
      const bytes = decodeStdBase64(string(digest, `${at}.hashes.${algorithm}`, fail));
      const size = HASH_SIZES[algorithm];
      if (bytes === undefined || (size !== undefined && bytes.length !== size)) {
        throw fail(`${at}.hashes.${algorithm} is not a base64 ${algorithm} digest`);
      }
      hashes.set(algorithm, bytes);
    }
    if (hashes.size === 0) throw fail(`${at}.hashes is empty`);
    files.set(name, { length, hashes });
  }
  return files;
}
