/**
 * Verification end to end against a real Distribution 2.8 registry (and an
 * OCI layout): images signed with the library, then checked with
 * `vouch verify` run in-process. The attacks are written by hand into the
 * `.sig` manifests the way an attacker with push access would: a tag moved to
 * another manifest, a signature layer copied from another image, a payload
 * replayed from another digest, a corrupted signature, a missing annotation,
 * and a signature manifest with more layers than anyone should read.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasCode } from '../src/core/errors.ts';
import {
  appendSignatureLayer,
  SIGNATURE_ANNOTATION,
  type SignatureLayer,
  signatureLayer,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type StoredSignatureImage,
} from '../src/formats/cosign-signature.ts';
import { buildSimpleSigningPayload } from '../src/formats/simple-signing.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { createKeySigner, type Signer } from '../src/keys/signer.ts';
import { type Digest, digestHex } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { parseManifest } from '../src/oci/manifest.ts';
import { OCI_CONFIG, OCI_EMPTY, OCI_MANIFEST } from '../src/oci/media-types.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { signImage } from '../src/sign/sign.ts';
import { gatherSignatures } from '../src/verify/evidence.ts';
import { rejectsWith } from './helpers/assertions.ts';
import { type CliRun, runVouch } from './helpers/cli.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import { freePort, type RunningRegistry, startRegistry } from './helpers/registry.ts';

const encoder = new TextEncoder();

interface VerifyJson {
  readonly ok: boolean;
  readonly images: ReadonlyArray<{
    readonly image: string;
    readonly status: string;
    readonly digest: string | null;
    readonly mediaType: string | null;
    readonly signatures: string | null;
    readonly verified: ReadonlyArray<Record<string, unknown>>;
    readonly rejected: ReadonlyArray<{
      readonly index: number;
      readonly layer: string;
      readonly code: string;
      readonly message: string;
      readonly key?: string;
      readonly problem?: string;
    }>;
    readonly error: {
      readonly code: string;
      readonly category: string;
      readonly message: string;
    } | null;
  }>;
}

function json(run: CliRun): VerifyJson {
  return JSON.parse(run.stdout) as VerifyJson;
}

function rejectedCodes(run: CliRun): string[] {
  return json(run).images.flatMap((image) => image.rejected.map((r) => r.code));
}

/** A store that records which methods were called, to show what was (not) fetched. */
function recording(store: ImageStore): { store: ImageStore; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

/** The signature layer cosign would write for `payload`, signed by `signer`. */
async function signedLayer(signer: Signer, payload: Uint8Array): Promise<SignatureLayer> {
  const signature = Buffer.from(await signer.sign(payload)).toString('base64');
  return signatureLayer({ payload, signatureBase64: signature });
}

async function readSignatureImage(
  store: ImageStore,
  imageDigest: Digest,
): Promise<StoredSignatureImage | undefined> {
  try {
    const manifest = await store.getManifest({ tag: signatureTag(imageDigest) });
    assert.equal(manifest.kind, 'image');
    const config =
      manifest.kind === 'image'
        ? await store.readBlob(manifest.manifest.config, 1 << 20)
        : undefined;
    assert.ok(config !== undefined);
    return { manifest, config };
  } catch (error) {
    if (hasCode(error, 'MANIFEST_UNKNOWN')) return undefined;
    throw error;
  }
}

/** Appends layers to the `.sig` manifest of `imageDigest` by hand, as `vouch sign` stores them. */
async function appendLayers(
  store: ImageStore,
  imageDigest: Digest,
  layers: readonly SignatureLayer[],
): Promise<void> {
  let base = await readSignatureImage(store, imageDigest);
  for (const layer of layers) {
    const result = appendSignatureLayer(base, layer.descriptor);
    if (!result.changed) continue;
    await putBytes(store, layer.descriptor.mediaType, layer.blob);
    await putBytes(store, result.image.configDescriptor.mediaType, result.image.config);
    await store.putManifest(
      result.image.manifest,
      result.image.mediaType,
      signatureTag(imageDigest),
    );
    base = {
      manifest: parseManifest(result.image.manifest, result.image.mediaType, 'test'),
      config: result.image.config,
    };
  }
}

describe('vouch verify', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let env: Record<string, string | undefined>;
  const first = createKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const second = createKeySigner(generateKeyPairSync('ed25519').privateKey);
  let firstPub: string;
  let secondPub: string;

  /** A fresh image in `repo` under `tag`, signed by each of `signers` with the library. */
  async function signedImage(
    repo: string,
    tag: string,
    signers: readonly Signer[],
    annotations?: Record<string, string>,
  ) {
    const store = client.repository(repo);
    const image = await buildImage(store, { tag, layers: 1, layerSize: 64 });
    for (const signer of signers) {
      await signImage(
        { store, target: { tag }, dockerReference: `${registry.host}/${repo}` },
        { signer, settleMs: 0, ...(annotations === undefined ? {} : { annotations }) },
      );
    }
    return { store, digest: image.descriptor.digest, ref: `${registry.host}/${repo}:${tag}` };
  }

  const verify = (...args: string[]) => runVouch(['verify', ...args], { env });

  before(async () => {
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-verify-test-'));
    env = { DOCKER_CONFIG: join(tmp, 'docker-config') };
    firstPub = join(tmp, 'first.pub');
    secondPub = join(tmp, 'second.pub');
    await writeFile(firstPub, publicKeyToPem(first.publicKey));
    await writeFile(secondPub, publicKeyToPem(second.publicKey));
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('verifies an image signed with the library; JSON lists digest, signature and key', async () => {
    const { digest, ref } = await signedImage('round/trip', 'v1', [first]);
    const text = await verify('--key', firstPub, ref);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.includes(`${ref}: verified`), text.stdout);
    assert.ok(text.stdout.includes(digest), text.stdout);

    const run = await verify('--key', firstPub, ref, '--output', 'json');
    assert.equal(run.code, 0, run.stderr);
    const output = json(run);
    assert.deepEqual(Object.keys(output), ['ok', 'images']);
    assert.equal(output.ok, true);
    const [image] = output.images;
    assert.ok(image !== undefined);
    assert.deepEqual(Object.keys(image), [
      'image',
      'status',
      'digest',
      'mediaType',
      'signatures',
      'verified',
      'rejected',
      'bundleSignatures',
      'error',
    ]);
    assert.equal(image.image, ref);
    assert.equal(image.status, 'verified');
    assert.equal(image.digest, digest);
    assert.equal(image.mediaType, OCI_MANIFEST);
    assert.equal(image.signatures, `${registry.host}/round/trip:sha256-${digestHex(digest)}.sig`);
    assert.deepEqual(image.rejected, []);
    assert.equal(image.error, null);
    assert.equal(image.verified.length, 1);
    const signature = image.verified[0] as Record<string, unknown>;
    assert.deepEqual(Object.keys(signature), [
      'index',
      'layer',
      'key',
      'certificate',
      'dockerReference',
      'annotations',
      'tlog',
    ]);
    assert.equal(signature.index, 0);
    assert.match(String(signature.layer), /^sha256:[a-f0-9]{64}$/);
    assert.equal(signature.key, firstPub);
    assert.equal(signature.certificate, null, 'signed with a key');
    assert.equal(signature.dockerReference, `${registry.host}/round/trip`);
    assert.equal(signature.annotations, null);
    assert.equal(signature.tlog, null, 'no Rekor bundle');

    // By digest: the digest given is the one verified, without fetching the image.
    const byDigest = await verify(
      '--key',
      firstPub,
      `${registry.host}/round/trip@${digest}`,
      '-o',
      'json',
    );
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.equal(json(byDigest).images[0]?.mediaType, null);
  });

  it('a digest reference is not fetched again: only the .sig manifest and its payloads are read', async () => {
    const { store, digest } = await signedImage('by/digest', 'v1', [first]);
    const { store: spy, calls } = recording(store);
    // A store that is not a registry repository predicts no payload.
    const unnamed = Object.assign(Object.create(spy) as ImageStore, {
      repositoryReference: undefined,
    });
    const evidence = await gatherSignatures(unnamed, { digest });
    assert.equal(evidence.image.digest, digest);
    assert.deepEqual(calls, ['getManifest', 'readBlob']);
    assert.equal(evidence.signatures.length, 1);
  });

  it('the payload cosign writes for the image is not fetched: its digest names those bytes', async () => {
    const { store, digest, ref } = await signedImage('predicted/payload', 'v1', [first]);
    const { store: spy, calls } = recording(store);
    const evidence = await gatherSignatures(spy, { digest });
    assert.deepEqual(calls, ['getManifest']);
    assert.equal(evidence.signatures.length, 1);
    const run = await verify('--key', firstPub, ref);
    assert.equal(run.code, 0, run.stderr);
  });

  it('two keys: each verifies its own signature, and the other one is reported as SIGNATURE_INVALID', async () => {
    const { ref } = await signedImage('two/keys', 'v1', [first, second]);
    for (const [key, index] of [
      [firstPub, 0],
      [secondPub, 1],
    ] as const) {
      const run = await verify('--key', key, ref, '-o', 'json');
      assert.equal(run.code, 0, run.stderr);
      const [image] = json(run).images;
      assert.deepEqual(
        image?.verified.map((s) => [s.index, s.key]),
        [[index, key]],
      );
      assert.deepEqual(
        image?.rejected.map((r) => [r.index, r.code]),
        [[1 - index, 'SIGNATURE_INVALID']],
      );
    }
    const both = await verify('--key', firstPub, '--key', secondPub, ref, '-o', 'json');
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(
      json(both).images[0]?.verified.map((s) => s.key),
      [firstPub, secondPub],
    );
  });

  it('an unsigned image: exit 1 with a clear "no signatures" message', async () => {
    const store = client.repository('unsigned/app');
    const { descriptor } = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
    const ref = `${registry.host}/unsigned/app:v1`;
    const run = await verify('--key', firstPub, ref);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /no signatures found/);
    assert.ok(run.stderr.includes(`sha256-${digestHex(descriptor.digest)}.sig`), run.stderr);
    assert.ok(run.stdout.includes('NO_SIGNATURES'), run.stdout);
    const output = json(await verify('--key', firstPub, ref, '-o', 'json'));
    assert.equal(output.ok, false);
    assert.equal(output.images[0]?.status, 'denied');
    assert.equal(output.images[0]?.error?.code, 'NO_SIGNATURES');
  });

  it('a tag re-pointed to another manifest fails: the signatures are for the old digest', async () => {
    const { store, ref } = await signedImage('repointed/app', 'v1', [first]);
    assert.equal((await verify('--key', firstPub, ref)).code, 0);
    await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 }); // attacker pushes over v1
    const run = await verify('--key', firstPub, ref, '-o', 'json');
    assert.equal(run.code, 1, run.stderr);
    assert.equal(json(run).images[0]?.error?.code, 'NO_SIGNATURES');
  });

  it("a signature layer swapped in from another image's .sig fails with DIGEST_MISMATCH", async () => {
    const signed = await signedImage('swap/source', 'v1', [first]);
    const victim = client.repository('swap/target');
    const target = await buildImage(victim, { tag: 'v1', layers: 1, layerSize: 64 });
    // Copy the genuine layer (descriptor with its signature annotation, and blob) verbatim.
    const source = await readSignatureImage(signed.store, signed.digest);
    assert.ok(source?.manifest.kind === 'image');
    const layer = source.manifest.manifest.layers[0] as Descriptor;
    const blob = await signed.store.readBlob(layer, 1 << 20);
    await appendLayers(victim, target.descriptor.digest, [{ descriptor: layer, blob }]);

    const run = await verify('--key', firstPub, `${registry.host}/swap/target:v1`, '-o', 'json');
    assert.equal(run.code, 1, run.stderr);
    const [image] = json(run).images;
    assert.deepEqual(
      image?.rejected.map((r) => [r.code, r.key]),
      [['DIGEST_MISMATCH', firstPub]],
    );
    assert.ok(image?.rejected[0]?.message.includes(signed.digest), image?.rejected[0]?.message);
    assert.equal(image?.error?.code, 'NO_VALID_SIGNATURE');
  });

  it('a payload replayed from another digest (an older release) fails with DIGEST_MISMATCH', async () => {
    const old = await signedImage('replay/app', 'v1', [first]);
    const store = old.store;
    const current = await buildImage(store, { tag: 'v2', layers: 1, layerSize: 64 });
    // A payload genuinely signed by the key, but for v1's digest, stored as v2's signature.
    const payload = buildSimpleSigningPayload({
      dockerReference: `${registry.host}/replay/app`,
      dockerManifestDigest: old.digest,
    });
    await appendLayers(store, current.descriptor.digest, [await signedLayer(first, payload)]);
    const run = await verify('--key', firstPub, `${registry.host}/replay/app:v2`, '-o', 'json');
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(rejectedCodes(run), ['DIGEST_MISMATCH']);
  });

  it('a corrupted signature fails with SIGNATURE_INVALID; a good one beside it still counts', async () => {
    const store = client.repository('corrupt/app');
    const { descriptor } = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
    const payload = buildSimpleSigningPayload({
      dockerReference: `${registry.host}/corrupt/app`,
      dockerManifestDigest: descriptor.digest,
    });
    const good = await signedLayer(first, payload);
    const signature = Buffer.from(
      good.descriptor.annotations?.[SIGNATURE_ANNOTATION] ?? '',
      'base64',
    );
    signature[signature.length - 3] = (signature[signature.length - 3] ?? 0) ^ 0x01;
    const corrupted = signatureLayer({ payload, signatureBase64: signature.toString('base64') });
    await appendLayers(store, descriptor.digest, [corrupted]);
    const ref = `${registry.host}/corrupt/app:v1`;
    const bad = await verify('--key', firstPub, ref, '-o', 'json');
    assert.equal(bad.code, 1, bad.stderr);
    assert.deepEqual(rejectedCodes(bad), ['SIGNATURE_INVALID']);

    await appendLayers(store, descriptor.digest, [good]);
    const mixed = await verify('--key', firstPub, ref, '-o', 'json');
    assert.equal(mixed.code, 0, mixed.stderr);
    assert.deepEqual(
      json(mixed).images[0]?.verified.map((s) => s.index),
      [1],
    );
    assert.deepEqual(rejectedCodes(mixed), ['SIGNATURE_INVALID']);
  });

  it('required -a annotations: missing or different fails with ANNOTATION_MISMATCH, present passes', async () => {
    const plain = await signedImage('annotated/plain', 'v1', [first]);
    const missing = await verify('--key', firstPub, '-a', 'env=prod', plain.ref, '-o', 'json');
    assert.equal(missing.code, 1, missing.stderr);
    assert.deepEqual(rejectedCodes(missing), ['ANNOTATION_MISMATCH']);
    assert.match(json(missing).images[0]?.rejected[0]?.message ?? '', /"env"="prod" is not signed/);

    const prod = await signedImage('annotated/prod', 'v1', [first], { env: 'prod', team: 'a' });
    const ok = await verify(
      '--key',
      firstPub,
      '-a',
      'env=prod',
      '-a',
      'team=a',
      prod.ref,
      '-o',
      'json',
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      { ...(json(ok).images[0]?.verified[0]?.annotations as object) },
      {
        env: 'prod',
        team: 'a',
      },
    );
    const other = await verify('--key', firstPub, '-a', 'env=dev', prod.ref);
    assert.equal(other.code, 1);
    assert.match(other.stdout, /ANNOTATION_MISMATCH.*signed value is "prod"/);
  });

  it('--signed-identity: the same repository passes, another repository or a tag does not', async () => {
    const { ref } = await signedImage('identity/app', 'v1', [first]);
    const repo = `${registry.host}/identity/app`;
    assert.equal((await verify('--key', firstPub, '--signed-identity', repo, ref)).code, 0);
    const other = await verify(
      '--key',
      firstPub,
      '--signed-identity',
      `${registry.host}/identity/other`,
      ref,
      '-o',
      'json',
    );
    assert.equal(other.code, 1);
    assert.deepEqual(rejectedCodes(other), ['IDENTITY_MISMATCH']);
    const tagged = await verify(
      '--key',
      firstPub,
      '--signed-identity',
      `${repo}:v1`,
      ref,
      '-o',
      'json',
    );
    assert.equal(tagged.code, 1, 'cosign records no tag, so matchExact cannot pass');
    assert.deepEqual(rejectedCodes(tagged), ['IDENTITY_MISMATCH']);
  });

  it('a .sig manifest with 2000 layers is refused (TOO_MANY_SIGNATURES) before any payload is fetched', async () => {
    const store = client.repository('many/layers');
    const { descriptor } = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
    const payload = buildSimpleSigningPayload({
      dockerReference: `${registry.host}/many/layers`,
      dockerManifestDigest: descriptor.digest,
    });
    const layer = await signedLayer(first, payload);
    await putBytes(store, SIMPLE_SIGNING_MEDIA_TYPE, payload);
    const config = await putBytes(store, OCI_CONFIG, encoder.encode('{}'));
    const manifest = encoder.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config,
        layers: Array.from({ length: 2000 }, () => layer.descriptor),
      }),
    );
    await store.putManifest(manifest, OCI_MANIFEST, signatureTag(descriptor.digest));

    const { store: spy, calls } = recording(store);
    await rejectsWith(gatherSignatures(spy, { tag: 'v1' }), 'TOO_MANY_SIGNATURES', 'denied');
    assert.deepEqual(calls, ['resolve', 'getManifest'], 'no payload was fetched');

    const run = await verify('--key', firstPub, `${registry.host}/many/layers:v1`, '-o', 'json');
    assert.equal(run.code, 1, run.stderr);
    const [image] = json(run).images;
    assert.equal(image?.status, 'denied');
    assert.equal(image?.error?.code, 'TOO_MANY_SIGNATURES');
    assert.equal(image?.digest, descriptor.digest);
    // A lower cap from the command line applies the same way.
    const capped = await verify(
      '--key',
      firstPub,
      '--max-signatures',
      '10',
      `${registry.host}/many/layers:v1`,
    );
    assert.equal(capped.code, 1);
    assert.match(capped.stderr, /2000 layers, more than the 10/);
  });

  it('several images: each gets its verdict; exit 1 when any has no valid signature', async () => {
    const good = await signedImage('many/good', 'v1', [first]);
    const store = client.repository('many/bad');
    await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
    const all = await verify(
      '--key',
      firstPub,
      good.ref,
      `${registry.host}/many/bad:v1`,
      '-o',
      'json',
    );
    assert.equal(all.code, 1);
    assert.deepEqual(
      json(all).images.map((i) => [i.image, i.status]),
      [
        [good.ref, 'verified'],
        [`${registry.host}/many/bad:v1`, 'denied'],
      ],
    );
  });

  it('bad input exits 2: no key, an unreadable key, a bad reference, a missing image, a bad -a', async () => {
    const { ref } = await signedImage('input/app', 'v1', [first]);
    assert.equal((await verify(ref)).code, 2);
    assert.equal((await verify('--key', join(tmp, 'absent.pub'), ref)).code, 2);
    assert.equal((await verify('--key', firstPub, 'Not/A/Reference')).code, 2);
    assert.equal((await verify('--key', firstPub, '-a', 'novalue', ref)).code, 2);
    assert.equal((await verify('--key', firstPub, '--signed-identity', 'bad//ref', ref)).code, 2);
    const missing = await verify(
      '--key',
      firstPub,
      `${registry.host}/input/app:absent`,
      '-o',
      'json',
    );
    assert.equal(missing.code, 2, missing.stderr);
    assert.equal(json(missing).images[0]?.error?.code, 'MANIFEST_UNKNOWN');
  });

  it('a registry that is down: exit 3 (could not check), not 1', async () => {
    const port = await freePort();
    const run = await verify('--key', firstPub, `127.0.0.1:${port}/down/app:v1`, '-o', 'json');
    assert.equal(run.code, 3, run.stderr);
    const [image] = json(run).images;
    assert.equal(image?.status, 'unavailable');
    assert.equal(image?.error?.category, 'unavailable');
  });

  it('OCI layouts: sign, verify, triangulate; a tampered layout fails', async () => {
    const dir = join(tmp, 'layout');
    const layout = await openLayout(dir, { create: true });
    const { descriptor } = await buildImage(layout, { tag: 'v1', layers: 1, layerSize: 64 });
    await signImage(
      { store: layout, target: { tag: 'v1' }, dockerReference: `oci:${dir}` },
      { signer: first, settleMs: 0 },
    );
    const ref = `oci:${dir}:v1`;
    const run = await verify('--key', firstPub, ref, '-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      json(run).images[0]?.signatures,
      `oci:${dir}:sha256-${digestHex(descriptor.digest)}.sig`,
    );

    const triangulate = await runVouch(['triangulate', ref], { env });
    assert.equal(triangulate.code, 0, triangulate.stderr);
    assert.equal(triangulate.stdout, `oci:${dir}:sha256-${digestHex(descriptor.digest)}.sig\n`);

    await buildImage(layout, { tag: 'v1', layers: 1, layerSize: 64 });
    assert.equal((await verify('--key', firstPub, ref)).code, 1);
  });

  it('triangulate prints the .sig (or .att, .sbom, referrers) location of a registry image', async () => {
    const { digest, ref } = await signedImage('triangulate/app', 'v1', [first]);
    const hex = digestHex(digest);
    const base = `${registry.host}/triangulate/app`;
    const expectations = [
      [[], `${base}:sha256-${hex}.sig`],
      [['--type', 'attestation'], `${base}:sha256-${hex}.att`],
      [['--type', 'sbom'], `${base}:sha256-${hex}.sbom`],
      [['--type', 'digest'], `${base}:sha256-${hex}`],
    ] as const;
    for (const [flags, expected] of expectations) {
      const run = await runVouch(['triangulate', ...flags, ref], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `${expected}\n`);
    }
    const byDigest = await runVouch(['triangulate', `${base}@${digest}`, '-o', 'json'], { env });
    assert.deepEqual(JSON.parse(byDigest.stdout), {
      image: `${base}@${digest}`,
      digest,
      type: 'signature',
      location: `${base}:sha256-${hex}.sig`,
    });
    assert.equal((await runVouch(['triangulate', '--type', 'bogus', ref], { env })).code, 2);
  });

  it('tree shows signatures, attestations, SBOMs and referrers', async () => {
    const { store, digest, ref } = await signedImage('tree/app', 'v1', [first, second]);
    const hex = digestHex(digest);
    const subject = await store.resolve({ digest });
    // An attestation-like manifest under .att, and an OCI referrer of the digest.
    const envelope = await putBytes(
      store,
      'application/vnd.dsse.envelope.v1+json',
      encoder.encode('{}'),
    );
    const emptyConfig = await putBytes(store, OCI_EMPTY, encoder.encode('{}'));
    const att = encoder.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: emptyConfig,
        layers: [envelope],
      }),
    );
    await store.putManifest(att, OCI_MANIFEST, `sha256-${hex}.att`);
    const referrer = encoder.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.sbom+json',
        config: emptyConfig,
        layers: [envelope],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      }),
    );
    const pushed = await store.putManifest(referrer, OCI_MANIFEST);

    const run = await runVouch(['tree', ref, '-o', 'json'], { env });
    assert.equal(run.code, 0, run.stderr);
    const tree = JSON.parse(run.stdout) as {
      image: string;
      digest: string;
      signatures: {
        location: string;
        manifest: string | null;
        entries: Array<{ mediaType: string }>;
      };
      attestations: { manifest: string | null; entries: unknown[] };
      sboms: { location: string; manifest: string | null; entries: unknown[] };
      referrers: Array<{ digest: string; artifactType?: string }>;
    };
    assert.equal(tree.digest, digest);
    assert.equal(tree.signatures.location, `${registry.host}/tree/app:sha256-${hex}.sig`);
    assert.deepEqual(
      tree.signatures.entries.map((e) => e.mediaType),
      [SIMPLE_SIGNING_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE],
    );
    assert.equal(tree.attestations.entries.length, 1);
    assert.equal(tree.sboms.manifest, null);
    assert.deepEqual(
      tree.referrers.map((r) => [r.digest, r.artifactType]),
      [[pushed.digest, 'application/vnd.example.sbom+json']],
    );

    const text = await runVouch(['tree', ref], { env });
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.split('\n');
    assert.equal(lines[0], `${registry.host}/tree/app@${digest}`);
    assert.equal(lines[1], `├── signatures (${tree.signatures.location})`);
    assert.ok(lines[2]?.startsWith('│   ├── sha256:'), text.stdout);
    assert.ok(text.stdout.includes(`├── SBOMs: none (${tree.sboms.location})`), text.stdout);
    assert.ok(
      text.stdout.endsWith(
        `└── referrers\n    └── ${pushed.digest} application/vnd.example.sbom+json (${referrer.byteLength} bytes)\n`,
      ),
      text.stdout,
    );
  });
});
