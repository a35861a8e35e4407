/**
 * The Notary v1 client update as one pure function: the metadata already
 * trusted for a GUN, plus what the server served just now, in; the verified
 * repository (or a `denied` error saying which attack or fault it caught) out.
 * No I/O and no clock of its own: `gather.ts` fetches, this decides
 * (docs/design.md principle 2).
 *
 * The steps are TUF's client workflow (specification §5, "Detailed client
 * workflow": https://github.com/theupdateframework/specification/blob/master/tuf-spec.md)
 * in notary's variant (client/tufclient.go, tuf/builder.go; docs/formats.md
 * "How the notary client updates"):
 *
 * 1. Root: the trusted root, or on first use the served one (trust on first
 *    use, as docker does). A newer root is reached one version at a time,
 *    each signed by a threshold of the previous root's keys and of its own;
 *    root keys are x509 certificates whose common name is the GUN
 *    (trustpinning/certs.go). Pinned keys, when given, must sign the root
 *    that ends up trusted, so a root rotated away from them is refused.
 * 2. Timestamp, snapshot, targets: signed by a threshold of the role's keys,
 *    never older than the trusted version (rollback), not expired (freeze),
 *    each file exactly the length and hashes its parent lists (mix-and-match,
 *    endless data), and the snapshot must list the root that is trusted.
 * 3. Delegations, breadth-first from `targets`: each must be a direct child
 *    of the role that delegates it, signed by the keys that role gave it, and
 *    pass the same checks. As notary does (client/tufclient.go
 *    `downloadTargets`), a delegation that fails is skipped, not fatal; the
 *    reason is kept so a failed lookup can say what was refused.
 */
import { createHash } from 'node:crypto';
import { denied, type VouchError } from '../core/errors.ts';
import {
  canonicalKeyId,
  type NotaryKey,
  rootKeyProblem,
  verifyNotarySignature,
} from '../formats/notary/keys.ts';
import {
  type DelegationRole,
  type FileMeta,
  type Metadata,
  type MetadataType,
  parseMetadata,
  type RoleKeys,
  type RootMetadata,
  type SignedMetadata,
  type SnapshotMetadata,
  type TargetsMetadata,
  type TimestampMetadata,
} from '../formats/notary/metadata.ts';

/** What the local trust store holds for one GUN; all absent on first use. */
export interface TrustedMetadata {
  readonly root?: Uint8Array;
  readonly timestamp?: Uint8Array;
  readonly snapshot?: Uint8Array;
  /** `targets` and delegations, by role name. */
  readonly targets: ReadonlyMap<string, Uint8Array>;
}

/** What the notary server served for the GUN in this update. */
export interface FetchedMetadata {
  /** The current `root.json`. */
  readonly root: Uint8Array;
  /** `N.root.json` for each version between the trusted root and the current one. */
  readonly roots: ReadonlyMap<number, Uint8Array>;
  readonly timestamp: Uint8Array;
  readonly snapshot: Uint8Array;
  /** `targets` and every delegation the snapshot lists that could be fetched. */
  readonly targets: ReadonlyMap<string, Uint8Array>;
}

export interface UpdateContext {
  /** The Globally Unique Name: the repository, e.g. `registry.example.com/team/app`. */
  readonly gun: string;
  /** Milliseconds since the epoch: the update's fixed start time (spec §5.0). */
  readonly now: number;
  /**
   * Canonical key IDs (keys.ts `canonicalKeyId`) of root keys pinned for this
   * GUN: the trusted root must be signed by a threshold of them.
   */
  readonly pinnedRootKeys?: readonly string[];
}

export interface VerifiedTargets {
  readonly role: string;
  readonly metadata: SignedMetadata<TargetsMetadata>;
  /** Target name prefixes this role may sign, already narrowed by its delegators. */
  readonly paths: readonly string[];
  /** Key IDs whose signatures on this file verified. */
  readonly signers: readonly string[];
  /** The keys that could sign this role (root keys for `targets`, the delegator's keys otherwise). */
  readonly keys: ReadonlyMap<string, NotaryKey>;
}

export interface TrustedRepository {
  readonly gun: string;
  readonly root: SignedMetadata<RootMetadata>;
  readonly timestamp: SignedMetadata<TimestampMetadata>;
  readonly snapshot: SignedMetadata<SnapshotMetadata>;
  /** `targets` and each delegation that verified. */
  readonly targets: ReadonlyMap<string, VerifiedTargets>;
  /** Delegations skipped, with why. */
  readonly rejected: ReadonlyMap<string, VouchError>;
}

const ROLE_NAME = /^[-a-z0-9_/]+$/;
/** Targets role names as `gather.ts` fetches them from a snapshot's list. */
const TARGETS_ROLE = /^targets(?:\/[-a-z0-9_]+)*$/;
const MAX_ROLE_NAME = 255;

export function updateTrustedMetadata(
  trusted: TrustedMetadata,
  fetched: FetchedMetadata,
  context: UpdateContext,
): TrustedRepository {
  const parse = memoParse();
  const { root, rotated } = updateRoot(trusted, fetched, context, parse);
  const trustedVersion = (bytes: Uint8Array | undefined, type: MetadataType, role: string) =>
    bytes === undefined ? undefined : parse(bytes, type, `trusted ${role}`).signed.version;

  // Spec §5.3.11: when the root replaced the timestamp or snapshot keys, the
  // versions signed by the old keys no longer bound the new ones (fast-forward recovery).
  const previousRoot = rotated
    ? parse(trusted.root as Uint8Array, 'Root', 'trusted root').signed
    : undefined;
  const sameKeys = (role: 'timestamp' | 'snapshot') =>
    previousRoot === undefined || sameRoleKeys(previousRoot.roles[role], root.signed.roles[role]);

  const timestamp = parse(fetched.timestamp, 'Timestamp', 'timestamp.json');
  checkRole(timestamp, 'timestamp', root.signed.roles.timestamp, root.signed.keys);
  checkFreshness(
    timestamp,
    'timestamp',
    sameKeys('timestamp') ? trustedVersion(trusted.timestamp, 'Timestamp', 'timestamp') : undefined,
    context.now,
  );

  checkFile(fetched.snapshot, timestamp.signed.snapshot, 'snapshot', 'timestamp');
  const snapshot = parse(fetched.snapshot, 'Snapshot', 'snapshot');
  checkRole(snapshot, 'snapshot', root.signed.roles.snapshot, root.signed.keys);
  checkFreshness(
    snapshot,
    'snapshot',
    sameKeys('snapshot') ? trustedVersion(trusted.snapshot, 'Snapshot', 'snapshot') : undefined,
    context.now,
  );
  // The snapshot names the root of this repository state: a snapshot made for
  // another root is a mix of two states (or a root the client was not given).
  checkFile(root.bytes, snapshot.signed.meta.get('root') as FileMeta, 'root', 'snapshot');

  const targetsRole = root.signed.roles.targets;
  const top = verifyTargets(
    'targets',
    snapshot,
    fetched,
    trusted,
    targetsRole,
    root.signed.keys,
    context.now,
    parse,
  );
  const verified = new Map<string, VerifiedTargets>([['targets', { ...top, paths: [''] }]]);
  const rejected = new Map<string, VouchError>();

  // Breadth-first, as notary's WalkTargets and downloadTargets go.
  const queue: VerifiedTargets[] = [verified.get('targets') as VerifiedTargets];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const delegation of parent.metadata.signed.delegations) {
      if (verified.has(delegation.name) || rejected.has(delegation.name)) continue;
      try {
        checkDelegationName(delegation.name, parent.role);
        const paths = restrictPaths(delegation.paths, parent.paths);
        const child = verifyTargets(
          delegation.name,
          snapshot,
          fetched,
          trusted,
          delegation,
          parent.metadata.signed.delegationKeys,
          context.now,
          parse,
        );
        const entry = { ...child, paths };
        verified.set(delegation.name, entry);
        queue.push(entry);
      } catch (error) {
        if (!isDenied(error)) throw error;
        rejected.set(delegation.name, error);
      }
    }
  }
  return { gun: context.gun, root, timestamp, snapshot, targets: verified, rejected };
}

/** The root to trust after this update, and whether it differs from the one trusted before. */
function updateRoot(
  trusted: TrustedMetadata,
  fetched: FetchedMetadata,
  context: UpdateContext,
  parse: Parse,
): { root: SignedMetadata<RootMetadata>; rotated: boolean } {
  const served = parse(fetched.root, 'Root', 'root.json');
  let current: SignedMetadata<RootMetadata>;
  let rotated = false;
  if (trusted.root === undefined) {
    current = served; // trust on first use; checked below like any root
  } else {
    current = parse(trusted.root, 'Root', 'trusted root');
    const trustedVersion = current.signed.version;
    if (served.signed.version < trustedVersion) {
      throw denied(
        'NOTARY_ROLLBACK',
        `root.json is version ${served.signed.version}, older than the trusted version ${trustedVersion}`,
      );
    }
    for (let version = trustedVersion + 1; version <= served.signed.version; version++) {
      const bytes = version === served.signed.version ? fetched.root : fetched.roots.get(version);
      if (bytes === undefined) {
        throw denied(
          'NOTARY_ROOT_ROTATION_INVALID',
          `root version ${version} is needed to go from trusted version ${trustedVersion} to ${served.signed.version}, and the server did not provide it`,
        );
      }
      const next = parse(bytes, 'Root', `${version}.root.json`);
      if (next.signed.version !== version) {
        throw denied(
          'NOTARY_ROOT_ROTATION_INVALID',
          `${version}.root.json holds root version ${next.signed.version}`,
        );
      }
      // The old root vouches for its successor: a threshold of its (still
      // named) certificates must sign it; notary does not hold them to their expiry.
      try {
        checkRootSignatures(next, current.signed, context.gun, {
          now: context.now,
          checkExpiry: false,
        });
      } catch (error) {
        if (!isDenied(error)) throw error;
        throw denied(
          'NOTARY_ROOT_ROTATION_INVALID',
          `root version ${version} is not signed by the keys of trusted root version ${current.signed.version}: ${error.message}`,
          { cause: error },
        );
      }
      checkRootSignatures(next, next.signed, context.gun, { now: context.now, checkExpiry: false });
      current = next;
      rotated = true;
    }
  }
  // Whatever root ends up trusted must be self-signed by valid certificates now.
  checkRootSignatures(current, current.signed, context.gun, {
    now: context.now,
    checkExpiry: true,
  });
  if (current.signed.expires <= context.now) {
    throw expired('root', current.signed);
  }
  if (context.pinnedRootKeys !== undefined) checkPinned(current, context.pinnedRootKeys);
  return { root: current, rotated };
}

function checkRootSignatures(
  document: SignedMetadata<RootMetadata>,
  signer: RootMetadata,
  gun: string,
  check: { now: number; checkExpiry: boolean },
): void {
  const problems: string[] = [];
  const usable = new Map<string, NotaryKey>();
  for (const id of signer.roles.root.keyIds) {
    const key = signer.keys.get(id) as NotaryKey;
    const problem = rootKeyProblem(key, gun, check);
    if (problem === undefined) usable.set(id, key);
    else problems.push(`root key ${id}: ${problem}`);
  }
  if (usable.size === 0) {
    throw denied(
      'NOTARY_ROOT_CERT_INVALID',
      `no root key of root version ${signer.version} can vouch for ${gun}: ${problems.join('; ')}`,
    );
  }
  checkRole(document, 'root', signer.roles.root, usable, problems);
}

function checkPinned(root: SignedMetadata<RootMetadata>, pinned: readonly string[]): void {
  const pinnedIds = root.signed.roles.root.keyIds.filter((id) =>
    pinned.includes(canonicalKeyId(root.signed.keys.get(id) as NotaryKey)),
  );
  const signers = validSigners(root, pinnedIds, root.signed.keys);
  if (signers.length < root.signed.roles.root.threshold) {
    throw denied(
      'NOTARY_ROOT_NOT_PINNED',
      `root version ${root.signed.version} is signed by ${signers.length} pinned root key(s), ${root.signed.roles.root.threshold} needed; its root keys are ${root.signed.roles.root.keyIds.map((id) => canonicalKeyId(root.signed.keys.get(id) as NotaryKey)).join(', ')}`,
    );
  }
}

function verifyTargets(
  role: string,
  snapshot: SignedMetadata<SnapshotMetadata>,
  fetched: FetchedMetadata,
  trusted: TrustedMetadata,
  roleKeys: RoleKeys | DelegationRole,
  keys: ReadonlyMap<string, NotaryKey>,
  now: number,
  parse: Parse,
): Omit<VerifiedTargets, 'paths'> {
  const meta = snapshot.signed.meta.get(role);
  if (meta === undefined) {
    throw denied('NOTARY_METADATA_MISSING', `the snapshot does not list ${role}`);
  }
  const bytes = fetched.targets.get(role);
  if (bytes === undefined) {
    throw denied(
      'NOTARY_METADATA_MISSING',
      `the server did not serve ${role}, which the snapshot lists`,
    );
  }
  checkFile(bytes, meta, role, 'snapshot');
  const metadata = parse(bytes, 'Targets', role);
  const signers = checkRole(metadata, role, roleKeys, keys);
  const cached = trusted.targets.get(role);
  checkFreshness(
    metadata,
    role,
    cached === undefined ? undefined : parse(cached, 'Targets', `trusted ${role}`).signed.version,
    now,
  );
  return { role, metadata, signers, keys };
}

/**
 * Counts distinct keys of `roleKeys` with a valid signature; returns their
 * IDs, or throws when fewer than the threshold signed. Signatures by keys the
 * role does not list never count, and when they are what is missing, the
 * error says so (NOTARY_KEY_NOT_DELEGATED) rather than just "too few".
 */
function checkRole(
  document: SignedMetadata<Metadata>,
  role: string,
  roleKeys: RoleKeys,
  keys: ReadonlyMap<string, NotaryKey>,
  problems: readonly string[] = [],
): string[] {
  const signers = validSigners(
    document,
    roleKeys.keyIds.filter((id) => keys.has(id)),
    keys,
  );
  if (signers.length >= roleKeys.threshold) return signers;
  const outsiders = document.signatures
    .map((signature) => signature.keyId)
    .filter((id) => !roleKeys.keyIds.includes(id));
  const detail = problems.length === 0 ? '' : ` (${problems.join('; ')})`;
  if (outsiders.length > 0) {
    throw denied(
      'NOTARY_KEY_NOT_DELEGATED',
      `${role} is signed by ${[...new Set(outsiders)].join(', ')}, which ${role.startsWith('targets/') ? 'its delegation does not list' : 'the root does not list for it'}; ${signers.length} of the ${roleKeys.threshold} required signatures by its own keys verified${detail}`,
    );
  }
  throw denied(
    'NOTARY_THRESHOLD_NOT_MET',
    `${role} has ${signers.length} valid signature(s) by its keys, ${roleKeys.threshold} required${detail}`,
  );
}

function validSigners(
  document: SignedMetadata<Metadata>,
  keyIds: readonly string[],
  keys: ReadonlyMap<string, NotaryKey>,
): string[] {
  const signers = new Set<string>();
  for (const signature of document.signatures) {
    if (!keyIds.includes(signature.keyId) || signers.has(signature.keyId)) continue;
    const key = keys.get(signature.keyId);
    if (
      key !== undefined &&
      verifyNotarySignature(key, signature.method, document.message, signature.signature)
    ) {
      signers.add(signature.keyId);
    }
  }
  return [...signers];
}

function checkFreshness(
  document: SignedMetadata<Metadata>,
  role: string,
  trustedVersion: number | undefined,
  now: number,
): void {
  if (trustedVersion !== undefined && document.signed.version < trustedVersion) {
    throw denied(
      'NOTARY_ROLLBACK',
      `${role} is version ${document.signed.version}, older than the trusted version ${trustedVersion}`,
    );
  }
  if (document.signed.expires <= now) throw expired(role, document.signed);
}

function expired(role: string, signed: Metadata): VouchError {
  return denied(
    'NOTARY_EXPIRED',
    `${role} version ${signed.version} expired at ${new Date(signed.expires).toISOString()}`,
  );
}

type Parse = <T extends MetadataType>(
  bytes: Uint8Array,
  type: T,
  where: string,
) => ReturnType<typeof parseMetadata<T>>;

/**
 * `parseMetadata` for one update, each file parsed once however often it is
 * read: the same bytes serve as the trusted version bound and as evidence
 * (the trusted root and `root.json`; the cached files on the cache path).
 * Keyed by the array itself, and kept only for the update's duration, so no
 * bytes can change between two reads.
 */
function memoParse(): Parse {
  const parsed = new Map<Uint8Array, Map<MetadataType, SignedMetadata<Metadata>>>();
  return <T extends MetadataType>(bytes: Uint8Array, type: T, where: string) => {
    let byType = parsed.get(bytes);
    if (byType === undefined) parsed.set(bytes, (byType = new Map()));
    let document = byType.get(type);
    if (document === undefined) byType.set(type, (document = parseMetadata(bytes, type, where)));
    return document as ReturnType<typeof parseMetadata<T>>;
  };
}

/**
 * The trusted metadata as this update's evidence, when the timestamp just
 * served lists exactly the cached snapshot (its length and every sha256 and
 * sha512 it names; Notary v1's file meta carries no version): then the cached
 * snapshot is the current one, and so are the root and targets files it lists
 * by hash. Otherwise undefined, and everything is fetched. notary answers from
 * its cache the same way (client/tufclient.go `tryLoadCacheThenRemote`, after
 * `bootstrapClient` loaded the cached root).
 *
 * This only chooses the evidence: `updateTrustedMetadata` then checks all of
 * it as if it had just been downloaded (signatures by the cached root's keys,
 * the timestamp's version never below the trusted one, no role expired, each
 * cached file the length and hashes its parent lists), so a cached file
 * changed on disk, a replayed timestamp and an expired role are refused here
 * as on the full path. A root rotated since is found by the caller: a
 * timestamp signed by a rotated key does not verify under the cached root,
 * and the caller then runs the full update, which fetches `root.json`.
 */
export function cachedEvidence(
  trusted: TrustedMetadata,
  timestamp: Uint8Array,
): FetchedMetadata | undefined {
  if (trusted.root === undefined || trusted.snapshot === undefined) return undefined;
  const listed = parseMetadata(timestamp, 'Timestamp', 'timestamp.json').signed.snapshot;
  if (fileProblem(trusted.snapshot, listed, 'snapshot', 'timestamp') !== undefined) {
    return undefined;
  }
  // A role the snapshot lists but the cache lacks (one refused last time) is
  // fetched, so that its refusal is decided on what the server serves.
  const roles = parseMetadata(trusted.snapshot, 'Snapshot', 'trusted snapshot').signed.meta.keys();
  for (const role of roles) {
    if (TARGETS_ROLE.test(role) && !trusted.targets.has(role)) return undefined;
  }
  return {
    root: trusted.root,
    roots: new Map(),
    timestamp,
    snapshot: trusted.snapshot,
    targets: trusted.targets,
  };
}

/** The file is exactly as long as its parent says, and hashes to every digest it lists. */
function checkFile(bytes: Uint8Array, meta: FileMeta, role: string, parent: string): void {
  const problem = fileProblem(bytes, meta, role, parent);
  if (problem !== undefined) throw denied('NOTARY_HASH_MISMATCH', problem);
}

/** Why the file is not the one its parent lists, or undefined when it is. */
function fileProblem(
  bytes: Uint8Array,
  meta: FileMeta,
  role: string,
  parent: string,
): string | undefined {
  if (bytes.length !== meta.length) {
    return `${role} is ${bytes.length} bytes, the ${parent} says ${meta.length}`;
  }
  let checked = 0;
  for (const [algorithm, expected] of meta.hashes) {
    if (algorithm !== 'sha256' && algorithm !== 'sha512') continue;
    const actual = createHash(algorithm).update(bytes).digest();
    if (!actual.equals(expected)) {
      return `${role} does not match the ${algorithm} the ${parent} lists for it`;
    }
    checked++;
  }
  return checked === 0 ? `the ${parent} lists no sha256 or sha512 for ${role}` : undefined;
}

/**
 * tuf/data/roles.go `IsDelegation` and targets.go `isValidTargetsStructure`:
 * a lowercase clean path under `targets/`, one level below its delegator.
 */
function checkDelegationName(name: string, parent: string): void {
  const segments = name.split('/');
  const valid =
    name.length <= MAX_ROLE_NAME &&
    ROLE_NAME.test(name) &&
    segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..') &&
    name.startsWith('targets/') &&
    segments.slice(0, -1).join('/') === parent;
  if (!valid) {
    throw denied(
      'NOTARY_DELEGATION_INVALID',
      `${parent} delegates to ${JSON.stringify(name)}, which is not a role name directly below it`,
    );
  }
}

/**
 * tuf/data/roles.go `RestrictDelegationPathPrefixes`: a delegation may only
 * sign names inside its delegator's prefixes, so it keeps the paths that
 * some parent path is a prefix of.
 */
function restrictPaths(paths: readonly string[], parentPaths: readonly string[]): string[] {
  return paths.filter((path) => parentPaths.some((prefix) => path.startsWith(prefix)));
}

function sameRoleKeys(a: RoleKeys, b: RoleKeys): boolean {
  return (
    a.threshold === b.threshold &&
    a.keyIds.length === b.keyIds.length &&
    a.keyIds.every((id) => b.keyIds.includes(id))
  );
}

function isDenied(error: unknown): error is VouchError {
  return error instanceof Error && 'category' in error && error.category === 'denied';
}
