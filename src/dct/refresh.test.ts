import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rejectsWith } from '../../test/helpers/assertions.ts';
import {
  ecdsaKey,
  goTime,
  signMetadata,
  TestNotaryRepository,
} from '../../test/helpers/notary-metadata.ts';
import { findTarget } from './lookup.ts';
import { NotaryMetadataStore } from './metadata-store.ts';
import { refreshRepository } from './refresh.ts';
import { cachedEvidence, type FetchedMetadata } from './update.ts';

const GUN = 'registry.example.com/team/app';
const DAY = 24 * 60 * 60 * 1000;
const DIGEST = 'a'.repeat(64);
const OTHER_DIGEST = 'b'.repeat(64);

/** A notary server's read API over what a TestNotaryRepository published; counts every request. */
class FakeServer {
  readonly url = new URL('https://notary.example.com');
  readonly requests: string[] = [];
  #files = new Map<string, Uint8Array>();

  serve(fetched: FetchedMetadata, timestamp = fetched.timestamp): void {
    const byHash = (role: string, bytes: Uint8Array) =>
      [`${role}.${createHash('sha256').update(bytes).digest('hex')}.json`, bytes] as const;
    this.#files = new Map([
      ['root.json', fetched.root],
      ['timestamp.json', timestamp],
      byHash('snapshot', fetched.snapshot),
      ...[...fetched.targets].map(([role, bytes]) => byHash(role, bytes)),
      ...[...fetched.roots].map(([version, bytes]) => [`${version}.root.json`, bytes] as const),
    ]);
  }

  metadata(_gun: string, file: string, maxBytes: number): Promise<Uint8Array | undefined> {
    this.requests.push(file);
    const bytes = this.#files.get(file);
    assert.ok(bytes === undefined || bytes.length <= maxBytes, `${file} within its cap`);
    return Promise.resolve(bytes);
  }

  /** The requests since the last call. */
  take(): string[] {
    return this.requests.splice(0);
  }
}

function repository(): TestNotaryRepository {
  const repo = new TestNotaryRepository(GUN);
  repo.roles.set('targets', { targets: { v1: { digestHex: DIGEST, length: 528 } } });
  return repo;
}

const digestOf = (repo: Awaited<ReturnType<typeof refreshRepository>>, tag: string) =>
  Buffer.from(findTarget(repo, tag)?.meta.hashes.get('sha256') ?? []).toString('hex');

/** A timestamp the timestamp key signs for the snapshot `fetched` has, with the given version and expiry. */
function resignedTimestamp(
  repo: TestNotaryRepository,
  fetched: FetchedMetadata,
  version: number,
  expires: number,
): Uint8Array {
  return signMetadata(
    {
      _type: 'Timestamp',
      expires: goTime(expires),
      meta: JSON.parse(Buffer.from(fetched.timestamp).toString()).signed.meta,
      version,
    },
    [repo.timestampKey],
  );
}

describe('refreshRepository: answering from the trust store when the timestamp lists its snapshot', () => {
  let dir: string;
  let count = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-dct-refresh-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function setUp() {
    const repo = repository();
    const server = new FakeServer();
    const published = repo.publish();
    server.serve(published);
    const trustDir = join(dir, `trust-${++count}`);
    const trustStore = new NotaryMetadataStore(trustDir);
    const metadataFile = (role: string) => join(trustDir, 'tuf', GUN, 'metadata', `${role}.json`);
    return { repo, server, published, trustStore, metadataFile };
  }

  it('fetches every file the first time, then only the timestamp while it is unchanged', async () => {
    const { repo, server, trustStore } = await setUp();
    const first = await refreshRepository(GUN, { server, trustStore });
    assert.deepEqual(server.take().map(withoutHash), [
      'root.json',
      'timestamp.json',
      'snapshot.H.json',
      'targets.H.json',
    ]);
    const second = await refreshRepository(GUN, { server, trustStore });
    assert.deepEqual(server.take(), ['timestamp.json']);
    assert.equal(digestOf(second, 'v1'), DIGEST);
    assert.equal(second.snapshot.signed.version, first.snapshot.signed.version);

    repo.roles.set('targets', { targets: { v1: { digestHex: OTHER_DIGEST, length: 1 } } });
    const changed = repo.publish();
    server.serve(changed);
    const third = await refreshRepository(GUN, { server, trustStore });
    assert.deepEqual(
      server.take().map(withoutHash),
      ['timestamp.json', 'root.json', 'snapshot.H.json', 'targets.H.json'],
      'a new snapshot is fetched with everything it lists, the timestamp once',
    );
    assert.equal(digestOf(third, 'v1'), OTHER_DIGEST);
  });

  it('uses the cache for a re-signed timestamp of the same snapshot, and saves only the timestamp', async () => {
    const { repo, server, published, trustStore, metadataFile } = await setUp();
    await refreshRepository(GUN, { server, trustStore });
    server.take();
    const snapshotBefore = await readFile(metadataFile('snapshot'));
    const timestamp = resignedTimestamp(repo, published, 5, Date.now() + 14 * DAY);
    server.serve(published, timestamp);
    const again = await refreshRepository(GUN, { server, trustStore });
    assert.deepEqual(server.take(), ['timestamp.json']);
    assert.equal(again.timestamp.signed.version, 5);
    assert.deepEqual(await readFile(metadataFile('timestamp')), Buffer.from(timestamp));
    assert.deepEqual(await readFile(metadataFile('snapshot')), snapshotBefore);
  });

  it('refuses a timestamp older than the trusted one, even one listing the cached snapshot (NOTARY_ROLLBACK)', async () => {
    const { repo, server, published, trustStore } = await setUp();
    server.serve(published, resignedTimestamp(repo, published, 7, Date.now() + 14 * DAY));
    await refreshRepository(GUN, { server, trustStore });
    server.serve(published, resignedTimestamp(repo, published, 6, Date.now() + 14 * DAY));
    const error = await rejectsWith(
      refreshRepository(GUN, { server, trustStore }),
      'NOTARY_ROLLBACK',
      'denied',
    );
    assert.match(error.message, /timestamp is version 6, older than the trusted version 7/);
  });

  it('refuses an expired timestamp, and an expired cached snapshot under a fresh timestamp (NOTARY_EXPIRED)', async () => {
    const { repo, server, trustStore } = await setUp();
    repo.snapshotExpires = Date.now() + 30 * DAY;
    const published = repo.publish();
    server.serve(published);
    await refreshRepository(GUN, { server, trustStore });
    server.take();

    const frozen = await rejectsWith(
      refreshRepository(GUN, { server, trustStore, now: Date.now() + 15 * DAY }),
      'NOTARY_EXPIRED',
      'denied',
    );
    assert.match(frozen.message, /^timestamp version/);

    // The server re-signs the timestamp for a year, over the snapshot it still has.
    server.serve(published, resignedTimestamp(repo, published, 9, Date.now() + 365 * DAY));
    const stale = await rejectsWith(
      refreshRepository(GUN, { server, trustStore, now: Date.now() + 31 * DAY }),
      'NOTARY_EXPIRED',
      'denied',
    );
    assert.match(stale.message, /^snapshot version/);
  });

  it('does not use a cached targets file changed on disk: fetches it again and repairs the cache', async () => {
    const { server, published, trustStore, metadataFile } = await setUp();
    await refreshRepository(GUN, { server, trustStore });
    server.take();
    const file = metadataFile('targets');
    const original = await readFile(file);
    const base64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
    const tampered = original.toString().replace(base64(DIGEST), base64(OTHER_DIGEST));
    assert.notEqual(tampered, original.toString());
    await writeFile(file, tampered);
    const repaired = await refreshRepository(GUN, { server, trustStore });
    assert.deepEqual(server.take().map(withoutHash), [
      'timestamp.json',
      'root.json',
      'timestamp.json',
      'snapshot.H.json',
      'targets.H.json',
    ]);
    assert.equal(digestOf(repaired, 'v1'), DIGEST);
    assert.deepEqual(await readFile(file), Buffer.from(published.targets.get('targets') ?? []));
  });

  it('does not use a cached snapshot changed on disk', async () => {
    const { server, trustStore, metadataFile } = await setUp();
    await refreshRepository(GUN, { server, trustStore });
    server.take();
    const file = metadataFile('snapshot');
    const original = await readFile(file);
    await writeFile(file, Buffer.concat([original, Buffer.from(' ')]));
    const repaired = await refreshRepository(GUN, { server, trustStore });
    assert.deepEqual(server.take().map(withoutHash), [
      'timestamp.json',
      'root.json',
      'snapshot.H.json',
      'targets.H.json',
    ]);
    assert.deepEqual(Buffer.from(repaired.snapshot.bytes), original);
    assert.deepEqual(await readFile(file), original);
  });

  it('follows a root that rotated the timestamp key: the cached root cannot verify the new timestamp', async () => {
    const { repo, server, trustStore } = await setUp();
    const first = await refreshRepository(GUN, { server, trustStore });
    server.take();
    repo.timestampKey = ecdsaKey();
    const rotated = repo.publish({ root: true });
    // The new key signs a timestamp for the snapshot the client already has.
    server.serve(rotated);
    const after = await refreshRepository(GUN, { server, trustStore });
    const requests = server.take();
    assert.equal(requests[0], 'timestamp.json');
    assert.ok(requests.includes('root.json'), requests.join(', '));
    assert.equal(after.root.signed.version, first.root.signed.version + 1);
  });
});

describe('cachedEvidence', () => {
  it('is undefined on first use, for another snapshot, and when a listed role is not cached', () => {
    const repo = repository();
    const published = repo.publish();
    const trusted = {
      root: published.root,
      timestamp: published.timestamp,
      snapshot: published.snapshot,
      targets: published.targets,
    };
    assert.equal(cachedEvidence({ targets: new Map() }, published.timestamp), undefined);
    assert.deepEqual(cachedEvidence(trusted, published.timestamp)?.snapshot, published.snapshot);
    assert.equal(cachedEvidence(trusted, repo.publish().timestamp), undefined);
    assert.equal(
      cachedEvidence({ ...trusted, targets: new Map() }, published.timestamp),
      undefined,
    );
  });
});

/** `snapshot.<hex>.json` as `snapshot.H.json`. */
function withoutHash(file: string): string {
  return file.replace(/\.[0-9a-f]{64}\./, '.H.');
}
