import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { CliContext, cliDirs } from './context.ts';
import type { RegistrySettings } from './options.ts';

const io = (env: Record<string, string>) => ({
  env,
  stdin: Readable.from([]),
  stdout: new Writable(),
  stderr: new Writable(),
});

const registry: RegistrySettings = { allowInsecure: false, deadline: '5m' };

test('the cache directory: VOUCH_CACHE_DIR, else an absolute XDG_CACHE_HOME/vouch, else ~/.cache/vouch', () => {
  const all = { VOUCH_CACHE_DIR: '/v', XDG_CACHE_HOME: '/x', HOME: '/h' };
  assert.equal(cliDirs(io(all)).cache, '/v');
  assert.equal(cliDirs(io({ ...all, VOUCH_CACHE_DIR: '' })).cache, '/x/vouch');
  assert.equal(cliDirs(io({ XDG_CACHE_HOME: 'relative', HOME: '/h' })).cache, '/h/.cache/vouch');
  assert.equal(cliDirs(io({ HOME: '/h' })).cache, '/h/.cache/vouch');
});

test("default directories come from the CLI's environment, not the process's", () => {
  const dirs = cliDirs(io({ HOME: '/home/test' }));
  assert.equal(dirs.vouchHome, '/home/test/.vouch');
  assert.equal(dirs.trust, '/home/test/.vouch/trust');
  assert.equal(dirs.dockerConfig, '/home/test/.docker');
  assert.equal(dirs.dockerTrust, '/home/test/.docker/trust');
  const flagged = cliDirs(io({ HOME: '/h', DOCKER_CONFIG: '/d' }), '/t');
  assert.equal(flagged.trust, '/t');
  assert.equal(flagged.dockerConfig, '/d');
  assert.equal(flagged.dockerTrust, '/d/trust');
});

test('the context builds each piece once and closes what it opened', async () => {
  const context = new CliContext(io({ HOME: '/h' }), { registry, workload: 'short' });
  assert.equal(context.stores, context.stores);
  const http = await context.http();
  assert.equal(await context.http(), http);
  assert.equal(await context.notaryMetadata(), await context.notaryMetadata());
  assert.equal(await context.notaryServers(), await context.notaryServers());
  const server = await context.notaryServer('http://127.0.0.1:4443', 'registry.example.com');
  assert.equal(server.url.href, 'http://127.0.0.1:4443/');
  let httpClosed = 0;
  let storesClosed = 0;
  const closeHttp = http.close.bind(http);
  http.close = async () => {
    httpClosed++;
    await closeHttp();
  };
  const stores = context.stores;
  const closeStores = stores.close.bind(stores);
  stores.close = async () => {
    storesClosed++;
    await closeStores();
  };
  await context.close();
  assert.deepEqual([httpClosed, storesClosed], [1, 1]);
  assert.throws(() => context.stores, /closed/);
});

test('a context that opened nothing closes without building anything', async () => {
  const context = new CliContext(io({ HOME: '/h' }), { registry, workload: 'short' });
  await context.close();
});

test('keyless trust is built once per request, and again after a failure', async () => {
  const context = new CliContext(io({ HOME: '/h' }), {
    registry,
    workload: 'short',
    offline: true,
  });
  const { exactly } = await import('../sigstore/certificate-identity.ts');
  const identity = { subject: exactly('a@example.com'), issuer: exactly('https://issuer') };
  const good = { identity };
  const trust = context.keylessTrust(good);
  assert.equal(context.keylessTrust(good), trust);
  await trust;
  const missing = { identity, trustedRoot: '/nonexistent/trusted_root.json' };
  const failed = context.keylessTrust(missing);
  await assert.rejects(failed);
  assert.notEqual(context.keylessTrust(missing), failed);
  await assert.rejects(context.keylessTrust(missing));
  await context.close();
});
