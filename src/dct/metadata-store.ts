/**
 * vouch's local trust store for Docker Content Trust: per GUN, the metadata
 * last verified, in notary's cache layout (docs/formats.md "How the notary
 * client updates":
 * `<dir>/tuf/<gun>/metadata/{root,timestamp,snapshot,targets}.json` and
 * `targets/<delegation>.json`). The cached root is the trust anchor: it is
 * written on first use and replaced only by a root that chained from it;
 * the other files bound the versions a server may serve next (rollback).
 *
 * `<dir>/tuf/<gun>/pinned-root-keys.pem`, when present, pins the root: PEM
 * certificates or public keys, one of which must sign every root trusted for
 * that GUN (as `--notary-root-key` does).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { invalid, messageOf, unavailable } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import type { TrustedMetadata, TrustedRepository } from './update.ts';

const MAX_CACHED_BYTES = 64 * 1024 * 1024;
export const PINNED_ROOT_KEYS_FILE = 'pinned-root-keys.pem';

export class NotaryMetadataStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  #gunDir(gun: string): string {
    // GUNs are repository names (oci/reference.ts grammar): no `..`, no leading `/`.
    if (gun.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw invalid('INVALID_REFERENCE', `${JSON.stringify(gun)} cannot name a trust directory`);
    }
    return join(this.dir, 'tuf', gun);
  }

  #file(gun: string, role: string): string {
    return join(this.#gunDir(gun), 'metadata', `${role}.json`);
  }

  /** What was trusted for `gun` after its last update; nothing on first use. */
  async read(gun: string): Promise<TrustedMetadata> {
    const [root, timestamp, snapshot] = await Promise.all(
      ['root', 'timestamp', 'snapshot'].map((role) => this.#read(this.#file(gun, role))),
    );
    const targets = new Map<string, Uint8Array>();
    const queue = ['targets'];
    // Delegations are found through the cached snapshot's list of roles.
    if (snapshot !== undefined) {
      try {
        const meta = (
          parseJson(Buffer.from(snapshot).toString('utf8')) as { signed: { meta: object } }
        ).signed.meta;
        queue.push(...Object.keys(meta).filter((role) => /^targets(?:\/[-a-z0-9_]+)+$/.test(role)));
      } catch {
        // A damaged cache bounds nothing; update.ts reports the bad file itself.
      }
    }
    for (const role of queue) {
      const bytes = await this.#read(this.#file(gun, role));
      if (bytes !== undefined) targets.set(role, bytes);
    }
    return {
      ...(root === undefined ? {} : { root }),
      ...(timestamp === undefined ? {} : { timestamp }),
      ...(snapshot === undefined ? {} : { snapshot }),
      targets,
    };
  }

  /** The pinned root keys file of `gun`, if any. */
  async pinnedRootKeys(gun: string): Promise<Uint8Array | undefined> {
    return this.#read(join(this.#gunDir(gun), PINNED_ROOT_KEYS_FILE));
  }

  /**
   * Records a verified repository as the new trusted state; each file is
   * replaced atomically. Files whose bytes equal those in `previous` (what
   * `read` returned before the update) are not written again.
   */
  async save(repository: TrustedRepository, previous?: TrustedMetadata): Promise<void> {
    const { gun } = repository;
    const files: [string, Uint8Array][] = [
      ['timestamp', repository.timestamp.bytes],
      ['snapshot', repository.snapshot.bytes],
      ...[...repository.targets].map(([role, verified]): [string, Uint8Array] => [
        role,
        verified.metadata.bytes,
      ]),
      // The root last: a new anchor only once what it vouches for is saved.
      ['root', repository.root.bytes],
    ];
    const before = (role: string) =>
      role === 'root' || role === 'timestamp' || role === 'snapshot'
        ? previous?.[role]
        : previous?.targets.get(role);
    for (const [role, bytes] of files) {
      const old = before(role);
      if (old !== undefined && Buffer.from(old).equals(bytes)) continue;
      await this.#write(this.#file(gun, role), bytes);
    }
  }

  async #read(file: string): Promise<Uint8Array | undefined> {
    try {
      // The size is checked before the file is read, not after.
      const { size } = await stat(file);
      if (size > MAX_CACHED_BYTES) {
        throw unavailable(
          'TRUST_STORE_IO_ERROR',
          `${file} is larger than ${MAX_CACHED_BYTES} bytes`,
        );
      }
      return new Uint8Array(await readFile(file));
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      if (error instanceof Error && 'category' in error) throw error;
      throw unavailable('TRUST_STORE_IO_ERROR', `cannot read ${file}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async #write(file: string, bytes: Uint8Array): Promise<void> {
    const temporary = `${file}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(temporary, bytes, { mode: 0o644, flag: 'wx' });
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw unavailable('TRUST_STORE_IO_ERROR', `cannot write ${file}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
}
