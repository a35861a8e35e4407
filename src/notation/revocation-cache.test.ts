/** The revocation answer cache: whole entries, expiry, a size bound, misses on anything odd. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RevocationCache } from './revocation-cache.ts';

describe('revocation cache', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-revocation-cache-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const now = new Date('2026-12-07T00:00:00Z');
  const later = new Date('2026-12-08T00:00:00Z');

  test('stores parts until they expire', async () => {
    const cache = new RevocationCache(join(dir, 'a'));
    assert.equal(await cache.get('crl\nhttp://x/a.crl', now), undefined);
    await cache.set('crl\nhttp://x/a.crl', [Buffer.from('base'), Buffer.from('delta')], later);
    const parts = await cache.get('crl\nhttp://x/a.crl', now);
    assert.deepEqual(
      parts?.map((p) => Buffer.from(p).toString()),
      ['base', 'delta'],
    );
    assert.equal(await cache.get('crl\nhttp://x/other.crl', now), undefined);
    assert.equal(await cache.get('crl\nhttp://x/a.crl', new Date(later.getTime() + 1)), undefined);
    // The expired entry is gone from the directory too.
    assert.deepEqual(await readdir(join(dir, 'a')), []);
  });

  test('a truncated or foreign file is a miss', async () => {
    const cache = new RevocationCache(join(dir, 'b'));
    await cache.set('k', [Buffer.from('value')], later);
    const [name] = await readdir(join(dir, 'b'));
    assert.ok(name);
    await writeFile(join(dir, 'b', name), Buffer.from('VRC1\0\0'));
    assert.equal(await cache.get('k', now), undefined);
    await writeFile(join(dir, 'b', name), Buffer.from('not a cache entry at all'));
    assert.equal(await cache.get('k', now), undefined);
  });

  test('the directory stays under its size bound, oldest entries leaving first', async () => {
    const cache = new RevocationCache(join(dir, 'c'), 3000);
    await cache.set('one', [Buffer.alloc(1000)], later);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await cache.set('two', [Buffer.alloc(1000)], later);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await cache.set('three', [Buffer.alloc(1000)], later);
    assert.equal(await cache.get('one', now), undefined);
    assert.ok(await cache.get('two', now));
    assert.ok(await cache.get('three', now));
    // An entry larger than the whole bound is not stored.
    await cache.set('huge', [Buffer.alloc(4000)], later);
    assert.equal(await cache.get('huge', now), undefined);
  });

  test('a cache directory that cannot be written is no error', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const cache = new RevocationCache(file);
    await cache.set('k', [Buffer.from('v')], later);
    assert.equal(await cache.get('k', now), undefined);
  });
});
