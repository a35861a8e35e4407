/**
 * Docker Content Trust end to end: trust data published by the real notary
 * CLI (Debian's notary 0.7.0) to a real notary-server, images in a real
 * Distribution registry, and `vouch verify --notary` run in-process. The
 * attacks are made with the real server where it can make them (a moved tag,
 * a removed tag, a root rotated by the notary CLI) and with a proxy in front
 * of it where only a compromised server could (replaying an older timestamp);
 * an expired timestamp is seen by verifying at a later time, since the server
 * re-signs expired timestamps when asked.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestHex } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { Stores } from '../src/registry/open.ts';
import { NotaryServer } from '../src/dct/notary-server.ts';
import { NotaryMetadataStore } from '../src/dct/metadata-store.ts';
import { verifyNotaryImage } from '../src/dct/verify-notary.ts';
import { runVouch } from './helpers/cli.ts';
import { type HostileRegistry, startHostileRegistry } from './helpers/hostile-registry.ts';
import { buildImage } from './helpers/images.ts';
import { startTokenIssuer, type TokenIssuer } from './helpers/token-issuer.ts';
import {
  NOTARY_PASSPHRASES,
  NotaryCli,
  type RunningNotaryServer,
  startNotaryServer,
} from './helpers/notary.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

interface VerifyJson {
  readonly ok: boolean;
  readonly images: ReadonlyArray<{
    readonly status: string;
    readonly digest: string | null;
    readonly length: number | null;
    readonly role: string | null;
    readonly signers: readonly string[];
    readonly error: { readonly code: string } | null;
  }>;
}

const DAY = 24 * 60 * 60 * 1000;

describe('vouch verify --notary against notary-server and the notary CLI', () => {
  let registry: RunningRegistry;
  let notary: RunningNotaryServer;
  let cli: NotaryCli;
  let http: HttpClient;
  let scratch: string;
  let repositoryCounter = 0;

  before(async () => {
    [registry, notary] = await Promise.all([startRegistry(), startNotaryServer()]);
    cli = await NotaryCli.create(notary.url);
    http = new HttpClient({ retries: 0 });
    scratch = await mkdtemp(join(tmpdir(), 'vouch-notary-test-'));
  });

  after(async () => {
    await http?.close();
    await Promise.all([
      registry?.stop(),
      notary?.stop(),
      cli?.remove(),
      rm(scratch, { recursive: true, force: true }),
    ]);
  });

  /** A new repository with an image pushed under `tag` and its trust data initialised. */
  async function newRepository(tag = 'v1') {
    const name = `dct/app${++repositoryCounter}`;
    const gun = `${registry.host}/${name}`;
    const store = new RegistryClient(registry.host, { http }).repository(name);
    const image = await buildImage(store, { tag });
    await cli.run(['init', '-p', gun]);
    return { gun, store, image: image.descriptor };
  }

  async function sign(gun: string, tag: string, descriptor: Descriptor, ...roles: string[]) {
    const roleFlags = roles.flatMap((role) => ['-r', role]);
    await cli.run([
      'addhash',
      '-p',
      gun,
      tag,
      String(descriptor.size),
      '--sha256',
      digestHex(descriptor.digest),
      ...roleFlags,
    ]);
  }

  async function vouch(reference: string, trustDir: string, ...flags: string[]) {
    const run = await runVouch([
      'verify',
      '--notary',
      '--notary-server',
      notary.url,
      '--trust-dir',
      trustDir,
      '-o',
      'json',
      ...flags,
      reference,
    ]);
    const report = JSON.parse(run.stdout) as VerifyJson;
    return { ...run, report, result: report.images[0] };
  }

  const freshTrustDir = () => mkdtemp(join(scratch, 'trust-'));

  it('verifies a tag the notary CLI signed into targets, and reports the signer', async () => {
    const { gun, image } = await newRepository();
    await sign(gun, 'v1', image);
    const { code, result, stderr } = await vouch(`${gun}:v1`, await freshTrustDir());
    assert.equal(code, 0, stderr);
    assert.equal(result?.status, 'verified');
    assert.equal(result?.digest, image.digest);
    assert.equal(result?.length, image.size);
    assert.equal(result?.role, 'targets');
    const keys = await cli.run(['key', 'list']);
    assert.ok(
      result?.signers[0] !== undefined && keys.includes(result.signers[0]),
      `${result?.signers} in\n${keys}`,
    );
  });

  it('prefers targets/releases, as docker does', async () => {
    const { gun, store, image } = await newRepository();
    const other = await buildImage(store, { tag: 'other' });
    await sign(gun, 'v1', other.descriptor); // targets says another digest
    const releasesKey = await delegationKey('targets/releases');
    await cli.run([
      'delegation',
      'add',
      '-p',
      gun,
      'targets/releases',
      releasesKey.publicKeyFile,
      '--all-paths',
    ]);
    await sign(gun, 'v1', image, 'targets/releases');
    const { code, result, stderr } = await vouch(`${gun}:v1`, await freshTrustDir());
    assert.equal(code, 0, stderr);
    assert.equal(result?.role, 'targets/releases');
    assert.equal(result?.digest, image.digest);
    assert.deepEqual(result?.signers, [releasesKey.id]);
  });

  it('refuses a tag the registry moved to another manifest (NOTARY_DIGEST_MISMATCH)', async () => {
    const { gun, store, image } = await newRepository();
    await sign(gun, 'v1', image);
    await buildImage(store, { tag: 'v1' }); // pushed over the signed tag
    const { code, result } = await vouch(`${gun}:v1`, await freshTrustDir());
    assert.equal(code, 1);
    assert.equal(result?.error?.code, 'NOTARY_DIGEST_MISMATCH');
    assert.equal(result?.digest, image.digest, 'the signed digest is still reported');
  });

  it('refuses a tag the trust data points at another digest (NOTARY_DIGEST_MISMATCH)', async () => {
    const { gun, store } = await newRepository('other');
    const signed = await buildImage(store, { tag: 'elsewhere' });
    await buildImage(store, { tag: 'v2' });
    await sign(gun, 'v2', signed.descriptor);
    const { code, result } = await vouch(`${gun}:v2`, await freshTrustDir());
    assert.equal(code, 1);
    assert.equal(result?.error?.code, 'NOTARY_DIGEST_MISMATCH');
  });

  it('refuses a tag removed from the trust data, and an unsigned repository', async () => {
    const { gun, image } = await newRepository();
    await sign(gun, 'v1', image);
    const trustDir = await freshTrustDir();
    assert.equal((await vouch(`${gun}:v1`, trustDir)).code, 0);
    await cli.run(['remove', '-p', gun, 'v1']);
    const removed = await vouch(`${gun}:v1`, trustDir);
    assert.equal(removed.code, 1);
    assert.equal(removed.result?.error?.code, 'NOTARY_TARGET_NOT_FOUND');

    const unsigned = await vouch(`${registry.host}/dct/never-signed:v1`, trustDir);
    assert.equal(unsigned.code, 1);
    assert.equal(unsigned.result?.error?.code, 'NOTARY_NO_TRUST_DATA');
  });

  it('refuses an expired timestamp (NOTARY_EXPIRED)', async () => {
    const { gun, image } = await newRepository();
    await sign(gun, 'v1', image);
    const stores = new Stores({ http: { retries: 0 } });
    try {
      const options = {
        server: new NotaryServer({ url: new URL(notary.url), http }),
        trustStore: new NotaryMetadataStore(await freshTrustDir()),
      };
      assert.equal((await verifyNotaryImage(`${gun}:v1`, stores, options)).status, 'verified');
      // The server's timestamps last 14 days (notary const.go); its targets three years.
      const later = await verifyNotaryImage(`${gun}:v1`, stores, {
        ...options,
        now: Date.now() + 15 * DAY,
      });
      assert.equal(later.status, 'denied');
      assert.equal(later.error?.code, 'NOTARY_EXPIRED');
      assert.match(later.error?.message ?? '', /^timestamp version/);
    } finally {
      await stores.close();
    }
  });

  describe('through a server that replays what it served before', () => {
    let proxy: HostileRegistry;
    const replay = new Map<string, Uint8Array>();
    /** Every file asked of the server through the proxy. */
    const asked: string[] = [];

    before(async () => {
      proxy = await startHostileRegistry(async (req, res) => {
        const path = req.url ?? '/';
        const file = path.split('/').at(-1) ?? '';
        asked.push(file.replace(/\.[0-9a-f]{64}\./, '.H.'));
        const replayed = replay.get(file);
        if (replayed !== undefined) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(replayed);
          return;
        }
        const upstream = await fetch(`${notary.url}${path}`);
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(new Uint8Array(await upstream.arrayBuffer()));
      });
    });

    after(async () => {
      await proxy?.stop();
    });

    it('asks only for the timestamp while it lists the snapshot it trusts, and notices a new one', async () => {
      const { gun, store, image } = await newRepository();
      await sign(gun, 'v1', image);
      const trustDir = await freshTrustDir();
      const run = async (...tags: string[]) => {
        asked.length = 0;
        const result = await runVouch([
          'verify',
          '--notary',
          '--notary-server',
          proxy.url,
          '--trust-dir',
          trustDir,
          ...tags.map((tag) => `${gun}:${tag}`),
        ]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        return [...asked];
      };
      assert.deepEqual(await run('v1'), [
        'root.json',
        'timestamp.json',
        'snapshot.H.json',
        'targets.H.json',
      ]);
      assert.deepEqual(await run('v1'), ['timestamp.json']);
      // Three tags of one repository in one run: one update.
      const second = await buildImage(store, { tag: 'v2' });
      await sign(gun, 'v2', second.descriptor);
      assert.deepEqual(await run('v1', 'v2', 'v1'), [
        'timestamp.json',
        'root.json',
        'snapshot.H.json',
        'targets.H.json',
      ]);
      assert.deepEqual(await run('v2'), ['timestamp.json']);

      // A cached targets file changed on disk is not used: everything is fetched again.
      const cachedTargets = join(trustDir, 'tuf', gun, 'metadata', 'targets.json');
      const original = await readFile(cachedTargets, 'utf8');
      await writeFile(cachedTargets, original.replace('"v2"', '"v3"'));
      assert.deepEqual(await run('v2'), [
        'timestamp.json',
        'root.json',
        'timestamp.json',
        'snapshot.H.json',
        'targets.H.json',
      ]);
      assert.equal(await readFile(cachedTargets, 'utf8'), original, 'the cache is repaired');
      assert.deepEqual(await run('v2'), ['timestamp.json']);
    });

    it('refuses an older timestamp than the one it trusts (NOTARY_ROLLBACK)', async () => {
      const { gun, store, image } = await newRepository();
      await sign(gun, 'v1', image);
      const oldTimestamp = new Uint8Array(
        await (await fetch(`${notary.url}/v2/${gun}/_trust/tuf/timestamp.json`)).arrayBuffer(),
      );
      const trustDir = await freshTrustDir();
      const second = await buildImage(store, { tag: 'v2' });
      await sign(gun, 'v2', second.descriptor);
      const run = (tag: string) =>
        runVouch([
          'verify',
          '--notary',
          '--notary-server',
          proxy.url,
          '--trust-dir',
          trustDir,
          `${gun}:${tag}`,
        ]);
      assert.equal((await run('v2')).code, 0);
      replay.set('timestamp.json', oldTimestamp);
      try {
        const replayed = await run('v1');
        assert.equal(replayed.code, 1, replayed.stdout);
        assert.match(replayed.stdout, /: NOT VERIFIED \(NOTARY_ROLLBACK\)/);
        assert.match(
          replayed.stderr,
          /timestamp is version \d+, older than the trusted version \d+/,
        );
      } finally {
        replay.clear();
      }
      // A client that never saw the newer state cannot tell, as TUF documents: it verifies v1.
      replay.set('timestamp.json', oldTimestamp);
      try {
        assert.equal(
          (await run('v1')).code,
          1,
          'the trust dir still remembers the newer timestamp',
        );
        const fresh = await runVouch([
          'verify',
          '--notary',
          '--notary-server',
          proxy.url,
          '--trust-dir',
          await freshTrustDir(),
          `${gun}:v1`,
        ]);
        assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
      } finally {
        replay.clear();
      }
    });

    it('refuses metadata larger than it may be (endless data)', async () => {
      const { gun, image } = await newRepository();
      await sign(gun, 'v1', image);
      const run = async () =>
        runVouch([
          'verify',
          '--notary',
          '--notary-server',
          proxy.url,
          '--trust-dir',
          await freshTrustDir(),
          `${gun}:v1`,
        ]);
      replay.set('timestamp.json', new Uint8Array(2 * 1024 * 1024).fill(0x20));
      try {
        const huge = await run();
        assert.equal(huge.code, 1);
        assert.match(huge.stdout, /\(NOTARY_METADATA_TOO_LARGE\)/);
        assert.match(huge.stderr, /timestamp\.json: the server sent more than the 1048576 bytes/);
      } finally {
        replay.clear();
      }
      // A snapshot longer than the timestamp says: refused at that length, not read to the end.
      const timestamp = (await (
        await fetch(`${notary.url}/v2/${gun}/_trust/tuf/timestamp.json`)
      ).json()) as {
        signed: { meta: { snapshot: { hashes: { sha256: string }; length: number } } };
      };
      const snapshotFile = `snapshot.${Buffer.from(timestamp.signed.meta.snapshot.hashes.sha256, 'base64').toString('hex')}.json`;
      replay.set(
        snapshotFile,
        new Uint8Array(timestamp.signed.meta.snapshot.length + 1).fill(0x20),
      );
      try {
        const longer = await run();
        assert.equal(longer.code, 1);
        assert.match(longer.stdout, /\(NOTARY_METADATA_TOO_LARGE\)/);
        assert.match(longer.stderr, /snapshot\.[0-9a-f]{64}\.json/);
      } finally {
        replay.clear();
      }
    });
  });

  describe('with token authentication', () => {
    let issuer: TokenIssuer;
    let authServer: RunningNotaryServer;
    let authCli: NotaryCli;

    before(async () => {
      issuer = await startTokenIssuer({ users: { alice: 'secret' }, service: 'notary-server' });
      authServer = await startNotaryServer({ tokenIssuer: issuer });
      authCli = await NotaryCli.create(authServer.url);
      authCli.auth = Buffer.from('alice:secret').toString('base64');
    });

    after(async () => {
      await Promise.all([authServer?.stop(), issuer?.stop(), authCli?.remove()]);
    });

    it('answers the challenge with the registry credentials from the docker config', async () => {
      const name = `dct/auth${++repositoryCounter}`;
      const gun = `${registry.host}/${name}`;
      const image = await buildImage(new RegistryClient(registry.host, { http }).repository(name), {
        tag: 'v1',
      });
      await authCli.run(['init', '-p', gun]);
      await authCli.run([
        'addhash',
        '-p',
        gun,
        'v1',
        String(image.descriptor.size),
        '--sha256',
        digestHex(image.descriptor.digest),
      ]);
      const run = (dockerConfig: string) =>
        runVouch(
          [
            'verify',
            '--notary',
            '--notary-server',
            authServer.url,
            '--trust-dir',
            scratch + `/auth-${dockerConfig.length}`,
            `${gun}:v1`,
          ],
          { env: { DOCKER_CONFIG: dockerConfig } },
        );
      const anonymous = await run(join(scratch, 'no-docker-config'));
      assert.equal(anonymous.code, 3, anonymous.stdout);
      assert.match(anonymous.stdout, /UNAUTHORIZED/);

      const dockerConfig = await mkdtemp(join(scratch, 'docker-'));
      await writeFile(
        join(dockerConfig, 'config.json'),
        JSON.stringify({
          auths: { [registry.host]: { auth: Buffer.from('alice:secret').toString('base64') } },
        }),
      );
      const authenticated = await run(dockerConfig);
      assert.equal(authenticated.code, 0, authenticated.stdout + authenticated.stderr);
      const scopes = issuer.requests
        .filter((request) => request.user === 'alice')
        .flatMap((request) => request.scope);
      assert.ok(scopes.includes(`repository:${gun}:pull`), scopes.join(' '));
    });
  });

  it('follows a root the notary CLI rotated (trust on first use), but not past a pinned root key', async () => {
    const { gun, image } = await newRepository();
    await sign(gun, 'v1', image);
    const trustDir = await freshTrustDir();
    assert.equal((await vouch(`${gun}:v1`, trustDir)).code, 0);
    const oldRoot = await rootCertificate(gun);
    const pinFile = join(scratch, `${repositoryCounter}-old-root.pem`);
    await writeFile(pinFile, oldRoot);
    assert.equal(
      (await vouch(`${gun}:v1`, await freshTrustDir(), '--notary-root-key', pinFile)).code,
      0,
    );

    assert.match(
      await cli.run(['key', 'rotate', gun, 'root'], 'yes\n'),
      /Successfully rotated root key/,
    );
    assert.notEqual(await rootCertificate(gun), oldRoot);

    const followed = await vouch(`${gun}:v1`, trustDir);
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.result?.digest, image.digest);

    const pinned = await vouch(`${gun}:v1`, await freshTrustDir(), '--notary-root-key', pinFile);
    assert.equal(pinned.code, 1);
    assert.equal(pinned.result?.error?.code, 'NOTARY_ROOT_NOT_PINNED');
    // The same pin kept in the trust directory does the same.
    const pinnedDir = await freshTrustDir();
    const storedPin = join(pinnedDir, 'tuf', gun);
    await mkdir(storedPin, { recursive: true });
    await writeFile(join(storedPin, 'pinned-root-keys.pem'), oldRoot);
    const pinnedByDir = await vouch(`${gun}:v1`, pinnedDir);
    assert.equal(pinnedByDir.result?.error?.code, 'NOTARY_ROOT_NOT_PINNED');
    // And a pin on the new root verifies.
    const newPin = join(scratch, `${repositoryCounter}-new-root.pem`);
    await writeFile(newPin, await rootCertificate(gun));
    assert.equal(
      (await vouch(`${gun}:v1`, await freshTrustDir(), '--notary-root-key', newPin)).code,
      0,
    );
  });

  /** The PEM certificate of the current root key of `gun`, from the server's root.json. */
  async function rootCertificate(gun: string): Promise<string> {
    const root = (await (await fetch(`${notary.url}/v2/${gun}/_trust/tuf/root.json`)).json()) as {
      signed: {
        keys: Record<string, { keyval: { public: string } }>;
        roles: { root: { keyids: string[] } };
      };
    };
    const id = root.signed.roles.root.keyids[0] ?? '';
    return Buffer.from(root.signed.keys[id]?.keyval.public ?? '', 'base64').toString('utf8');
  }

  /**
   * A delegation key in the notary CLI's key store, and its public key as a
   * PEM file for `notary delegation add` (the key file's `role:` header removed so Node reads it).
   */
  async function delegationKey(role: string): Promise<{ id: string; publicKeyFile: string }> {
    const generated = await cli.run(['key', 'generate', 'ecdsa', '--role', role]);
    const id = /keyID: ([0-9a-f]{64})/.exec(generated)?.[1];
    assert.ok(id, generated);
    const privateDir = join(cli.trustDir, 'private');
    const file = (await readdir(privateDir)).find((name) => name.startsWith(id));
    assert.ok(file, `no key file for ${id}`);
    const pem = (await readFile(join(privateDir, file), 'utf8'))
      .split('\n')
      .filter((line) => !/^(role|gun): /.test(line))
      .join('\n');
    const key = createPrivateKey({
      key: pem,
      passphrase: NOTARY_PASSPHRASES.NOTARY_DELEGATION_PASSPHRASE,
    });
    const publicKeyFile = join(scratch, `${id}.pem`);
    await writeFile(publicKeyFile, createPublicKey(key).export({ format: 'pem', type: 'spki' }));
    return { id, publicKeyFile };
  }
});

describe('vouch verify --notary usage', () => {
  for (const [label, argv, text] of [
    ['no image', ['verify', '--notary'], 'needs at least one IMAGE:TAG'],
    [
      'a digest',
      ['verify', '--notary', `127.0.0.1:5000/app@sha256:${'a'.repeat(64)}`],
      'signs tags',
    ],
    [
      'plain HTTP to a remote server',
      [
        'verify',
        '--notary',
        '--notary-server',
        'http://notary.example.com',
        'registry.example.com/app:1',
      ],
      'plain HTTP',
    ],
    [
      'a server that is not a URL',
      ['verify', '--notary', '--notary-server', 'notary', 'registry.example.com/app:1'],
      'not a URL',
    ],
    [
      'an unreadable pin',
      [
        'verify',
        '--notary',
        '--notary-root-key',
        '/nonexistent/root.pem',
        'registry.example.com/app:1',
      ],
      '/nonexistent/root.pem',
    ],
    [
      'a --key flag',
      ['verify', '--notary', '--key', 'cosign.pub', 'registry.example.com/app:1'],
      "'--key'",
    ],
  ] as const) {
    it(`refuses ${label} before any network traffic (exit 2)`, async () => {
      const run = await runVouch(argv, { env: { DOCKER_CONFIG: '/nonexistent' } });
      assert.equal(run.code, 2, run.stderr);
      assert.ok(run.stderr.includes(text), run.stderr);
    });
  }

  it('reads the server from DOCKER_CONTENT_TRUST_SERVER', async () => {
    const run = await runVouch(['verify', '--notary', 'registry.example.com/app:1'], {
      env: {
        DOCKER_CONFIG: '/nonexistent',
        DOCKER_CONTENT_TRUST_SERVER: 'http://notary.example.com',
      },
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /notary server http:\/\/notary\.example\.com\/ is plain HTTP/);
  });
});
