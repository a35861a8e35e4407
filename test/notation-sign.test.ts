/**
 * `vouch notation sign` end to end, against a real Distribution 2.8 registry
 * (no referrers API: the fallback index lists signatures) and OCI layouts,
 * with the key the notation CLI's own suite signs with
 * (config/localkeys/e2e.key, e2e.crt of the notation fixtures): the
 * signature manifest and envelope read back with the codecs, verify with the
 * certificate, and have the shape notation wrote in the fixtures field by
 * field (all but times, signatures and the signing agent); expiry and user
 * metadata land in the envelope; concurrent signers are all listed; an
 * RFC 3161 countersignature from a local TSA (`openssl ts -reply`) is
 * attached, and a TSA answer over other bytes is refused with nothing
 * written; plugins sign through vouch, and misbehaving ones are refused with
 * nothing written.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decode, type Tag } from 'cbor2';
import { createRootCertificate } from '../src/formats/notary/certificate.ts';
import { parseNotationEnvelope } from '../src/formats/notation/parse-envelope.ts';
import { parseNotationSignatureManifest } from '../src/formats/notation/signature-manifest.ts';
import { verifyNotationSignature } from '../src/formats/notation/signature.ts';
import type { Digest } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { copyImage } from '../src/registry/copy.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import { readReferrersTag } from '../src/registry/referrers-tag.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { notationFixtures } from './helpers/notation.ts';
import { installTestPlugin, pluginRequests } from './helpers/notation-plugins.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';
import { createTestTsa, startTsaServer, type TestTsa, type TsaServer } from './helpers/tsa.ts';

const run = promisify(execFile);
const FIXTURES = notationFixtures();
const skip = FIXTURES === undefined ? 'the notation fixtures are not here' : false;
const fixture = (path: string) => join(FIXTURES ?? '', path);
const KEY = fixture('config/localkeys/e2e.key');
const CERT = fixture('config/localkeys/e2e.crt');
const LAYOUT = fixture('registry/oci_layout/e2e');
/** The image of the fixture layouts (tag v1), which notation signed. */
const IMAGE = 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';
/** notation's own signature of it, in e2e-valid-signature (JWS, legacy manifest form). */
const NOTATION_MANIFEST = fixture(
  'registry/oci_layout/e2e-valid-signature/blobs/sha256/90ceaff260d657d797c408ac73564a9c7bb9d86055877c2a811f0e63b8c6524f',
);
const NOTATION_JWS = fixture(
  'registry/oci_layout/e2e-valid-signature/blobs/sha256/c9af07e038b2b1a463e648986ad7273157511ffeba0b689f33e5472bae471f50',
);

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

interface Stored {
  readonly listed: Descriptor;
  readonly manifestBytes: Uint8Array;
  readonly manifest: ReturnType<typeof parseNotationSignatureManifest>;
  readonly envelopeBytes: Uint8Array;
  readonly envelope: ReturnType<typeof parseNotationEnvelope>;
}

/** Every notation signature the store lists for the image, read back with the codecs. */
async function signatures(store: ImageStore, subject: Descriptor): Promise<Stored[]> {
  const listed = await store.referrers(subject.digest, 'application/vnd.cncf.notary.signature');
  return Promise.all(
    listed.map(async (descriptor) => {
      const parsed = await store.getManifest({ digest: descriptor.digest });
      const manifest = parseNotationSignatureManifest(parsed.bytes, {
        subject,
        contentType: parsed.mediaType,
      });
      const envelopeBytes = await store.readBlob(manifest.envelope, manifest.envelope.size);
      const envelope = parseNotationEnvelope(manifest.envelopeMediaType, envelopeBytes);
      verifyNotationSignature(envelope);
      return { listed: descriptor, manifestBytes: parsed.bytes, manifest, envelopeBytes, envelope };
    }),
  );
}

/** Every file under `dir` with its size: what "nothing written" compares. */
async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => {
        const path = join(e.parentPath, e.name);
        return `${path} ${(await readFile(path)).byteLength}`;
      }),
  );
  return files.sort();
}

/** A COSE envelope's headers in encoded order (Maps keep insertion order). */
function coseHeaders(envelope: Uint8Array) {
  const options = { preferMap: true, ignoreGlobalTags: true } as const;
  const [protectedBytes, unprotected] = (decode(envelope, options) as Tag).contents as [
    Uint8Array,
    Map<unknown, unknown>,
  ];
  return { protected: decode(protectedBytes, options) as Map<unknown, unknown>, unprotected };
}

/** The JSON object of a JWS's protected header. */
const protectedHeader = (jws: Uint8Array) =>
  JSON.parse(
    Buffer.from((JSON.parse(text(jws)) as { protected: string }).protected, 'base64url').toString(),
  ) as Record<string, unknown>;

describe('vouch notation sign', { skip }, () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let config: string;
  let subject: Descriptor;
  let layouts = 0;
  const env = () => ({ DOCKER_CONFIG: NO_DOCKER_CONFIG, NOTATION_CONFIG: config });
  const vouch = (...args: string[]) => runVouch(['notation', 'sign', ...args], { env: env() });

  /** A fresh copy of the fixture layout holding the image notation signed. */
  const layout = async () => {
    const path = join(tmp, `layout-${layouts++}`);
    await cp(LAYOUT, path, { recursive: true });
    return path;
  };
  /** The fixture image pushed to `repository` of the registry, tag v1. */
  const pushed = async (repository: string) => {
    const store = client.repository(repository);
    const source = await openLayout(LAYOUT, { create: false });
    await copyImage(source, { tag: 'v1' }, store);
    await store.putManifest(
      (await source.getManifest({ digest: IMAGE as Digest })).bytes,
      'application/vnd.oci.image.manifest.v1+json',
      'v1',
    );
    return store;
  };

  before(async () => {
    [registry, tmp] = await Promise.all([
      startRegistry(),
      mkdtemp(join(tmpdir(), 'vouch-notation-sign-')),
    ]);
    config = join(tmp, 'notation');
    await mkdir(config);
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    const source = await openLayout(LAYOUT, { create: false });
    subject = await source.resolve({ tag: 'v1' });
    assert.equal(subject.digest, IMAGE);
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('signs by digest in JWS on a registry without the referrers API, as notation wrote it', async () => {
    const store = await pushed('notation/jws');
    const result = await vouch('--key', KEY, '--cert', CERT, `${registry.host}/notation/jws:v1`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`${IMAGE}: JWS signature stored as ${registry.host}/notation/jws@sha256:`),
    );

    const [ours, ...more] = await signatures(store, subject);
    assert.equal(more.length, 0);
    assert.ok(ours !== undefined);
    // Listed in the fallback index the registry needs (Distribution 2.8 has no referrers API).
    const index = await readReferrersTag(store, IMAGE as Digest);
    assert.deepEqual(
      index.map((d) => d.digest),
      [ours.listed.digest],
    );
    assert.equal(index[0]?.artifactType, 'application/vnd.cncf.notary.signature');
    assert.deepEqual(index[0]?.annotations, ours.manifest.annotations);

    // The manifest, field by field, as notation's own (but the envelope blob and the time).
    const theirs = JSON.parse(await readFile(NOTATION_MANIFEST, 'utf8')) as Record<string, unknown>;
    const mine = JSON.parse(text(ours.manifestBytes)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mine), Object.keys(theirs));
    assert.equal(ours.manifest.form, 'config-media-type');
    assert.deepEqual(mine.config, theirs.config);
    assert.deepEqual(mine.subject, theirs.subject);
    const layer = (m: Record<string, unknown>) => (m.layers as Record<string, unknown>[])[0];
    assert.deepEqual(Object.keys(layer(mine) ?? {}), Object.keys(layer(theirs) ?? {}));
    assert.equal(layer(mine)?.mediaType, 'application/jose+json');
    const annotations = (m: Record<string, unknown>) => m.annotations as Record<string, string>;
    assert.deepEqual(Object.keys(annotations(mine)), Object.keys(annotations(theirs)));
    assert.equal(
      annotations(mine)['io.cncf.notary.x509chain.thumbprint#S256'],
      annotations(theirs)['io.cncf.notary.x509chain.thumbprint#S256'],
    );
    assert.equal(
      annotations(mine)['org.opencontainers.image.created'],
      ours.envelope.signingTime.toISOString().replace('.000Z', 'Z'),
    );

    // The envelope: notation's payload byte for byte, its header keys, the same certificate.
    const notationJws = new Uint8Array(await readFile(NOTATION_JWS));
    const [a, b] = [ours.envelopeBytes, notationJws].map(
      (e) => JSON.parse(text(e)) as Record<string, Record<string, unknown>>,
    );
    assert.deepEqual(Object.keys(a ?? {}), Object.keys(b ?? {}));
    assert.equal(a?.payload, b?.payload);
    assert.deepEqual(a?.header?.x5c, b?.header?.x5c);
    assert.deepEqual(Object.keys(a?.header ?? {}), Object.keys(b?.header ?? {}));
    assert.equal(a?.header?.['io.cncf.notary.signingAgent'], 'vouch/0.1.0');
    const withoutTime = (header: Record<string, unknown>) => ({
      ...header,
      'io.cncf.notary.signingTime': 'time',
    });
    assert.deepEqual(
      withoutTime(protectedHeader(ours.envelopeBytes)),
      withoutTime(protectedHeader(notationJws)),
    );
    assert.deepEqual(ours.envelope.targetArtifact, {
      mediaType: subject.mediaType,
      digest: IMAGE,
      size: subject.size,
    });
    assert.ok(Math.abs(ours.envelope.signingTime.getTime() - Date.now()) < 60_000);
  });

  it('signs in COSE on a layout, with an expiry and user metadata in the payload', async () => {
    const path = await layout();
    const result = await vouch(
      '--key',
      KEY,
      '--cert',
      CERT,
      '--signature-format',
      'cose',
      '--expiry',
      '24h',
      '-m',
      'build=1234',
      '--user-metadata',
      'team=a=b',
      '-o',
      'json',
      `oci:${path}:v1`,
    );
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      images: { signature: { envelopeMediaType: string; expiry: string; signingTime: string } }[];
    };
    assert.equal(report.images[0]?.signature.envelopeMediaType, 'application/cose');
    const store = await openLayout(path, { create: false });
    const [ours, ...more] = await signatures(store, subject);
    assert.equal(more.length, 0);
    assert.ok(ours !== undefined);
    assert.equal(ours.envelope.format, 'cose');
    assert.equal(ours.envelope.signatureAlgorithm, 'PS256');
    assert.equal(ours.envelope.signingAgent, 'vouch/0.1.0');
    assert.deepEqual(ours.envelope.targetArtifact.annotations, { build: '1234', team: 'a=b' });
    assert.equal(
      ours.envelope.expiry?.getTime(),
      Math.floor(ours.envelope.signingTime.getTime() / 1000) * 1000 + 86_400_000,
    );
    assert.equal(report.images[0]?.signature.expiry, ours.envelope.expiry?.toISOString());
    // notation-go's COSE signature (signatures/blob.cose.sig, PS256 too) has the same protected
    // header, label for label, but the time; the unprotected one has a timestamp besides.
    const [mine, theirs] = [
      ours.envelopeBytes,
      new Uint8Array(await readFile(fixture('signatures/blob.cose.sig'))),
    ].map(coseHeaders);
    const withoutTime = (header: Map<unknown, unknown> | undefined) =>
      [...(header ?? [])].map(([k, v]) => [k, k === 'io.cncf.notary.signingTime' ? 'time' : v]);
    const expiryless = new Map(
      [...(mine?.protected ?? [])].filter(([k]) => k !== 'io.cncf.notary.expiry'),
    );
    expiryless.set(2, ['io.cncf.notary.signingScheme']);
    assert.deepEqual(withoutTime(expiryless), withoutTime(theirs?.protected));
    assert.deepEqual(
      [...(mine?.unprotected.keys() ?? [])],
      [...(theirs?.unprotected.keys() ?? [])].filter(
        (k) => k !== 'io.cncf.notary.timestampSignature',
      ),
    );
    // Listed under the fallback tag the layout keeps.
    assert.equal((await readReferrersTag(store, IMAGE as Digest)).length, 1);
  });

  it('writes the artifactType form on request, and a new signature each run, as notation does', async () => {
    const path = await layout();
    for (let i = 0; i < 2; i++) {
      const result = await vouch(
        '--key',
        KEY,
        '--cert',
        CERT,
        '--signature-manifest',
        'artifact-type',
        `oci:${path}@${IMAGE}`,
      );
      assert.equal(result.code, 0, result.stderr);
      // The signing time is in the manifest: wait for the next second.
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    const stored = await signatures(await openLayout(path, { create: false }), subject);
    assert.equal(stored.length, 2);
    for (const { manifest, manifestBytes } of stored) {
      assert.equal(manifest.form, 'artifact-type');
      const document = JSON.parse(text(manifestBytes)) as { config: Record<string, unknown> };
      assert.deepEqual(document.config, {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
        data: 'e30=',
      });
    }
  });

  it('lists the signatures of concurrent signers, none lost', async () => {
    const store = await pushed('notation/concurrent');
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        vouch('--key', KEY, '--cert', CERT, `${registry.host}/notation/concurrent@${IMAGE}`),
      ),
    );
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const locations = results.map((r) => /stored as \S+@(sha256:[0-9a-f]{64})/.exec(r.stdout)?.[1]);
    const listed = new Set((await readReferrersTag(store, IMAGE as Digest)).map((d) => d.digest));
    for (const location of locations) assert.ok(listed.has(location as Digest), location);
    assert.equal((await signatures(store, subject)).length, new Set(locations).size);
  });

  it('refuses a key and certificate that do not match, and a missing key name, before any write', async () => {
    const path = await layout();
    const before = await snapshot(path);
    const other = fixture('config/localkeys/expired_e2e.crt');
    const mismatch = await vouch('--key', KEY, '--cert', other, `oci:${path}:v1`);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /is not for the private key/);
    const missing = await vouch('--key', 'nosuchkey', `oci:${path}:v1`);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /signing key "nosuchkey" not found/);
    const noCert = await vouch('--key', KEY, `oci:${path}:v1`);
    assert.equal(noCert.code, 2);
    assert.match(noCert.stderr, /not found in .*signingkeys\.json \(a key file needs --cert/);
    const reserved = await vouch(
      '--key',
      KEY,
      '--cert',
      CERT,
      '-m',
      'io.cncf.notary.x=1',
      `oci:${path}:v1`,
    );
    assert.equal(reserved.code, 2);
    assert.match(reserved.stderr, /reserved prefix io\.cncf\.notary/);
    // A certificate that expired long ago: no verifier would accept the signature.
    const old = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const oldKey = join(tmp, 'old.key');
    const oldCert = join(tmp, 'old.crt');
    await writeFile(oldKey, old.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await writeFile(
      oldCert,
      createRootCertificate(old.privateKey, old.publicKey, {
        gun: 'expired',
        now: Date.UTC(2000, 0, 1),
      }),
    );
    const expired = await vouch('--key', oldKey, '--cert', oldCert, `oci:${path}:v1`);
    assert.equal(expired.code, 2);
    assert.match(expired.stderr, /"CN=expired" is not valid at the signing time/);
    assert.deepEqual(await snapshot(path), before);
  });

  it('signs with a key named in signingkeys.json, and with its default key', async () => {
    await writeFile(
      join(config, 'signingkeys.json'),
      JSON.stringify({ default: 'e2e', keys: [{ name: 'e2e', keyPath: KEY, certPath: CERT }] }),
    );
    try {
      const path = await layout();
      assert.equal((await vouch('--key', 'e2e', `oci:${path}:v1`)).code, 0);
      const result = await vouch(`oci:${path}:v1`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        (await signatures(await openLayout(path, { create: false }), subject)).length,
        2,
      );
    } finally {
      await rm(join(config, 'signingkeys.json'));
    }
  });

  describe('with an RFC 3161 timestamp authority', () => {
    let tsa: TestTsa;
    let good: TsaServer;
    let wrong: TsaServer;

    before(async () => {
      tsa = await createTestTsa();
      [good, wrong] = await Promise.all([
        startTsaServer((query) => tsa.reply(query)),
        startTsaServer(() => tsa.replyOverOtherBytes()),
      ]);
    });
    after(async () => {
      await Promise.all([good?.stop(), wrong?.stop()]);
      await tsa?.remove();
    });

    it('countersigns the signature bytes; openssl verifies the token against the root', async () => {
      const store = await pushed('notation/timestamped');
      const result = await vouch(
        '--key',
        KEY,
        '--cert',
        CERT,
        '--timestamp-url',
        good.url,
        '--timestamp-root-cert',
        tsa.rootFile,
        `${registry.host}/notation/timestamped:v1`,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /JWS signature, timestamped, stored/);
      assert.deepEqual(good.received, ['application/timestamp-query']);
      const [ours] = await signatures(store, subject);
      const token = ours?.envelope.timestampToken;
      assert.ok(token !== undefined);
      const header = (
        JSON.parse(text(ours?.envelopeBytes ?? new Uint8Array())) as {
          header: Record<string, string>;
        }
      ).header;
      assert.equal(
        header['io.cncf.notary.timestampSignature'],
        Buffer.from(token).toString('base64'),
      );
      await writeFile(join(tmp, 'signature.bin'), ours?.envelope.signature ?? new Uint8Array());
      await writeFile(join(tmp, 'token.der'), token);
      const verified = await run(
        'openssl',
        [
          'ts',
          '-verify',
          '-data',
          'signature.bin',
          '-in',
          'token.der',
          '-token_in',
          '-CAfile',
          tsa.rootFile,
        ],
        { cwd: tmp },
      );
      assert.match(verified.stdout, /Verification: OK/);
    });

    it('refuses a TSA answer over other bytes, and one from another root, with nothing written', async () => {
      const path = await layout();
      const before = await snapshot(path);
      const overOther = await vouch(
        '--key',
        KEY,
        '--cert',
        CERT,
        '--timestamp-url',
        wrong.url,
        '--timestamp-root-cert',
        tsa.rootFile,
        `oci:${path}:v1`,
      );
      assert.equal(overOther.code, 1);
      assert.match(overOther.stderr, /stamps other bytes than this signature/);
      const otherRoot = await vouch(
        '--key',
        KEY,
        '--cert',
        CERT,
        '--timestamp-url',
        good.url,
        '--timestamp-root-cert',
        tsa.otherRootFile,
        '-o',
        'json',
        `oci:${path}:v1`,
      );
      assert.equal(otherRoot.code, 1);
      const report = JSON.parse(otherRoot.stdout) as {
        images: { error: { code: string; message: string } }[];
      };
      assert.equal(report.images[0]?.error.code, 'NOTATION_TSA_RESPONSE_INVALID');
      assert.match(report.images[0]?.error.message ?? '', /does not chain to the timestamp root/);
      assert.deepEqual(await snapshot(path), before);
      const half = await vouch(
        '--key',
        KEY,
        '--cert',
        CERT,
        '--timestamp-url',
        good.url,
        `oci:${path}:v1`,
      );
      assert.equal(half.code, 2);
    });
  });

  describe('with plugins', () => {
    const plugin = (
      name: string,
      behaviour: Parameters<typeof installTestPlugin>[2]['behaviour'],
    ) => installTestPlugin(config, name, { behaviour, keyFile: KEY, certFile: CERT });

    it('signs through a plugin key, checking its chain and signature first', async () => {
      await plugin('com.example.local', 'sign');
      const path = await layout();
      const result = await vouch(
        '--plugin',
        'com.example.local',
        '--id',
        'key-1',
        '--plugin-config',
        'region=eu',
        '--signature-format',
        'cose',
        `oci:${path}:v1`,
      );
      assert.equal(result.code, 0, result.stderr);
      const [ours] = await signatures(await openLayout(path, { create: false }), subject);
      assert.equal(ours?.envelope.signingAgent, 'vouch/0.1.0 com.example.local/1.0.0');
      assert.deepEqual(
        ours?.envelope.certificateChain.map((c) => Buffer.from(c).toString('base64')),
        [(await readFile(CERT, 'utf8')).replace(/-----[A-Z ]+-----|\s/g, '')],
      );
      const requests = await pluginRequests(config, 'com.example.local');
      assert.deepEqual(
        requests.map((r) => r.command),
        ['get-plugin-metadata', 'describe-key', 'generate-signature'],
      );
      const sign = requests[2]?.request;
      assert.deepEqual(
        { ...sign, payload: 'payload' },
        {
          contractVersion: '1.0',
          keyId: 'key-1',
          keySpec: 'RSA-2048',
          hashAlgorithm: 'SHA-256',
          payload: 'payload',
          pluginConfig: { region: 'eu' },
        },
      );
      // The plugin signed exactly COSE's Sig_structure of the stored envelope.
      assert.deepEqual(
        new Uint8Array(Buffer.from(sign?.payload as string, 'base64')),
        ours?.envelope.signedBytes,
      );
    });

    it('signs with a plugin key named in signingkeys.json, its pluginConfig under the flag’s', async () => {
      await plugin('com.example.named', 'sign');
      await writeFile(
        join(config, 'signingkeys.json'),
        JSON.stringify({
          keys: [
            {
              name: 'kms',
              id: 'arn:key/7',
              pluginName: 'com.example.named',
              pluginConfig: { region: 'us', vault: 'v' },
            },
          ],
        }),
      );
      try {
        const path = await layout();
        const result = await vouch(
          '--key',
          'kms',
          '--plugin-config',
          'region=eu',
          `oci:${path}:v1`,
        );
        assert.equal(result.code, 0, result.stderr);
        const requests = await pluginRequests(config, 'com.example.named');
        assert.deepEqual(requests.at(-1)?.request.pluginConfig, { region: 'eu', vault: 'v' });
        assert.equal(requests.at(-1)?.request.keyId, 'arn:key/7');
      } finally {
        await rm(join(config, 'signingkeys.json'));
      }
    });

    it('takes a whole envelope from an envelope plugin, its annotations on the manifest', async () => {
      await plugin('com.example.envelope', 'envelope');
      const path = await layout();
      const result = await vouch(
        '--plugin',
        'com.example.envelope',
        '--id',
        'k',
        '-m',
        'build=7',
        `oci:${path}:v1`,
      );
      assert.equal(result.code, 0, result.stderr);
      const [ours] = await signatures(await openLayout(path, { create: false }), subject);
      assert.equal(ours?.envelope.signingAgent, 'test-envelope-plugin/1.0');
      assert.equal(ours?.manifest.annotations['com.example.plugin'], 'envelope');
      assert.deepEqual(ours?.envelope.targetArtifact.annotations, { build: '7' });
    });

    const misbehaving: [string, Parameters<typeof plugin>[1], string[], number, RegExp][] = [
      [
        'signs with another key than its certificate’s',
        'wrong-key',
        [],
        1,
        /a signature that does not verify with its leaf certificate's key/,
      ],
      [
        'returns a certificate for another key spec than describe-key named',
        'wrong-spec',
        [],
        1,
        /a leaf certificate whose key signs with PS256, but describe-key said the key signs with ES256/,
      ],
      [
        'writes more than 64 MiB',
        'oversize',
        [],
        1,
        /wrote more than 67108864 bytes on stdout; it was stopped/,
      ],
      [
        'fails with a JSON error',
        'error-json',
        [],
        2,
        /failed: ACCESS_DENIED: the key is locked \?\[31mred/,
      ],
      [
        'crashes',
        'crash',
        [],
        3,
        /failed \(exit code 2\): panic: runtime error: index out of range/,
      ],
      ['hangs', 'hang', ['--plugin-timeout', '1s'], 3, /did not answer within 1 s; it was stopped/],
      [
        'builds an envelope over another digest',
        'envelope-other-digest',
        [],
        1,
        /an envelope that signs another descriptor/,
      ],
    ];
    for (const [what, behaviour, extra, code, message] of misbehaving) {
      it(`refuses a plugin that ${what}, with nothing written`, async () => {
        const name = `com.example.${behaviour}`;
        await plugin(name, behaviour);
        const path = await layout();
        const before = await snapshot(path);
        const started = Date.now();
        const result = await vouch('--plugin', name, '--id', 'k', ...extra, `oci:${path}:v1`);
        assert.equal(result.code, code, result.stderr);
        assert.match(result.stderr, message);
        assert.ok(!result.stderr.includes('\u001b'), 'no terminal escape from the plugin');
        assert.deepEqual(await snapshot(path), before);
        assert.ok(Date.now() - started < 30_000);
      });
    }

    it('refuses a plugin executable that is a symbolic link, or not installed', async () => {
      const target = await plugin('com.example.target', 'sign');
      await mkdir(join(config, 'plugins', 'com.example.link'), { recursive: true });
      await symlink(
        target,
        join(config, 'plugins', 'com.example.link', 'notation-com.example.link'),
      );
      const path = await layout();
      const linked = await vouch('--plugin', 'com.example.link', '--id', 'k', `oci:${path}:v1`);
      assert.equal(linked.code, 2);
      assert.match(linked.stderr, /is a symbolic link/);
      const absent = await vouch('--plugin', 'com.example.absent', '--id', 'k', `oci:${path}:v1`);
      assert.equal(absent.code, 2);
      assert.match(absent.stderr, /plugin "com.example.absent" is not installed/);
      const climbing = await vouch('--plugin', '../x', '--id', 'k', `oci:${path}:v1`);
      assert.equal(climbing.code, 2);
    });
  });
});
