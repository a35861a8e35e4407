/**
 * `vouch notation verify`, `list` and `inspect` end to end, on signatures the
 * real notation CLI made (../shared/fixtures/notation, from notaryproject/notation
 * test/e2e/testdata): every row of the fixtures README's table of layouts ×
 * trust policies, run on each layout copied to a temp directory (`oci:DIR:v1`)
 * and on the same image and signatures pushed into a real Distribution 2.8
 * registry, which has no referrers API (the fallback tag `sha256-<hex>`).
 * Trust policies and trust stores are laid out in a temp $NOTATION_CONFIG.
 * Then what an attacker or a broken signer can store: an envelope larger
 * than the cap (refused before it is fetched), a critical header only a
 * verification plugin processes, a signature for another image.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildCose } from '../src/formats/notation/cose.ts';
import { buildJws } from '../src/formats/notation/jws.ts';
import { notationKeySigner } from '../src/formats/notation/signature.ts';
import { buildNotationSignatureManifest } from '../src/formats/notation/signature-manifest.ts';
import { digestOf } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { OCI_ARTIFACT_MANIFEST, OCI_MANIFEST } from '../src/oci/media-types.ts';
import { copyImage } from '../src/registry/copy.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import { addToReferrersTag } from '../src/registry/referrers-tag.ts';
import { type CliRun, NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { putBytes } from './helpers/images.ts';
import { installVerificationPlugin, pluginRequests } from './helpers/notation-plugins.ts';
import { copyWritable } from './helpers/notation.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const execFileAsync = promisify(execFile);
const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/notation');
const skip = existsSync(FIXTURES)
  ? false
  : `notation fixtures not found at ${FIXTURES} (they live outside the repository)`;

const LAYOUTS = [
  'e2e',
  'e2e-valid-signature',
  'e2e-valid-multiple-signatures',
  'e2e-invalid-signature',
  'e2e-expired-signature',
  'e2e-with-expired-cert',
  'e2e-with-timestamped-signature',
  'e2e-with-invalid-timestamped-signature',
] as const;
type Layout = (typeof LAYOUTS)[number];

interface Row {
  readonly layout: Layout;
  /** A file of config/trustpolicies/. */
  readonly policy: string;
  /** The certificate of config/localkeys/ in the trust store `ca:e2e`. */
  readonly cert: string;
  readonly status: 'verified' | 'denied';
  /** The failure code of the signature that decided, when denied. */
  readonly code?: string;
  /** Checks logged as failed on the verified signature. */
  readonly warnings?: readonly string[];
  readonly why: string;
}

// The fixtures README's table (notation test/e2e/suite/trustpolicy/verification_level.go,
// test/e2e/suite/command/verify.go).
const ROWS: readonly Row[] = [
  {
    layout: 'e2e-valid-signature',
    policy: 'trustpolicy.json',
    cert: 'e2e.crt',
    status: 'verified',
    why: 'strict, signed by the trusted certificate',
  },
  {
    layout: 'e2e-valid-multiple-signatures',
    policy: 'trustpolicy.json',
    cert: 'e2e.crt',
    status: 'verified',
    why: 'any one signature suffices',
  },
  ...(['trustpolicy.json', 'permissive_trustpolicy.json', 'audit_trustpolicy.json'] as const).map(
    (policy): Row => ({
      layout: 'e2e-invalid-signature',
      policy,
      cert: 'e2e.crt',
      status: 'denied',
      code: 'NOTATION_INTEGRITY_FAILED',
      why: 'integrity is enforced at every level but skip',
    }),
  ),
  {
    layout: 'e2e-expired-signature',
    policy: 'trustpolicy.json',
    cert: 'e2e.crt',
    status: 'denied',
    code: 'NOTATION_EXPIRED',
    why: 'strict enforces expiry',
  },
  ...(['permissive_trustpolicy.json', 'audit_trustpolicy.json'] as const).map((policy): Row => ({
    layout: 'e2e-expired-signature',
    policy,
    cert: 'e2e.crt',
    status: 'verified',
    warnings: ['expiry'],
    why: 'expiry is logged',
  })),
  {
    layout: 'e2e-with-expired-cert',
    policy: 'trustpolicy.json',
    cert: 'expired_e2e.crt',
    status: 'denied',
    code: 'NOTATION_AUTHENTIC_TIMESTAMP_FAILED',
    why: 'strict: the certificate is not valid now and there is no timestamp',
  },
  ...(['permissive_trustpolicy.json', 'audit_trustpolicy.json'] as const).map((policy): Row => ({
    layout: 'e2e-with-expired-cert',
    policy,
    cert: 'expired_e2e.crt',
    status: 'verified',
    warnings: ['authenticTimestamp'],
    why: 'authenticTimestamp is logged',
  })),
  {
    layout: 'e2e-valid-signature',
    policy: 'trustpolicy.json',
    cert: 'new_e2e.crt',
    status: 'denied',
    code: 'NOTATION_AUTHENTICITY_FAILED',
    why: 'strict: the signer is not in the trust store',
  },
  {
    layout: 'e2e-valid-signature',
    policy: 'audit_trustpolicy.json',
    cert: 'new_e2e.crt',
    status: 'verified',
    warnings: ['authenticity'],
    why: 'audit logs authenticity',
  },
];

interface CheckJson {
  readonly check: string;
  readonly action: string;
  readonly outcome: string;
}
interface FailureJson {
  readonly check: string;
  readonly code: string;
  readonly category: string;
  readonly message: string;
}
interface SignatureJson {
  readonly index: number;
  readonly digest: string;
  readonly verified: boolean;
  readonly failure: FailureJson | null;
  readonly warnings: readonly FailureJson[];
  readonly checks: readonly CheckJson[];
  readonly signer: { readonly subject: string; readonly sha256Fingerprint: string } | null;
}
interface ImageJson {
  readonly image: string;
  readonly status: string;
  readonly digest: string | null;
  readonly trustPolicy: { readonly name: string; readonly level: string } | null;
  readonly verificationSkipped: boolean;
  readonly signatures: readonly SignatureJson[];
  readonly notExamined: number;
  readonly error: {
    readonly code: string;
    readonly category: string;
    readonly message: string;
  } | null;
}
interface VerifyJson {
  readonly ok: boolean;
  readonly images: readonly ImageJson[];
}

const fixture = (path: string) => readFile(join(FIXTURES, path));
const IMAGE_DIGEST = 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';

describe('vouch notation verify, list and inspect on notation CLI fixtures', { skip }, () => {
  let tmp: string;
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let count = 0;

  /** A copy of `layout` in the temp dir (the fixtures are read-only), as `oci:DIR`. */
  async function layoutCopy(layout: Layout): Promise<string> {
    const dir = join(tmp, `layout-${count++}-${layout}`);
    await copyWritable(join(FIXTURES, 'registry/oci_layout', layout), dir);
    return dir;
  }

  /** A $NOTATION_CONFIG with `policy` and the trust store `ca:e2e` holding `certs`. */
  async function notationConfig(
    policy: string | Uint8Array,
    certs: readonly string[] = ['e2e.crt'],
  ): Promise<string> {
    const dir = join(tmp, `config-${count++}`);
    const store = join(dir, 'truststore', 'x509', 'ca', 'e2e');
    await mkdir(store, { recursive: true });
    for (const cert of certs) {
      await writeFile(join(store, cert), await fixture(`config/localkeys/${cert}`));
    }
    const bytes =
      typeof policy === 'string' ? await fixture(`config/trustpolicies/${policy}`) : policy;
    await writeFile(join(dir, 'trustpolicy.json'), bytes);
    return dir;
  }

  const env = (config: string) => ({
    DOCKER_CONFIG: NO_DOCKER_CONFIG,
    NOTATION_CONFIG: config,
    HOME: tmp,
    VOUCH_CACHE_DIR: join(tmp, 'cache'),
  });

  function verify(config: string, ...args: string[]): Promise<CliRun> {
    return runVouch(['notation', 'verify', ...args], { env: env(config) });
  }

  async function verifyJson(config: string, ...args: string[]) {
    const run = await verify(config, '-o', 'json', ...args);
    const report = JSON.parse(run.stdout) as VerifyJson;
    const image = report.images[0];
    assert.ok(image !== undefined, run.stdout);
    return { run, report, image };
  }

  /** The layout pushed to the registry as repository `layout`, its signatures as referrers. */
  const pushed = new Map<Layout, Promise<string>>();
  function inRegistry(layout: Layout): Promise<string> {
    let ref = pushed.get(layout);
    if (ref === undefined) {
      ref = (async () => {
        const source = await openLayout(await layoutCopy(layout), { create: false });
        const destination = client.repository(layout);
        const image = await copyImage(source, { tag: 'v1' }, destination, { tag: 'v1' });
        for (const referrer of await source.referrers(image.descriptor.digest)) {
          // Pushing a manifest with a subject adds it to the fallback tag (Distribution 2.8 has no referrers API).
          await copyImage(source, { digest: referrer.digest }, destination);
        }
        return `${registry.host}/${layout}:v1`;
      })();
      pushed.set(layout, ref);
    }
    return ref;
  }

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-notation-verify-'));
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  for (const where of ['oci layout', 'registry'] as const) {
    describe(`the fixtures README's table, images in an ${where}`, () => {
      const imageOf = async (layout: Layout) =>
        where === 'registry' ? inRegistry(layout) : `oci:${await layoutCopy(layout)}:v1`;

      for (const row of ROWS) {
        it(`${row.layout} × ${row.policy} (ca:e2e = ${row.cert}): ${row.status}, ${row.why}`, async () => {
          const config = await notationConfig(row.policy, [row.cert]);
          const { run, report, image } = await verifyJson(config, await imageOf(row.layout));
          assert.equal(image.status, row.status, run.stdout);
          assert.equal(report.ok, row.status === 'verified');
          assert.equal(run.code, row.status === 'verified' ? 0 : 1, run.stderr);
          assert.equal(image.digest, IMAGE_DIGEST);
          if (row.status === 'verified') {
            const verified = image.signatures.find((signature) => signature.verified);
            assert.ok(verified !== undefined, run.stdout);
            assert.deepEqual(
              verified.warnings.map((warning) => warning.check),
              row.warnings ?? [],
              run.stdout,
            );
            assert.equal(image.error, null);
          } else {
            assert.ok(
              image.signatures.length > 0 &&
                image.signatures.every((signature) => signature.failure?.code === row.code),
              run.stdout,
            );
            assert.equal(image.error?.code, 'NOTATION_NO_VALID_SIGNATURE', run.stdout);
            assert.ok(run.stderr.includes(row.code ?? ''), run.stderr);
          }
        });
      }

      for (const layout of LAYOUTS) {
        it(`${layout} × skip_trustpolicy.json: verified without any check`, async () => {
          const config = await notationConfig('skip_trustpolicy.json');
          const { run, image } = await verifyJson(config, await imageOf(layout));
          assert.equal(run.code, 0, run.stdout);
          assert.equal(image.status, 'verified');
          assert.equal(image.verificationSkipped, true);
          assert.deepEqual(image.signatures, []);
          // Nothing was fetched, not even the image: level skip needs no registry.
          assert.equal(image.digest, null);
        });
      }

      it('e2e-valid-multiple-signatures: the one by an untrusted certificate is skipped unfetched', async () => {
        const config = await notationConfig('trustpolicy.json');
        const { run, image } = await verifyJson(
          config,
          await imageOf('e2e-valid-multiple-signatures'),
        );
        assert.equal(run.code, 0, run.stdout);
        assert.equal(image.signatures.length, 2, run.stdout);
        const [trusted, untrusted] = [
          image.signatures.find((s) => s.verified),
          image.signatures.find((s) => !s.verified),
        ];
        assert.equal(trusted?.signer?.subject, 'CN=e2e,O=Notary,L=Seattle,ST=WA,C=US');
        assert.equal(untrusted?.failure?.code, 'NOTATION_AUTHENTICITY_FAILED');
        assert.match(untrusted?.failure?.message ?? '', /a10293ee.*its envelope was not fetched/);
        // The untrusted one is refused before integrity is even looked at.
        assert.equal(untrusted?.checks.find((c) => c.check === 'integrity')?.outcome, 'not-run');
      });

      it('an image without signatures is NOTATION_NO_SIGNATURES (exit 1)', async () => {
        const config = await notationConfig('trustpolicy.json');
        const { run, image } = await verifyJson(config, await imageOf('e2e'));
        assert.equal(run.code, 1);
        assert.equal(image.error?.code, 'NOTATION_NO_SIGNATURES');
        assert.match(image.error?.message ?? '', /no Notary Project signature is associated/);
      });

      it('text output names the statement, the level, the signer and each logged failure', async () => {
        const config = await notationConfig('permissive_trustpolicy.json');
        const image = await imageOf('e2e-expired-signature');
        const run = await verify(config, image);
        assert.equal(run.code, 0, run.stderr);
        assert.ok(run.stdout.startsWith(`${image}: verified\n`), run.stdout);
        assert.match(
          run.stdout,
          /trust policy: statement "e2e", level permissive: enforced integrity, authenticity; logged authenticTimestamp, expiry, revocation/,
        );
        assert.match(
          run.stdout,
          /signature 0 \(sha256:3829708b[0-9a-f]+\): verified, signed by "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"/,
        );
        assert.match(
          run.stdout,
          /warning: expiry \(set to log\) failed: NOTATION_EXPIRED: the signature expired at 2023-06-27T05:21:21.000Z/,
        );
      });
    });
  }

  describe('trusted identities', () => {
    it('a matching x509.subject verifies; another subject is refused', async () => {
      const image = `oci:${await layoutCopy('e2e-valid-signature')}:v1`;
      const matching = await verifyJson(
        await notationConfig('valid_trusted_identity_trustpolicy.json'),
        image,
      );
      assert.equal(matching.image.status, 'verified', matching.run.stdout);
      const other = policy({ trustedIdentities: ['x509.subject:C=US,ST=WA,O=Notary,CN=other'] });
      const refused = await verifyJson(await notationConfig(other), image);
      assert.equal(refused.image.status, 'denied');
      const failure = refused.image.signatures[0]?.failure;
      assert.equal(failure?.code, 'NOTATION_AUTHENTICITY_FAILED');
      assert.match(failure?.message ?? '', /does not match the X.509 trusted identities/);
    });
  });

  describe('configuration', () => {
    it('no trust policy: exit 2, NOTATION_TRUST_POLICY_NOT_FOUND, nothing fetched', async () => {
      const empty = join(tmp, `config-${count++}`);
      await mkdir(empty);
      const run = await verify(empty, '-o', 'json', `${registry.host}/absent:v1`);
      assert.equal(run.code, 2);
      assert.equal(
        (JSON.parse(run.stdout) as { error: { code: string } }).error.code,
        'NOTATION_TRUST_POLICY_NOT_FOUND',
      );
    });

    it('--trust-policy and --trust-store name the files instead of $NOTATION_CONFIG', async () => {
      const config = await notationConfig('trustpolicy.json');
      const elsewhere = join(tmp, `elsewhere-${count++}`);
      await mkdir(elsewhere);
      const image = `oci:${await layoutCopy('e2e-valid-signature')}:v1`;
      const run = await verify(
        elsewhere,
        '--trust-policy',
        join(config, 'trustpolicy.json'),
        '--trust-store',
        join(config, 'truststore'),
        image,
      );
      assert.equal(run.code, 0, run.stderr);
    });

    it('a trust store that does not exist: exit 2 under strict, a warning under audit', async () => {
      const image = `oci:${await layoutCopy('e2e-valid-signature')}:v1`;
      const strict = await verifyJson(
        await notationConfig(policy({ trustStores: ['ca:absent'] })),
        image,
      );
      assert.equal(strict.run.code, 2, strict.run.stdout);
      assert.equal(strict.image.error?.code, 'NOTATION_TRUST_STORE_NOT_FOUND');
      const audit = await verifyJson(
        await notationConfig(policy({ level: 'audit', trustStores: ['ca:absent'] })),
        image,
      );
      assert.equal(audit.run.code, 0, audit.run.stdout);
      assert.match(
        audit.image.signatures[0]?.warnings[0]?.message ?? '',
        /the trust store "absent" of type "ca" does not exist/,
      );
    });

    it('a layout takes the statement of --scope, or the global one', async () => {
      const scoped = policy({ registryScopes: ['registry.example/app'] });
      const config = await notationConfig(scoped);
      const image = `oci:${await layoutCopy('e2e-valid-signature')}:v1`;
      const without = await verify(config, image);
      assert.equal(without.code, 2);
      assert.match(without.stderr, /--scope/);
      const withScope = await verify(config, '--scope', 'registry.example/app', image);
      assert.equal(withScope.code, 0, withScope.stderr);
      const other = await verify(config, '--scope', 'registry.example/other', image);
      assert.equal(other.code, 1, other.stderr);
      assert.match(other.stderr, /NOTATION_NO_APPLICABLE_POLICY|no applicable trust policy/);
    });
  });

  describe('hostile and malformed signatures', () => {
    const e2eKey = async () => createPrivateKey(await fixture('config/localkeys/e2e.key'));
    const e2eCert = async () =>
      new Uint8Array(new X509Certificate(await fixture('config/localkeys/e2e.crt')).raw);

    /** Stores `envelope` as a notation signature of the layout's image `v1`. */
    async function attach(
      dir: string,
      envelope: Uint8Array,
      envelopeMediaType: 'application/jose+json' | 'application/cose' = 'application/jose+json',
      form: 'config-media-type' | 'artifact-type' = 'config-media-type',
    ): Promise<Descriptor> {
      const store = await openLayout(dir, { create: false });
      const subject = await store.resolve({ tag: 'v1' });
      const parts = buildNotationSignatureManifest({ subject, envelope, envelopeMediaType, form });
      await putBytes(store, parts.config.descriptor.mediaType, parts.config.bytes);
      await putBytes(store, parts.layer.descriptor.mediaType, parts.layer.bytes);
      await store.putManifest(parts.manifest, OCI_MANIFEST);
      return parts.descriptor;
    }

    it('a COSE envelope in the artifactType form (notation-go main) verifies as notation 1.3 JWS ones do', async () => {
      const dir = await layoutCopy('e2e');
      const store = await openLayout(dir, { create: false });
      const subject = await store.resolve({ tag: 'v1' });
      const envelope = await buildCose({
        targetArtifact: subject,
        certificateChain: [await e2eCert()],
        signingTime: new Date(),
        signer: notationKeySigner(await e2eKey()),
      });
      const stored = await attach(dir, envelope, 'application/cose', 'artifact-type');
      const { run, image } = await verifyJson(
        await notationConfig('trustpolicy.json'),
        `oci:${dir}:v1`,
      );
      assert.equal(run.code, 0, run.stdout);
      assert.equal(image.signatures[0]?.digest, stored.digest);
      assert.equal(image.signatures[0]?.verified, true);
    });

    describe('the pre-release OCI artifact manifest form (notation-go registry/internal/artifactspec)', () => {
      /** The notation CLI's JWS envelope of e2e-valid-signature, re-wrapped in an artifact manifest. */
      async function attachArtifactManifest(
        dir: string,
        edit: (envelope: Uint8Array) => Uint8Array = (envelope) => envelope,
      ): Promise<Descriptor> {
        const store = await openLayout(dir, { create: false });
        const subject = await store.resolve({ tag: 'v1' });
        const original = await fixture(
          'registry/oci_layout/e2e-valid-signature/blobs/sha256/c9af07e038b2b1a463e648986ad7273157511ffeba0b689f33e5472bae471f50',
        );
        const blob = await putBytes(store, 'application/jose+json', edit(new Uint8Array(original)));
        const annotations = {
          'io.cncf.notary.x509chain.thumbprint#S256':
            '["e38aea13f2b051f7183cca64a51ee676f4d4456f41d9fecf15eb367efc7343b9"]',
        };
        const manifest = await putBytes(
          store,
          OCI_ARTIFACT_MANIFEST,
          new TextEncoder().encode(
            JSON.stringify({
              mediaType: OCI_ARTIFACT_MANIFEST,
              artifactType: 'application/vnd.cncf.notary.signature',
              blobs: [blob],
              subject,
              annotations,
            }),
          ),
        );
        // vouch never writes this form, so the listing is written as notation's oras-go would.
        const listed = {
          ...manifest,
          artifactType: 'application/vnd.cncf.notary.signature',
          annotations,
        };
        await addToReferrersTag(store, subject.digest, listed, { settleMs: 0 });
        return listed;
      }

      it('a notation JWS envelope stored in it verifies under the fixture trust policy', async () => {
        const dir = await layoutCopy('e2e');
        const stored = await attachArtifactManifest(dir);
        const { run, image } = await verifyJson(
          await notationConfig('trustpolicy.json'),
          `oci:${dir}:v1`,
        );
        assert.equal(run.code, 0, run.stdout);
        assert.equal(image.status, 'verified', run.stdout);
        assert.equal(image.signatures[0]?.digest, stored.digest);
        assert.equal(image.signatures[0]?.verified, true);
      });

      it('a tampered envelope in it is refused (integrity)', async () => {
        const dir = await layoutCopy('e2e');
        await attachArtifactManifest(dir, (envelope) => {
          const jws = JSON.parse(new TextDecoder().decode(envelope)) as { signature: string };
          const flipped = jws.signature.startsWith('A') ? 'B' : 'A';
          jws.signature = flipped + jws.signature.slice(1);
          return new TextEncoder().encode(JSON.stringify(jws));
        });
        const { run, image } = await verifyJson(
          await notationConfig('trustpolicy.json'),
          `oci:${dir}:v1`,
        );
        assert.equal(run.code, 1, run.stdout);
        assert.equal(image.status, 'denied');
        assert.equal(image.signatures[0]?.failure?.code, 'NOTATION_INTEGRITY_FAILED', run.stdout);
        assert.match(
          image.signatures[0]?.failure?.message ?? '',
          /signature does not match the signed content/,
        );
      });
    });

    it('an envelope larger than --max-envelope-bytes is refused before it is fetched', async () => {
      const dir = await layoutCopy('e2e-valid-signature');
      // The 2,070-byte envelope is removed: had it been fetched, the reason would be "not found".
      await rm(
        join(dir, 'blobs/sha256/c9af07e038b2b1a463e648986ad7273157511ffeba0b689f33e5472bae471f50'),
      );
      const { run, image } = await verifyJson(
        await notationConfig('trustpolicy.json'),
        '--max-envelope-bytes',
        '1000',
        `oci:${dir}:v1`,
      );
      assert.equal(run.code, 1);
      const failure = image.signatures[0]?.failure;
      assert.equal(failure?.code, 'NOTATION_INTEGRITY_FAILED');
      assert.match(
        failure?.message ?? '',
        /declares 2070 bytes, more than the 1000 allowed; not fetched/,
      );
    });

    it('a manifest declaring a 64 MiB envelope is refused by default, unfetched', async () => {
      const dir = await layoutCopy('e2e');
      const store = await openLayout(dir, { create: false });
      const subject = await store.resolve({ tag: 'v1' });
      const config = await putBytes(
        store,
        'application/vnd.cncf.notary.signature',
        new TextEncoder().encode('{}'),
      );
      const manifest = new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config,
          layers: [
            {
              mediaType: 'application/jose+json',
              digest: digestOf(new TextEncoder().encode('never stored')),
              size: 64 * 1024 * 1024,
            },
          ],
          subject,
        }),
      );
      await store.putManifest(manifest, OCI_MANIFEST);
      const { image } = await verifyJson(await notationConfig('trustpolicy.json'), `oci:${dir}:v1`);
      assert.equal(image.status, 'denied');
      assert.match(
        image.signatures[0]?.failure?.message ?? '',
        /declares 67108864 bytes, more than the 4194304 allowed; not fetched/,
      );
    });

    it('a signature naming a verification plugin that is not installed fails at every level', async () => {
      const dir = await layoutCopy('e2e');
      const store = await openLayout(dir, { create: false });
      const subject = await store.resolve({ tag: 'v1' });
      const envelope = await pluginJws(await e2eKey(), await e2eCert(), subject);
      await attach(dir, envelope);
      for (const level of ['strict', 'audit']) {
        const { run, image } = await verifyJson(
          await notationConfig(policy({ level })),
          `oci:${dir}:v1`,
        );
        assert.equal(run.code, 2, run.stdout);
        const failure = image.signatures[0]?.failure;
        assert.equal(failure?.code, 'NOTATION_VERIFICATION_PLUGIN_FAILED', run.stdout);
        assert.match(failure?.message ?? '', /plugin "com.example.plugin" is not installed/);
      }
    });

    describe('verification plugins', () => {
      const TENANT = { 'com.example.tenant': 'acme' };
      /** A layout whose signature names com.example.plugin (at least 1.0.0) and a critical tenant. */
      async function pluginSigned(): Promise<string> {
        const dir = await layoutCopy('e2e');
        const store = await openLayout(dir, { create: false });
        const subject = await store.resolve({ tag: 'v1' });
        await attach(
          dir,
          await pluginJws(await e2eKey(), await e2eCert(), subject, {
            'io.cncf.notary.verificationPluginMinVersion': '1.0.0',
            ...TENANT,
          }),
        );
        return `oci:${dir}:v1`;
      }
      /** A config whose statement trusts a plugin's identity, with the plugin installed. */
      async function pluginConfig(
        options: Parameters<typeof installVerificationPlugin>[2],
        verification: Record<string, unknown> = { level: 'strict' },
      ): Promise<string> {
        const config = await notationConfig(
          new TextEncoder().encode(
            JSON.stringify({
              version: '1.0',
              trustPolicies: [
                {
                  name: 'plugin',
                  registryScopes: ['*'],
                  signatureVerification: verification,
                  trustStores: ['ca:e2e'],
                  trustedIdentities: ['plugin.example:tenant-acme'],
                },
              ],
            }),
          ),
        );
        await installVerificationPlugin(config, 'com.example.plugin', options);
        return config;
      }

      it('runs the plugin the signature names: it checks the trusted identity and revocation, and processes the critical attribute', async () => {
        const image = await pluginSigned();
        const config = await pluginConfig({ behaviour: 'verify' });
        const { run, image: result } = await verifyJson(
          config,
          '--plugin-config',
          'region=eu',
          image,
        );
        assert.equal(run.code, 0, run.stdout);
        assert.equal(result.status, 'verified');
        const checks = Object.fromEntries(
          (result.signatures[0]?.checks ?? []).map((check) => [check.check, check.outcome]),
        );
        assert.equal(checks.authenticity, 'passed');
        assert.equal(checks.revocation, 'passed');
        const requests = await pluginRequests(config, 'com.example.plugin');
        assert.deepEqual(
          requests.map((r) => r.command),
          ['get-plugin-metadata', 'verify-signature'],
        );
        const request = requests[1]?.request as {
          contractVersion: string;
          signature: {
            criticalAttributes: Record<string, unknown>;
            unprocessedAttributes: string[];
            certificateChain: string[];
          };
          trustPolicy: { trustedIdentities: string[]; signatureVerification: string[] };
          pluginConfig: Record<string, string>;
        };
        assert.equal(request.contractVersion, '1.0');
        assert.deepEqual(request.signature.criticalAttributes, {
          contentType: 'application/vnd.cncf.notary.payload.v1+json',
          signingScheme: 'notary.x509',
          verificationPlugin: 'com.example.plugin',
          verificationPluginMinVersion: '1.0.0',
          extendedAttributes: TENANT,
        });
        assert.deepEqual(request.signature.unprocessedAttributes, ['com.example.tenant']);
        assert.deepEqual(request.signature.certificateChain, [
          Buffer.from(await e2eCert()).toString('base64'),
        ]);
        assert.deepEqual(request.trustPolicy, {
          trustedIdentities: ['plugin.example:tenant-acme'],
          signatureVerification: [
            'SIGNATURE_VERIFIER.TRUSTED_IDENTITY',
            'SIGNATURE_VERIFIER.REVOCATION_CHECK',
          ],
        });
        assert.deepEqual(request.pluginConfig, { region: 'eu' });
      });

      it('a failed trusted identity check is an authenticity failure: refused under strict, a warning under audit; revocation is not asked when skipped', async () => {
        const image = await pluginSigned();
        const strict = await verifyJson(await pluginConfig({ behaviour: 'identity-fails' }), image);
        assert.equal(strict.run.code, 1, strict.run.stdout);
        const failure = strict.image.signatures[0]?.failure;
        assert.equal(failure?.code, 'NOTATION_AUTHENTICITY_FAILED');
        assert.match(
          failure?.message ?? '',
          /trusted identity verification by plugin "com.example.plugin" failed with reason "the tenant is not on the list"/,
        );
        const auditConfig = await pluginConfig(
          { behaviour: 'identity-fails' },
          { level: 'audit', override: { revocation: 'skip' } },
        );
        const audit = await verifyJson(auditConfig, image);
        assert.equal(audit.run.code, 0, audit.run.stdout);
        assert.equal(audit.image.signatures[0]?.warnings[0]?.code, 'NOTATION_AUTHENTICITY_FAILED');
        // Revocation skipped: the plugin is asked only for the trusted identity.
        const requests = await pluginRequests(auditConfig, 'com.example.plugin');
        assert.deepEqual(
          (requests[1]?.request.trustPolicy as { signatureVerification: string[] })
            .signatureVerification,
          ['SIGNATURE_VERIFIER.TRUSTED_IDENTITY'],
        );
      });

      const misbehaving: [
        string,
        Parameters<typeof installVerificationPlugin>[2],
        string[],
        number,
        RegExp,
      ][] = [
        [
          'claims success without processing the critical attribute',
          { behaviour: 'skip-attribute' },
          [],
          1,
          /processedAttributes lacking the critical attribute "com.example.tenant"/,
        ],
        [
          'writes more than 64 MiB',
          { behaviour: 'oversize' },
          [],
          1,
          /wrote more than 67108864 bytes on stdout; it was stopped/,
        ],
        [
          'exits non-zero',
          { behaviour: 'crash' },
          [],
          3,
          /\(verify-signature\) failed \(exit code 2\): panic: runtime error/,
        ],
        [
          'hangs',
          { behaviour: 'hang' },
          ['--plugin-timeout', '1s'],
          3,
          /\(verify-signature\) did not answer within 1 s; it was stopped/,
        ],
        [
          'is older than the signature needs',
          { behaviour: 'verify', version: '0.9.0' },
          [],
          1,
          /plugin "com.example.plugin" is version 0.9.0, and the signature needs version 1.0.0 or later/,
        ],
        [
          'has a version that is not SemVer',
          { behaviour: 'verify', version: '1.0.0.0' },
          [],
          1,
          /has the version "1.0.0.0", which is not a SemVer version/,
        ],
        [
          'cannot verify (no SIGNATURE_VERIFIER capability)',
          { behaviour: 'verify', capabilities: ['SIGNATURE_GENERATOR.RAW'] },
          [],
          1,
          /needs plugin "com.example.plugin" with a signature verification capability/,
        ],
      ];
      for (const [what, options, extra, code, message] of misbehaving) {
        it(`refuses the signature when the plugin ${what}`, async () => {
          const image = await pluginSigned();
          const { run, image: result } = await verifyJson(
            await pluginConfig(options),
            ...extra,
            image,
          );
          assert.equal(run.code, code, run.stdout);
          const failure = result.signatures[0]?.failure;
          assert.equal(failure?.code, 'NOTATION_VERIFICATION_PLUGIN_FAILED', run.stdout);
          assert.match(failure?.message ?? '', message);
        });
      }
    });

    it('a signature of another image, stored as a referrer of this one, fails integrity', async () => {
      const dir = await layoutCopy('e2e');
      const envelope = await buildJws({
        targetArtifact: {
          mediaType: OCI_MANIFEST,
          digest: digestOf(new TextEncoder().encode('other')),
          size: 5,
        },
        certificateChain: [await e2eCert()],
        signingTime: new Date(),
        signer: notationKeySigner(await e2eKey()),
      });
      await attach(dir, envelope);
      const { image } = await verifyJson(await notationConfig('trustpolicy.json'), `oci:${dir}:v1`);
      assert.equal(image.status, 'denied');
      assert.match(
        image.signatures[0]?.failure?.message ?? '',
        /the signature is for sha256:[0-9a-f]{64} .*not for the image sha256:b8479de3/,
      );
    });

    it('--user-metadata requires the annotation in the signed payload', async () => {
      const dir = await layoutCopy('e2e');
      const store = await openLayout(dir, { create: false });
      const subject = await store.resolve({ tag: 'v1' });
      await attach(
        dir,
        await buildJws({
          targetArtifact: { ...subject, annotations: { env: 'prod' } },
          certificateChain: [await e2eCert()],
          signingTime: new Date(),
          signer: notationKeySigner(await e2eKey()),
        }),
      );
      const config = await notationConfig('trustpolicy.json');
      assert.equal((await verify(config, '-m', 'env=prod', `oci:${dir}:v1`)).code, 0);
      const wrong = await verifyJson(config, '-m', 'env=dev', `oci:${dir}:v1`);
      assert.equal(wrong.image.signatures[0]?.failure?.code, 'NOTATION_USER_METADATA_MISMATCH');
    });

    it('--max-signatures: signatures beyond it are counted, not examined', async () => {
      const dir = await layoutCopy('e2e-valid-multiple-signatures');
      // audit: no thumbprint filter, so both signatures are candidates, in listing order.
      const { image } = await verifyJson(
        await notationConfig('audit_trustpolicy.json'),
        '--max-signatures',
        '1',
        `oci:${dir}:v1`,
      );
      assert.equal(image.signatures.length, 1);
      assert.equal(image.notExamined, 1);
    });
  });

  describe('vouch notation list and inspect', () => {
    it('list shows each signature manifest, its form and thumbprints, nothing verified', async () => {
      const dir = await layoutCopy('e2e-valid-multiple-signatures');
      const text = await runVouch(['notation', 'list', `oci:${dir}:v1`]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /└── application\/vnd\.cncf\.notary\.signature/);
      assert.match(
        text.stdout,
        /sha256:90ceaff2[0-9a-f]+ \(jws, config-media-type form, created 2023-06-27T05:30:33Z\)/,
      );
      assert.match(
        text.stdout,
        /certificate SHA-256 e38aea13f2b051f7183cca64a51ee676f4d4456f41d9fecf15eb367efc7343b9/,
      );
      const json = await runVouch(['notation', 'list', '-o', 'json', `oci:${dir}:v1`]);
      const listed = JSON.parse(json.stdout) as {
        digest: string;
        signatures: { digest: string; format: string; thumbprints: string[] }[];
      };
      assert.equal(listed.digest, IMAGE_DIGEST);
      assert.deepEqual(listed.signatures.map((s) => s.thumbprints[0]).sort(), [
        'a10293ee855ac897fc6ffefadb0b72d4bd8042029f5108f404d7ca9b4324ca97',
        'e38aea13f2b051f7183cca64a51ee676f4d4456f41d9fecf15eb367efc7343b9',
      ]);
      const invalid = await runVouch([
        'notation',
        'list',
        `oci:${await layoutCopy('e2e-invalid-signature')}:v1`,
      ]);
      assert.equal(invalid.code, 0);
      assert.match(invalid.stdout, /unreadable: manifest-invalid/);
    });

    it('inspect prints what notation inspect -o json prints', async () => {
      const dir = await layoutCopy('e2e-expired-signature');
      const run = await runVouch(['notation', 'inspect', '-o', 'json', `oci:${dir}:v1`]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), {
        mediaType: OCI_MANIFEST,
        Signatures: [
          {
            mediaType: 'application/jose+json',
            digest: 'sha256:3829708badae8e4b14e1adbc2fac7182bc0c27c5b6f54153e8b68a12eab10a1e',
            signatureAlgorithm: 'RSASSA-PSS-SHA-256',
            signedAttributes: {
              signingScheme: 'notary.x509',
              signingTime: '2023-06-27T05:20:21Z',
              expiry: '2023-06-27T05:21:21Z',
            },
            userDefinedAttributes: null,
            unsignedAttributes: { signingAgent: 'Notation/1.0.0' },
            certificates: [
              {
                SHA256Fingerprint:
                  'e38aea13f2b051f7183cca64a51ee676f4d4456f41d9fecf15eb367efc7343b9',
                issuedTo: 'CN=e2e,O=Notary,L=Seattle,ST=WA,C=US',
                issuedBy: 'CN=e2e,O=Notary,L=Seattle,ST=WA,C=US',
                expiry: '2122-12-19T02:43:39Z',
              },
            ],
            signedArtifact: {
              mediaType: OCI_MANIFEST,
              digest: IMAGE_DIGEST,
              size: 517,
            },
          },
        ],
      });
    });

    it('inspect shows the timestamp countersignature and its certificates', async () => {
      const dir = await layoutCopy('e2e-with-timestamped-signature');
      const run = await runVouch(['notation', 'inspect', `oci:${dir}:v1`]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /timestamp signature/);
      assert.match(run.stdout, /timestamp: \[/);
      assert.match(run.stdout, /issued to: CN=testcert7,O=Notary,L=Seattle,ST=WA,C=US/);
    });
  });

  describe('what a one-shot `vouch notation verify` loads', () => {
    const BIN = resolve(import.meta.dirname, '../src/cli/bin.ts');

    /** Runs the CLI as its own process, saying on stderr when pkijs is imported. */
    async function verifyProcess(config: string, image: string) {
      const hook = join(tmp, 'pkijs-hook.mjs');
      await writeFile(
        hook,
        [
          "import { registerHooks } from 'node:module';",
          'registerHooks({',
          '  resolve(specifier, context, next) {',
          "    if (specifier === 'pkijs') process.stderr.write('PKIJS LOADED\\n');",
          '    return next(specifier, context);',
          '  },',
          '});',
          '',
        ].join('\n'),
      );
      try {
        const { stdout, stderr } = await execFileAsync(
          process.execPath,
          ['--import', hook, BIN, 'notation', 'verify', image],
          { env: { ...env(config), PATH: process.env.PATH } },
        );
        return { code: 0, stdout, stderr };
      } catch (error) {
        const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
        return { code, stdout, stderr };
      }
    }

    it('no pkijs for a signature without a timestamp, its certificates read without it', async () => {
      // Strict: revocation is checked, and the self-signed certificate names no OCSP responder.
      const config = await notationConfig('trustpolicy.json');
      const run = await verifyProcess(config, `oci:${await layoutCopy('e2e-valid-signature')}:v1`);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /verified/);
      assert.doesNotMatch(run.stderr, /PKIJS LOADED/);
    });

    it('pkijs, for RFC 3161 timestamps, when the statement names a tsa store', async () => {
      const config = await notationConfig('timestamp_trustpolicy.json');
      const tsa = join(config, 'truststore', 'x509', 'tsa', 'e2e');
      await mkdir(tsa, { recursive: true });
      await writeFile(
        join(tsa, 'root.cer'),
        await fixture('config/timestamp/globalsignTSARoot.cer'),
      );
      const layout = await layoutCopy('e2e-with-timestamped-signature');
      const run = await verifyProcess(config, `oci:${layout}:v1`);
      assert.match(run.stderr, /PKIJS LOADED/);
      assert.match(run.stdout, /signature 0/, run.stderr);
    });
  });
});

/** A policy with one global statement, strict, `ca:e2e`, any identity, changed by `changes`. */
function policy(
  changes: {
    level?: string;
    trustStores?: string[];
    trustedIdentities?: string[];
    registryScopes?: string[];
  } = {},
): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      version: '1.0',
      trustPolicies: [
        {
          name: 'test',
          registryScopes: changes.registryScopes ?? ['*'],
          signatureVerification: { level: changes.level ?? 'strict' },
          trustStores: changes.trustStores ?? ['ca:e2e'],
          trustedIdentities: changes.trustedIdentities ?? ['*'],
        },
      ],
    }),
  );
}

/**
 * A JWS signed by `key` over `subject` whose protected header carries
 * `io.cncf.notary.verificationPlugin`, listed in `crit` as a plugin's
 * signatures have it (notation-go verifier/helpers.go HeaderVerificationPlugin).
 */
async function pluginJws(
  key: ReturnType<typeof createPrivateKey>,
  certificate: Uint8Array,
  subject: Descriptor,
  /** More critical protected headers. */
  critical: Record<string, unknown> = {},
): Promise<Uint8Array> {
  const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
  const header = {
    alg: 'PS256',
    crit: [
      'io.cncf.notary.signingScheme',
      'io.cncf.notary.verificationPlugin',
      ...Object.keys(critical),
    ],
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': 'notary.x509',
    'io.cncf.notary.signingTime': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'io.cncf.notary.verificationPlugin': 'com.example.plugin',
    ...critical,
  };
  const payload = {
    targetArtifact: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = await notationKeySigner(key)(new TextEncoder().encode(signingInput));
  const [protectedText, payloadText] = signingInput.split('.');
  return new TextEncoder().encode(
    JSON.stringify({
      payload: payloadText,
      protected: protectedText,
      header: { x5c: [Buffer.from(certificate).toString('base64')] },
      signature: b64url(signature),
    }),
  );
}
