import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { expectError, rejectsWith } from '../../test/helpers/assertions.ts';
import { createTestLog, trustedRootJson } from '../../test/helpers/rekor.ts';
import { unavailable } from '../core/errors.ts';
import { publicGoodTufRoot } from './public-good.ts';
import { selectTrustedRoot } from './trusted-root-source.ts';
import { parseTrustedRoot } from './trusted-root.ts';
import {
  normalizeMirrorUrl,
  readCurrentTufRepository,
  tufExpired,
  tufRepositoryDir,
  writeCurrentTufRepository,
} from './tuf-cache.ts';
import type { TufUpdateOptions, TufUpdateResult } from './tuf-update.ts';

const MIRROR = 'https://tuf.example.test';
const cachedLog = createTestLog('https://rekor.cached.test');
const fileLog = createTestLog('https://rekor.file.test');

function metadata(version: number, expires: string): string {
  return JSON.stringify({ signatures: [], signed: { version, expires } });
}

/** A cache as `vouch trusted-root update` leaves it, with the timestamp expiring at `expires`. */
async function writeCache(cacheDir: string, expires: string): Promise<void> {
  const dir = tufRepositoryDir(cacheDir, MIRROR);
  await mkdir(dir, { recursive: true });
  for (const role of ['root', 'snapshot', 'targets']) {
    await writeFile(join(dir, `${role}.json`), metadata(1, '2099-01-01T00:00:00Z'));
  }
  await writeFile(join(dir, 'timestamp.json'), metadata(7, expires));
  await writeFile(join(dir, 'trusted_root.json'), trustedRootJson([cachedLog]));
  await writeCurrentTufRepository(cacheDir, MIRROR);
}

describe('selectTrustedRoot', () => {
  let tmp: string;
  let file: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-trust-source-'));
    file = join(tmp, 'private.json');
    await writeFile(file, trustedRootJson([fileLog]));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  const refused = async (): Promise<TufUpdateResult> => {
    throw new Error('the network was used');
  };

  test('--trusted-root wins over the cache; no cache means the shipped root', async () => {
    const cacheDir = join(tmp, 'a');
    await writeCache(cacheDir, '2099-01-01T00:00:00Z');
    const fromFile = await selectTrustedRoot({ file, cacheDir, offline: false, refresh: refused });
    assert.deepEqual(fromFile.origin, { kind: 'file', path: file });
    assert.equal(fromFile.trustedRoot.tlogs[0]?.logId, fileLog.logId);

    const cached = await selectTrustedRoot({ cacheDir, offline: false, refresh: refused });
    assert.equal(cached.origin.kind, 'tuf-cache');
    assert.equal(cached.trustedRoot.tlogs[0]?.logId, cachedLog.logId);

    const shipped = await selectTrustedRoot({ cacheDir: join(tmp, 'none'), offline: false });
    assert.equal(shipped.origin.kind, 'shipped');
    assert.ok(
      shipped.trustedRoot.tlogs.some((log) => log.baseUrl === 'https://rekor.sigstore.dev'),
    );
  });

  test('an expired cache is refreshed once, and never when offline', async () => {
    const cacheDir = join(tmp, 'b');
    await writeCache(cacheDir, '2020-01-01T00:00:00Z');
    const offline = await selectTrustedRoot({ cacheDir, offline: true, refresh: refused });
    assert.equal(offline.origin.kind === 'tuf-cache' && offline.origin.expired, true);

    const calls: TufUpdateOptions[] = [];
    const fresh = parseTrustedRoot(new TextEncoder().encode(trustedRootJson([fileLog])));
    const online = await selectTrustedRoot({
      cacheDir,
      offline: false,
      update: { timeoutMs: 5 },
      refresh: async (options) => {
        calls.push(options);
        const repository = await readCurrentTufRepository(cacheDir);
        assert.ok(repository !== undefined);
        return {
          repository,
          trustedRoot: fresh,
          initialRoot: 'cached',
          signingConfig: { status: 'absent' },
        };
      },
    });
    assert.deepEqual(calls, [{ timeoutMs: 5, cacheDir, mirrorUrl: MIRROR }]);
    assert.equal(online.trustedRoot, fresh);
    assert.equal(online.origin.kind === 'tuf-cache' && online.origin.refreshed, true);

    const failure = await rejectsWith(
      selectTrustedRoot({
        cacheDir,
        offline: false,
        refresh: async () => {
          throw unavailable('TUF_UNAVAILABLE', 'mirror down');
        },
      }),
      'TUF_UNAVAILABLE',
      'unavailable',
    );
    assert.match(failure.message, /expired at 2020-01-01T00:00:00Z .*mirror down .*--offline/);
  });

  test('a damaged cache is refused, not replaced by the shipped root', async () => {
    const cacheDir = join(tmp, 'c');
    await writeCache(cacheDir, '2099-01-01T00:00:00Z');
    await writeFile(join(tufRepositoryDir(cacheDir, MIRROR), 'trusted_root.json'), '{}');
    await rejectsWith(
      selectTrustedRoot({ cacheDir, offline: true }),
      'TUF_CACHE_INVALID',
      'invalid',
    );
    await rm(join(tufRepositoryDir(cacheDir, MIRROR), 'snapshot.json'));
    await rejectsWith(
      selectTrustedRoot({ cacheDir, offline: true }),
      'TUF_CACHE_INVALID',
      'invalid',
    );
  });
});

describe('TUF cache paths and times', () => {
  test('the public-good TUF root embedded in @sigstore/tuf is a root.json', async () => {
    const root = JSON.parse(Buffer.from(await publicGoodTufRoot()).toString('utf8')) as {
      signed: { _type: string; version: number; roles: Record<string, unknown> };
    };
    assert.equal(root.signed._type, 'root');
    assert.ok(root.signed.version >= 1);
    assert.deepEqual(Object.keys(root.signed.roles).sort(), [
      'root',
      'snapshot',
      'targets',
      'timestamp',
    ]);
  });

  test('mirror URLs: https, or http on loopback; no credentials; no trailing slash', () => {
    assert.equal(
      normalizeMirrorUrl('https://tuf.example.test/repo/'),
      'https://tuf.example.test/repo',
    );
    assert.equal(normalizeMirrorUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    for (const bad of [
      'http://tuf.example.test',
      'https://u:p@tuf.example.test',
      'https://x.test/?a',
      'tuf',
    ]) {
      assert.throws(() => normalizeMirrorUrl(bad), expectError('invalid', 'TUF_MIRROR_INVALID'));
    }
  });

  test('one directory per repository, named as @sigstore/tuf names it', () => {
    assert.equal(
      tufRepositoryDir('/c', 'https://tuf-repo-cdn.sigstore.dev'),
      join('/c', 'tuf', 'tuf-repo-cdn.sigstore.dev'),
    );
    assert.equal(
      tufRepositoryDir('/c', 'http://127.0.0.1:8080/a/b'),
      join('/c', 'tuf', '127.0.0.1%3A8080%2Fa%2Fb'),
    );
  });

  test('metadata has expired at its expiry instant, as tuf-js decides', () => {
    const at = new Date('2030-01-01T00:00:00Z');
    assert.equal(tufExpired('2030-01-01T00:00:00Z', at), true);
    assert.equal(tufExpired('2030-01-01T00:00:01Z', at), false);
  });
});
