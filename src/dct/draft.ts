/**
 * A repository's trust data being changed: the root and targets roles as the
 * JSON Go's structs hold (tuf/data/{root,targets,snapshot}.go), edited by the
 * use-cases (sign, revoke, signers, rotation), then versioned, re-signed and
 * encoded byte for byte as the notary client publishes them
 * (client/client.go `publish`: changed roles get version+1 and a fresh
 * expiry; the snapshot is signed here only when this client holds its key,
 * otherwise the server makes it; the timestamp is always the server's).
 */
import type { KeyObject } from 'node:crypto';
import { denied, invalid } from '../core/errors.ts';
import {
  encodeSignedMetadata,
  formatGoTime,
  type MetadataSigner,
  metadataFileMeta,
} from '../formats/notary/encode.ts';
import { canonicalKeyId, type NotaryKeyType, notaryKey } from '../formats/notary/keys.ts';
import { decodeStdBase64 } from '../core/base64.ts';
import type { BaseRole } from '../formats/notary/metadata.ts';
import type { JsonValue } from '../core/strict-json.ts';
import type { TrustedRepository } from './update.ts';

export interface KeyJson {
  keytype: string;
  keyval: { private: null; public: string };
}

export interface FileMetaJson {
  hashes: Record<string, string>;
  length: number;
  custom?: unknown;
}

export interface RoleKeysJson {
  keyids: string[];
  threshold: number;
}

export interface DelegationJson extends RoleKeysJson {
  name: string;
  paths?: string[];
}

export interface RootSignedJson {
  _type: 'Root';
  consistent_snapshot: boolean;
  expires: string;
  keys: Record<string, KeyJson>;
  roles: Record<BaseRole, RoleKeysJson>;
  version: number;
}

export interface TargetsSignedJson {
  _type: 'Targets';
  delegations: { keys: Record<string, KeyJson>; roles: DelegationJson[] };
  expires: string;
  targets: Record<string, FileMetaJson>;
  version: number;
}

export interface SnapshotSignedJson {
  _type: 'Snapshot';
  expires: string;
  meta: Record<string, FileMetaJson>;
  version: number;
}

/** Private keys by canonical key ID: what a key store answers. */
export interface KeySource {
  holds(ids: Iterable<string>): Promise<string[]>;
  privateKey(id: string): Promise<KeyObject | undefined>;
}

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
/** Expiries the notary client gives what it signs (observed: root 10 years, targets and snapshot 3). */
const EXPIRY_MS: Readonly<Record<string, number>> = {
  root: 10 * YEAR_MS,
  targets: 3 * YEAR_MS,
  snapshot: 3 * YEAR_MS,
};

export class RepositoryDraft {
  readonly gun: string;
  root: RootSignedJson;
  rootChanged = false;
  /** `targets` and delegations, by role name. */
  readonly roles = new Map<string, TargetsSignedJson>();
  readonly changedRoles = new Set<string>();
  /** Delegations whose files are dropped from a client-signed snapshot. */
  readonly removedRoles = new Set<string>();
  /** The current snapshot (absent for a repository not yet published). */
  readonly snapshot: SnapshotSignedJson | undefined;
  /** Canonical IDs of keys that must also sign the new root (the old root keys, on root rotation). */
  readonly extraRootSigners: { keyId: string; canonicalId: string }[] = [];

  constructor(gun: string, root: RootSignedJson, snapshot?: SnapshotSignedJson) {
    this.gun = gun;
    this.root = root;
    this.snapshot = snapshot;
  }

  /** A draft of what `repository` trusts now (roles that failed to verify are left out). */
  static fromTrusted(repository: TrustedRepository): RepositoryDraft {
    const draft = new RepositoryDraft(
      repository.gun,
      signedOf<RootSignedJson>(repository.root.bytes),
      signedOf<SnapshotSignedJson>(repository.snapshot.bytes),
    );
    for (const [role, verified] of repository.targets) {
      draft.roles.set(role, signedOf<TargetsSignedJson>(verified.metadata.bytes));
    }
    return draft;
  }

  targets(role: string): TargetsSignedJson | undefined {
    return this.roles.get(role);
  }

  /** The role's file, created empty (version 0, so its first publish is version 1) when absent. */
  editTargets(role: string): TargetsSignedJson {
    let signed = this.roles.get(role);
    if (signed === undefined) {
      signed = emptyTargets();
      this.roles.set(role, signed);
    }
    this.changedRoles.add(role);
    return signed;
  }

  editRoot(): RootSignedJson {
    this.rootChanged = true;
    return this.root;
  }

  /**
   * The keys that may sign `role` and how many must: root's for base roles,
   * the delegating role's for a delegation (a direct child of its parent).
   */
  roleKeys(role: string): { keys: Record<string, KeyJson>; role: RoleKeysJson } | undefined {
    if (role === 'root' || role === 'targets' || role === 'snapshot' || role === 'timestamp') {
      return { keys: this.root.keys, role: this.root.roles[role] };
    }
    const parent = this.roles.get(role.slice(0, role.lastIndexOf('/')));
    const delegation = parent?.delegations.roles.find((candidate) => candidate.name === role);
    if (parent === undefined || delegation === undefined) return undefined;
    return { keys: parent.delegations.keys, role: delegation };
  }

  /** Canonical IDs (what key files are named by) of the keys listed for `role`, by TUF key ID. */
  canonicalIds(role: string): Map<string, string> {
    const ids = new Map<string, string>();
    const found = this.roleKeys(role);
    for (const keyId of found?.role.keyids ?? []) {
      const json = found?.keys[keyId];
      if (json !== undefined) ids.set(keyId, canonicalIdOf(json, `${role} key ${keyId}`));
    }
    return ids;
  }

  /** Whether `keys` holds a key listed for `role`. */
  async canSign(role: string, keys: KeySource): Promise<boolean> {
    return (await keys.holds(this.canonicalIds(role).values())).length > 0;
  }

  /**
   * The files to publish, versioned, re-signed with every listed key `keys`
   * holds, in the order notary sends them: root, targets roles parent first,
   * then the snapshot when this client holds its key.
   */
  async encode(keys: KeySource, now: number): Promise<Map<string, Uint8Array>> {
    const files = new Map<string, Uint8Array>();
    if (this.rootChanged) {
      const root = this.root;
      root.version += 1;
      root.expires = formatGoTime(now + (EXPIRY_MS.root as number));
      const signers = await this.#signers('root', keys);
      for (const extra of this.extraRootSigners) {
        const privateKey = await keys.privateKey(extra.canonicalId);
        if (privateKey === undefined) {
          throw denied(
            'NOTARY_KEY_MISSING',
            `the old root key ${extra.canonicalId} is needed to sign the new root`,
          );
        }
        signers.push({ keyId: extra.keyId, privateKey });
      }
      files.set('root', encodeSignedMetadata(asJson(root), signers));
    }
    const changed = [...this.changedRoles].sort(
      (a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1),
    );
    for (const role of changed) {
      const signed = this.roles.get(role) as TargetsSignedJson;
      signed.version += 1;
      signed.expires = formatGoTime(now + (EXPIRY_MS.targets as number));
      for (const delegation of signed.delegations.roles) {
        // Go drops an empty `paths` (omitempty): leave it out so the server's re-encoding matches.
        if (delegation.paths !== undefined && delegation.paths.length === 0)
          delete delegation.paths;
      }
      files.set(role, encodeSignedMetadata(asJson(signed), await this.#signers(role, keys)));
    }
    if (this.snapshot !== undefined && (await this.canSign('snapshot', keys))) {
      const snapshot = this.snapshot;
      for (const [role, bytes] of files)
        snapshot.meta[role] = metadataFileMeta(bytes) as unknown as FileMetaJson;
      for (const role of this.removedRoles) delete snapshot.meta[role];
      snapshot.version += 1;
      snapshot.expires = formatGoTime(now + (EXPIRY_MS.snapshot as number));
      files.set(
        'snapshot',
        encodeSignedMetadata(asJson(snapshot), await this.#signers('snapshot', keys)),
      );
    }
    return files;
  }

  async #signers(role: string, keys: KeySource): Promise<MetadataSigner[]> {
    const found = this.roleKeys(role);
    if (found === undefined)
      throw denied('NOTARY_DELEGATION_INVALID', `${this.gun} does not delegate ${role}`);
    const signers: MetadataSigner[] = [];
    for (const [keyId, canonicalId] of this.canonicalIds(role)) {
      const privateKey = await keys.privateKey(canonicalId);
      if (privateKey !== undefined) signers.push({ keyId, privateKey });
    }
    if (signers.length < found.role.threshold) {
      throw invalid(
        'NOTARY_KEY_MISSING',
        `signing ${role} of ${this.gun} needs ${found.role.threshold} of the keys ${[...this.canonicalIds(role).values()].join(', ')}; ${signers.length} are in the key store`,
      );
    }
    return signers;
  }
}

export function emptyTargets(): TargetsSignedJson {
  return {
    _type: 'Targets',
    delegations: { keys: {}, roles: [] },
    expires: formatGoTime(0),
    targets: {},
    version: 0,
  };
}

/** The canonical ID of a key as metadata lists it: an x509 key's is that of the key in its certificate. */
export function canonicalIdOf(json: KeyJson, where: string): string {
  const bytes = decodeStdBase64(json.keyval.public) ?? new Uint8Array();
  return canonicalKeyId(notaryKey(json.keytype as NotaryKeyType, bytes, where));
}

/** The draft types are the JSON Go's structs hold; the encoder takes them as plain JSON. */
function asJson(value: object): JsonValue {
  return value as unknown as JsonValue;
}

function signedOf<T>(bytes: Uint8Array): T {
  // Already parsed strictly and verified (update.ts); this is the same JSON, to edit.
  return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { signed: T }).signed;
}
