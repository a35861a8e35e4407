/**
 * Sigstore bundles stored as OCI referrers (cosign 3's form) end to end:
 * `vouch attest --bundle-format`, then `vouch verify-attestation` and
 * `vouch download attestation`, against a real Distribution 2.8 registry
 * (which has no referrers API, so the fallback tag `sha256-<hex>` is what
 * lists referrers) and an OCI layout. The attacks are written by hand the
 * way someone with push access could: a genuine bundle about another image
 * replayed into this image's referrers, a fallback index that lies about a
 * referrer's artifact type, a referrer of another image listed here, and a
 * bundle declared larger than the cap.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  BUNDLE_V03_MEDIA_TYPE,
  buildBundleReferrer,
  COSIGN_SIGN_PREDICATE_TYPE,
  EMPTY_CONFIG_BYTES,
} from '../src/formats/sigstore-bundle.ts';
import { parseBundle } from '../src/formats/sigstore-bundle-reader.ts';
import { parseStatement } from '../src/formats/in-toto.ts';
import { PREDICATE_TYPES } from '../src/formats/predicate-types.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { type Digest, digestHex } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from '../src/oci/media-types.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import { referrersTag } from '../src/registry/referrers-tag.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { fetchBundleReferrers } from '../src/verify/bundle-evidence.ts';
import { type CliRun, runVouch } from './helpers/cli.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const SPDX = PREDICATE_TYPES.spdxjson as string;
const SBOM = { spdxVersion: 'SPDX-2.3', name: 'app', packages: [] };
const encoder = new TextEncoder();

interface ReportJson {
  readonly images: ReadonlyArray<{
    readonly status: string;
    readonly verified: ReadonlyArray<{
      readonly source: { readonly form: string; readonly referrer?: string };
      readonly predicateType: string;
    }>;
    readonly rejected: ReadonlyArray<{
      readonly source: { readonly form: string };
      readonly code: string;
      readonly message: string;
      readonly problem?: string;
    }>;
    readonly error: { readonly code: string } | null;
  }>;
}

const report = (run: CliRun) => JSON.parse(run.stdout) as ReportJson;

/** The descriptors listed under the image's fallback tag. */
async function fallbackIndex(store: ImageStore, digest: Digest): Promise<Descriptor[]> {
  const index = await store.getManifest({ tag: referrersTag(digest) });
  assert.equal(index.kind, 'index');
  return index.kind === 'index' ? [...index.manifest.manifests] : [];
}

/** Overwrites the image's fallback index, as anyone with push access to the tag can. */
async function writeFallbackIndex(
  store: ImageStore,
  digest: Digest,
  manifests: readonly Descriptor[],
): Promise<void> {
  const bytes = encoder.encode(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
  );
  await store.putManifest(bytes, OCI_INDEX, referrersTag(digest));
}

describe('Sigstore bundle referrers: attest --bundle-format, verify-attestation, download', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let env: Record<string, string | undefined>;
  let key: string;
  let pub: string;
  let otherPub: string;
  let sbomFile: string;
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  const vouch = (...args: string[]) => runVouch(args, { env });

  before(async () => {
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-bundle-test-'));
    env = { DOCKER_CONFIG: join(tmp, 'docker-config') };
    key = join(tmp, 'key.pem');
    pub = join(tmp, 'key.pub');
    otherPub = join(tmp, 'other.pub');
    sbomFile = join(tmp, 'sbom.json');
    await writeFile(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await writeFile(pub, publicKeyToPem(pair.publicKey));
    await writeFile(
      otherPub,
      publicKeyToPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    );
    await writeFile(sbomFile, JSON.stringify(SBOM));
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  interface Target {
    readonly store: ImageStore;
    readonly digest: Digest;
    readonly ref: string;
  }

  const where: Record<'registry' | 'layout', (name: string) => Promise<Target>> = {
    async registry(name) {
      const store = client.repository(`bundle/${name}`);
      const built = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
      return { store, digest: built.descriptor.digest, ref: `${registry.host}/bundle/${name}:v1` };
    },
    async layout(name) {
      const path = join(tmp, `layout-${name}`);
      const store = await openLayout(path, { create: true });
      const built = await buildImage(store, { tag: 'v1', layers: 1, layerSize: 64 });
      return { store, digest: built.descriptor.digest, ref: `oci:${path}:v1` };
    },
  };

  const attestBundle = (ref: string, type = 'spdxjson') =>
    vouch('attest', '--bundle-format', '--key', key, '--type', type, '--predicate', sbomFile, ref);

  for (const kind of ['registry', 'layout'] as const) {
    describe(`on ${kind === 'registry' ? 'a registry without the referrers API' : 'an OCI layout'}`, () => {
      it('writes the referrer cosign 3 writes and verifies it with the key', async () => {
        const { store, digest, ref } = await where[kind]('roundtrip');
        const attest = await attestBundle(ref);
        assert.equal(attest.code, 0, attest.stderr);
        assert.match(attest.stdout, /stored as a Sigstore bundle referrer/);

        const [listed, ...others] = await fallbackIndex(store, digest);
        assert.equal(others.length, 0);
        assert.ok(listed !== undefined);
        assert.equal(listed.artifactType, BUNDLE_V03_MEDIA_TYPE);
        assert.equal(listed.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION], SPDX);
        const referrer = await store.getManifest({ digest: listed.digest });
        assert.equal(referrer.kind, 'image');
        if (referrer.kind !== 'image') return;
        const manifest = referrer.manifest;
        assert.equal(manifest.artifactType, BUNDLE_V03_MEDIA_TYPE);
        assert.equal(manifest.subject?.digest, digest);
        assert.equal(manifest.config.mediaType, OCI_EMPTY);
        assert.equal(Buffer.from(await store.readBlob(manifest.config, 16)).toString(), '{}');
        assert.equal(manifest.layers.length, 1);
        const bundle = parseBundle(await store.readBlob(manifest.layers[0] as Descriptor, 1 << 20));
        assert.equal(bundle.material.kind, 'public-key');
        assert.equal(bundle.tlogEntries.length, 0);
        assert.equal(bundle.content.kind, 'dsse-envelope');
        if (bundle.content.kind !== 'dsse-envelope') return;
        const statement = parseStatement(bundle.content.envelope.payload);
        assert.deepEqual(
          statement.subjects.map((s) => s.digest),
          [{ sha256: digestHex(digest) }],
        );

        const run = await vouch('verify-attestation', '--key', pub, '--type', 'spdxjson', ref);
        assert.equal(run.code, 0, run.stderr);
        const printed = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
        assert.equal(printed.length, 1);
        assert.deepEqual(printed[0]?.predicate, SBOM);
        assert.match(
          run.stderr,
          new RegExp(`valid: Sigstore bundle referrer 0 \\(${listed.digest}\\)`),
        );

        const json = await vouch(
          'verify-attestation',
          '--key',
          pub,
          '--type',
          SPDX,
          '-o',
          'json',
          ref,
        );
        assert.equal(json.code, 0, json.stderr);
        const [verified] = report(json).images[0]?.verified ?? [];
        assert.deepEqual(verified?.source, {
          form: 'bundle',
          referrer: listed.digest,
          material: 'public-key',
          tlogEntries: 0,
        });

        const download = await vouch('download', 'attestation', '--key', pub, ref);
        assert.equal(download.code, 0, download.stderr);
        const envelope = JSON.parse(download.stdout) as { payloadType: string };
        assert.equal(envelope.payloadType, 'application/vnd.in-toto+json');
        assert.match(download.stderr, /VERIFIED/);
      });

      it('a wrong key and a wrong --type are denied, naming why', async () => {
        const { ref } = await where[kind]('denied');
        assert.equal((await attestBundle(ref)).code, 0);
        const wrongKey = await vouch(
          'verify-attestation',
          '--key',
          otherPub,
          '--type',
          'spdxjson',
          '-o',
          'json',
          ref,
        );
        assert.equal(wrongKey.code, 1, wrongKey.stderr);
        const image = report(wrongKey).images[0];
        assert.equal(image?.status, 'denied');
        assert.deepEqual(
          image?.rejected.map((r) => [r.source.form, r.code]),
          [['bundle', 'SIGNATURE_INVALID']],
        );

        const wrongType = await vouch(
          'verify-attestation',
          '--key',
          pub,
          '--type',
          'cyclonedx',
          ref,
        );
        assert.equal(wrongType.code, 1, wrongType.stderr);
        assert.equal(wrongType.stdout.trim(), '[]');
        assert.match(wrongType.stderr, /not counted: PREDICATE_TYPE_MISMATCH: bundle referrer 0/);
        assert.match(
          wrongType.stderr,
          /valid attestations of other types: https:\/\/spdx\.dev\/Document/,
        );
      });

      it("a genuine bundle about another image replayed into this image's referrers does not count", async () => {
        const victim = await where[kind]('replay-victim');
        const other = await where[kind]('replay-other');
        assert.equal((await attestBundle(other.ref)).code, 0);
        const [genuine] = await fallbackIndex(other.store, other.digest);
        assert.ok(genuine !== undefined);
        const referrer = await other.store.getManifest({ digest: genuine.digest });
        assert.equal(referrer.kind, 'image');
        if (referrer.kind !== 'image') return;
        const layer = referrer.manifest.layers[0] as Descriptor;
        const bundle = await other.store.readBlob(layer, 1 << 20);
        // The same bundle bytes, in a referrer whose subject is the victim.
        const subject = await victim.store.resolve({ digest: victim.digest });
        const replayed = buildBundleReferrer({
          subject,
          bundle,
          predicateType: SPDX,
          created: new Date(),
        });
        await putBytes(victim.store, OCI_EMPTY, EMPTY_CONFIG_BYTES);
        await putBytes(victim.store, BUNDLE_V03_MEDIA_TYPE, bundle);
        await victim.store.putManifest(replayed.manifest, OCI_MANIFEST);

        const run = await vouch(
          'verify-attestation',
          '--key',
          pub,
          '--type',
          'spdxjson',
          '-o',
          'json',
          victim.ref,
        );
        assert.equal(run.code, 1, run.stdout);
        const image = report(run).images[0];
        assert.equal(image?.error?.code, 'NO_VALID_ATTESTATION');
        assert.deepEqual(
          image?.rejected.map((r) => r.code),
          ['DIGEST_MISMATCH'],
        );
        assert.match(image?.rejected[0]?.message ?? '', new RegExp(digestHex(other.digest)));
      });

      it('sign --bundle-format writes cosign 3 signatures that verify --key counts', async () => {
        const { store, digest, ref } = await where[kind]('sign');
        const sign = await vouch('sign', '--bundle-format', '--key', key, '-a', 'env=prod', ref);
        assert.equal(sign.code, 0, sign.stderr);
        const [listed] = await fallbackIndex(store, digest);
        assert.equal(
          listed?.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION],
          COSIGN_SIGN_PREDICATE_TYPE,
        );
        // No .sig tag was written: the bundle alone must count.
        const verify = await vouch('verify', '--key', pub, ref);
        assert.equal(verify.code, 0, verify.stderr);
        assert.match(verify.stdout, /valid: Sigstore bundle referrer 0 /);

        const json = await vouch('verify', '--key', pub, '-a', 'env=prod', '-o', 'json', ref);
        assert.equal(json.code, 0, json.stderr);
        const image = JSON.parse(json.stdout).images[0];
        const statement = image.bundleSignatures.verified[0].statement;
        assert.equal(statement.predicateType, COSIGN_SIGN_PREDICATE_TYPE);
        assert.deepEqual(statement.subject, [
          { digest: { sha256: digestHex(digest) }, annotations: { env: 'prod' } },
        ]);

        const annotation = await vouch('verify', '--key', pub, '-a', 'env=dev', ref);
        assert.equal(annotation.code, 1, annotation.stdout);
        assert.match(annotation.stdout, /not counted: ANNOTATION_MISMATCH: bundle referrer 0/);
        const wrongKey = await vouch('verify', '--key', otherPub, ref);
        assert.equal(wrongKey.code, 1, wrongKey.stdout);
        assert.match(wrongKey.stdout, /not counted: SIGNATURE_INVALID: bundle referrer 0/);
        const identity = await vouch(
          'verify',
          '--key',
          pub,
          '--signed-identity',
          'example.com/app',
          ref,
        );
        assert.equal(identity.code, 1, identity.stdout);
        assert.match(identity.stdout, /IDENTITY_MISMATCH/);
      });

      it('tree shows both bundle referrers with what their listing claims', async () => {
        const { ref } = await where[kind]('tree');
        assert.equal((await attestBundle(ref)).code, 0);
        assert.equal((await vouch('sign', '--bundle-format', '--key', key, ref)).code, 0);
        const tree = await vouch('tree', ref);
        assert.equal(tree.code, 0, tree.stderr);
        assert.match(tree.stdout, /\(Sigstore bundle: a cosign 3 signature\)/);
        assert.match(
          tree.stdout,
          /\(Sigstore bundle: an attestation of https:\/\/spdx\.dev\/Document\)/,
        );
        const json = JSON.parse((await vouch('tree', '-o', 'json', ref)).stdout) as {
          referrers: Array<{ artifactType?: string; bundlePredicateType?: string }>;
        };
        assert.deepEqual(
          json.referrers.map((r) => r.bundlePredicateType).sort(),
          [COSIGN_SIGN_PREDICATE_TYPE, SPDX].sort(),
        );
      });

      it('an attestation bundle is never counted as a signature', async () => {
        const { ref } = await where[kind]('att-not-sig');
        assert.equal((await attestBundle(ref)).code, 0);
        const verify = await vouch('verify', '--key', pub, ref);
        assert.equal(verify.code, 1, verify.stdout);
        assert.match(verify.stderr, /no signatures found/);
      });

      it('reads both storage forms and says which form each statement came from', async () => {
        const { ref } = await where[kind]('both');
        assert.equal((await attestBundle(ref)).code, 0);
        const classic = await vouch(
          'attest',
          '--key',
          key,
          '--type',
          'spdxjson',
          '--predicate',
          sbomFile,
          ref,
        );
        assert.equal(classic.code, 0, classic.stderr);
        const run = await vouch(
          'verify-attestation',
          '--key',
          pub,
          '--type',
          'spdxjson',
          '-o',
          'json',
          ref,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(
          report(run).images[0]?.verified.map((v) => v.source.form),
          ['att', 'bundle'],
        );
      });
    });
  }

  it('reads referrers a layout keeps as untagged index.json entries, as oras writes them', async () => {
    const { store, digest, ref } = await where.layout('oras');
    assert.equal((await attestBundle(ref)).code, 0);
    const [listed] = await fallbackIndex(store, digest);
    assert.ok(listed !== undefined);
    const path = ref.slice('oci:'.length, -':v1'.length);
    const file = join(path, 'index.json');
    const index = JSON.parse(await readFile(file, 'utf8')) as { manifests: Descriptor[] };
    // No fallback tag; the referrer is a plain untagged entry instead.
    const manifests = index.manifests.filter(
      (d) => d.annotations?.['org.opencontainers.image.ref.name'] !== referrersTag(digest),
    );
    manifests.push({ mediaType: OCI_MANIFEST, digest: listed.digest, size: listed.size });
    await writeFile(file, JSON.stringify({ ...index, manifests }));
    await assert.rejects(store.getManifest({ tag: referrersTag(digest) }));

    const run = await vouch('verify-attestation', '--key', pub, '--type', 'spdxjson', ref);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`valid: Sigstore bundle referrer 0 \\(${listed.digest}\\)`),
    );
  });

  describe('gathering distrusts the fallback index (registry)', () => {
    it('a referrer the index calls a bundle but is not one is rejected after opening it', async () => {
      const { store, digest, ref } = await where.registry('lying-index');
      const subject = await store.resolve({ digest });
      // A manifest that refers to the image but is no bundle (an SBOM artifact, say).
      const config = await putBytes(store, OCI_EMPTY, EMPTY_CONFIG_BYTES);
      const blob = await putBytes(store, 'text/plain', encoder.encode('not a bundle'));
      const bytes = encoder.encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: 'application/vnd.example.sbom',
          config,
          layers: [blob],
          subject: { mediaType: subject.mediaType, digest, size: subject.size },
        }),
      );
      const stored = await store.putManifest(bytes, OCI_MANIFEST);
      // The index lies: it says the manifest is a bundle.
      await writeFallbackIndex(store, digest, [{ ...stored, artifactType: BUNDLE_V03_MEDIA_TYPE }]);

      const evidence = await fetchBundleReferrers(store, { digest, reference: ref });
      assert.equal(evidence.bundles.length, 0);
      assert.deepEqual(
        evidence.rejectedReferrers.map((r) => [r.referrer, r.problem]),
        [[stored.digest, 'not-bundle-referrer']],
      );
      const run = await vouch(
        'verify-attestation',
        '--key',
        pub,
        '--type',
        'spdxjson',
        '-o',
        'json',
        ref,
      );
      assert.equal(run.code, 1);
      assert.deepEqual(
        report(run).images[0]?.rejected.map((r) => [r.code, r.problem]),
        [['LAYER_INVALID', 'not-bundle-referrer']],
      );
    });

    it("a referrer of another image listed in this image's index is rejected", async () => {
      const victim = await where.registry('foreign-victim');
      const other = await where.registry('foreign-other');
      const { store } = victim;
      // Another image in the same repository, attested genuinely.
      const second = await buildImage(store, { tag: 'v2', layers: 1, layerSize: 64 });
      const attest = await attestBundle(`${registry.host}/bundle/foreign-victim:v2`);
      assert.equal(attest.code, 0, attest.stderr);
      const [genuine] = await fallbackIndex(store, second.descriptor.digest);
      assert.ok(genuine !== undefined);
      await writeFallbackIndex(store, victim.digest, [genuine]);

      const evidence = await fetchBundleReferrers(store, {
        digest: victim.digest,
        reference: victim.ref,
      });
      assert.equal(evidence.bundles.length, 0);
      assert.deepEqual(
        evidence.rejectedReferrers.map((r) => r.problem),
        ['subject-mismatch'],
      );
      assert.ok(other.digest !== victim.digest);
    });

    it('a bundle declared larger than the cap is refused before it is fetched', async () => {
      const { store, digest, ref } = await where.registry('oversized');
      const subject = await store.resolve({ digest });
      // The layer declares 64 MiB; its blob has a few bytes: fetching it would report a size mismatch.
      const small = await putBytes(store, BUNDLE_V03_MEDIA_TYPE, encoder.encode('{}'));
      const huge = { ...small, size: 64 * 1024 * 1024 };
      const config = await putBytes(store, OCI_EMPTY, EMPTY_CONFIG_BYTES);
      const bytes = encoder.encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: BUNDLE_V03_MEDIA_TYPE,
          config,
          layers: [huge],
          subject: { mediaType: subject.mediaType, digest, size: subject.size },
        }),
      );
      await store.putManifest(bytes, OCI_MANIFEST);
      const evidence = await fetchBundleReferrers(store, { digest, reference: ref });
      assert.deepEqual(
        evidence.rejectedReferrers.map((r) => r.problem),
        ['bundle-too-large'],
      );
      const capped = await fetchBundleReferrers(
        store,
        { digest, reference: ref },
        { maxBundleBytes: 128 * 1024 * 1024 },
      );
      assert.deepEqual(
        capped.rejectedReferrers.map((r) => r.problem),
        ['content-invalid'],
      );
    });

    it('more bundle referrers than the cap refuses the image whole', async () => {
      const { store, digest, ref } = await where.registry('too-many');
      for (let i = 0; i < 3; i++) assert.equal((await attestBundle(ref)).code, 0);
      assert.equal((await fallbackIndex(store, digest)).length, 3);
      const run = await vouch(
        'verify-attestation',
        '--key',
        pub,
        '--type',
        'spdxjson',
        '--max-referrers',
        '2',
        ref,
      );
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /TOO_MANY_REFERRERS|more than the 2/);
    });
  });
});
