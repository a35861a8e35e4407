/**
 * `vouch trusted-root update` against a real TUF repository (built here,
 * signed with fresh Ed25519 keys, served on 127.0.0.1), `vouch trusted-root
 * show`, and `vouch verify` picking up the cached root: a signature logged by
 * a log only the TUF-delivered root names verifies without --trusted-root.
 * Then every way an update must fail without touching the cache: rollback,
 * a target whose hash does not match, an expired timestamp, a rotated root
 * signed by the wrong key, a server that is down. And the one implicit
 * refresh: an expired cached timestamp is refreshed by verify, except with
 * --offline, which never connects. Last, the signing config target: cached
 * when the repository has one, reported when it has none or one vouch cannot
 * use (the update still succeeds), refused when it fails TUF's checks.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  appendSignatureLayer,
  BUNDLE_ANNOTATION,
  signatureLayer,
  signatureTag,
} from '../src/formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../src/formats/simple-signing.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { createKeySigner } from '../src/keys/signer.ts';
import { openLayout } from '../src/registry/layout.ts';
import { type CliRun, NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import { bundleFor, createTestLog, trustedRootJson } from './helpers/rekor.ts';
import {
  createTufKey,
  inSeconds,
  serveDirectory,
  signMetadata,
  type StaticServer,
  TestTufRepository,
} from './helpers/tuf-repository.ts';

interface SigningConfigJson {
  readonly status?: string;
  readonly source?: string | null;
  readonly path?: string;
  readonly problem?: string;
  readonly caUrls?: ReadonlyArray<{ url: string; majorApiVersion: number; validFrom: string }>;
  readonly rekorTlogConfig?: { selector: string | null };
}

interface UpdateJson {
  readonly path: string;
  readonly mirror: string;
  readonly initialRoot: string;
  readonly tuf: Record<string, { version: number; expires: string }>;
  readonly trustedRoot: { readonly tlogs: ReadonlyArray<{ logId: string; baseUrl: string }> };
  readonly signingConfig: SigningConfigJson;
}

/** Every file under `dir`, by relative path, with its content. */
async function snapshotOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length)] = await readFile(path, 'utf8');
  }
  return files;
}

describe('vouch trusted-root through TUF', () => {
  let tmp: string;
  let repo: TestTufRepository;
  let server: StaticServer;
  let cacheDir: string;
  let rootFile: string;
  let signerPub: string;
  let image: string;
  const log = createTestLog('https://rekor.tuf.test');
  const otherLog = createTestLog('https://rekor2.tuf.test');
  const signer = createKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

  const env = () => ({ DOCKER_CONFIG: NO_DOCKER_CONFIG, VOUCH_CACHE_DIR: cacheDir });
  const vouch = (...args: string[]) => runVouch(args, { env: env() });
  const update = (...args: string[]) =>
    vouch('trusted-root', 'update', '--tuf-url', server.url, '--tuf-root', rootFile, ...args);
  const verify = (...args: string[]) =>
    vouch('verify', '--key', signerPub, '--require-tlog', ...args, image);
  const json = (run: CliRun) => JSON.parse(run.stdout) as UpdateJson;
  const repositoryDir = () => join(cacheDir, 'tuf', encodeURIComponent(new URL(server.url).host));

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-tuf-test-'));
    cacheDir = join(tmp, 'cache');
    repo = new TestTufRepository(join(tmp, 'repository'));
    rootFile = join(tmp, 'root.json');
    await writeFile(rootFile, await repo.writeRoot(1));
    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 1,
      snapshotVersion: 1,
      timestampVersion: 1,
    });
    server = await serveDirectory(repo.dir);

    signerPub = join(tmp, 'signer.pub');
    await writeFile(signerPub, publicKeyToPem(signer.publicKey));
    image = await signedImage('v1', true);
  });

  /** An image in an OCI layout whose one signature carries a bundle by `log`, or none. */
  async function signedImage(tag: string, logged: boolean): Promise<string> {
    const store = await openLayout(join(tmp, 'layout'), { create: true });
    const { descriptor } = await buildImage(store, { tag, layers: 1, layerSize: 32 });
    const payload = buildSimpleSigningPayload({
      dockerReference: 'example.test/app',
      dockerManifestDigest: descriptor.digest,
    });
    const signature = await signer.sign(payload);
    const bundle = bundleFor(
      log,
      { payload, signature, publicKey: signer.publicKey },
      { integratedTime: 1_750_000_000 },
    );
    const layer = signatureLayer({
      payload,
      signatureBase64: Buffer.from(signature).toString('base64'),
      ...(logged ? { annotations: { [BUNDLE_ANNOTATION]: bundle } } : {}),
    });
    const signed = appendSignatureLayer(undefined, layer.descriptor);
    await putBytes(store, layer.descriptor.mediaType, layer.blob);
    await putBytes(store, signed.image.configDescriptor.mediaType, signed.image.config);
    await store.putManifest(
      signed.image.manifest,
      signed.image.mediaType,
      signatureTag(descriptor.digest),
    );
    return `oci:${join(tmp, 'layout')}:${tag}`;
  }

  after(async () => {
    await server?.close();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('usage errors (exit 2) come before any request', async () => {
    const requests = server.requests.length;
    const cases: Array<[string[], RegExp]> = [
      [['trusted-root'], /needs an action: update or show/],
      [['trusted-root', 'fetch'], /unknown action "fetch"/],
      [
        ['trusted-root', 'update', '--tuf-url', 'http://tuf.example.test'],
        /must be an https:\/\/ URL/,
      ],
      [
        ['trusted-root', 'update', '--tuf-url', server.url],
        /no TUF root is known for .*--tuf-root FILE/,
      ],
      [
        ['trusted-root', 'update', '--tuf-root', join(tmp, 'missing.json')],
        /cannot read --tuf-root/,
      ],
      [
        ['trusted-root', 'show', '--trusted-root', join(tmp, 'missing.json')],
        /cannot read --trusted-root/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const run = await vouch(...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
    }
    assert.equal(server.requests.length, requests);
    await assert.rejects(readdir(cacheDir), /ENOENT/);
  });

  it('update verifies the repository and caches its trusted root; show reports it', async () => {
    const run = await update('-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const result = json(run);
    const path = join(repositoryDir(), 'trusted_root.json');
    assert.equal(result.path, path);
    assert.equal(result.mirror, server.url);
    assert.equal(result.initialRoot, 'given');
    assert.deepEqual(
      Object.fromEntries(Object.entries(result.tuf).map(([role, { version }]) => [role, version])),
      { root: 1, timestamp: 1, snapshot: 1, targets: 1 },
    );
    assert.deepEqual(
      result.trustedRoot.tlogs.map((tlog) => [tlog.baseUrl, tlog.logId]),
      [[log.baseUrl, log.logId]],
    );
    assert.equal(await readFile(path, 'utf8'), trustedRootJson([log]));
    // The consistent-snapshot names tuf-js asks for, root rotation first.
    for (const file of ['/2.root.json', '/timestamp.json', '/1.snapshot.json', '/1.targets.json']) {
      assert.ok(server.requests.includes(file), `${file} was not fetched: ${server.requests}`);
    }
    assert.ok(server.requests.some((p) => /^\/targets\/[0-9a-f]{64}\.trusted_root\.json$/.test(p)));
    // This repository publishes no signing config: the update says so and caches none.
    assert.deepEqual(result.signingConfig, { status: 'absent' });
    await assert.rejects(readFile(join(repositoryDir(), 'signing_config.v0.2.json')), /ENOENT/);

    const show = await vouch('trusted-root', 'show', '-o', 'json');
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as {
      source: string;
      path: string;
      expired: boolean;
      trustedRoot: UpdateJson['trustedRoot'];
      signingConfig: SigningConfigJson;
    };
    assert.equal(shown.source, 'tuf-cache');
    // A private repository without a signing config: signing needs one given.
    assert.equal(shown.signingConfig.source, null);
    assert.match(
      shown.signingConfig.problem ?? '',
      /has no usable signing_config\.v0\.2\.json.*pass --signing-config FILE/,
    );
    assert.equal(shown.path, path);
    assert.equal(shown.expired, false);
    assert.equal(shown.trustedRoot.tlogs[0]?.logId, log.logId);
    const text = await vouch('trusted-root', 'show');
    assert.match(text.stdout, new RegExp(`Trusted root: ${path}, from ${server.url} through TUF`));
    assert.match(text.stdout, /timestamp v1 \(expires 2099-01-01T00:00:00Z\)/);
    assert.match(text.stdout, new RegExp(`${log.baseUrl} +log ID ${log.logId} +PKIX_ECDSA_P256`));
  });

  it('verify trusts the logs of the cached root without --trusted-root; the shipped root does not know them', async () => {
    const requests = server.requests.length;
    const run = await verify();
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`logged in ${log.baseUrl}`));
    assert.equal(server.requests.length, requests, 'verify fetched trust material');

    const shipped = await runVouch(
      ['verify', '--key', signerPub, '--require-tlog', '-o', 'json', image],
      { env: { DOCKER_CONFIG: NO_DOCKER_CONFIG, VOUCH_CACHE_DIR: join(tmp, 'empty-cache') } },
    );
    assert.equal(shipped.code, 1, shipped.stderr);
    assert.match(shipped.stdout, /TLOG_LOG_UNKNOWN/);
    const show = await runVouch(['trusted-root', 'show'], {
      env: { VOUCH_CACHE_DIR: join(tmp, 'empty-cache') },
    });
    assert.match(show.stdout, /the Sigstore public-good root shipped with vouch/);
    assert.match(show.stdout, /https:\/\/rekor\.sigstore\.dev/);
  });

  it('verify of a signature without a bundle loads neither tuf-js nor @sigstore/* nor the TUF cache code, nor the code only bundles, keyless options or signing need', async () => {
    const plain = await signedImage('plain', false);
    // A fresh process, recording every module it resolves (ESM and CommonJS).
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
      const { main } = await import(${JSON.stringify(new URL('../src/cli/main.ts', import.meta.url).href)});
      const { Writable, Readable } = await import('node:stream');
      const sink = new Writable({ write(_c, _e, cb) { cb(); } });
      const code = await main(${JSON.stringify(['verify', '--key', signerPub, plain])}, {
        env: { VOUCH_CACHE_DIR: ${JSON.stringify(join(tmp, 'no-such-cache'))} },
        stdin: Readable.from([]), stdout: sink, stderr: sink,
      });
      process.stdout.write(JSON.stringify({ code, loaded }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    const { code, loaded } = JSON.parse(child.stdout) as { code: number; loaded: string[] };
    assert.equal(code, 0);
    assert.ok(
      loaded.some((url) => url.endsWith('/commands/verify.ts')),
      'no module was recorded',
    );
    const heavy = loaded.filter((url) => /tuf-js|@tufjs|@sigstore|tuf-update|tuf-cache/.test(url));
    assert.deepEqual(heavy, []);
    // Loaded only when the .sig layers do not verify (cosign 3's bundle
    // referrers), with keyless options, for the public-good root, or to sign.
    const lazy = loaded.filter((url) =>
      /\/(bundle-evidence|bundle-signatures|attestation-evaluate|in-toto|dsse|sigstore-bundle|certificate-identity|public-good|trusted-root-choice|ggcr|cosign-signature)\.ts$/.test(
        url,
      ),
    );
    assert.deepEqual(lazy, []);
  });

  it("a cache that is not vouch's is an error (exit 2), not a silent fallback to the shipped root", async () => {
    const broken = join(tmp, 'broken-cache');
    await mkdir(join(broken, 'tuf'), { recursive: true });
    await writeFile(join(broken, 'tuf', 'current.json'), '{"mirror": "ftp://example.test"}');
    const run = await runVouch(['verify', '--key', signerPub, image], {
      env: { DOCKER_CONFIG: NO_DOCKER_CONFIG, VOUCH_CACHE_DIR: broken },
    });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(
      run.stdout + run.stderr,
      /TUF_CACHE_INVALID|cached TUF trust material is unusable/,
    );
  });

  it('a newer version replaces the cache, trusting the cached root from then on', async () => {
    await repo.publish(trustedRootJson([log, otherLog]), {
      targetsVersion: 2,
      snapshotVersion: 2,
      timestampVersion: 2,
    });
    const run = await update('-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(json(run).initialRoot, 'cached');
    assert.equal(json(run).tuf.timestamp?.version, 2);
    assert.equal(json(run).trustedRoot.tlogs.length, 2);
    assert.equal(
      await readFile(join(repositoryDir(), 'trusted_root.json'), 'utf8'),
      trustedRootJson([log, otherLog]),
    );

    // Nothing new: the same versions, said in text.
    const text = await update();
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`^Updated the Sigstore trusted root from ${server.url}\n`),
    );
    assert.match(text.stdout, /trust started from: the cached TUF root \(--tuf-root is used only/);
    assert.match(
      text.stdout,
      /signing config: the repository has no signing_config\.v0\.2\.json; keyless signing with this repository needs --signing-config FILE or the URL flags/,
    );
    assert.match(
      text.stdout,
      /root v1, timestamp v2 \(expires 2099-01-01T00:00:00Z\), snapshot v2/,
    );
    assert.match(
      text.stdout,
      new RegExp(`Transparency logs:\n {2}${log.baseUrl} .*\n {2}${otherLog.baseUrl} `),
    );
    assert.match(text.stdout, /Certificate authorities:\n {2}\(none\)/);
  });

  /** Runs an update that must fail with `code` and `pattern`, and checks that the cache did not change. */
  async function failingUpdate(code: number, pattern: RegExp, ...args: string[]) {
    const before = await snapshotOf(cacheDir);
    const run = await update(...args);
    assert.equal(run.code, code, run.stdout + run.stderr);
    assert.match(run.stderr, pattern);
    assert.deepEqual(await snapshotOf(cacheDir), before, 'the cache changed');
    return run;
  }

  it('a rolled-back timestamp is refused (exit 1) and the cache kept', async () => {
    await writeFile(join(repo.dir, 'timestamp.json'), repo.timestamp(1, 1, '2099-01-01T00:00:00Z'));
    await failingUpdate(
      1,
      /failed verification: .*timestamp version 1 is less than current version 2/,
    );
  });

  it('a target whose hash does not match is refused (exit 1)', async () => {
    const genuine = trustedRootJson([log]);
    await repo.publish(genuine, {
      targetsVersion: 3,
      snapshotVersion: 3,
      timestampVersion: 3,
      servedTarget: genuine.replace('rekor.tuf.test', 'rekor.tuf.evil'),
    });
    await failingUpdate(1, /failed verification: .*(hash|length)/i);
  });

  it('an expired timestamp is refused (exit 1)', async () => {
    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 4,
      snapshotVersion: 4,
      timestampVersion: 4,
      timestampExpires: inSeconds(-60),
    });
    await failingUpdate(1, /failed verification: .*timestamp\.json is expired/);
  });

  it('a genuinely signed target that is not a usable trusted root is refused (exit 1)', async () => {
    await repo.publish(
      '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.2"}',
      {
        targetsVersion: 5,
        snapshotVersion: 5,
        timestampVersion: 5,
      },
    );
    await failingUpdate(
      1,
      /trusted_root\.json from .* is not a usable Sigstore trusted root: mediaType/,
    );
  });

  it('a rotated root signed by the wrong key is refused (exit 1); a --tuf-root not signed by its own keys is invalid (exit 2)', async () => {
    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 5,
      snapshotVersion: 5,
      timestampVersion: 5,
    });
    await repo.writeRoot(2, [createTufKey()]);
    try {
      await failingUpdate(1, /failed verification: .*root/);
    } finally {
      await unlink(join(repo.dir, '2.root.json'));
    }

    const forged = join(tmp, 'forged-root.json');
    const genuine = JSON.parse(await readFile(rootFile, 'utf8')) as {
      signed: Record<string, unknown>;
    };
    await writeFile(forged, signMetadata(genuine.signed, [createTufKey()]));
    const run = await runVouch(
      ['trusted-root', 'update', '--tuf-url', server.url, '--tuf-root', forged],
      { env: { VOUCH_CACHE_DIR: join(tmp, 'forged-cache') } },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /not a valid self-signed root\.json/);
  });

  /** Replaces the cached timestamp with a genuinely signed one that expired a minute ago. */
  async function expireCachedTimestamp(version: number, snapshotVersion: number) {
    await writeFile(
      join(repositoryDir(), 'timestamp.json'),
      repo.timestamp(version, snapshotVersion, inSeconds(-60)),
    );
  }

  it('an expired cached timestamp: --offline verifies with it and never connects; otherwise verify refreshes it once', async () => {
    await expireCachedTimestamp(2, 2);
    const shown = await vouch('trusted-root', 'show', '-o', 'json');
    assert.equal((JSON.parse(shown.stdout) as { expired: boolean }).expired, true);

    const requests = server.requests.length;
    const offline = await verify('--offline');
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    assert.match(
      offline.stderr,
      /warning: using the cached trusted root although its TUF timestamp expired/,
    );
    assert.equal(server.requests.length, requests, 'verify --offline connected to the TUF mirror');

    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 6,
      snapshotVersion: 6,
      timestampVersion: 6,
    });
    const online = await verify();
    assert.equal(online.code, 0, online.stdout + online.stderr);
    assert.match(online.stderr, /TUF timestamp had expired; refreshed it/);
    assert.ok(server.requests.slice(requests).includes('/timestamp.json'));
    const after = await vouch('trusted-root', 'show', '-o', 'json');
    const state = JSON.parse(after.stdout) as UpdateJson & { expired: boolean };
    assert.equal(state.expired, false);
    assert.equal(state.tuf.timestamp?.version, 6);

    // Refreshed once: the next verification fetches nothing.
    const again = server.requests.length;
    assert.equal((await verify()).code, 0);
    assert.equal(server.requests.length, again);
  });

  it('verify-blob with an expired cache and a mirror that never answers stops at its --deadline (exit 3)', async () => {
    await expireCachedTimestamp(6, 6);
    const file = join(tmp, 'blob.txt');
    await writeFile(file, 'a blob\n');
    const bundle = join(tmp, 'blob.sigstore.json');
    await writeFile(
      bundle,
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: { publicKey: { hint: 'unused' }, tlogEntries: [] },
        messageSignature: {
          messageDigest: { algorithm: 'SHA2_256', digest: Buffer.alloc(32).toString('base64') },
          signature: Buffer.alloc(64).toString('base64'),
        },
      }),
    );
    server.hang = true;
    try {
      const started = performance.now();
      const run = await vouch(
        'verify-blob',
        '--certificate-identity',
        'someone@example.test',
        '--certificate-oidc-issuer',
        'https://issuer.example.test',
        '--bundle',
        bundle,
        '--deadline',
        '2s',
        file,
      );
      assert.equal(run.code, 3, run.stdout + run.stderr);
      assert.match(run.stderr, /refreshing it failed: the deadline of 2s passed/);
      assert.ok(performance.now() - started < 20_000, 'the deadline did not stop the refresh');
      assert.ok(server.requests.includes('/timestamp.json'), 'the refresh was not attempted');
    } finally {
      server.hang = false;
    }
  });

  it('a TUF mirror that is down: update exits 3 and keeps the cache; verify with an expired cache exits 3 unless --offline', async () => {
    await expireCachedTimestamp(6, 6);
    await server.close();
    await failingUpdate(3, /cannot update from the TUF repository .*ECONNREFUSED/);

    const before = await snapshotOf(cacheDir);
    const run = await verify();
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /refreshing it failed: .*use --offline/);
    assert.deepEqual(await snapshotOf(cacheDir), before);
    assert.equal((await verify('--offline')).code, 0);
  });
});

/** A signing config naming `fulcio`, a Rekor v1 log and a TSA, as the public-good one does. */
function signingConfigJson(
  fulcio: string,
  mediaType = 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
) {
  const service = (url: string) => ({
    url,
    majorApiVersion: 1,
    validFor: { start: '2022-04-13T20:06:15.000Z' },
    operator: 'tuf.test',
  });
  return `${JSON.stringify(
    {
      mediaType,
      caUrls: [service(fulcio)],
      oidcUrls: [service('https://oauth2.tuf.test/auth')],
      rekorTlogUrls: [service('https://rekor.tuf.test')],
      tsaUrls: [service('https://timestamp.tuf.test/api/v1/timestamp')],
      rekorTlogConfig: { selector: 'ANY' },
      tsaConfig: { selector: 'ANY' },
    },
    null,
    2,
  )}\n`;
}

describe('vouch trusted-root and the signing config through TUF', () => {
  let tmp: string;
  let repo: TestTufRepository;
  let server: StaticServer;
  let cacheDir: string;
  let rootFile: string;
  const log = createTestLog('https://rekor.tuf.test');

  const vouch = (...args: string[]) => runVouch(args, { env: { VOUCH_CACHE_DIR: cacheDir } });
  const update = (...args: string[]) =>
    vouch('trusted-root', 'update', '--tuf-url', server.url, '--tuf-root', rootFile, ...args);
  const signingConfigPath = () =>
    join(cacheDir, 'tuf', encodeURIComponent(new URL(server.url).host), 'signing_config.v0.2.json');
  const show = async () =>
    (
      JSON.parse((await vouch('trusted-root', 'show', '-o', 'json')).stdout) as {
        signingConfig: SigningConfigJson;
      }
    ).signingConfig;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-tuf-signing-'));
    cacheDir = join(tmp, 'cache');
    repo = new TestTufRepository(join(tmp, 'repository'));
    rootFile = join(tmp, 'root.json');
    await writeFile(rootFile, await repo.writeRoot(1));
    server = await serveDirectory(repo.dir);
  });

  after(async () => {
    await server?.close();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('update verifies and caches the signing config; show and the text output report it', async () => {
    const config = signingConfigJson('https://fulcio.tuf.test');
    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 1,
      snapshotVersion: 1,
      timestampVersion: 1,
      signingConfig: config,
    });
    const run = await update('-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as UpdateJson;
    assert.equal(result.signingConfig.status, 'cached');
    assert.equal(result.signingConfig.path, signingConfigPath());
    assert.deepEqual(result.signingConfig.caUrls, [
      {
        url: 'https://fulcio.tuf.test',
        majorApiVersion: 1,
        operator: 'tuf.test',
        validFrom: '2022-04-13T20:06:15.000Z',
        validUntil: null,
      },
    ]);
    assert.deepEqual(result.signingConfig.rekorTlogConfig, { selector: 'ANY' });
    assert.equal(await readFile(signingConfigPath(), 'utf8'), config);
    assert.ok(
      server.requests.some((p) => /^\/targets\/[0-9a-f]{64}\.signing_config\.v0\.2\.json$/.test(p)),
      `the signing config was not fetched: ${server.requests}`,
    );

    const shown = await show();
    assert.equal(shown.source, 'tuf-cache');
    assert.equal(shown.path, signingConfigPath());
    assert.equal(shown.caUrls?.[0]?.url, 'https://fulcio.tuf.test');

    const text = await update();
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`signing config written to: ${signingConfigPath()}`));
    assert.match(
      text.stdout,
      /Signing config:\n {2}Fulcio CAs:\n {4}https:\/\/fulcio\.tuf\.test {2}API v1 {2}tuf\.test {2}from 2022-04-13T20:06:15\.000Z, no end/,
    );
    assert.match(text.stdout, /Rekor logs \(ANY\):\n {4}https:\/\/rekor\.tuf\.test /);
    const shownText = await vouch('trusted-root', 'show');
    assert.match(
      shownText.stdout,
      new RegExp(
        `Signing config: the signing config cached from ${server.url} \\(${signingConfigPath()}\\)`,
      ),
    );
  });

  it('a genuinely signed signing config vouch cannot use: the update succeeds, says so, and caches none', async () => {
    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 2,
      snapshotVersion: 2,
      timestampVersion: 2,
      signingConfig: signingConfigJson(
        'https://fulcio.tuf.test',
        'application/vnd.dev.sigstore.signingconfig.v0.1+json',
      ),
    });
    const run = await update('-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as UpdateJson;
    assert.equal(result.tuf.timestamp?.version, 2, 'the trusted root was not updated');
    assert.equal(result.signingConfig.status, 'unusable');
    assert.match(
      result.signingConfig.problem ?? '',
      /is not a usable Sigstore signing config: mediaType/,
    );
    assert.match(
      run.stderr,
      /warning: .*mediaType.*it was not cached \(keyless signing with this repository needs --signing-config/,
    );
    await assert.rejects(readFile(signingConfigPath()), /ENOENT/);
    assert.match((await show()).problem ?? '', /has no usable signing_config\.v0\.2\.json/);
  });

  it('a signing config whose hash does not match is refused (exit 1) and the cache kept', async () => {
    const genuine = signingConfigJson('https://fulcio.tuf.test');
    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 3,
      snapshotVersion: 3,
      timestampVersion: 3,
      signingConfig: genuine,
      servedSigningConfig: genuine.replace('fulcio.tuf.test', 'fulcio.tuf.evil'),
    });
    const before = await snapshotOf(cacheDir);
    const run = await update();
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /failed verification: .*(hash|length)/i);
    assert.deepEqual(await snapshotOf(cacheDir), before, 'the cache changed');
  });

  it('a repository that stops publishing it: the cached one is removed with the new metadata', async () => {
    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 4,
      snapshotVersion: 4,
      timestampVersion: 4,
      signingConfig: signingConfigJson('https://fulcio.tuf.test'),
    });
    assert.equal((await update()).code, 0);
    assert.equal((await show()).source, 'tuf-cache');
    await repo.publish(trustedRootJson([log]), {
      targetsVersion: 5,
      snapshotVersion: 5,
      timestampVersion: 5,
    });
    const run = await update('-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as UpdateJson).signingConfig, { status: 'absent' });
    await assert.rejects(readFile(signingConfigPath()), /ENOENT/);
  });
});
