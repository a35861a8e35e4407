/**
 * The referrers fallback tag (`sha256-<hex>`, an image index listing the
 * manifests whose `subject` is the image) is a read-modify-write of a tag.
 * Writers at the same time, on a registry without the referrers API
 * (Distribution 2.8) and on an OCI layout, must all end up listed: no writer
 * may replace an index holding another's entry with one that lacks it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Digest } from '../src/oci/digest.ts';
import type { Descriptor } from '../src/oci/manifest.ts';
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from '../src/oci/media-types.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import {
  addToReferrersTag,
  readReferrersTag,
  referrersTag,
} from '../src/registry/referrers-tag.ts';
import type { ImageStore } from '../src/registry/store.ts';
import { buildImage, putBytes } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const encoder = new TextEncoder();

/** A small referrer of `subject` with its blobs stored; returns its bytes and descriptor. */
async function referrerOf(store: ImageStore, subject: Descriptor) {
  const config = await putBytes(store, OCI_EMPTY, encoder.encode('{}'));
  const layer = await putBytes(store, 'application/octet-stream', randomBytes(32));
  const bytes = encoder.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.test',
      config,
      layers: [layer],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  return bytes;
}

async function listed(store: ImageStore, subject: Digest): Promise<Set<Digest>> {
  return new Set((await readReferrersTag(store, subject)).map((d) => d.digest));
}

describe('the referrers fallback tag with concurrent writers', () => {
  let registry: RunningRegistry;
  let tmp: string;
  const https: HttpClient[] = [];

  /** A client of its own, as another process would have. */
  const repository = (name: string) => {
    const http = new HttpClient({ retries: 0 });
    https.push(http);
    return new RegistryClient(registry.host, { http }).repository(name);
  };

  before(async () => {
    [registry, tmp] = await Promise.all([
      startRegistry(),
      mkdtemp(join(tmpdir(), 'vouch-referrers-tag-')),
    ]);
  });

  after(async () => {
    await Promise.all(https.map((http) => http.close()));
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('lists every referrer pushed at once to a registry without the referrers API', async () => {
    const writers = Array.from({ length: 8 }, () => repository('referrers/concurrent'));
    const image = await buildImage(writers[0] as ImageStore, { tag: 'v1' });
    const referrers = await Promise.all(
      writers.map((store) => referrerOf(store, image.descriptor)),
    );
    const pushed = await Promise.all(
      writers.map((store, i) => store.putManifest(referrers[i] as Uint8Array, OCI_MANIFEST)),
    );
    const found = await listed(writers[0] as ImageStore, image.descriptor.digest);
    for (const descriptor of pushed) assert.ok(found.has(descriptor.digest), descriptor.digest);
    assert.equal(found.size, pushed.length);
  });

  it('adds its entry again when a write based on an older index lands after its own', async () => {
    const store = repository('referrers/late');
    const image = await buildImage(store, { tag: 'v1' });
    const subject = image.descriptor.digest;
    const tag = referrersTag(subject);
    const mine = await store.putManifest(await referrerOf(store, image.descriptor), OCI_MANIFEST);
    // What another writer that read the index before this one's write would write.
    const stale = encoder.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ ...mine, artifactType: 'application/vnd.example.test' }],
      }),
    );
    let late: Promise<unknown> | undefined;
    const racing: ImageStore = {
      location: store.location,
      resolve: (target) => store.resolve(target),
      getManifest: (target) => store.getManifest(target),
      putManifest: async (bytes, mediaType, putTag) => {
        const written = await store.putManifest(bytes, mediaType, putTag);
        // The other writer's PUT lands just after this one's, once.
        if (putTag === tag && late === undefined) late = store.putManifest(stale, OCI_INDEX, tag);
        return written;
      },
      deleteManifest: (digest) => store.deleteManifest(digest),
      listTags: () => store.listTags(),
      hasBlob: (descriptor) => store.hasBlob(descriptor),
      getBlob: (descriptor) => store.getBlob(descriptor),
      readBlob: (descriptor, max) => store.readBlob(descriptor, max),
      putBlob: (descriptor, content) => store.putBlob(descriptor, content),
      referrers: (digest, artifactType) => store.referrers(digest, artifactType),
    };
    const theirs = await store.putManifest(await referrerOf(store, image.descriptor), OCI_MANIFEST);
    // Back to the index before `theirs` was listed, then `theirs` added by the racing writer.
    await store.putManifest(stale, OCI_INDEX, tag);
    await addToReferrersTag(racing, subject, theirs);
    await late;
    assert.deepEqual(await listed(store, subject), new Set([mine.digest, theirs.digest]));
  });

  it('lists every referrer pushed at once to an OCI layout by separate openers', async () => {
    const path = join(tmp, 'layout');
    const first = await openLayout(path, { create: true });
    const image = await buildImage(first, { tag: 'v1' });
    const writers = await Promise.all(
      Array.from({ length: 8 }, () => openLayout(path, { create: false })),
    );
    const referrers = await Promise.all(
      writers.map((store) => referrerOf(store, image.descriptor)),
    );
    const pushed = await Promise.all(
      writers.map((store, i) => store.putManifest(referrers[i] as Uint8Array, OCI_MANIFEST)),
    );
    const found = await listed(first, image.descriptor.digest);
    for (const descriptor of pushed) assert.ok(found.has(descriptor.digest), descriptor.digest);
  });
});
