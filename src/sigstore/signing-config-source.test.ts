import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rejectsWith } from '../../test/helpers/assertions.ts';
import { createTestLog, trustedRootJson } from '../../test/helpers/rekor.ts';
import { unavailable } from '../core/errors.ts';
import { PUBLIC_GOOD_TUF_URL } from './public-good.ts';
import { PUBLIC_GOOD_SIGNING_CONFIG_URL } from './public-good-signing-config.ts';
import { parseTrustedRoot } from './trusted-root.ts';
import { selectSigningConfig } from './signing-config-source.ts';
import { parseSigningConfig, SIGNING_CONFIG_MEDIA_TYPE } from './signing-config.ts';
import {
  readCurrentTufRepository,
  tufRepositoryDir,
  writeCurrentTufRepository,
} from './tuf-cache.ts';
import type { SigningConfigUpdate, TufUpdateOptions, TufUpdateResult } from './tuf-update.ts';

const PRIVATE_MIRROR = 'https://tuf.example.test';

function signingConfigJson(fulcio: string): string {
  const service = (url: string) => ({
    url,
    majorApiVersion: 1,
    validFor: { start: '2022-01-01T00:00:00Z' },
    operator: 'example.test',
  });
  return JSON.stringify({
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service(fulcio)],
    rekorTlogUrls: [service('https://rekor.example.test')],
    rekorTlogConfig: { selector: 'ANY' },
  });
}

function metadata(version: number, expires: string): string {
  return JSON.stringify({ signatures: [], signed: { version, expires } });
}

/**
 * A cache as `vouch trusted-root update` leaves it for `mirror`, the timestamp
 * expiring at `expires`, with `signingConfig` as its signing config (none: undefined).
 */
async function writeCache(
  cacheDir: string,
  mirror: string,
  expires: string,
  signingConfig: string | undefined,
): Promise<string> {
  const dir = tufRepositoryDir(cacheDir, mirror);
  await mkdir(dir, { recursive: true });
  for (const role of ['root', 'snapshot', 'targets']) {
    await writeFile(join(dir, `${role}.json`), metadata(1, '2099-01-01T00:00:00Z'));
  }
  await writeFile(join(dir, 'timestamp.json'), metadata(7, expires));
  await writeFile(
    join(dir, 'trusted_root.json'),
    trustedRootJson([createTestLog('https://r.test')]),
  );
  if (signingConfig !== undefined)
    await writeFile(join(dir, 'signing_config.v0.2.json'), signingConfig);
  await writeCurrentTufRepository(cacheDir, mirror);
  return join(dir, 'signing_config.v0.2.json');
}

const refused = async (): Promise<TufUpdateResult> => {
  throw new Error('the network was used');
};

describe('selectSigningConfig', () => {
  let tmp: string;
  let file: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-signing-source-'));
    file = join(tmp, 'private.json');
    await writeFile(file, signingConfigJson('https://fulcio.file.test'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  test('--signing-config wins over the cache; the cache over the shipped one; no cache: shipped', async () => {
    const cacheDir = join(tmp, 'a');
    const cachedPath = await writeCache(
      cacheDir,
      PRIVATE_MIRROR,
      '2099-01-01T00:00:00Z',
      signingConfigJson('https://fulcio.cached.test'),
    );
    const fromFile = await selectSigningConfig({
      file,
      cacheDir,
      offline: false,
      refresh: refused,
    });
    assert.deepEqual(fromFile.origin, { kind: 'file', path: file });
    assert.equal(fromFile.signingConfig.caUrls[0]?.url, 'https://fulcio.file.test');

    const cached = await selectSigningConfig({ cacheDir, offline: false, refresh: refused });
    assert.equal(cached.origin.kind, 'tuf-cache');
    assert.equal(cached.origin.kind === 'tuf-cache' && cached.origin.path, cachedPath);
    assert.equal(cached.signingConfig.caUrls[0]?.url, 'https://fulcio.cached.test');

    const shipped = await selectSigningConfig({ cacheDir: join(tmp, 'none'), offline: false });
    assert.deepEqual(shipped.origin, { kind: 'shipped', url: PUBLIC_GOOD_SIGNING_CONFIG_URL });
    assert.equal(shipped.signingConfig.caUrls[0]?.url, 'https://fulcio.sigstore.dev');
  });

  test('a --signing-config that is missing or not a signing config is invalid', async () => {
    const cacheDir = join(tmp, 'none');
    await rejectsWith(
      selectSigningConfig({ file: join(tmp, 'missing.json'), cacheDir, offline: true }),
      'KEY_FILE_UNREADABLE',
      'invalid',
    );
    const wrong = join(tmp, 'trusted-root.json');
    await writeFile(wrong, trustedRootJson([]));
    const error = await rejectsWith(
      selectSigningConfig({ file: wrong, cacheDir, offline: true }),
      'SIGNING_CONFIG_INVALID',
      'invalid',
    );
    assert.match(
      error.message,
      /trusted-root\.json is not a usable Sigstore signing config: mediaType/,
    );
  });

  test('a public-good cache without a signing config falls back to the shipped one, saying why', async () => {
    const cacheDir = join(tmp, 'b');
    await writeCache(cacheDir, PUBLIC_GOOD_TUF_URL, '2099-01-01T00:00:00Z', undefined);
    const selected = await selectSigningConfig({ cacheDir, offline: true });
    assert.equal(selected.origin.kind, 'shipped');
    assert.match(
      selected.origin.kind === 'shipped' ? (selected.origin.fallback ?? '') : '',
      /the TUF repository https:\/\/tuf-repo-cdn\.sigstore\.dev has no usable signing_config\.v0\.2\.json/,
    );
  });

  test('a private repository without a signing config is an error, never the public-good services', async () => {
    const cacheDir = join(tmp, 'c');
    await writeCache(cacheDir, PRIVATE_MIRROR, '2099-01-01T00:00:00Z', undefined);
    const error = await rejectsWith(
      selectSigningConfig({ cacheDir, offline: true }),
      'SIGNING_CONFIG_REQUIRED',
      'invalid',
    );
    assert.match(error.message, /tuf\.example\.test has no usable .*pass --signing-config FILE/);
  });

  test('a damaged cached signing config is refused, not replaced by the shipped one', async () => {
    const cacheDir = join(tmp, 'd');
    const path = await writeCache(cacheDir, PUBLIC_GOOD_TUF_URL, '2099-01-01T00:00:00Z', '{}');
    const error = await rejectsWith(
      selectSigningConfig({ cacheDir, offline: true }),
      'TUF_CACHE_INVALID',
      'invalid',
    );
    assert.ok(error.message.includes(`${path}: it is not a usable Sigstore signing config`));
  });

  test('an expired cache is refreshed once, and never when offline', async () => {
    const cacheDir = join(tmp, 'e');
    await writeCache(
      cacheDir,
      PRIVATE_MIRROR,
      '2020-01-01T00:00:00Z',
      signingConfigJson('https://fulcio.stale.test'),
    );
    const offline = await selectSigningConfig({ cacheDir, offline: true, refresh: refused });
    assert.equal(offline.origin.kind === 'tuf-cache' && offline.origin.expired, true);
    assert.equal(offline.signingConfig.caUrls[0]?.url, 'https://fulcio.stale.test');

    const fresh = parseSigningConfig(
      new TextEncoder().encode(signingConfigJson('https://fulcio.fresh.test')),
    );
    const refreshWith =
      (signingConfig: SigningConfigUpdate, calls: TufUpdateOptions[] = []) =>
      async (options: TufUpdateOptions): Promise<TufUpdateResult> => {
        calls.push(options);
        const repository = await readCurrentTufRepository(cacheDir);
        assert.ok(repository !== undefined);
        return {
          repository,
          trustedRoot: parseTrustedRoot(new TextEncoder().encode(trustedRootJson([]))),
          initialRoot: 'cached',
          signingConfig,
        };
      };
    const calls: TufUpdateOptions[] = [];
    const online = await selectSigningConfig({
      cacheDir,
      offline: false,
      update: { timeoutMs: 5 },
      refresh: refreshWith({ status: 'cached', path: '/fresh.json', signingConfig: fresh }, calls),
    });
    assert.deepEqual(calls, [{ timeoutMs: 5, cacheDir, mirrorUrl: PRIVATE_MIRROR }]);
    assert.equal(online.signingConfig, fresh);
    assert.equal(online.origin.kind === 'tuf-cache' && online.origin.refreshed, true);
    assert.equal(online.origin.kind === 'tuf-cache' && online.origin.path, '/fresh.json');

    // The refreshed repository dropped its signing config: a private one is then an error.
    const dropped = await rejectsWith(
      selectSigningConfig({
        cacheDir,
        offline: false,
        refresh: refreshWith({ status: 'unusable', problem: 'mediaType is "x"' }),
      }),
      'SIGNING_CONFIG_REQUIRED',
    );
    assert.match(dropped.message, /has no usable signing_config\.v0\.2\.json \(mediaType is "x"\)/);

    const failure = await rejectsWith(
      selectSigningConfig({
        cacheDir,
        offline: false,
        refresh: async () => {
          throw unavailable('TUF_UNAVAILABLE', 'mirror down');
        },
      }),
      'TUF_UNAVAILABLE',
      'unavailable',
    );
    assert.match(
      failure.message,
      /expired at 2020-01-01T00:00:00Z and refreshing it failed: mirror down/,
    );
  });
});
