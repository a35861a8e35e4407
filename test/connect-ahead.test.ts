/**
 * Stores.connectAhead: the `/v2/` ping starts before the first real request
 * and is not repeated by it; an unreachable registry fails the first real
 * request, not the call; OCI layouts are not touched.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasCode } from '../src/core/errors.ts';
import { parseImageSpec, Stores } from '../src/registry/open.ts';
import { startHostileRegistry } from './helpers/hostile-registry.ts';
import { freePort } from './helpers/registry.ts';

describe('Stores.connectAhead', () => {
  test('pings each registry once, ahead of and shared with the first request', async () => {
    let releasePing!: () => void;
    const pingHeld = new Promise<void>((resolve) => {
      releasePing = resolve;
    });
    const registry = await startHostileRegistry(async (req, res) => {
      if (req.url === '/v2/') await pingHeld;
      res.writeHead(req.url === '/v2/' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}');
    });
    const stores = new Stores();
    try {
      stores.connectAhead(
        ['a/one:1', 'a/two:1', 'b/three:1'].map((name) =>
          parseImageSpec(`${registry.host}/${name}`),
        ),
      );
      // The ping is on its way before anything asks for a manifest.
      const deadline = Date.now() + 5000;
      while (registry.requests.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.deepEqual(registry.requests, ['GET /v2/']);
      const opened = await stores.openImage(`${registry.host}/a/one:1`);
      const lookup = opened.store.getManifest({ tag: '1' });
      releasePing();
      await assert.rejects(lookup, (error) => hasCode(error, 'MANIFEST_UNKNOWN'));
      assert.deepEqual(registry.requests, ['GET /v2/', 'GET /v2/a/one/manifests/1']);
    } finally {
      releasePing();
      await stores.close();
      await registry.stop();
    }
  });

  test('an unreachable registry fails the first request with NETWORK_ERROR, not the call', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const stores = new Stores({ http: { retries: 0 } });
    try {
      stores.connectAhead([parseImageSpec(`${host}/app:1`)]);
      const opened = await stores.openImage(`${host}/app:1`);
      await assert.rejects(opened.store.getManifest({ tag: '1' }), (error) =>
        hasCode(error, 'NETWORK_ERROR'),
      );
    } finally {
      await stores.close();
    }
  });

  test('OCI layouts are left alone (nothing created)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vouch-ahead-'));
    const stores = new Stores();
    try {
      stores.connectAhead([parseImageSpec(`oci:${join(dir, 'missing')}:1`)]);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await stores.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
