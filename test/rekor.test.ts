/**
 * Rekor bundles on key signatures, end to end: `.sig` manifests pushed to a
 * real Distribution registry and checked with `vouch verify` run in-process.
 *
 * - The real key-rekor signature from containers/image's fixtures (logged in
 *   rekor.sigstore.dev) verifies with the public-good trusted root shipped
 *   with vouch, offline; the wrong --rekor-public-key refuses it.
 * - Signatures logged by a test log (Rekor cannot run here) verify with
 *   --trusted-root naming that log, and fail, with the code of the failed
 *   check, when the bundle is broken or belongs to another signature.
 * - A signature without a bundle never makes vouch read the trusted root,
 *   and counts only until --require-tlog is given.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseContainersSignature } from '../src/formats/containers-signature.ts';
import {
  appendSignatureLayer,
  BUNDLE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  type SignatureLayer,
  signatureLayer,
  signatureTag,
  type StoredSignatureImage,
} from '../src/formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../src/formats/simple-signing.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { createKeySigner } from '../src/keys/signer.ts';
import { type Digest, digestOf } from '../src/oci/digest.ts';
import { parseManifest } from '../src/oci/manifest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { signImage } from '../src/sign/sign.ts';
import { publicGoodTrustedRootLoaded } from '../src/sigstore/public-good.ts';
import { type CliRun, runVouch } from './helpers/cli.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import { bundleFor, createTestLog, trustedRootJson } from './helpers/rekor.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/containers-image');
const KEY_REKOR = join(FIXTURES, 'dir-img-cosign-key-rekor-valid');

interface VerifyJson {
  readonly ok: boolean;
  readonly images: ReadonlyArray<{
    readonly status: string;
    readonly verified: ReadonlyArray<{ readonly key: string; readonly tlog: unknown }>;
    readonly rejected: ReadonlyArray<{ readonly code: string; readonly message: string }>;
    readonly error: { readonly code: string } | null;
  }>;
}

const json = (run: CliRun) => JSON.parse(run.stdout) as VerifyJson;
const rejectedCodes = (run: CliRun) =>
  json(run).images.flatMap((i) => i.rejected.map((r) => r.code));

/** Stores `layers` as the whole `.sig` manifest of `imageDigest`, as cosign would. */
async function pushSignatures(
  store: ImageStore,
  imageDigest: Digest,
  layers: readonly SignatureLayer[],
): Promise<void> {
  let base: StoredSignatureImage | undefined;
  let last: ReturnType<typeof appendSignatureLayer> | undefined;
  for (const layer of layers) {
    last = appendSignatureLayer(base, layer.descriptor);
    await putBytes(store, layer.descriptor.mediaType, layer.blob);
    base = {
      manifest: parseManifest(last.image.manifest, last.image.mediaType, 'test'),
      config: last.image.config,
    };
  }
  assert.ok(last !== undefined);
  await putBytes(store, last.image.configDescriptor.mediaType, last.image.config);
  await store.putManifest(last.image.manifest, last.image.mediaType, signatureTag(imageDigest));
}

describe('vouch verify with Rekor bundles', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let env: Record<string, string | undefined>;
  const signer = createKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const log = createTestLog();
  let signerPub: string;
  let rootFile: string;
  let logPub: string;
  let otherPub: string;

  const verify = (...args: string[]) => runVouch(['verify', ...args], { env });

  /** A fresh image in `repo` whose one signature (by `signer`) carries `bundle(entry)`. */
  async function loggedImage(
    repo: string,
    bundle: (entry: {
      payload: Uint8Array;
      signature: Uint8Array;
      publicKey: KeyObject;
    }) => string | undefined,
  ) {
    const store = client.repository(repo);
    const { descriptor } = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
    const payload = buildSimpleSigningPayload({
      dockerReference: `${registry.host}/${repo}`,
      dockerManifestDigest: descriptor.digest,
    });
    const signature = await signer.sign(payload);
    const annotation = bundle({ payload, signature, publicKey: signer.publicKey });
    const layer = signatureLayer({
      payload,
      signatureBase64: Buffer.from(signature).toString('base64'),
      ...(annotation === undefined ? {} : { annotations: { [BUNDLE_ANNOTATION]: annotation } }),
    });
    await pushSignatures(store, descriptor.digest, [layer]);
    return `${registry.host}/${repo}:v1`;
  }

  before(async () => {
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-rekor-test-'));
    env = { DOCKER_CONFIG: join(tmp, 'docker-config') };
    signerPub = join(tmp, 'signer.pub');
    rootFile = join(tmp, 'trusted_root.json');
    logPub = join(tmp, 'rekor.pub');
    otherPub = join(tmp, 'other-rekor.pub');
    await writeFile(signerPub, publicKeyToPem(signer.publicKey));
    await writeFile(rootFile, trustedRootJson([log]));
    await writeFile(logPub, publicKeyToPem(log.publicKey));
    await writeFile(
      otherPub,
      publicKeyToPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    );
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('a signature without a bundle verifies by key without reading the trusted root; --require-tlog refuses it', async () => {
    const repo = 'plain/app';
    const store = client.repository(repo);
    await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
    await signImage(
      { store, target: { tag: 'v1' }, dockerReference: `${registry.host}/${repo}` },
      { signer, settleMs: 0 },
    );
    const ref = `${registry.host}/${repo}:v1`;
    const run = await verify('--key', signerPub, ref, '-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(json(run).images[0]?.verified[0]?.tlog, null);
    assert.equal(publicGoodTrustedRootLoaded(), false, 'the embedded root was read');

    const required = await verify('--key', signerPub, '--require-tlog', ref, '-o', 'json');
    assert.equal(required.code, 1, required.stderr);
    assert.deepEqual(rejectedCodes(required), ['TLOG_MISSING']);
  });

  it(
    'the real key-rekor signature verifies offline with the public-good root shipped with vouch',
    { skip: existsSync(KEY_REKOR) ? false : `fixtures not found at ${KEY_REKOR}` },
    async () => {
      // Only the .sig manifest is needed: an image named by digest is not fetched.
      const manifest = readFileSync(join(KEY_REKOR, 'manifest.json'));
      const digest = digestOf(manifest);
      const signature = parseContainersSignature(readFileSync(join(KEY_REKOR, 'signature-1')));
      const store = client.repository('fixture/key-rekor');
      const annotations = { ...signature.annotations };
      const signatureBase64 = annotations[SIGNATURE_ANNOTATION] as string;
      delete annotations[SIGNATURE_ANNOTATION];
      await pushSignatures(store, digest, [
        signatureLayer({ payload: signature.payload, signatureBase64, annotations }),
      ]);
      const ref = `${registry.host}/fixture/key-rekor@${digest}`;
      const cosign2 = join(FIXTURES, 'cosign2.pub');

      const run = await verify('--key', cosign2, '--require-tlog', ref);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /valid: layer 0 .* logged in https:\/\/rekor\.sigstore\.dev at 2023-01-20T21:57:39\.000Z \(index 11608800\)/,
      );
      assert.equal(publicGoodTrustedRootLoaded(), true);

      const wrong = await verify(
        '--key',
        cosign2,
        '--rekor-public-key',
        otherPub,
        ref,
        '-o',
        'json',
      );
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.deepEqual(rejectedCodes(wrong), ['TLOG_LOG_UNKNOWN']);
    },
  );

  it('a signature logged by a private log verifies with --trusted-root (or its --rekor-public-key)', async () => {
    const ref = await loggedImage('logged/app', (entry) =>
      bundleFor(log, entry, { integratedTime: 1_750_000_000, logIndex: 3 }),
    );
    const run = await verify(
      '--key',
      signerPub,
      '--trusted-root',
      rootFile,
      '--require-tlog',
      ref,
      '-o',
      'json',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(json(run).images[0]?.verified[0]?.tlog, {
      logId: log.logId,
      logUrl: log.baseUrl,
      logIndex: 3,
      integratedTime: 1_750_000_000,
      integratedAt: '2025-06-15T15:06:40.000Z',
    });
    const byKey = await verify('--key', signerPub, '--rekor-public-key', logPub, ref);
    assert.equal(byKey.code, 0, byKey.stderr);
    assert.match(
      byKey.stdout,
      new RegExp(`logged in log ${log.logId} at 2025-06-15T15:06:40.000Z`),
    );

    // The public-good root does not know the private log.
    const publicGood = await verify('--key', signerPub, ref, '-o', 'json');
    assert.equal(publicGood.code, 1, publicGood.stderr);
    assert.deepEqual(rejectedCodes(publicGood), ['TLOG_LOG_UNKNOWN']);
  });

  it('a broken or borrowed bundle: exit 1, with the code of the failed check in the output', async () => {
    const flipped = await loggedImage('broken/set', (entry) => {
      const bundle = JSON.parse(bundleFor(log, entry));
      const set = Buffer.from(bundle.SignedEntryTimestamp, 'base64');
      set[10] = (set[10] as number) ^ 0xff;
      bundle.SignedEntryTimestamp = set.toString('base64');
      return JSON.stringify(bundle);
    });
    const set = await verify('--key', signerPub, '--trusted-root', rootFile, flipped);
    assert.equal(set.code, 1, set.stderr);
    assert.match(set.stdout, /not counted: TLOG_SET_INVALID: /);
    assert.match(set.stderr, /none of the 1 signature/);

    // CVE-2022-23649: the log's genuine entry for another signature of the same payload.
    const borrowed = await loggedImage('broken/borrowed', (entry) => {
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const signature = sign('sha256', entry.payload, {
        key: other.privateKey,
        dsaEncoding: 'der',
      });
      return bundleFor(log, { ...entry, signature, publicKey: other.publicKey });
    });
    const binding = await verify(
      '--key',
      signerPub,
      '--trusted-root',
      rootFile,
      borrowed,
      '-o',
      'json',
    );
    assert.equal(binding.code, 1, binding.stderr);
    assert.deepEqual(rejectedCodes(binding), ['TLOG_BINDING_MISMATCH']);
    assert.equal(json(binding).images[0]?.error?.code, 'NO_VALID_SIGNATURE');
  });

  it('an unusable --trusted-root or --rekor-public-key is a usage error (exit 2) before any request', async () => {
    const bad = join(tmp, 'bad-root.json');
    await writeFile(
      bad,
      '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[{}]}',
    );
    const run = await verify('--key', signerPub, '--trusted-root', bad, '127.0.0.1:1/nowhere:v1');
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /TRUSTED_ROOT_INVALID|not a usable Sigstore trusted root/);
    const missing = await verify(
      '--key',
      signerPub,
      '--rekor-public-key',
      join(tmp, 'nope.pub'),
      '127.0.0.1:1/nowhere:v1',
    );
    assert.equal(missing.code, 2, missing.stderr);
  });
});
