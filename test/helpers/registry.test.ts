import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHostileRegistry } from './hostile-registry.ts';
import { createTlsCertificate, startRegistry } from './registry.ts';
import { startTokenIssuer } from './token-issuer.ts';

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('startRegistry (plain)', () => {
  it('serves /v2/ with the Distribution API version header, and stop() cleans up', async () => {
    const registry = await startRegistry();
    try {
      assert.match(registry.host, /^127\.0\.0\.1:\d+$/);
      assert.equal(registry.url, `http://${registry.host}`);
      const res = await fetch(`${registry.url}/v2/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
      await res.arrayBuffer();
    } finally {
      await registry.stop();
    }
    await assert.rejects(readFile(registry.configFile), { code: 'ENOENT' });
    await assert.rejects(fetch(`${registry.url}/v2/`));
    await registry.stop(); // idempotent
  });

  it('runs several registries side by side on distinct ports', async () => {
    const registries = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    try {
      assert.equal(new Set(registries.map((r) => r.host)).size, 3);
    } finally {
      await Promise.all(registries.map((r) => r.stop()));
    }
  });
});

describe('startRegistry (htpasswd)', () => {
  it('challenges with Basic and accepts the configured user', async () => {
    const registry = await startRegistry({
      auth: { kind: 'htpasswd', users: { alice: 's3cret', bob: 'hunter2' } },
    });
    try {
      const anon = await fetch(`${registry.url}/v2/`);
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic realm="vouch-test"/);
      await anon.arrayBuffer();

      const wrong = await fetch(`${registry.url}/v2/`, {
        headers: { authorization: basic('alice', 'nope') },
      });
      assert.equal(wrong.status, 401);
      await wrong.arrayBuffer();

      for (const [user, password] of [
        ['alice', 's3cret'],
        ['bob', 'hunter2'],
      ] as const) {
        const ok = await fetch(`${registry.url}/v2/`, {
          headers: { authorization: basic(user, password) },
        });
        assert.equal(ok.status, 200, user);
        await ok.arrayBuffer();
      }
    } finally {
      await registry.stop();
    }
  });
});

describe('startRegistry (TLS)', () => {
  it('serves HTTPS with the given certificate', async () => {
    const certDir = await mkdtemp(join(tmpdir(), 'vouch-test-tls-'));
    try {
      const tls = await createTlsCertificate(certDir);
      const registry = await startRegistry({ tls });
      try {
        assert.equal(registry.url, `https://${registry.host}`);
        const ca = await readFile(tls.certFile);
        const { status, version } = await new Promise<{ status?: number; version?: unknown }>(
          (resolve, reject) => {
            https
              .get(`${registry.url}/v2/`, { ca, agent: false }, (res) => {
                res.resume();
                resolve({
                  ...(res.statusCode !== undefined ? { status: res.statusCode } : {}),
                  version: res.headers['docker-distribution-api-version'],
                });
              })
              .on('error', reject);
          },
        );
        assert.equal(status, 200);
        assert.equal(version, 'registry/2.0');
      } finally {
        await registry.stop();
      }
    } finally {
      await rm(certDir, { recursive: true, force: true });
    }
  });
});

describe('startRegistry (token) with startTokenIssuer', () => {
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let registry: Awaited<ReturnType<typeof startRegistry>>;

  before(async () => {
    issuer = await startTokenIssuer({ users: { alice: 's3cret' } });
    registry = await startRegistry({ auth: { kind: 'token', issuer } });
  });
  after(async () => {
    await registry?.stop();
    await issuer?.stop();
  });

  async function token(scope: string, authorization?: string): Promise<Response> {
    const url = new URL(issuer.url);
    url.searchParams.set('service', issuer.service);
    url.searchParams.set('scope', scope);
    return fetch(url, authorization ? { headers: { authorization } } : {});
  }

  it('challenges with Bearer realm and service', async () => {
    const res = await fetch(`${registry.url}/v2/`);
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get('www-authenticate'),
      `Bearer realm="${issuer.url}",service="${issuer.service}"`,
    );
    await res.arrayBuffer();
  });

  it('rejects a wrong password with 401', async () => {
    const res = await token('repository:foo/bar:pull', basic('alice', 'wrong'));
    assert.equal(res.status, 401);
    await res.arrayBuffer();
    assert.deepEqual(issuer.requests.at(-1), {
      method: 'GET',
      scope: ['repository:foo/bar:pull'],
      service: issuer.service,
      status: 401,
    });
  });

  it('issues JWTs the registry accepts: push a blob and read it back', async () => {
    const res = await token('repository:foo/bar:pull,push', basic('alice', 's3cret'));
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(typeof body.token, 'string');
    assert.equal(body.access_token, body.token);
    assert.equal(body.expires_in, 300);
    assert.deepEqual(issuer.requests.at(-1), {
      method: 'GET',
      scope: ['repository:foo/bar:pull,push'],
      user: 'alice',
      service: issuer.service,
      status: 200,
    });
    const bearer = { authorization: `Bearer ${String(body.token)}` };

    const blob = Buffer.from('hello, vouch\n');
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

    const start = await fetch(`${registry.url}/v2/foo/bar/blobs/uploads/`, {
      method: 'POST',
      headers: bearer,
    });
    assert.equal(start.status, 202, await start.text());
    const location = start.headers.get('location');
    assert.ok(location);
    const uploadUrl = new URL(location, registry.url);
    assert.equal(uploadUrl.host, registry.host);
    uploadUrl.searchParams.set('digest', digest);

    const put = await fetch(uploadUrl, {
      method: 'PUT',
      headers: { ...bearer, 'content-type': 'application/octet-stream' },
      body: blob,
    });
    assert.equal(put.status, 201, await put.text());
    assert.equal(put.headers.get('docker-content-digest'), digest);

    const get = await fetch(`${registry.url}/v2/foo/bar/blobs/${digest}`, { headers: bearer });
    assert.equal(get.status, 200);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), blob);

    // The token is scoped: another repository is refused with insufficient_scope.
    const other = await fetch(`${registry.url}/v2/other/repo/blobs/${digest}`, {
      headers: bearer,
    });
    assert.equal(other.status, 401);
    assert.match(other.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    await other.arrayBuffer();
  });

  it('gives anonymous clients no access by default', async () => {
    const res = await token('repository:foo/bar:pull');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string };
    const get = await fetch(`${registry.url}/v2/foo/bar/tags/list`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    assert.equal(get.status, 401);
    await get.arrayBuffer();
  });

  it('mints tokens the registry rejects when the audience is wrong', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = issuer.mint({
      iss: issuer.issuer,
      sub: 'alice',
      aud: 'some-other-service',
      exp: now + 60,
      nbf: now,
      iat: now,
      jti: 'x',
      access: [],
    });
    const res = await fetch(`${registry.url}/v2/`, { headers: { authorization: `Bearer ${bad}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    await res.arrayBuffer();
  });
});

describe('startHostileRegistry', () => {
  it('answers with the test-supplied handler and records requests', async () => {
    const hostile = await startHostileRegistry((req, res) => {
      if (req.url === '/v2/') {
        res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' });
        res.end('{}');
        return;
      }
      throw new Error('unexpected route');
    });
    try {
      assert.match(hostile.host, /^127\.0\.0\.1:\d+$/);
      const ok = await fetch(`${hostile.url}/v2/`, { headers: { authorization: 'Bearer x' } });
      assert.equal(ok.status, 200);
      await ok.arrayBuffer();
      const boom = await fetch(`${hostile.url}/v2/x/manifests/latest`);
      assert.equal(boom.status, 500);
      await boom.arrayBuffer();
      assert.deepEqual(hostile.requests, ['GET /v2/ [auth]', 'GET /v2/x/manifests/latest']);
    } finally {
      await hostile.stop();
    }
  });
});
