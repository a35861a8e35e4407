/**
 * The registry client (`RegistryClient` / `RegistryRepository`) against a real
 * CNCF Distribution 2.8 registry on 127.0.0.1: blobs and manifests in both
 * media-type families, resolution by tag and digest, chunked uploads, tag
 * lists, deletion, the referrers tag-schema fallback and cross-repository
 * mounts. One registry serves the whole file; every test uses its own
 * repositories so tests do not see each other's content.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Digest, digestHex, digestOf } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
} from '../src/oci/media-types.ts';
import { copyImage } from '../src/registry/copy.ts';
import { RegistryClient, type RegistryClientOptions } from '../src/registry/distribution.ts';
import { HttpClient, type HttpRequest, type HttpResponse } from '../src/registry/http.ts';
import { referrersTag } from '../src/registry/referrers-tag.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { rejectsWith } from './helpers/assertions.ts';
import { buildImage, buildIndex, putBytes } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const encoder = new TextEncoder();

/** An HttpClient that remembers every request it sends (method and URL). */
class RecordingHttp extends HttpClient {
  readonly log: Array<{ readonly method: string; readonly url: URL }> = [];

  override async send(request: HttpRequest): Promise<HttpResponse> {
    this.log.push({ method: request.method, url: request.url });
    return super.send(request);
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Yields `bytes` in pieces of `size`, as a network stream would. */
async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size)
    yield bytes.subarray(offset, offset + size);
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function blobFile(registry: RunningRegistry, digest: Digest): string {
  const hex = digestHex(digest);
  return join(registry.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

describe('registry client against Distribution 2.8', () => {
  let registry: RunningRegistry;
  let http: RecordingHttp;
  let client: RegistryClient;
  const clients: HttpClient[] = [];

  /** A client of the shared registry with its own options (and its own auth state). */
  const clientWith = (options: Omit<RegistryClientOptions, 'http'>) =>
    new RegistryClient(registry.host, { http, ...options });

  before(async () => {
    registry = await startRegistry();
    http = new RecordingHttp({ retries: 0 });
    clients.push(http);
    client = new RegistryClient(registry.host, { http });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await registry?.stop();
  });

  it('pushes a blob and reads it back, verified, by digest', async () => {
    const repo = client.repository('blobs/plain');
    const bytes = randomBytes(10_000);
    const descriptor = await putBytes(repo, 'application/octet-stream', bytes);
    assert.equal(descriptor.digest, digestOf(bytes));
    assert.equal(await repo.hasBlob(descriptor), true);
    assert.deepEqual(await drain(await repo.getBlob(descriptor)), bytes);
    assert.deepEqual(Buffer.from(await repo.readBlob(descriptor, 10_000)), bytes);
    // readBlob refuses more than it was allowed, before reading.
    await rejectsWith(repo.readBlob(descriptor, 9_999), 'BLOB_TOO_LARGE', 'denied');

    const absent = { ...descriptor, digest: digestOf(randomBytes(8)) };
    assert.equal(await repo.hasBlob(absent), false);
    const error = await rejectsWith(repo.getBlob(absent), 'BLOB_UNKNOWN', 'invalid');
    assert.match(error.message, new RegExp(`${registry.host}/blobs/plain`));
  });

  it('refuses to upload a blob whose bytes do not match its descriptor, and stores nothing', async () => {
    const repo = client.repository('blobs/refused');
    const claimed = randomBytes(4096);
    const descriptor = {
      mediaType: 'application/octet-stream',
      digest: digestOf(claimed),
      size: claimed.byteLength,
    };
    // Monolithic upload (one streamed PUT): the check fails inside the request body.
    await rejectsWith(
      repo.putBlob(descriptor, once(randomBytes(4096))),
      'DIGEST_MISMATCH',
      'denied',
    );
    await rejectsWith(
      repo.putBlob({ ...descriptor, size: 4000 }, once(claimed)),
      'BLOB_TOO_LARGE',
      'denied',
    );
    // Chunked upload: the check fails between PATCHes.
    const chunked = clientWith({ chunkSize: 1024 }).repository('blobs/refused');
    await rejectsWith(
      chunked.putBlob(descriptor, pieces(randomBytes(4096), 1000)),
      'DIGEST_MISMATCH',
      'denied',
    );
    assert.equal(await repo.hasBlob(descriptor), false);
  });

  for (const { family, mediaType, listType, docker } of [
    { family: 'OCI', mediaType: OCI_MANIFEST, listType: OCI_INDEX, docker: false },
    { family: 'Docker', mediaType: DOCKER_MANIFEST, listType: DOCKER_MANIFEST_LIST, docker: true },
  ]) {
    it(`pushes and pulls ${family} manifests and indexes, resolving by tag (HEAD) and by digest`, async () => {
      const repo = client.repository(`manifests/${family.toLowerCase()}`);
      const image = await buildImage(repo, { tag: 'single', docker });
      assert.equal(image.descriptor.mediaType, mediaType);
      assert.equal(image.descriptor.digest, digestOf(image.bytes));
      assert.equal(image.descriptor.size, image.bytes.byteLength);

      const before = http.log.length;
      const byTag = await repo.resolve({ tag: 'single' });
      assert.deepEqual(
        http.log.slice(before).map((r) => `${r.method} ${r.url.pathname}`),
        [`HEAD /v2/${repo.name}/manifests/single`],
        'resolve by tag is one HEAD request',
      );
      assert.deepEqual(byTag, image.descriptor);
      assert.deepEqual(await repo.resolve({ digest: image.descriptor.digest }), image.descriptor);

      for (const target of [{ tag: 'single' }, { digest: image.descriptor.digest }]) {
        const pulled = await repo.getManifest(target);
        assert.equal(pulled.kind, 'image');
        assert.equal(pulled.mediaType, mediaType);
        assert.equal(pulled.digest, image.descriptor.digest);
        assert.deepEqual(Buffer.from(pulled.bytes), Buffer.from(image.bytes));
      }
      for (const blob of image.blobs) assert.equal(await repo.hasBlob(blob), true);

      const index = await buildIndex(repo, {
        tag: 'multi',
        docker,
        architectures: ['amd64', 'arm64'],
      });
      const resolved = await repo.resolve({ tag: 'multi' });
      assert.deepEqual(resolved, {
        mediaType: listType,
        digest: digestOf(index.bytes),
        size: index.bytes.byteLength,
      });
      const pulled = await repo.getManifest({ digest: resolved.digest });
      assert.equal(pulled.kind, 'index');
      assert.deepEqual(Buffer.from(pulled.bytes), Buffer.from(index.bytes));
      if (pulled.kind === 'index') {
        assert.deepEqual(
          pulled.manifest.manifests.map((d) => d.digest),
          index.children.map((c) => c.descriptor.digest),
        );
      }
      for (const child of index.children) {
        const got = await repo.getManifest({ digest: child.descriptor.digest });
        assert.equal(got.mediaType, mediaType);
        assert.deepEqual(Buffer.from(got.bytes), Buffer.from(child.bytes));
      }
    });
  }

  it('getManifest by digest checks the bytes the registry serves against the digest', async () => {
    const repo = client.repository('manifests/tampered');
    const image = await buildImage(repo, { tag: 'v1' });
    // Rewrite what the registry stored, keeping valid JSON of another digest.
    const file = blobFile(registry, image.descriptor.digest);
    const stored = await readFile(file, 'utf8');
    await writeFile(file, stored.replace('"schemaVersion":2', '"schemaVersion": 2'));

    const error = await rejectsWith(
      repo.getManifest({ digest: image.descriptor.digest }),
      'DIGEST_MISMATCH',
      'denied',
    );
    assert.match(error.message, new RegExp(`${registry.host}/manifests/tampered`));
    assert.ok(error.message.includes(image.descriptor.digest));
    // By tag there is nothing to compare with: the digest is that of the bytes received.
    const byTag = await repo.getManifest({ tag: 'v1' });
    assert.notEqual(byTag.digest, image.descriptor.digest);
    assert.equal(byTag.digest, digestOf(byTag.bytes));
  });

  it('getBlob fails the stream when the registry serves bytes that do not hash to the digest', async () => {
    const repo = client.repository('blobs/tampered');
    const image = await buildImage(repo, { layers: 1, layerSize: 50_000 });
    const layer = image.blobs[1] as Descriptor;
    const file = blobFile(registry, layer.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    await rejectsWith(drain(await repo.getBlob(layer)), 'DIGEST_MISMATCH', 'denied');
    await rejectsWith(repo.readBlob(layer, 1 << 20), 'DIGEST_MISMATCH', 'denied');
  });

  it('uploads a blob larger than the chunk size in PATCH chunks and reads it back verified', async () => {
    const chunkSize = 64 * 1024;
    const repo = clientWith({ chunkSize }).repository('blobs/chunked');
    const bytes = randomBytes(300 * 1024);
    const descriptor = {
      mediaType: 'application/octet-stream',
      digest: digestOf(bytes),
      size: bytes.byteLength,
    };
    const before = http.log.length;
    // Pieces that do not line up with the chunk size, as a network stream delivers them.
    await repo.putBlob(descriptor, pieces(bytes, 10_000));
    const requests = http.log.slice(before);
    const patches = requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, Math.ceil(bytes.byteLength / chunkSize), 'one PATCH per chunk');
    const puts = requests.filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 1, 'one closing PUT');
    assert.equal(puts[0]?.url.searchParams.get('digest'), descriptor.digest);

    assert.equal(await repo.hasBlob(descriptor), true);
    assert.deepEqual(await drain(await repo.getBlob(descriptor)), bytes);
    // A blob at most one chunk long still goes up in a single PUT.
    const small = randomBytes(chunkSize);
    const mark = http.log.length;
    await putBytes(repo, 'application/octet-stream', small);
    assert.equal(http.log.slice(mark).filter((r) => r.method === 'PATCH').length, 0);
  });

  it('lists every tag of a repository, asking for pages of tagPageSize', async () => {
    const repo = clientWith({ tagPageSize: 2 }).repository('tags/five');
    const image = await buildImage(repo);
    const tags = ['t1', 't2', 't3', 't4', 't5'];
    for (const tag of tags) await repo.putManifest(image.bytes, OCI_MANIFEST, tag);
    const before = http.log.length;
    assert.deepEqual((await repo.listTags()).sort(), tags);
    const listRequests = http.log.slice(before);
    assert.ok(listRequests.length >= 1);
    for (const request of listRequests) {
      assert.equal(request.url.pathname, `/v2/${repo.name}/tags/list`);
      assert.equal(request.url.searchParams.get('n'), '2');
    }
  });

  it('follows Link pagination of the tag list (Distribution 2.8 behind a paginating proxy)', async () => {
    // Distribution 2.8 ignores `n` and answers in one page; distribution-spec
    // (and Distribution 3) pages with `n`, `last` and `Link: <...>; rel="next"`.
    // This proxy, on 127.0.0.1, pages the real registry's answer that way.
    const requests: string[] = [];
    const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://proxy');
        requests.push(`${req.method} ${url.pathname}${url.search}`);
        if (req.method !== 'GET') {
          res.writeHead(405).end();
          return;
        }
        const match = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
        const upstream = await fetch(`${registry.url}${url.pathname}${match ? '' : url.search}`);
        const body = Buffer.from(await upstream.arrayBuffer());
        if (!match || upstream.status !== 200) {
          res.writeHead(upstream.status, {
            'content-type': upstream.headers.get('content-type') ?? 'text/plain',
          });
          res.end(body);
          return;
        }
        const all = ((JSON.parse(body.toString()) as { tags: string[] }).tags ?? []).sort();
        const n = Number(url.searchParams.get('n') ?? all.length);
        const last = url.searchParams.get('last');
        const rest = last === null ? all : all.filter((t) => t > last);
        const page = rest.slice(0, n);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (rest.length > n) {
          const next = new URLSearchParams({ n: String(n), last: page.at(-1) ?? '' });
          headers.link = `<${url.pathname}?${next}>; rel="next"`;
        }
        res.writeHead(200, headers).end(JSON.stringify({ name: match[1], tags: page }));
      })().catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const repo = client.repository('tags/paged');
      const image = await buildImage(repo);
      const tags = ['t1', 't2', 't3', 't4', 't5'];
      for (const tag of tags) await repo.putManifest(image.bytes, OCI_MANIFEST, tag);

      const { port } = proxy.address() as AddressInfo;
      const viaProxy = new RegistryClient(`127.0.0.1:${port}`, { http, tagPageSize: 2 });
      assert.deepEqual(await viaProxy.repository('tags/paged').listTags(), tags);
      assert.deepEqual(
        requests.filter((r) => r.includes('/tags/list')),
        [
          'GET /v2/tags/paged/tags/list?n=2',
          'GET /v2/tags/paged/tags/list?n=2&last=t2',
          'GET /v2/tags/paged/tags/list?n=2&last=t4',
        ],
      );
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('deletes a manifest by digest: digest and tag then resolve to MANIFEST_UNKNOWN', async () => {
    const repo = client.repository('delete/me');
    const kept = await buildImage(repo, { tag: 'kept' });
    const doomed = await buildImage(repo, { tag: 'doomed' });
    await repo.deleteManifest(doomed.descriptor.digest);

    const error = await rejectsWith(
      repo.resolve({ digest: doomed.descriptor.digest }),
      'MANIFEST_UNKNOWN',
      'invalid',
    );
    assert.ok(error.message.includes(`${registry.host}/delete/me`), error.message);
    await rejectsWith(repo.resolve({ tag: 'doomed' }), 'MANIFEST_UNKNOWN', 'invalid');
    await rejectsWith(
      repo.getManifest({ digest: doomed.descriptor.digest }),
      'MANIFEST_UNKNOWN',
      'invalid',
    );
    assert.deepEqual(await repo.listTags(), ['kept']);
    assert.deepEqual(await repo.resolve({ tag: 'kept' }), kept.descriptor);
    // Deleting what is gone is the caller's mistake.
    await rejectsWith(repo.deleteManifest(doomed.descriptor.digest), 'MANIFEST_UNKNOWN', 'invalid');
  });

  it('names the registry and repository when a repository or tag is unknown', async () => {
    const missing = client.repository('no/such/repo');
    const where = `${registry.host}/no/such/repo`;
    for (const attempt of [
      () => missing.resolve({ tag: 'v1' }),
      () => missing.getManifest({ tag: 'v1' }),
      () => missing.resolve({ digest: digestOf(randomBytes(8)) }),
    ]) {
      const error = await rejectsWith(attempt(), 'MANIFEST_UNKNOWN', 'invalid');
      assert.ok(error.message.includes(where), error.message);
    }
    const tags = await rejectsWith(missing.listTags(), 'NAME_UNKNOWN', 'invalid');
    assert.ok(tags.message.includes(where), tags.message);

    const repo = client.repository('known/repo');
    await buildImage(repo, { tag: 'v1' });
    const error = await rejectsWith(repo.getManifest({ tag: 'v2' }), 'MANIFEST_UNKNOWN', 'invalid');
    assert.ok(error.message.includes(`${registry.host}/known/repo`), error.message);
    assert.ok(error.message.includes('"v2"'), error.message);
  });

  describe('referrers (tag-schema fallback: Distribution 2.8 has no referrers API)', () => {
    const SIGNATURE = 'application/vnd.example.signature.v1';
    const SBOM = 'application/vnd.example.sbom.v1';

    /** Pushes an artifact manifest whose subject is `subject`; returns its descriptor as listed. */
    async function pushReferrer(
      repo: ImageStore,
      subject: Descriptor,
      artifactType: string,
      note: string,
    ): Promise<Descriptor> {
      const config = await putBytes(repo, OCI_EMPTY, encoder.encode('{}'));
      const layer = await putBytes(repo, 'application/vnd.example.payload', encoder.encode(note));
      const annotations = { 'org.example.note': note };
      const bytes = encoder.encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType,
          config,
          layers: [layer],
          subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
          annotations,
        }),
      );
      const pushed = await repo.putManifest(bytes, OCI_MANIFEST);
      assert.equal(pushed.digest, digestOf(bytes));
      return {
        mediaType: OCI_MANIFEST,
        digest: pushed.digest,
        size: bytes.byteLength,
        artifactType,
        annotations,
      };
    }

    it('creates the sha256-<hex> index tag, lists and filters referrers, and keeps earlier ones', async () => {
      const repo = client.repository('referrers/app');
      const subject = (await buildImage(repo, { tag: 'v1' })).descriptor;
      const fallbackTag = `sha256-${digestHex(subject.digest)}`;
      assert.equal(referrersTag(subject.digest), fallbackTag);
      assert.deepEqual(await repo.referrers(subject.digest), [], 'no referrers yet');
      await rejectsWith(repo.resolve({ tag: fallbackTag }), 'MANIFEST_UNKNOWN', 'invalid');

      const signature = await pushReferrer(repo, subject, SIGNATURE, 'first');

      // The fallback tag holds an OCI index listing the referrer with its artifactType and annotations.
      assert.ok((await repo.listTags()).includes(fallbackTag));
      const index = await repo.getManifest({ tag: fallbackTag });
      assert.equal(index.kind, 'index');
      assert.equal(index.mediaType, OCI_INDEX);
      assert.deepEqual(index.kind === 'index' ? index.manifest.manifests : undefined, [signature]);

      assert.deepEqual(await repo.referrers(subject.digest), [signature]);
      assert.deepEqual(await repo.referrers(subject.digest, SIGNATURE), [signature]);
      assert.deepEqual(await repo.referrers(subject.digest, SBOM), []);

      const sbom = await pushReferrer(repo, subject, SBOM, 'second');
      const both = await repo.referrers(subject.digest);
      assert.equal(both.length, 2, 'the second referrer is added, the first kept');
      assert.deepEqual(
        [...both].sort((a, b) => (a.digest < b.digest ? -1 : 1)),
        [signature, sbom].sort((a, b) => (a.digest < b.digest ? -1 : 1)),
      );
      assert.deepEqual(await repo.referrers(subject.digest, SIGNATURE), [signature]);
      assert.deepEqual(await repo.referrers(subject.digest, SBOM), [sbom]);

      // Pushing a referrer again does not list it twice.
      await pushReferrer(repo, subject, SIGNATURE, 'first');
      assert.equal((await repo.referrers(subject.digest)).length, 2);
      // The subject itself is untouched.
      assert.deepEqual(await repo.resolve({ tag: 'v1' }), subject);
    });

    it('asks a repository without the API once, then the fallback tag directly until the memory expires', async () => {
      let now = 0;
      const remembering = clientWith({ now: () => now });
      const apiProbes = () =>
        http.log.filter(
          (r) =>
            r.method === 'GET' &&
            /^\/v2\/referrers\/(?:remembered|other)\/referrers\//.test(r.url.pathname),
        ).length;
      const repo = remembering.repository('referrers/remembered');
      const subject = (await buildImage(repo, { tag: 'v1' })).descriptor;
      const signature = await pushReferrer(repo, subject, SIGNATURE, 'first');

      const start = apiProbes();
      assert.deepEqual(await repo.referrers(subject.digest, SIGNATURE), [signature]);
      assert.equal(apiProbes() - start, 1, 'the first listing asks the API');
      for (const _ of [1, 2, 3]) {
        assert.deepEqual(await remembering.repository(repo.name).referrers(subject.digest), [
          signature,
        ]);
      }
      assert.equal(apiProbes() - start, 1, 'later listings read the fallback tag only');

      await remembering.repository('referrers/other').referrers(subject.digest);
      assert.equal(apiProbes() - start, 2, 'another repository is asked itself');

      now += 5 * 60 * 1000;
      assert.deepEqual(await repo.referrers(subject.digest), [signature]);
      assert.equal(apiProbes() - start, 3, 'after five minutes the API is asked again');
    });
  });

  it('copies between two repositories of one registry by mounting blobs', async () => {
    const source = client.repository('mount/source');
    const destination = client.repository('mount/destination');
    const index = await buildIndex(source, { tag: 'v1', architectures: ['amd64', 'arm64'] });

    const before = http.log.length;
    const result = await copyImage(source, { tag: 'v1' }, destination, { tag: 'v1' });
    assert.equal(result.descriptor.digest, index.descriptor.digest);
    assert.equal(result.manifests, 3);
    assert.deepEqual(result.blobs, {
      copied: 0,
      mounted: index.blobs.length,
      present: 0,
      'skipped-foreign': 0,
    });
    assert.equal(result.bytes, 0, 'no blob bytes travelled');
    const requests = http.log.slice(before);
    assert.equal(
      requests.filter(
        (r) => r.method === 'POST' && r.url.searchParams.get('from') === 'mount/source',
      ).length,
      index.blobs.length,
    );
    assert.equal(requests.filter((r) => r.method === 'PATCH').length, 0);

    assert.deepEqual(await destination.resolve({ tag: 'v1' }), index.descriptor);
    for (const blob of index.blobs) {
      const bytes = await destination.readBlob(blob, blob.size);
      assert.equal(digestOf(bytes), blob.digest);
    }

    const again = await copyImage(source, { tag: 'v1' }, destination, { tag: 'v1' });
    assert.deepEqual(again.blobs, {
      copied: 0,
      mounted: 0,
      present: index.blobs.length,
      'skipped-foreign': 0,
    });
  });
});
