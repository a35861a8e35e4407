import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestNotaryRepository } from '../../test/helpers/notary-metadata.ts';
import { hasCode } from '../core/errors.ts';
import { findTarget } from './lookup.ts';
import { NotaryMetadataStore, PINNED_ROOT_KEYS_FILE } from './metadata-store.ts';
import { updateTrustedMetadata } from './update.ts';

const GUN = 'registry.example.com/team/app';
const bytes = (data: Uint8Array | undefined) =>
  data === undefined ? undefined : Buffer.from(data);

function verifiedRepository() {
  const repo = new TestNotaryRepository(GUN);
  repo.roles.set('targets', { targets: { v1: { digestHex: 'a'.repeat(64), length: 528 } } });
  return updateTrustedMetadata({ targets: new Map() }, repo.publish(), {
    gun: GUN,
    now: Date.now(),
  });
}

describe('NotaryMetadataStore', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-dct-store-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('holds nothing for a repository seen for the first time', async () => {
    const store = new NotaryMetadataStore(join(dir, 'empty'));
    const trusted = await store.read(GUN);
    assert.deepEqual(trusted, { targets: new Map() });
    assert.equal(await store.pinnedRootKeys(GUN), undefined);
  });

  it('saves a verified repository in notary layout and reads back the same bytes', async () => {
    const store = new NotaryMetadataStore(join(dir, 'saved'));
    const repository = verifiedRepository();
    await store.save(repository);
    const metadata = join(dir, 'saved', 'tuf', GUN, 'metadata');
    assert.deepEqual((await readdir(metadata)).sort(), [
      'root.json',
      'snapshot.json',
      'targets.json',
      'timestamp.json',
    ]);
    const trusted = await store.read(GUN);
    assert.deepEqual(bytes(trusted.root), bytes(repository.root.bytes));
    assert.deepEqual(bytes(trusted.timestamp), bytes(repository.timestamp.bytes));
    assert.deepEqual(bytes(trusted.snapshot), bytes(repository.snapshot.bytes));
    assert.deepEqual(
      bytes(trusted.targets.get('targets')),
      bytes(repository.targets.get('targets')?.metadata.bytes),
    );
    // What was saved is a trust anchor the next update accepts again.
    const again = updateTrustedMetadata(
      trusted,
      {
        root: trusted.root as Uint8Array,
        roots: new Map(),
        timestamp: trusted.timestamp as Uint8Array,
        snapshot: trusted.snapshot as Uint8Array,
        targets: trusted.targets,
      },
      { gun: GUN, now: Date.now() },
    );
    assert.equal(findTarget(again, 'v1')?.role, 'targets');
  });

  it('writes atomically: no temporary file is left behind, and a second save replaces the first', async () => {
    const store = new NotaryMetadataStore(join(dir, 'twice'));
    await store.save(verifiedRepository());
    const second = verifiedRepository();
    await store.save(second);
    const metadata = join(dir, 'twice', 'tuf', GUN, 'metadata');
    assert.ok((await readdir(metadata)).every((name) => name.endsWith('.json')));
    assert.deepEqual(await readFile(join(metadata, 'root.json')), bytes(second.root.bytes));
  });

  it('refuses a repository name that would leave its directory', async () => {
    const store = new NotaryMetadataStore(join(dir, 'escape'));
    for (const gun of ['../etc', 'a/../../b', '/abs', 'a//b', 'a/./b']) {
      await assert.rejects(store.read(gun), (e: unknown) => hasCode(e, 'INVALID_REFERENCE'), gun);
    }
  });

  it('reads the pinned root keys file, and refuses an oversized cached file', async () => {
    const root = join(dir, 'pins');
    const store = new NotaryMetadataStore(root);
    await mkdir(join(root, 'tuf', GUN, 'metadata'), { recursive: true });
    await writeFile(join(root, 'tuf', GUN, PINNED_ROOT_KEYS_FILE), 'PEM');
    assert.deepEqual(await store.pinnedRootKeys(GUN), new TextEncoder().encode('PEM'));
    await writeFile(
      join(root, 'tuf', GUN, 'metadata', 'root.json'),
      Buffer.alloc(64 * 1024 * 1024 + 1),
    );
    await assert.rejects(store.read(GUN), (e: unknown) => hasCode(e, 'TRUST_STORE_IO_ERROR'));
  });
});
