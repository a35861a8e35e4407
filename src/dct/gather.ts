/**
 * Fetches what one update of a GUN needs, in notary's order
 * (notary client/tufclient.go; docs/formats.md "How the notary client
 * updates"): `root.json`, the root
 * versions between the trusted one and it, `timestamp.json`, then the
 * snapshot and every targets role by the sha256 their parent lists (notary
 * fetches by hash even without consistent snapshots). What the files say is
 * used only to address and size the next request; `update.ts` decides
 * whether any of it is to be trusted.
 */
import { denied } from '../core/errors.ts';
import { type FileMeta, metadataVersion, parseMetadata } from '../formats/notary/metadata.ts';
import type { NotaryServer } from './notary-server.ts';
import type { FetchedMetadata, TrustedMetadata } from './update.ts';

export interface NotaryLimits {
  /** Largest root.json accepted (several certificates fit in a few kilobytes). */
  readonly maxRootBytes?: number;
  /** const.go MaxTimestampSize: 1 MiB. */
  readonly maxTimestampBytes?: number;
  /** Largest snapshot or targets file, whatever length its parent claims. */
  readonly maxRoleBytes?: number;
  /** Most targets roles (targets and delegations) fetched for one GUN. */
  readonly maxRoles?: number;
  /** Most root versions walked in one update. */
  readonly maxRootRotations?: number;
}

export const DEFAULT_NOTARY_LIMITS: Required<NotaryLimits> = {
  maxRootBytes: 1024 * 1024,
  maxTimestampBytes: 1024 * 1024,
  maxRoleBytes: 64 * 1024 * 1024,
  maxRoles: 256,
  maxRootRotations: 256,
};

/** Delegation names as notary allows them (tuf/data/roles.go), safe to put in a URL path. */
const TARGETS_ROLE = /^targets(?:\/[-a-z0-9_]+)*$/;

/** What the fetches need of a notary server client. */
export type NotaryMetadataSource = Pick<NotaryServer, 'url' | 'metadata'>;

/** `timestamp.json` alone: when it lists the cached snapshot, nothing else is fetched (`update.ts` `cachedEvidence`). */
export async function fetchTimestamp(
  server: NotaryMetadataSource,
  gun: string,
  limits: NotaryLimits = {},
): Promise<Uint8Array> {
  const cap = limits.maxTimestampBytes ?? DEFAULT_NOTARY_LIMITS.maxTimestampBytes;
  const timestamp = await server.metadata(gun, 'timestamp.json', cap);
  if (timestamp === undefined) {
    throw denied('NOTARY_NO_TRUST_DATA', `${server.url.host} has no timestamp for ${gun}`);
  }
  return timestamp;
}

export async function fetchNotaryMetadata(
  server: NotaryMetadataSource,
  gun: string,
  trusted: TrustedMetadata,
  limits: NotaryLimits = {},
  /** `timestamp.json` as fetched a moment ago (`fetchTimestamp`), not fetched again. */
  fetchedTimestamp?: Uint8Array,
): Promise<FetchedMetadata> {
  const limit = { ...DEFAULT_NOTARY_LIMITS, ...limits };
  const where = `${server.url.host}`;
  const root = await server.metadata(gun, 'root.json', limit.maxRootBytes);
  if (root === undefined) {
    throw denied('NOTARY_NO_TRUST_DATA', `${where} has no trust data for ${gun}`);
  }
  const roots = new Map<number, Uint8Array>();
  if (trusted.root !== undefined) {
    const from = metadataVersion(trusted.root, 'Root', 'trusted root');
    const to = metadataVersion(root, 'Root', 'root.json');
    if (to - from - 1 > limit.maxRootRotations) {
      throw denied(
        'NOTARY_ROOT_ROTATION_INVALID',
        `${where}: ${gun} went from root version ${from} to ${to}, more than ${limit.maxRootRotations} rotations`,
      );
    }
    for (let version = from + 1; version < to; version++) {
      const bytes = await server.metadata(gun, `${version}.root.json`, limit.maxRootBytes);
      if (bytes !== undefined) roots.set(version, bytes);
    }
  }
  const timestamp =
    fetchedTimestamp ?? (await server.metadata(gun, 'timestamp.json', limit.maxTimestampBytes));
  if (timestamp === undefined) {
    throw denied('NOTARY_NO_TRUST_DATA', `${where} has a root but no timestamp for ${gun}`);
  }
  const snapshotMeta = parseMetadata(timestamp, 'Timestamp', 'timestamp.json').signed.snapshot;
  const snapshot = await byHash(server, gun, 'snapshot', snapshotMeta, limit.maxRoleBytes);
  if (snapshot === undefined) {
    throw denied(
      'NOTARY_METADATA_MISSING',
      `${where} does not serve the snapshot its timestamp lists for ${gun}`,
    );
  }
  const roles = [...parseMetadata(snapshot, 'Snapshot', 'snapshot').signed.meta].filter(([role]) =>
    TARGETS_ROLE.test(role),
  );
  if (roles.length > limit.maxRoles) {
    throw denied(
      'NOTARY_METADATA_TOO_LARGE',
      `${where}: the snapshot of ${gun} lists ${roles.length} targets roles, more than ${limit.maxRoles}`,
    );
  }
  const targets = new Map<string, Uint8Array>();
  for (const [role, meta] of roles) {
    const bytes = await byHash(server, gun, role, meta, limit.maxRoleBytes);
    if (bytes !== undefined) targets.set(role, bytes);
  }
  return { root, roots, timestamp, snapshot, targets };
}

/** `<role>.<sha256 hex>.json`, no longer than its parent says (and never beyond the cap). */
async function byHash(
  server: NotaryMetadataSource,
  gun: string,
  role: string,
  meta: FileMeta,
  cap: number,
): Promise<Uint8Array | undefined> {
  const sha256 = meta.hashes.get('sha256');
  if (sha256 === undefined) return undefined;
  if (meta.length > cap) {
    throw denied(
      'NOTARY_METADATA_TOO_LARGE',
      `${server.url.host}: ${gun} ${role} is listed at ${meta.length} bytes, more than the ${cap} accepted`,
    );
  }
  return server.metadata(gun, `${role}.${Buffer.from(sha256).toString('hex')}.json`, meta.length);
}
