/**
 * `vouch copy` end to end, run in-process through `main(argv, io)`, against a
 * real Distribution 2.8 registry on 127.0.0.1 and OCI layouts in a temp dir,
 * plus interoperability with skopeo in both directions. The issue is done when
 * a multi-platform image goes registry → OCI layout → another repository with
 * the digest of the index, of every child manifest and of every blob unchanged.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { attachmentTag } from '../src/formats/cosign-signature.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { digestHex, digestOf } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX } from '../src/oci/media-types.ts';
import { copyImage } from '../src/registry/copy.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { type CliRun, runVouch } from './helpers/cli.ts';
import { type BuiltImage, buildImage, buildIndex } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const execFileP = promisify(execFile);
const SKOPEO = '/usr/bin/skopeo';
const skopeoMissing = existsSync(SKOPEO) ? false : `skopeo is not installed at ${SKOPEO}`;

interface CopySummary {
  readonly source: string;
  readonly destination: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly manifests: number;
  readonly blobs: Readonly<Record<'copied' | 'mounted' | 'present' | 'skipped-foreign', number>>;
  readonly bytes: number;
  readonly attachments: ReadonlyArray<{
    readonly subject: string;
    readonly kind: 'sig' | 'att' | 'sbom';
    readonly tag: string;
    readonly digest: string;
  }>;
}

function parseSummary(run: CliRun): CopySummary {
  assert.equal(run.code, 0, `vouch copy failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as CopySummary;
}

const totalSize = (blobs: readonly Descriptor[]) => blobs.reduce((sum, b) => sum + b.size, 0);

/**
 * Asserts that `store` holds the image byte for byte: `tag` (if given) points
 * at the index, the index and every child have the expected bytes when fetched
 * by digest, and every blob is there with its digest.
 */
async function assertHoldsIndex(
  store: ImageStore,
  index: BuiltImage & { readonly children: readonly BuiltImage[] },
  tag?: string,
): Promise<void> {
  const where = store.location;
  if (tag !== undefined)
    assert.deepEqual(await store.resolve({ tag }), index.descriptor, `${where}:${tag}`);
  const top = await store.getManifest({ digest: index.descriptor.digest });
  assert.equal(top.mediaType, index.descriptor.mediaType, where);
  assert.deepEqual(Buffer.from(top.bytes), Buffer.from(index.bytes), `${where}: index bytes`);
  for (const child of index.children) {
    const got = await store.getManifest({ digest: child.descriptor.digest });
    assert.equal(got.digest, child.descriptor.digest, where);
    assert.equal(got.mediaType, child.descriptor.mediaType, where);
    assert.deepEqual(Buffer.from(got.bytes), Buffer.from(child.bytes), `${where}: child bytes`);
  }
  for (const blob of index.blobs) {
    assert.equal(await store.hasBlob(blob), true, `${where} has ${blob.digest}`);
    const bytes = await store.readBlob(blob, blob.size);
    assert.equal(digestOf(bytes), blob.digest, `${where}: blob ${blob.digest}`);
  }
}

describe('vouch copy', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let tmp: string;
  let env: Record<string, string | undefined>;

  before(async () => {
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    client = new RegistryClient(registry.host, { http });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-copy-test-'));
    // An empty Docker configuration: no credentials from the user's home.
    env = { DOCKER_CONFIG: join(tmp, 'docker-config'), PATH: process.env.PATH };
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('moves a multi-platform image registry → OCI layout → another repository with identical digests (index, every child, every blob)', async () => {
    const source = client.repository('app/source');
    const index = await buildIndex(source, {
      tag: 'v1',
      architectures: ['amd64', 'arm64', 's390x'],
      layerSize: 256 * 1024,
    });
    assert.equal(index.children.length, 3);
    assert.equal(index.blobs.length, 9);
    const layoutDir = join(tmp, 'done-when');

    const toLayout = parseSummary(
      await runVouch(
        ['copy', '--output', 'json', `${registry.host}/app/source:v1`, `oci:${layoutDir}:v1`],
        { env },
      ),
    );
    assert.deepEqual(toLayout, {
      source: `${registry.host}/app/source:v1`,
      destination: `oci:${layoutDir}:v1`,
      digest: index.descriptor.digest,
      mediaType: OCI_INDEX,
      manifests: 4,
      blobs: { copied: 9, mounted: 0, present: 0, 'skipped-foreign': 0 },
      bytes: totalSize(index.blobs),
      attachments: [],
    });

    const toRegistry = parseSummary(
      await runVouch(
        ['copy', '-o', 'json', `oci:${layoutDir}:v1`, `${registry.host}/app/destination:v1`],
        { env },
      ),
    );
    assert.equal(toRegistry.digest, index.descriptor.digest);
    assert.equal(toRegistry.manifests, 4);
    assert.deepEqual(toRegistry.blobs, { copied: 9, mounted: 0, present: 0, 'skipped-foreign': 0 });

    // The done-when: identical digests for the index and every child and blob, everywhere.
    const layout = await openLayout(layoutDir, { create: false });
    assert.deepEqual(await layout.listTags(), ['v1']);
    await assertHoldsIndex(layout, index, 'v1');
    await assertHoldsIndex(client.repository('app/destination'), index, 'v1');

    // And `vouch digest` agrees on all three.
    const digests = await runVouch(
      [
        'digest',
        `${registry.host}/app/source:v1`,
        `oci:${layoutDir}:v1`,
        `${registry.host}/app/destination:v1`,
      ],
      { env },
    );
    assert.equal(digests.code, 0, digests.stderr);
    assert.equal(digests.stdout, `${index.descriptor.digest}\n`.repeat(3));
  });

  it('copies a Docker manifest list through a layout unchanged, media types included', async () => {
    const source = client.repository('docker/source');
    const list = await buildIndex(source, { tag: 'list', docker: true, layerSize: 64 * 1024 });
    assert.equal(list.descriptor.mediaType, DOCKER_MANIFEST_LIST);
    const layout = await openLayout(join(tmp, 'docker-list'), { create: true });

    const first = await copyImage(source, { tag: 'list' }, layout, { tag: 'list' });
    assert.deepEqual(first.descriptor, list.descriptor);
    assert.equal(first.blobs.copied, list.blobs.length);
    const destination = client.repository('docker/destination');
    const second = await copyImage(layout, { tag: 'list' }, destination, { tag: 'list' });
    assert.deepEqual(second.descriptor, list.descriptor);

    for (const store of [layout, destination]) {
      await assertHoldsIndex(store, list, 'list');
      for (const child of list.children) {
        assert.equal(
          (await store.resolve({ digest: child.descriptor.digest })).mediaType,
          DOCKER_MANIFEST,
        );
      }
    }
    // The layout's index.json records the tag with the list's own media type.
    const indexJson = JSON.parse(await readFile(join(layout.root, 'index.json'), 'utf8')) as {
      manifests: Descriptor[];
    };
    assert.deepEqual(
      indexJson.manifests.map((d) => [d.mediaType, d.digest]),
      [[DOCKER_MANIFEST_LIST, list.descriptor.digest]],
    );
  });

  it('re-copying reports every blob present and moves no bytes', async () => {
    const source = client.repository('again/source');
    const image = await buildImage(source, { tag: 'v1', layers: 3, layerSize: 32 * 1024 });
    const layoutDir = join(tmp, 'again');
    const args = (from: string, to: string) => ['copy', '-o', 'json', from, to];

    const first = parseSummary(
      await runVouch(args(`${registry.host}/again/source:v1`, `oci:${layoutDir}:v1`), { env }),
    );
    assert.deepEqual(first.blobs, { copied: 4, mounted: 0, present: 0, 'skipped-foreign': 0 });
    assert.equal(first.bytes, totalSize(image.blobs));
    const second = parseSummary(
      await runVouch(args(`${registry.host}/again/source:v1`, `oci:${layoutDir}:v1`), { env }),
    );
    assert.deepEqual(second.blobs, { copied: 0, mounted: 0, present: 4, 'skipped-foreign': 0 });
    assert.equal(second.bytes, 0);
    assert.equal(second.digest, image.descriptor.digest);

    // Back into the source repository itself: everything is already there.
    const back = parseSummary(
      await runVouch(args(`oci:${layoutDir}:v1`, `${registry.host}/again/source:v2`), { env }),
    );
    assert.deepEqual(back.blobs, { copied: 0, mounted: 0, present: 4, 'skipped-foreign': 0 });
    assert.deepEqual(await source.resolve({ tag: 'v2' }), image.descriptor);
  });

  it('copies by digest (repo@sha256:...) to a tag, mounting within the registry', async () => {
    const source = client.repository('pin/source');
    const index = await buildIndex(source, { tag: 'moving' });
    const digest = index.descriptor.digest;
    // The tag moves on; the digest still names the original.
    await buildImage(source, { tag: 'moving' });

    const pinned = parseSummary(
      await runVouch(
        [
          'copy',
          '-o',
          'json',
          `${registry.host}/pin/source@${digest}`,
          `${registry.host}/pin/released:stable`,
        ],
        { env },
      ),
    );
    assert.equal(pinned.source, `${registry.host}/pin/source@${digest}`);
    assert.equal(pinned.digest, digest);
    assert.deepEqual(pinned.blobs, {
      copied: 0,
      mounted: index.blobs.length,
      present: 0,
      'skipped-foreign': 0,
    });
    await assertHoldsIndex(client.repository('pin/released'), index, 'stable');

    // Into a layout without a tag: stored by digest only, readable by digest.
    const layoutDir = join(tmp, 'by-digest');
    const untagged = parseSummary(
      await runVouch(
        ['copy', '-o', 'json', `${registry.host}/pin/source@${digest}`, `oci:${layoutDir}`],
        { env },
      ),
    );
    assert.equal(untagged.digest, digest);
    const layout = await openLayout(layoutDir, { create: false });
    assert.deepEqual(await layout.listTags(), []);
    await assertHoldsIndex(layout, index);
    const resolved = await runVouch(['digest', `oci:${layoutDir}@${digest}`], { env });
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.equal(resolved.stdout, `${digest}\n`);
  });

  it('prints the digest on stdout and a summary on stderr in text mode', async () => {
    const image = await buildImage(client.repository('text/source'), { tag: 'v1' });
    const run = await runVouch(
      ['copy', `${registry.host}/text/source:v1`, `oci:${join(tmp, 'text')}:v1`],
      { env },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${image.descriptor.digest}\n`);
    assert.match(run.stderr, /1 manifest\(s\), 3 blob\(s\) copied/);
  });

  it('exits 2 for an unknown source tag or a bad destination, naming the registry and repository', async () => {
    await buildImage(client.repository('errors/source'), { tag: 'v1' });
    const unknown = await runVouch(
      ['copy', `${registry.host}/errors/source:nope`, `oci:${join(tmp, 'nope')}:x`],
      { env },
    );
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.ok(unknown.stderr.includes(`${registry.host}/errors/source`), unknown.stderr);
    assert.ok(unknown.stderr.includes('"nope"'), unknown.stderr);
    assert.equal(unknown.stdout, '');

    const digestDestination = await runVouch(
      [
        'copy',
        `${registry.host}/errors/source:v1`,
        `${registry.host}/errors/dest@sha256:${'a'.repeat(64)}`,
      ],
      { env },
    );
    assert.equal(digestDestination.code, 2, digestDestination.stderr);
    assert.match(digestDestination.stderr, /takes a tag, not a digest/);

    const usage = await runVouch(['copy', `${registry.host}/errors/source:v1`], { env });
    assert.equal(usage.code, 2);
    const format = await runVouch(
      ['copy', '-o', 'yaml', `${registry.host}/errors/source:v1`, `oci:${join(tmp, 'fmt')}:v1`],
      { env },
    );
    assert.equal(format.code, 2);
  });

  it('exits 1 (denied) when a layout blob does not match its digest, and leaves the destination untagged', async () => {
    const source = client.repository('corrupt/source');
    const image = await buildImage(source, { tag: 'v1', layers: 1, layerSize: 16 * 1024 });
    const layout = await openLayout(join(tmp, 'corrupt'), { create: true });
    await copyImage(source, { tag: 'v1' }, layout, { tag: 'v1' });
    const layer = image.blobs[1] as Descriptor;
    const file = join(layout.root, 'blobs', 'sha256', digestHex(layer.digest));
    const bytes = await readFile(file);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    await writeFile(file, bytes);

    const run = await runVouch(
      ['copy', `oci:${layout.root}:v1`, `${registry.host}/corrupt/destination:v1`],
      { env },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.stderr.includes(layer.digest), run.stderr);
    const destination = client.repository('corrupt/destination');
    await assert.rejects(destination.resolve({ tag: 'v1' }), { code: 'MANIFEST_UNKNOWN' });
    assert.equal(await destination.hasBlob(layer), false);
  });

  describe('cosign attachments (.sig, .att, .sbom)', () => {
    let key: string;
    let pub: string;
    let sbomFile: string;
    const vouch = (...args: string[]) => runVouch(args, { env });

    before(async () => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      key = join(tmp, 'attachments-key.pem');
      pub = join(tmp, 'attachments-key.pub');
      sbomFile = join(tmp, 'attachments-sbom.json');
      await writeFile(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
      await writeFile(pub, publicKeyToPem(pair.publicKey));
      await writeFile(sbomFile, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'app' }));
    });

    const ok = (run: CliRun) => {
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      return run;
    };

    it('carries the signature, attestation and SBOM registry → layout → another repository, where verify passes', async () => {
      const source = client.repository('attach/source');
      const image = await buildImage(source, { tag: 'v1' });
      const digest = image.descriptor.digest;
      const ref = `${registry.host}/attach/source:v1`;
      ok(await vouch('sign', '--key', key, ref));
      ok(await vouch('attest', '--key', key, '--type', 'spdxjson', '--predicate', sbomFile, ref));
      // vouch writes no .sbom; any manifest under the tag stands for cosign attach sbom's.
      await buildImage(source, { tag: attachmentTag(digest, 'sbom'), architecture: 'sbom' });
      const tags = (['sig', 'att', 'sbom'] as const).map((suffix) => attachmentTag(digest, suffix));
      const atSource = await Promise.all(tags.map((tag) => source.resolve({ tag })));

      const layoutDir = join(tmp, 'attachments-layout');
      const toLayout = parseSummary(await vouch('copy', '-o', 'json', ref, `oci:${layoutDir}:v1`));
      assert.equal(toLayout.digest, digest);
      assert.deepEqual(
        toLayout.attachments,
        (['sig', 'att', 'sbom'] as const).map((kind, i) => ({
          subject: digest,
          kind,
          tag: tags[i],
          digest: atSource[i]?.digest,
        })),
      );
      const destinationRef = `${registry.host}/attach/destination:v1`;
      const text = ok(await vouch('copy', `oci:${layoutDir}:v1`, destinationRef));
      assert.equal(text.stdout, `${digest}\n`);
      assert.match(text.stderr, /3 attachment\(s\) copied:/);
      assert.ok(text.stderr.includes(`${tags[0]} ${atSource[0]?.digest}`), text.stderr);

      const layout = await openLayout(layoutDir, { create: false });
      const destination = client.repository('attach/destination');
      for (const [i, tag] of tags.entries()) {
        assert.equal((await layout.resolve({ tag })).digest, atSource[i]?.digest, tag);
        assert.equal((await destination.resolve({ tag })).digest, atSource[i]?.digest, tag);
      }
      ok(await vouch('verify', '--key', pub, destinationRef));
      ok(await vouch('verify', '--key', pub, `oci:${layoutDir}:v1`));
      ok(await vouch('verify-attestation', '--key', pub, '--type', 'spdxjson', destinationRef));
    });

    it('--no-attachments copies the image alone', async () => {
      const source = client.repository('attach/bare-source');
      const image = await buildImage(source, { tag: 'v1' });
      ok(await vouch('sign', '--key', key, `${registry.host}/attach/bare-source:v1`));
      const destinationRef = `${registry.host}/attach/bare:v1`;
      const summary = parseSummary(
        await vouch(
          'copy',
          '--no-attachments',
          '-o',
          'json',
          `${registry.host}/attach/bare-source:v1`,
          destinationRef,
        ),
      );
      assert.equal(summary.digest, image.descriptor.digest);
      assert.deepEqual(summary.attachments, []);
      await assert.rejects(
        client
          .repository('attach/bare')
          .resolve({ tag: attachmentTag(image.descriptor.digest, 'sig') }),
        { code: 'MANIFEST_UNKNOWN' },
      );
      assert.equal((await vouch('verify', '--key', pub, destinationRef)).code, 1);
    });

    it("refuses to replace the destination's own signatures unless --force, writing no attachment", async () => {
      const source = client.repository('attach/theirs-source');
      const image = await buildImage(source, { tag: 'v1' });
      const sourceRef = `${registry.host}/attach/theirs-source:v1`;
      const destinationRef = `${registry.host}/attach/theirs:v1`;
      ok(await vouch('sign', '--key', key, sourceRef));
      // The destination already holds the image, signed there by someone else.
      ok(await vouch('copy', '--no-attachments', sourceRef, destinationRef));
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const otherKey = join(tmp, 'attachments-other.pem');
      await writeFile(otherKey, other.privateKey.export({ format: 'pem', type: 'pkcs8' }));
      ok(await vouch('sign', '--key', otherKey, destinationRef));
      const sigTag = attachmentTag(image.descriptor.digest, 'sig');
      const destination = client.repository('attach/theirs');
      const before = await destination.resolve({ tag: sigTag });

      const refused = await vouch('copy', sourceRef, destinationRef);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /already holds/);
      assert.match(refused.stderr, /--force/);
      assert.equal((await destination.resolve({ tag: sigTag })).digest, before.digest);

      ok(await vouch('copy', '--force', sourceRef, destinationRef));
      assert.equal(
        (await destination.resolve({ tag: sigTag })).digest,
        (await source.resolve({ tag: sigTag })).digest,
      );
      ok(await vouch('verify', '--key', pub, destinationRef));
    });

    it('carries the signatures of every platform of an index signed with --recursive', async () => {
      const source = client.repository('attach/index');
      const index = await buildIndex(source, { tag: 'v1', architectures: ['amd64', 'arm64'] });
      const ref = `${registry.host}/attach/index:v1`;
      ok(await vouch('sign', '--recursive', '--key', key, ref));
      const layoutDir = join(tmp, 'attachments-index');
      const summary = parseSummary(await vouch('copy', '-o', 'json', ref, `oci:${layoutDir}:v1`));
      const subjects = [index, ...index.children].map((m) => m.descriptor.digest);
      assert.deepEqual(
        summary.attachments.map((a) => [a.subject, a.kind]).sort(),
        subjects.map((subject) => [subject, 'sig']).sort(),
      );
      assert.equal(summary.attachments[0]?.subject, index.descriptor.digest);
      const layout = await openLayout(layoutDir, { create: false });
      for (const subject of subjects) {
        const tag = attachmentTag(subject, 'sig');
        assert.equal(
          (await layout.resolve({ tag })).digest,
          (await source.resolve({ tag })).digest,
          tag,
        );
        ok(await vouch('verify', '--key', pub, `oci:${layoutDir}@${subject}`));
      }
    });

    it('fails with the error category when an attachment cannot be copied (exit 1 for a tampered .sig layer)', async () => {
      const source = client.repository('attach/tamper');
      const image = await buildImage(source, { tag: 'v1' });
      const ref = `${registry.host}/attach/tamper:v1`;
      ok(await vouch('sign', '--key', key, ref));
      const layoutDir = join(tmp, 'attachments-tamper');
      ok(await vouch('copy', ref, `oci:${layoutDir}:v1`));
      const layout = await openLayout(layoutDir, { create: false });
      const sig = await layout.getManifest({ tag: attachmentTag(image.descriptor.digest, 'sig') });
      assert.equal(sig.kind, 'image');
      const layer = sig.kind === 'image' ? sig.manifest.layers[0] : undefined;
      assert.ok(layer !== undefined);
      const file = join(layoutDir, 'blobs', 'sha256', digestHex(layer.digest));
      const bytes = await readFile(file);
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      await writeFile(file, bytes);
      const run = await vouch('copy', `oci:${layoutDir}:v1`, `${registry.host}/attach/tampered:v1`);
      assert.equal(run.code, 1, run.stderr);
    });

    it('copies an unsigned image with no attachments', async () => {
      const source = client.repository('attach/unsigned');
      const image = await buildImage(source, { tag: 'v1' });
      const layoutDir = join(tmp, 'attachments-unsigned');
      const summary = parseSummary(
        await vouch(
          'copy',
          '-o',
          'json',
          `${registry.host}/attach/unsigned:v1`,
          `oci:${layoutDir}:v1`,
        ),
      );
      assert.equal(summary.digest, image.descriptor.digest);
      assert.deepEqual(summary.attachments, []);
      const layout = await openLayout(layoutDir, { create: false });
      assert.deepEqual(await layout.listTags(), ['v1']);
    });
  });

  describe('skopeo interoperability', () => {
    const skopeo = (args: readonly string[]) =>
      execFileP(SKOPEO, ['--insecure-policy', ...args], {
        timeout: 60_000,
        env: { ...process.env, HOME: tmp, REGISTRY_AUTH_FILE: join(tmp, 'skopeo-auth.json') },
      });

    it(
      'vouch reads a layout skopeo wrote from the registry, with the same digests',
      {
        skip: skopeoMissing,
      },
      async () => {
        const source = client.repository('skopeo/source');
        const index = await buildIndex(source, { tag: 'v1', architectures: ['amd64', 'arm64'] });
        const single = await buildImage(source, { tag: 'single' });
        const layoutDir = join(tmp, 'skopeo-wrote');
        await skopeo([
          'copy',
          '--all',
          '--preserve-digests',
          '--src-tls-verify=false',
          `docker://${registry.host}/skopeo/source:v1`,
          `oci:${layoutDir}:v1`,
        ]);
        // The layers are random bytes, which skopeo would otherwise compress (new digests).
        await skopeo([
          'copy',
          '--preserve-digests',
          '--src-tls-verify=false',
          `docker://${registry.host}/skopeo/source:single`,
          `oci:${layoutDir}:single`,
        ]);

        const layout = await openLayout(layoutDir, { create: false });
        assert.deepEqual(await layout.resolve({ tag: 'v1' }), index.descriptor);
        assert.deepEqual(await layout.resolve({ tag: 'single' }), single.descriptor);
        await assertHoldsIndex(layout, index, 'v1');
        const digest = await runVouch(
          ['digest', `oci:${layoutDir}:v1`, `oci:${layoutDir}:single`],
          {
            env,
          },
        );
        assert.equal(digest.code, 0, digest.stderr);
        assert.equal(digest.stdout, `${index.descriptor.digest}\n${single.descriptor.digest}\n`);
        // Every blob skopeo wrote reads back verified: vouch copies the whole layout on.
        const copied = parseSummary(
          await runVouch(
            [
              'copy',
              '-o',
              'json',
              `oci:${layoutDir}:v1`,
              `oci:${join(tmp, 'skopeo-wrote-copy')}:v1`,
            ],
            { env },
          ),
        );
        assert.equal(copied.digest, index.descriptor.digest);
        assert.equal(copied.blobs.copied, index.blobs.length);
      },
    );

    it(
      'skopeo pushes a layout vouch wrote, and vouch resolves the same digest',
      {
        skip: skopeoMissing,
      },
      async () => {
        const source = client.repository('skopeo/origin');
        const index = await buildIndex(source, { tag: 'v1', architectures: ['amd64', 'arm64'] });
        const layoutDir = join(tmp, 'vouch-wrote');
        const written = parseSummary(
          await runVouch(
            ['copy', '-o', 'json', `${registry.host}/skopeo/origin:v1`, `oci:${layoutDir}:v1`],
            { env },
          ),
        );
        assert.equal(written.digest, index.descriptor.digest);

        const { stdout } = await skopeo(['inspect', '--raw', `oci:${layoutDir}:v1`]);
        assert.equal(
          digestOf(Buffer.from(stdout)),
          index.descriptor.digest,
          'skopeo reads the same index bytes',
        );
        await skopeo([
          'copy',
          '--all',
          '--preserve-digests',
          '--dest-tls-verify=false',
          `oci:${layoutDir}:v1`,
          `docker://${registry.host}/skopeo/pushed:v1`,
        ]);

        const pushed = client.repository('skopeo/pushed');
        assert.deepEqual(await pushed.resolve({ tag: 'v1' }), index.descriptor);
        await assertHoldsIndex(pushed, index, 'v1');
        const digest = await runVouch(['digest', `${registry.host}/skopeo/pushed:v1`], { env });
        assert.equal(digest.code, 0, digest.stderr);
        assert.equal(digest.stdout, `${index.descriptor.digest}\n`);
      },
    );
  });
});
