/**
 * Registry authentication against real servers on 127.0.0.1: a Distribution
 * 2.8 registry with htpasswd (HTTP Basic), and one delegating to a token
 * issuer (the Docker token flow). Credentials come from a temp DOCKER_CONFIG,
 * and `vouch login` / `vouch logout` run in-process through `main(argv, io)`.
 * Refused authentication is "could not check": code UNAUTHORIZED, category
 * `unavailable`, CLI exit 3.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ParsedManifest } from '../src/oci/manifest.ts';
import type { Credentials } from '../src/registry/credentials.ts';
import { findCredentials } from '../src/registry/credentials.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { rejectsWith } from './helpers/assertions.ts';
import { runVouch } from './helpers/cli.ts';
import { buildImage } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';
import { startTokenIssuer, type TokenIssuer } from './helpers/token-issuer.ts';

/** Pulls an image completely: resolve, manifest, config and every layer. */
async function pull(repo: ImageStore, tag: string): Promise<ParsedManifest> {
  const descriptor = await repo.resolve({ tag });
  const manifest = await repo.getManifest({ digest: descriptor.digest });
  if (manifest.kind === 'image') {
    for (const blob of [manifest.manifest.config, ...manifest.manifest.layers])
      await repo.readBlob(blob, blob.size);
  }
  return manifest;
}

const basicAuth = (user: string, password: string) =>
  Buffer.from(`${user}:${password}`).toString('base64');

async function writeDockerConfig(dir: string, host: string, user: string, password: string) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ auths: { [host]: { auth: basicAuth(user, password) } } }),
  );
}

describe('basic auth (htpasswd registry)', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let tmp: string;
  let digest: string;
  let dirCount = 0;
  /** A fresh, empty DOCKER_CONFIG directory (not yet created). */
  const newConfigDir = () => join(tmp, `docker-config-${++dirCount}`);
  const envFor = (configDir: string) => ({ DOCKER_CONFIG: configDir, PATH: process.env.PATH });
  const clientWith = (credentials?: Credentials) =>
    new RegistryClient(registry.host, {
      http,
      ...(credentials === undefined ? {} : { credentials: async () => credentials }),
    });

  before(async () => {
    registry = await startRegistry({
      auth: { kind: 'htpasswd', users: { alice: 's3cret' } },
    });
    http = new HttpClient({ retries: 0 });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-auth-test-'));
    const repo = clientWith({ username: 'alice', password: 's3cret' }).repository('basic/app');
    digest = (await buildImage(repo, { tag: 'v1' })).descriptor.digest;
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('refuses anonymous access: UNAUTHORIZED, unavailable, exit 3, naming the registry', async () => {
    const repo = clientWith().repository('basic/app');
    const pullError = await rejectsWith(repo.resolve({ tag: 'v1' }), 'UNAUTHORIZED', 'unavailable');
    assert.ok(pullError.message.includes(registry.host), pullError.message);
    const pushError = await rejectsWith(buildImage(repo), 'UNAUTHORIZED', 'unavailable');
    assert.ok(pushError.message.includes(registry.host), pushError.message);

    const run = await runVouch(['digest', `${registry.host}/basic/app:v1`], {
      env: envFor(newConfigDir()),
    });
    assert.equal(run.code, 3, run.stderr);
    assert.ok(run.stderr.includes(registry.host), run.stderr);
    assert.equal(run.stdout, '');
  });

  it('uses credentials from config.json `auths` in DOCKER_CONFIG', async () => {
    const configDir = newConfigDir();
    await writeDockerConfig(configDir, registry.host, 'alice', 's3cret');

    const client = new RegistryClient(registry.host, {
      http,
      credentials: (host) => findCredentials(host, { configDir }),
    });
    assert.equal((await pull(client.repository('basic/app'), 'v1')).digest, digest);

    const run = await runVouch(['digest', `${registry.host}/basic/app:v1`], {
      env: envFor(configDir),
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${digest}\n`);
    // Push with them too: copy into another repository of the same registry.
    const copy = await runVouch(
      ['copy', `${registry.host}/basic/app:v1`, `${registry.host}/basic/copy:v1`],
      { env: envFor(configDir) },
    );
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(copy.stdout, `${digest}\n`);
  });

  it('refuses a wrong password: UNAUTHORIZED, unavailable, exit 3', async () => {
    const repo = clientWith({ username: 'alice', password: 'wrong' }).repository('basic/app');
    const error = await rejectsWith(repo.resolve({ tag: 'v1' }), 'UNAUTHORIZED', 'unavailable');
    assert.ok(error.message.includes(registry.host), error.message);

    const configDir = newConfigDir();
    await writeDockerConfig(configDir, registry.host, 'alice', 'wrong');
    const run = await runVouch(['digest', `${registry.host}/basic/app:v1`], {
      env: envFor(configDir),
    });
    assert.equal(run.code, 3, run.stderr);
    assert.ok(run.stderr.includes(registry.host), run.stderr);
  });

  it('vouch login --password-stdin stores working credentials (0600); vouch logout removes them', async () => {
    const configDir = newConfigDir();
    const env = envFor(configDir);
    const file = join(configDir, 'config.json');

    const login = await runVouch(['login', registry.host, '-u', 'alice', '--password-stdin'], {
      env,
      stdin: ['s3cret\n'],
    });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /Login succeeded/);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {
      auths: { [registry.host]: { auth: basicAuth('alice', 's3cret') } },
    });
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    const digestRun = await runVouch(['digest', `${registry.host}/basic/app:v1`], { env });
    assert.equal(digestRun.code, 0, digestRun.stderr);
    assert.equal(digestRun.stdout, `${digest}\n`);

    const logout = await runVouch(['logout', registry.host], { env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stderr, /Removed credentials/);
    const after = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, unknown> };
    assert.equal(Object.hasOwn(after.auths, registry.host), false);
    const anonymous = await runVouch(['digest', `${registry.host}/basic/app:v1`], { env });
    assert.equal(anonymous.code, 3, 'logged out: anonymous again');
    const again = await runVouch(['logout', registry.host], { env });
    assert.equal(again.code, 0);
    assert.match(again.stderr, /No credentials/);
  });

  it('vouch login stores credentials under the registry name references use', async () => {
    // A port with leading zeros reaches the same registry; the credentials go
    // under the canonical name, the one `vouch digest` looks them up by.
    const configDir = newConfigDir();
    const env = envFor(configDir);
    const port = registry.host.slice(registry.host.lastIndexOf(':') + 1);
    const login = await runVouch(
      ['login', `http://127.0.0.1:00${port}/v2/`, '-u', 'alice', '--password-stdin'],
      { env, stdin: ['s3cret\n'] },
    );
    assert.equal(login.code, 0, login.stderr);
    assert.deepEqual(JSON.parse(await readFile(join(configDir, 'config.json'), 'utf8')), {
      auths: { [registry.host]: { auth: basicAuth('alice', 's3cret') } },
    });
    const digestRun = await runVouch(['digest', `${registry.host}/basic/app:v1`], { env });
    assert.equal(digestRun.code, 0, digestRun.stderr);
    for (const [host, fragment] of [
      ['example.com:443', 'registry port 443 is the default port of HTTPS'],
      ['nohost', 'a registry has a "." or a port, or is localhost'],
    ] as const) {
      const refused = await runVouch(['login', host, '-u', 'alice', '--password-stdin'], {
        env,
        stdin: ['s3cret\n'],
      });
      assert.equal(refused.code, 2, refused.stderr);
      assert.ok(refused.stderr.includes(fragment), refused.stderr);
    }
  });

  it('vouch login with a wrong password exits 3 and writes nothing', async () => {
    const configDir = newConfigDir();
    const run = await runVouch(['login', registry.host, '-u', 'alice', '--password-stdin'], {
      env: envFor(configDir),
      stdin: ['wrong\n'],
    });
    assert.equal(run.code, 3, run.stderr);
    assert.ok(run.stderr.includes(registry.host), run.stderr);
    assert.doesNotMatch(run.stderr, /wrong/, 'the password is not echoed');
    assert.equal(existsSync(join(configDir, 'config.json')), false);

    const empty = await runVouch(['login', registry.host, '-u', 'alice', '--password-stdin'], {
      env: envFor(configDir),
      stdin: [''],
    });
    assert.equal(empty.code, 2, 'an empty password is a usage error');
    assert.equal(existsSync(join(configDir, 'config.json')), false);
  });
});

describe('token auth (registry delegating to a token issuer)', () => {
  let issuer: TokenIssuer;
  let registry: RunningRegistry;
  let http: HttpClient;
  let tmp: string;
  const alice: Credentials = { username: 'alice', password: 'pa55word' };
  const clientWith = (credentials?: Credentials) =>
    new RegistryClient(registry.host, {
      http,
      ...(credentials === undefined ? {} : { credentials: async () => credentials }),
    });
  /** Token requests made since `mark` (an index into `issuer.requests`). */
  const requestsSince = (mark: number) => issuer.requests.slice(mark);

  before(async () => {
    // Anonymous clients may pull, never push.
    issuer = await startTokenIssuer({ users: { alice: 'pa55word' }, anonymous: 'pull' });
    registry = await startRegistry({ auth: { kind: 'token', issuer } });
    http = new HttpClient({ retries: 0 });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-token-test-'));
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    await issuer?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('refuses an anonymous push (UNAUTHORIZED, unavailable) but allows an anonymous pull', async () => {
    const anonymous = clientWith().repository('token/public');
    const error = await rejectsWith(
      buildImage(anonymous, { tag: 'v1' }),
      'UNAUTHORIZED',
      'unavailable',
    );
    assert.ok(error.message.includes(`${registry.host}/token/public`), error.message);

    const image = await buildImage(clientWith(alice).repository('token/public'), { tag: 'v1' });
    const mark = issuer.requests.length;
    assert.equal((await pull(anonymous, 'v1')).digest, image.descriptor.digest);
    assert.ok(requestsSince(mark).every((r) => r.user === undefined && r.status === 200));
  });

  it('pushes and pulls with credentials', async () => {
    const image = await buildImage(clientWith(alice).repository('token/private'), {
      tag: 'v1',
      layers: 2,
      layerSize: 20_000,
    });
    const pulled = await pull(clientWith(alice).repository('token/private'), 'v1');
    assert.equal(pulled.digest, image.descriptor.digest);
    assert.deepEqual(Buffer.from(pulled.bytes), Buffer.from(image.bytes));
  });

  it('caches tokens per scope: one token per repository, however often it is pulled', async () => {
    const pusher = clientWith(alice);
    await buildImage(pusher.repository('cache/a'), { tag: 'v1' });
    await buildImage(pusher.repository('cache/b'), { tag: 'v1' });

    const client = clientWith(alice);
    let mark = issuer.requests.length;
    await pull(client.repository('cache/a'), 'v1');
    await pull(client.repository('cache/a'), 'v1');
    const forA = requestsSince(mark);
    assert.equal(forA.length, 1, 'pulling one repository twice fetches one token');
    assert.deepEqual(forA[0]?.scope, ['repository:cache/a:pull']);
    assert.equal(forA[0]?.user, 'alice');
    assert.equal(forA[0]?.service, issuer.service);
    assert.equal(forA[0]?.status, 200);

    mark = issuer.requests.length;
    await pull(client.repository('cache/b'), 'v1');
    await pull(client.repository('cache/a'), 'v1');
    const forB = requestsSince(mark);
    assert.equal(
      forB.length,
      1,
      'another repository needs its own token; the first is still cached',
    );
    assert.deepEqual(forB[0]?.scope, ['repository:cache/b:pull']);

    // Pushing asks for a different scope (pull,push) and so for a new token.
    mark = issuer.requests.length;
    await buildImage(client.repository('cache/a'), { tag: 'v2' });
    const forPush = requestsSince(mark);
    assert.equal(forPush.length, 1);
    assert.deepEqual(forPush[0]?.scope, ['repository:cache/a:pull,push']);
  });

  it('refuses a wrong password at the token server: UNAUTHORIZED, unavailable, exit 3', async () => {
    await buildImage(clientWith(alice).repository('token/guarded'), { tag: 'v1' });
    const mark = issuer.requests.length;
    const repo = clientWith({ username: 'alice', password: 'nope' }).repository('token/guarded');
    const error = await rejectsWith(repo.resolve({ tag: 'v1' }), 'UNAUTHORIZED', 'unavailable');
    assert.ok(error.message.includes(registry.host), error.message);
    assert.ok(requestsSince(mark).some((r) => r.status === 401));

    const configDir = join(tmp, 'wrong-password');
    await writeDockerConfig(configDir, registry.host, 'alice', 'nope');
    const run = await runVouch(['digest', `${registry.host}/token/guarded:v1`], {
      env: { DOCKER_CONFIG: configDir, PATH: process.env.PATH },
    });
    assert.equal(run.code, 3, run.stderr);
    assert.ok(run.stderr.includes(registry.host), run.stderr);
  });

  it('vouch login checks the password with the token server before storing it', async () => {
    const configDir = join(tmp, 'login');
    const env = { DOCKER_CONFIG: configDir, PATH: process.env.PATH };
    const wrong = await runVouch(['login', registry.host, '-u', 'alice', '--password-stdin'], {
      env,
      stdin: ['nope'],
    });
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.equal(existsSync(join(configDir, 'config.json')), false);

    const ok = await runVouch(['login', registry.host, '-u', 'alice', '--password-stdin'], {
      env,
      stdin: ['pa55word\n'],
    });
    assert.equal(ok.code, 0, ok.stderr);
    const image = await buildImage(clientWith(alice).repository('token/login'), { tag: 'v1' });
    const run = await runVouch(['digest', `${registry.host}/token/login:v1`], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${image.descriptor.digest}\n`);
  });
});
