/**
 * Keyless signatures and attestations end to end: minted by an ephemeral
 * Sigstore (test/helpers/keyless.ts: @sigstore/mock's CA, CT log and
 * transparency log, since Fulcio and Rekor cannot run here), pushed as
 * cosign's classic `.sig` / `.att` layers to a real Distribution registry,
 * and checked with `vouch verify` / `vouch verify-attestation` run in-process
 * with `--trusted-root` naming the ephemeral Sigstore.
 *
 * Positive: the Chainguard-style identity and issuer verify, text and JSON
 * output name who signed and when. Negative: another identity or issuer, an
 * unanchored-only regexp, a log entry naming another certificate, a trust
 * root of another Sigstore, a key signature — each exit 1 with the code of
 * the failed check; usage errors exit 2.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attestationLayer, attestationTag } from '../src/formats/cosign-attestation.ts';
import {
  appendSignatureLayer,
  type SignatureLayer,
  signatureLayer,
  signatureTag,
  type StoredSignatureImage,
} from '../src/formats/cosign-signature.ts';
import { buildStatement } from '../src/formats/in-toto.ts';
import { PREDICATE_TYPES } from '../src/formats/predicate-types.ts';
import { buildSimpleSigningPayload } from '../src/formats/simple-signing.ts';
import type { Digest } from '../src/oci/digest.ts';
import { parseManifest } from '../src/oci/manifest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { type CliRun, runVouch } from './helpers/cli.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import {
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  issueCertificate,
  type KeylessSigstore,
  keylessTrustedRootJson,
  mintKeylessAttestation,
  mintKeylessSignature,
} from './helpers/keyless.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const SPDX = PREDICATE_TYPES.spdxjson as string;
const SIGNER = { subject: CHAINGUARD_IDENTITY, issuer: GITHUB_ISSUER, github: { trigger: 'push' } };
const IDENTITY = ['--certificate-identity', CHAINGUARD_IDENTITY];
const ISSUER = ['--certificate-oidc-issuer', GITHUB_ISSUER];

interface Report {
  readonly ok: boolean;
  readonly images: ReadonlyArray<{
    readonly status: string;
    readonly verified: ReadonlyArray<{
      readonly key: string | null;
      readonly certificate: {
        readonly identity: string;
        readonly issuer: string;
        readonly signingTime: string;
        readonly tlog: ReadonlyArray<{ readonly logIndex: number }>;
      } | null;
    }>;
    readonly rejected: ReadonlyArray<{ readonly code: string; readonly message: string }>;
  }>;
}

const report = (run: CliRun) => JSON.parse(run.stdout) as Report;
const rejectedCodes = (run: CliRun) =>
  report(run).images.flatMap((image) => image.rejected.map((r) => r.code));

/** Stores `layers` as the whole manifest at `tag`, as cosign would. */
async function pushLayers(
  store: ImageStore,
  tag: string,
  layers: readonly SignatureLayer[],
): Promise<void> {
  let base: StoredSignatureImage | undefined;
  let last: ReturnType<typeof appendSignatureLayer> | undefined;
  for (const layer of layers) {
    last = appendSignatureLayer(base, layer.descriptor, { allowDuplicates: true });
    await putBytes(store, layer.descriptor.mediaType, layer.blob);
    base = {
      manifest: parseManifest(last.image.manifest, last.image.mediaType, 'test'),
      config: last.image.config,
    };
  }
  assert.ok(last !== undefined);
  await putBytes(store, last.image.configDescriptor.mediaType, last.image.config);
  await store.putManifest(last.image.manifest, last.image.mediaType, tag);
}

describe('keyless vouch verify and verify-attestation', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let env: Record<string, string | undefined>;
  let sigstore: KeylessSigstore;
  let rootFile: string;
  let otherRootFile: string;

  const vouch = (...args: string[]) => runVouch(args, { env });

  /** A fresh image in `repo`; `sign` returns the `.sig` and `.att` layers to push for it. */
  async function image(
    repo: string,
    sign: (
      digest: Digest,
      reference: string,
    ) => Promise<{
      signatures?: SignatureLayer[];
      attestations?: SignatureLayer[];
    }>,
  ): Promise<string> {
    const store = client.repository(repo);
    const { descriptor } = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
    const { signatures = [], attestations = [] } = await sign(
      descriptor.digest,
      `${registry.host}/${repo}`,
    );
    if (signatures.length > 0) await pushLayers(store, signatureTag(descriptor.digest), signatures);
    if (attestations.length > 0) {
      await pushLayers(store, attestationTag(descriptor.digest), attestations);
    }
    return `${registry.host}/${repo}:v1`;
  }

  async function keylessSignature(digest: Digest, reference: string, entryCertificatePem?: string) {
    const payload = buildSimpleSigningPayload({
      dockerReference: reference,
      dockerManifestDigest: digest,
    });
    const minted = await mintKeylessSignature(
      sigstore,
      SIGNER,
      payload,
      entryCertificatePem === undefined ? {} : { entryCertificatePem },
    );
    return signatureLayer({
      payload,
      signatureBase64: minted.signatureBase64,
      annotations: minted.annotations,
    });
  }

  async function keylessAttestation(digest: Digest, reference: string, kind: 'dsse' | 'intoto') {
    const statement = buildStatement({
      subjectName: reference,
      digest,
      predicateType: SPDX,
      predicate: { spdxVersion: 'SPDX-2.3', name: 'app' },
    });
    const minted = await mintKeylessAttestation(sigstore, SIGNER, statement, kind);
    return attestationLayer({
      envelope: minted.blob,
      predicateType: SPDX,
      annotations: minted.annotations,
    });
  }

  before(async () => {
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-keyless-test-'));
    env = { DOCKER_CONFIG: join(tmp, 'docker-config') };
    sigstore = await createKeylessSigstore();
    rootFile = join(tmp, 'trusted_root.json');
    otherRootFile = join(tmp, 'other_trusted_root.json');
    await writeFile(rootFile, keylessTrustedRootJson(sigstore));
    await writeFile(otherRootFile, keylessTrustedRootJson(await createKeylessSigstore()));
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('a keyless signature verifies for its identity and issuer; text and JSON say who and when', async () => {
    const ref = await image('keyless/signed', async (digest, reference) => ({
      signatures: [await keylessSignature(digest, reference)],
    }));
    const text = await vouch('verify', ...IDENTITY, ...ISSUER, '--trusted-root', rootFile, ref);
    assert.equal(text.code, 0, text.stdout + text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        `valid: layer 0 .* signed with certificate for ${CHAINGUARD_IDENTITY.replaceAll('.', '\\.')} \\(issuer https://token\\.actions\\.githubusercontent\\.com\\) .* logged in https://rekor\\.keyless\\.test\\.invalid at \\d{4}-`,
      ),
    );

    const json = await vouch(
      'verify',
      '--certificate-identity-regexp',
      // `\-`: Go's RE2 syntax (cosign's), an error under JavaScript's u flag.
      'https://github\\.com/chainguard\\-images/.+',
      ...ISSUER,
      '--certificate-github-workflow-trigger',
      'push',
      '--trusted-root',
      rootFile,
      ref,
      '-o',
      'json',
    );
    assert.equal(json.code, 0, json.stdout + json.stderr);
    const verified = report(json).images[0]?.verified[0];
    assert.equal(verified?.key, null);
    assert.equal(verified?.certificate?.identity, CHAINGUARD_IDENTITY);
    assert.equal(verified?.certificate?.issuer, GITHUB_ISSUER);
    assert.match(verified?.certificate?.signingTime ?? '', /^\d{4}-\d{2}-\d{2}T/);
    assert.equal(typeof verified?.certificate?.tlog[0]?.logIndex, 'number');
  });

  it('another identity, another issuer, a regexp matching only unanchored, another claim: exit 1 with the check', async () => {
    const ref = await image('keyless/mismatch', async (digest, reference) => ({
      signatures: [await keylessSignature(digest, reference)],
    }));
    const cases: ReadonlyArray<readonly [string[], string]> = [
      [['--certificate-identity', `${CHAINGUARD_IDENTITY}/x`, ...ISSUER], 'CERT_IDENTITY_MISMATCH'],
      [['--certificate-identity-regexp', 'chainguard-images', ...ISSUER], 'CERT_IDENTITY_MISMATCH'],
      [
        [...IDENTITY, '--certificate-oidc-issuer', 'https://accounts.google.com'],
        'CERT_ISSUER_MISMATCH',
      ],
      [[...IDENTITY, '--certificate-oidc-issuer-regexp', 'https://token'], 'CERT_ISSUER_MISMATCH'],
      [
        [...IDENTITY, ...ISSUER, '--certificate-github-workflow-trigger', 'schedule'],
        'CERT_CLAIM_MISMATCH',
      ],
    ];
    for (const [flags, code] of cases) {
      const run = await vouch('verify', ...flags, '--trusted-root', rootFile, ref, '-o', 'json');
      assert.equal(run.code, 1, `${flags.join(' ')}: ${run.stderr}`);
      assert.deepEqual(rejectedCodes(run), [code], flags.join(' '));
    }
  });

  it("a log entry naming another certificate, or another Sigstore's trust root: exit 1", async () => {
    const decoy = await issueCertificate(sigstore, SIGNER);
    const bypass = await image('keyless/bypass', async (digest, reference) => ({
      signatures: [await keylessSignature(digest, reference, decoy.pem)],
    }));
    const run = await vouch(
      'verify',
      ...IDENTITY,
      ...ISSUER,
      '--trusted-root',
      rootFile,
      bypass,
      '-o',
      'json',
    );
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(rejectedCodes(run), ['CERT_BINDING_MISMATCH']);

    const good = await image('keyless/other-root', async (digest, reference) => ({
      signatures: [await keylessSignature(digest, reference)],
    }));
    const other = await vouch(
      'verify',
      ...IDENTITY,
      ...ISSUER,
      '--trusted-root',
      otherRootFile,
      good,
      '-o',
      'json',
    );
    assert.equal(other.code, 1, other.stderr);
    assert.deepEqual(rejectedCodes(other), ['TLOG_LOG_UNKNOWN']);
  });

  it('keyless attestations (dsse and intoto 0.0.1 entries) verify and print the statements; a wrong identity does not', async () => {
    const ref = await image('keyless/attested', async (digest, reference) => ({
      attestations: [
        await keylessAttestation(digest, reference, 'dsse'),
        await keylessAttestation(digest, reference, 'intoto'),
      ],
    }));
    const run = await vouch(
      'verify-attestation',
      '--type',
      'spdxjson',
      ...IDENTITY,
      ...ISSUER,
      '--trusted-root',
      rootFile,
      ref,
    );
    assert.equal(run.code, 0, run.stderr);
    const statements = JSON.parse(run.stdout) as Array<{ predicate: { name: string } }>;
    assert.equal(statements.length, 2);
    assert.equal(statements[0]?.predicate.name, 'app');
    assert.match(
      run.stderr,
      /valid: \.att layer 1 .* signed with certificate for https:\/\/github\.com\/chainguard-images/,
    );

    const wrong = await vouch(
      'verify-attestation',
      '--type',
      'spdxjson',
      '--certificate-identity',
      'https://github.com/someone/else/.github/workflows/release.yaml@refs/heads/main',
      ...ISSUER,
      '--trusted-root',
      rootFile,
      ref,
      '-o',
      'json',
    );
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.deepEqual(rejectedCodes(wrong), ['CERT_IDENTITY_MISMATCH', 'CERT_IDENTITY_MISMATCH']);

    const otherType = await vouch(
      'verify-attestation',
      '--type',
      'cyclonedx',
      ...IDENTITY,
      ...ISSUER,
      '--trusted-root',
      rootFile,
      ref,
      '-o',
      'json',
    );
    assert.equal(otherType.code, 1, otherType.stderr);
    assert.deepEqual(rejectedCodes(otherType), [
      'PREDICATE_TYPE_MISMATCH',
      'PREDICATE_TYPE_MISMATCH',
    ]);
  });

  it('usage: one mode only, an identity needs an issuer, a bad regexp or trust root: exit 2', async () => {
    const ref = `${registry.host}/keyless/signed:v1`;
    const keyFile = join(tmp, 'cosign.pub');
    await writeFile(keyFile, '');
    const badRoot = join(tmp, 'bad_root.json');
    await writeFile(
      badRoot,
      keylessTrustedRootJson({ cas: [sigstore], tlogs: [sigstore], start: null }),
    );
    const cases: ReadonlyArray<readonly string[]> = [
      ['verify', ref],
      ['verify', ...IDENTITY, ref],
      ['verify', ...ISSUER, ref],
      ['verify', '--key', keyFile, ...IDENTITY, ...ISSUER, ref],
      ['verify', ...IDENTITY, '--certificate-identity-regexp', '.*', ...ISSUER, ref],
      ['verify', '--certificate-identity-regexp', '(', ...ISSUER, ref],
      // RE2 has no backreferences or lookaround.
      ['verify', '--certificate-identity-regexp', '(https)\\1', ...ISSUER, ref],
      ['verify', ...IDENTITY, '--certificate-oidc-issuer-regexp', 'https://(?=token)', ref],
      ['verify', ...IDENTITY, ...ISSUER, '--trusted-root', badRoot, ref],
      ['verify-attestation', '--type', 'spdxjson', ...IDENTITY, ref],
      [
        'verify-attestation',
        '--type',
        'spdxjson',
        '--certificate-github-workflow-ref',
        'refs/heads/main',
        ref,
      ],
    ];
    for (const args of cases) {
      const run = await vouch(...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
    }
  });
});
