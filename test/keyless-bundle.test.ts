/**
 * Keyless Sigstore bundles stored as OCI referrers (cosign 3's default form)
 * end to end: v0.3 bundles minted the way cosign 3 writes them keylessly
 * (test/helpers/keyless.ts mintKeylessBundle: a DSSE envelope, the leaf
 * certificate, one `dsse` 0.0.1 tlog entry with its inclusion promise and
 * inclusion proof + checkpoint from @sigstore/mock's log), pushed as
 * referrers (formats/sigstore-bundle.ts buildBundleReferrer) to a real
 * Distribution registry and an OCI layout, then checked with `vouch verify`,
 * `vouch verify-attestation` and `vouch download` run in-process with
 * `--trusted-root` naming the ephemeral Sigstore.
 *
 * Positive: a cosign 3 image signature (predicate type
 * https://sigstore.dev/cosign/sign/v1) and an SPDX attestation verify; text
 * and JSON name the identity, issuer and signing time; download writes only
 * verified documents, labelled VERIFIED. Negative, one check each: another
 * identity or issuer, a log entry naming another certificate, a statement
 * about another image replayed into this image's referrers, a certificate of
 * another CA, a broken inclusion promise.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSignStatement, buildStatement } from '../src/formats/in-toto.ts';
import { PREDICATE_TYPES } from '../src/formats/predicate-types.ts';
import {
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  buildBundleReferrer,
  COSIGN_SIGN_PREDICATE_TYPE,
  EMPTY_CONFIG_BYTES,
} from '../src/formats/sigstore-bundle.ts';
import { type Digest, digestHex } from '../src/oci/digest.ts';
import { OCI_EMPTY } from '../src/oci/media-types.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { runVouch } from './helpers/cli.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import {
  type BundleMintOptions,
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  issueCertificate,
  type KeylessSigstore,
  keylessTrustedRootJson,
  mintKeylessBundle,
} from './helpers/keyless.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const SPDX = PREDICATE_TYPES.spdxjson as string;
const SBOM = { spdxVersion: 'SPDX-2.3', name: 'app', packages: [] };
const SIGNER = { subject: CHAINGUARD_IDENTITY, issuer: GITHUB_ISSUER, github: { trigger: 'push' } };
const KEYLESS = [
  '--certificate-identity',
  CHAINGUARD_IDENTITY,
  '--certificate-oidc-issuer',
  GITHUB_ISSUER,
];

interface CertificateJson {
  readonly identity: string;
  readonly issuer: string;
  readonly signingTime: string;
  readonly tlog: ReadonlyArray<{ readonly logIndex: number; readonly logUrl: string | null }>;
}

interface Rejected {
  readonly code: string;
  readonly message: string;
}

interface VerifyReport {
  readonly images: ReadonlyArray<{
    readonly status: string;
    readonly bundleSignatures: {
      readonly verified: ReadonlyArray<{
        readonly key: string | null;
        readonly certificate: CertificateJson | null;
      }>;
      readonly rejected: readonly Rejected[];
    } | null;
  }>;
}

interface AttestationReport {
  readonly images: ReadonlyArray<{
    readonly status: string;
    readonly verified: ReadonlyArray<{
      readonly source: { readonly form: string; readonly tlogEntries?: number };
      readonly certificate: CertificateJson | null;
      readonly predicateType: string;
    }>;
    readonly rejected: readonly Rejected[];
  }>;
}

const SIGNING_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('keyless Sigstore bundle referrers: verify, verify-attestation, download', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let env: Record<string, string | undefined>;
  let sigstore: KeylessSigstore;
  let rootFile: string;

  const vouch = (...args: string[]) => runVouch(args, { env });

  interface Target {
    readonly store: ImageStore;
    readonly digest: Digest;
    readonly ref: string;
  }

  const where: Record<'registry' | 'layout', (name: string) => Promise<Target>> = {
    async registry(name) {
      const store = client.repository(`keyless-bundle/${name}`);
      const built = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
      const ref = `${registry.host}/keyless-bundle/${name}:v1`;
      return { store, digest: built.descriptor.digest, ref };
    },
    async layout(name) {
      const path = join(tmp, `layout-${name}`);
      const store = await openLayout(path, { create: true });
      const built = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
      return { store, digest: built.descriptor.digest, ref: `oci:${path}:v1` };
    },
  };

  /** Stores `bundle` as a referrer of `target`, as cosign 3's WriteReferrer does. */
  async function pushReferrer(target: Target, bundle: Uint8Array, predicateType: string) {
    const subject = await target.store.resolve({ digest: target.digest });
    const referrer = buildBundleReferrer({ subject, bundle, predicateType, created: new Date() });
    await putBytes(target.store, OCI_EMPTY, EMPTY_CONFIG_BYTES);
    await putBytes(target.store, BUNDLE_V03_MEDIA_TYPE, bundle);
    await target.store.putManifest(referrer.manifest, referrer.descriptor.mediaType);
  }

  const signStatement = (digest: Digest) =>
    buildSignStatement({ digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE, annotations: {} });
  const spdxStatement = (digest: Digest, name: string) =>
    buildStatement({ subjectName: name, digest, predicateType: SPDX, predicate: SBOM });

  /** A fresh image with a keyless cosign 3 signature and SPDX attestation as referrers. */
  async function signedImage(
    kind: 'registry' | 'layout',
    name: string,
    options: BundleMintOptions & { readonly sigstore?: KeylessSigstore } = {},
  ): Promise<Target> {
    const target = await where[kind](name);
    const issuer = options.sigstore ?? sigstore;
    const signature = await mintKeylessBundle(
      issuer,
      SIGNER,
      signStatement(target.digest),
      options,
    );
    await pushReferrer(target, signature.bundle, COSIGN_SIGN_PREDICATE_TYPE);
    const attestation = await mintKeylessBundle(
      issuer,
      SIGNER,
      spdxStatement(target.digest, target.ref),
      options,
    );
    await pushReferrer(target, attestation.bundle, SPDX);
    return target;
  }

  const verifyJson = async (ref: string, ...flags: string[]) => {
    const run = await vouch('verify', ...flags, '--trusted-root', rootFile, '-o', 'json', ref);
    return { run, report: JSON.parse(run.stdout) as VerifyReport };
  };
  const attestationJson = async (ref: string, ...flags: string[]) => {
    const run = await vouch(
      'verify-attestation',
      '--type',
      'spdxjson',
      ...flags,
      '--trusted-root',
      rootFile,
      '-o',
      'json',
      ref,
    );
    return { run, report: JSON.parse(run.stdout) as AttestationReport };
  };

  before(async () => {
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-keyless-bundle-test-'));
    env = { DOCKER_CONFIG: join(tmp, 'docker-config') };
    sigstore = await createKeylessSigstore();
    rootFile = join(tmp, 'trusted_root.json');
    await writeFile(rootFile, keylessTrustedRootJson(sigstore));
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  for (const kind of ['registry', 'layout'] as const) {
    it(`on ${kind === 'registry' ? 'a registry' : 'an OCI layout'}: the signature and the attestation verify; text and JSON say who and when`, async () => {
      const { ref } = await signedImage(kind, 'good');

      const text = await vouch('verify', ...KEYLESS, '--trusted-root', rootFile, ref);
      assert.equal(text.code, 0, text.stdout + text.stderr);
      assert.match(
        text.stdout,
        new RegExp(
          `valid: Sigstore bundle referrer \\d \\(sha256:[0-9a-f]{64}\\) signed with certificate for ${escape(CHAINGUARD_IDENTITY)} \\(issuer ${escape(GITHUB_ISSUER)}\\), logged in https://rekor\\.keyless\\.test\\.invalid at \\d{4}-\\d{2}-\\d{2}T`,
        ),
      );

      const { run, report } = await verifyJson(ref, ...KEYLESS);
      assert.equal(run.code, 0, run.stderr);
      const signatures = report.images[0]?.bundleSignatures;
      assert.equal(signatures?.verified.length, 1, 'only the signature, not the attestation');
      const certificate = signatures?.verified[0]?.certificate;
      assert.equal(signatures?.verified[0]?.key, null);
      assert.equal(certificate?.identity, CHAINGUARD_IDENTITY);
      assert.equal(certificate?.issuer, GITHUB_ISSUER);
      assert.match(certificate?.signingTime ?? '', SIGNING_TIME);
      assert.equal(certificate?.tlog[0]?.logUrl, 'https://rekor.keyless.test.invalid');

      const attested = await vouch(
        'verify-attestation',
        '--type',
        'spdxjson',
        ...KEYLESS,
        '--trusted-root',
        rootFile,
        ref,
      );
      assert.equal(attested.code, 0, attested.stderr);
      const statements = JSON.parse(attested.stdout) as Array<{ predicate: unknown }>;
      assert.deepEqual(
        statements.map((s) => s.predicate),
        [SBOM],
      );
      assert.match(
        attested.stderr,
        new RegExp(
          `valid: Sigstore bundle referrer \\d \\(sha256:[0-9a-f]{64}\\) signed with certificate for ${escape(CHAINGUARD_IDENTITY)} \\(issuer ${escape(GITHUB_ISSUER)}\\), ${escape(SPDX)}, logged in https://rekor\\.keyless\\.test\\.invalid at \\d{4}-`,
        ),
      );
      assert.doesNotMatch(attested.stderr, /not checked with a key/);

      const json = await attestationJson(ref, ...KEYLESS);
      assert.equal(json.run.code, 0, json.run.stderr);
      const [verified, ...more] = json.report.images[0]?.verified ?? [];
      assert.equal(more.length, 0);
      assert.equal(verified?.source.form, 'bundle');
      assert.equal(verified?.source.tlogEntries, 1);
      assert.equal(verified?.certificate?.identity, CHAINGUARD_IDENTITY);
      assert.equal(verified?.certificate?.issuer, GITHUB_ISSUER);
      assert.match(verified?.certificate?.signingTime ?? '', SIGNING_TIME);
    });
  }

  it('download attestation and sbom keylessly write only what verifies, labelled VERIFIED', async () => {
    const target = await signedImage('registry', 'download');
    // A bundle by someone else about this image: never written.
    const stranger = await mintKeylessBundle(
      sigstore,
      { subject: 'https://github.com/someone/else', issuer: GITHUB_ISSUER },
      spdxStatement(target.digest, target.ref),
    );
    await pushReferrer(target, stranger.bundle, SPDX);

    const attestations = await vouch(
      'download',
      'attestation',
      ...KEYLESS,
      '--trusted-root',
      rootFile,
      target.ref,
    );
    assert.equal(attestations.code, 0, attestations.stderr);
    const lines = attestations.stdout.trim().split('\n');
    assert.equal(lines.length, 2, 'the signature and the attestation, not the stranger');
    const types = lines.map((line) => {
      const envelope = JSON.parse(line) as { payload: string };
      return (
        JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as {
          predicateType: string;
        }
      ).predicateType;
    });
    assert.deepEqual(types.toSorted(), [SPDX, COSIGN_SIGN_PREDICATE_TYPE].toSorted());
    assert.match(
      attestations.stderr,
      new RegExp(`VERIFIED with certificate for ${escape(CHAINGUARD_IDENTITY)}`),
    );
    assert.match(attestations.stderr, /1 other attestation .* not written/);

    const typed = await vouch(
      'download',
      'attestation',
      '--type',
      'spdxjson',
      ...KEYLESS,
      '--trusted-root',
      rootFile,
      target.ref,
    );
    assert.equal(typed.code, 0, typed.stderr);
    assert.equal(typed.stdout.trim().split('\n').length, 1);

    const sbom = await vouch(
      'download',
      'sbom',
      ...KEYLESS,
      '--trusted-root',
      rootFile,
      target.ref,
    );
    assert.equal(sbom.code, 0, sbom.stderr);
    assert.deepEqual(JSON.parse(sbom.stdout), SBOM);
    assert.match(sbom.stderr, /VERIFIED with certificate for/);

    const nobody = await vouch(
      'download',
      'attestation',
      '--certificate-identity',
      'https://github.com/nobody/x',
      '--certificate-oidc-issuer',
      GITHUB_ISSUER,
      '--trusted-root',
      rootFile,
      target.ref,
    );
    assert.equal(nobody.code, 1, nobody.stderr);
    assert.equal(nobody.stdout, '');
    assert.match(nobody.stderr, /CERT_IDENTITY_MISMATCH/);

    for (const args of [
      ['download', 'attestation', '--certificate-identity', CHAINGUARD_IDENTITY, target.ref],
      ['download', 'attestation', '--key', rootFile, ...KEYLESS, target.ref],
      ['download', 'sbom', '--trusted-root', rootFile, target.ref],
    ]) {
      const usage = await vouch(...args);
      assert.equal(usage.code, 2, `${args.join(' ')}: ${usage.stderr}`);
    }
  });

  it('another identity or another issuer: exit 1 with the check that failed', async () => {
    const { ref } = await signedImage('registry', 'identity');
    const cases: ReadonlyArray<readonly [string[], string]> = [
      [
        [
          '--certificate-identity',
          `${CHAINGUARD_IDENTITY}x`,
          '--certificate-oidc-issuer',
          GITHUB_ISSUER,
        ],
        'CERT_IDENTITY_MISMATCH',
      ],
      [
        [
          '--certificate-identity',
          CHAINGUARD_IDENTITY,
          '--certificate-oidc-issuer',
          'https://accounts.google.com',
        ],
        'CERT_ISSUER_MISMATCH',
      ],
    ];
    for (const [flags, code] of cases) {
      await expectRejected(ref, flags, code);
    }
  });

  /**
   * `verify` rejects the image's signature bundle with `code`, leaving the
   * attestation out; `verify-attestation` rejects both bundles with `code`.
   */
  /**
   * `unreadable`: bundles refused as they are read, before their statement
   * says whether they are signatures, which `verify` then lists too.
   */
  async function expectRejected(
    ref: string,
    flags: readonly string[],
    code: string,
    unreadable = false,
  ) {
    const signature = await verifyJson(ref, ...flags);
    assert.equal(signature.run.code, 1, signature.run.stderr);
    assert.deepEqual(
      signature.report.images[0]?.bundleSignatures?.rejected.map((r) => r.code),
      unreadable ? [code, code] : [code],
      `verify ${flags.join(' ')}`,
    );
    const attestation = await attestationJson(ref, ...flags);
    assert.equal(attestation.run.code, 1, attestation.run.stderr);
    // verify-attestation lists every bundle that fails: the signature's statement too.
    assert.deepEqual(
      attestation.report.images[0]?.rejected.map((r) => r.code),
      [code, code],
      `verify-attestation ${flags.join(' ')}`,
    );
    return { signature, attestation };
  }

  it('a log entry naming another certificate: CERT_BINDING_MISMATCH', async () => {
    const decoy = await issueCertificate(sigstore, SIGNER);
    const { ref } = await signedImage('registry', 'binding', { entryCertificatePem: decoy.pem });
    await expectRejected(ref, KEYLESS, 'CERT_BINDING_MISMATCH');
  });

  it("a genuine bundle about another image replayed into this image's referrers: DIGEST_MISMATCH", async () => {
    const victim = await where.registry('replay-victim');
    const other = await where.registry('replay-other');
    const signature = await mintKeylessBundle(sigstore, SIGNER, signStatement(other.digest));
    const attestation = await mintKeylessBundle(
      sigstore,
      SIGNER,
      spdxStatement(other.digest, other.ref),
    );
    await pushReferrer(victim, signature.bundle, COSIGN_SIGN_PREDICATE_TYPE);
    await pushReferrer(victim, attestation.bundle, SPDX);
    const { signature: verify } = await expectRejected(victim.ref, KEYLESS, 'DIGEST_MISMATCH');
    assert.match(
      verify.report.images[0]?.bundleSignatures?.rejected[0]?.message ?? '',
      new RegExp(digestHex(other.digest)),
    );
  });

  it('a bundle signed with a certificate of another CA: CERT_CHAIN_INVALID', async () => {
    const rogue = await createKeylessSigstore();
    // Logged in the trusted log, so only the certificate's chain is wrong.
    const { ref } = await signedImage('registry', 'other-ca', { sigstore: rogue, log: sigstore });
    await expectRejected(ref, KEYLESS, 'CERT_CHAIN_INVALID');
  });

  it('a v0.2 bundle whose certificate chain carries the root CA: CERT_CHAIN_INCLUDES_ROOT', async () => {
    // sigstore-conformance bundle-with-root-cert_fail; the same bundle with the leaf alone verifies.
    // (Stored under cosign's v0.3 artifact type: OCI artifact types carry no parameters.)
    const target = await where.registry('root-in-chain');
    const asV02 = (bundle: Uint8Array, chain: readonly Uint8Array[]) => {
      const document = JSON.parse(new TextDecoder().decode(bundle)) as {
        verificationMaterial: { certificate: { rawBytes: string }; tlogEntries: unknown };
      };
      const { certificate, tlogEntries } = document.verificationMaterial;
      const rest = chain.map((der) => ({ rawBytes: Buffer.from(der).toString('base64') }));
      return new TextEncoder().encode(
        JSON.stringify({
          ...document,
          mediaType: BUNDLE_V02_MEDIA_TYPE,
          verificationMaterial: {
            x509CertificateChain: { certificates: [certificate, ...rest] },
            tlogEntries,
          },
        }),
      );
    };
    const signature = await mintKeylessBundle(sigstore, SIGNER, signStatement(target.digest));
    const attestation = await mintKeylessBundle(
      sigstore,
      SIGNER,
      spdxStatement(target.digest, target.ref),
    );
    for (const [bundle, type] of [
      [signature.bundle, COSIGN_SIGN_PREDICATE_TYPE],
      [attestation.bundle, SPDX],
    ] as const) {
      await pushReferrer(target, asV02(bundle, [sigstore.root]), type);
    }
    await expectRejected(target.ref, KEYLESS, 'CERT_CHAIN_INCLUDES_ROOT', true);

    const leafOnly = await where.registry('leaf-only-chain');
    const leafSignature = await mintKeylessBundle(sigstore, SIGNER, signStatement(leafOnly.digest));
    await pushReferrer(leafOnly, asV02(leafSignature.bundle, []), COSIGN_SIGN_PREDICATE_TYPE);
    const { run } = await verifyJson(leafOnly.ref, ...KEYLESS);
    assert.equal(run.code, 0, run.stdout);
  });

  it('a broken inclusion promise: TLOG_SET_INVALID, though the inclusion proof verifies', async () => {
    const { ref } = await signedImage('registry', 'broken-set', { breakPromise: true });
    await expectRejected(ref, KEYLESS, 'TLOG_SET_INVALID');
  });

  it('v0.3 needs an inclusion proof (a promise alone: LAYER_INVALID); a proof alone gives no signing time', async () => {
    const promise = await signedImage('registry', 'promise-only', { proof: 'promise' });
    const { run, report } = await verifyJson(promise.ref, ...KEYLESS);
    assert.equal(run.code, 1, run.stdout);
    const [rejected] = report.images[0]?.bundleSignatures?.rejected ?? [];
    assert.equal(rejected?.code, 'LAYER_INVALID');
    assert.match(rejected?.message ?? '', /inclusionProof/);
    const proofOnly = await signedImage('registry', 'proof-only', { proof: 'inclusion-proof' });
    await expectRejected(proofOnly.ref, KEYLESS, 'TIMESTAMP_INVALID');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
