import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { rejectsWith } from '../../test/helpers/assertions.ts';
import { type Digest, digestHex, digestOf } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.ts';
import { REF_NAME_ANNOTATION } from './layout-index-json.ts';
import { OCILayoutStore, openLayout } from './layout.ts';
import { addToReferrersTag, referrersTag } from './referrers-tag.ts';
import { collect } from './verified-content.ts';

const run = promisify(execFile);
const encoder = new TextEncoder();
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

let scratch = '';
let counter = 0;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vouch-layout-'));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function freshPath(): string {
  counter += 1;
  return join(scratch, `layout-${counter}`);
}

async function freshLayout(options: { maxManifestBytes?: number; lockTimeoutMs?: number } = {}) {
  const path = freshPath();
  return { path, store: await openLayout(path, { create: true, ...options }) };
}

function describeBytes(bytes: Uint8Array, mediaType: string): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
}

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  return collect(stream, Number.MAX_SAFE_INTEGER, () => new Error('unreachable'));
}

/** Byte equality, whether either side is a Buffer or a plain Uint8Array. */
function assertBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), 'bytes differ');
}

function blobPath(layout: string, digest: Digest): string {
  return join(layout, 'blobs', 'sha256', digestHex(digest));
}

/** An empty tar (two zero blocks), gzipped: a real layer skopeo can copy without recompressing. */
const TAR = new Uint8Array(1024);
const LAYER = new Uint8Array(gzipSync(TAR));

/** Writes a config and one layer and returns the bytes of a manifest referring to them. */
async function writeImage(store: OCILayoutStore, label = 'x'): Promise<Uint8Array> {
  const config = encoder.encode(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { label } },
      rootfs: { type: 'layers', diff_ids: [digestOf(TAR)] },
    }),
  );
  const configDescriptor = describeBytes(config, OCI_CONFIG);
  const layerDescriptor = describeBytes(LAYER, LAYER_TYPE);
  await store.putBlob(configDescriptor, chunks(config));
  await store.putBlob(layerDescriptor, chunks(LAYER));
  return encoder.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: configDescriptor,
      layers: [layerDescriptor],
    }),
  );
}

function manifestBytes(label: string, extra: Record<string, unknown> = {}): Uint8Array {
  const empty = encoder.encode('{}');
  return encoder.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: describeBytes(empty, 'application/vnd.oci.empty.v1+json'),
      layers: [],
      annotations: { label },
      ...extra,
    }),
  );
}

async function readIndexJson(
  path: string,
): Promise<{ manifests: Descriptor[] } & Record<string, unknown>> {
  return JSON.parse(await readFile(join(path, 'index.json'), 'utf8'));
}

describe('openLayout', () => {
  test('creates oci-layout, blobs/ and an empty index.json', async () => {
    const { path, store } = await freshLayout();
    assert.equal(store.location, `oci:${path}`);
    assert.equal(
      await readFile(join(path, 'oci-layout'), 'utf8'),
      '{"imageLayoutVersion":"1.0.0"}',
    );
    assert.equal(
      await readFile(join(path, 'index.json'), 'utf8'),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
    );
    assert.ok(existsSync(join(path, 'blobs')));
    assert.deepEqual(await store.listTags(), []);
    // Opening again, with or without create, keeps what is there.
    await store.putManifest(manifestBytes('a'), OCI_MANIFEST, 'a');
    assert.deepEqual(await (await openLayout(path, { create: true })).listTags(), ['a']);
    assert.deepEqual(await (await openLayout(path, { create: false })).listTags(), ['a']);
  });

  test('a missing layout is LAYOUT_NOT_FOUND', async () => {
    const path = freshPath();
    const error = await rejectsWith(
      openLayout(path, { create: false }),
      'LAYOUT_NOT_FOUND',
      'invalid',
    );
    assert.match(error.message, new RegExp(path));
    await rejectsWith(new OCILayoutStore(path).listTags(), 'LAYOUT_NOT_FOUND', 'invalid');
    await rejectsWith(
      new OCILayoutStore(path).putManifest(manifestBytes('a'), OCI_MANIFEST, 'a'),
      'LAYOUT_NOT_FOUND',
    );
  });

  test('a directory that is not a layout is LAYOUT_INVALID', async () => {
    const path = freshPath();
    await mkdir(path);
    await rejectsWith(openLayout(path, { create: false }), 'LAYOUT_INVALID', 'invalid');
    await writeFile(join(path, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    const error = await rejectsWith(
      openLayout(path, { create: false }),
      'LAYOUT_INVALID',
      'invalid',
    );
    assert.match(error.message, /2\.0\.0/);
    await rejectsWith(openLayout(path, { create: true }), 'LAYOUT_INVALID', 'invalid');
    await writeFile(join(path, 'oci-layout'), 'not json');
    await rejectsWith(openLayout(path, { create: false }), 'LAYOUT_INVALID');
    await writeFile(join(path, 'oci-layout'), '{"imageLayoutVersion":1}');
    await rejectsWith(openLayout(path, { create: false }), 'LAYOUT_INVALID');
    await writeFile(join(path, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await rejectsWith(openLayout(path, { create: false }), 'LAYOUT_INVALID'); // no index.json
    const file = join(scratch, `plain-file-${counter}`);
    await writeFile(file, 'x');
    await rejectsWith(openLayout(file, { create: false }), 'LAYOUT_INVALID');
    await rejectsWith(openLayout(file, { create: true }), 'LAYOUT_INVALID', 'invalid');
  });

  test('index.json is validated strictly', async () => {
    const { path } = await freshLayout();
    const bad = [
      '[]',
      '{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"sha256:../../../etc/passwd","size":1}]}',
      '{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"sha256:00","size":1}]}',
      '{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"sha256:00","size":-1}]}',
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","manifests":[]}`,
      '{"schemaVersion":2,"config":{},"layers":[]}',
      `{"schemaVersion":2,"manifests":[{"mediaType":"${OCI_MANIFEST}","digest":"${digestOf(new Uint8Array())}","size":0,"annotations":{"${REF_NAME_ANNOTATION}":5}}]}`,
    ];
    for (const text of bad) {
      await writeFile(join(path, 'index.json'), text);
      await rejectsWith(openLayout(path, { create: false }), 'MANIFEST_INVALID', 'denied');
    }
  });

  test('a deeply nested index.json is refused at the depth cap', { timeout: 60_000 }, async () => {
    const { path } = await freshLayout();
    // Just under the 16 MiB index.json cap.
    const half = 8 * 1024 * 1024 - 64;
    const prefix = '{"schemaVersion":2,"manifests":[],"x":';
    await writeFile(join(path, 'index.json'), `${prefix}${'['.repeat(half)}${']'.repeat(half)}}`);
    const error = await rejectsWith(
      openLayout(path, { create: false }),
      'MANIFEST_INVALID',
      'denied',
    );
    // index.json is level 1: the 64th bracket is level 65.
    assert.match(
      error.message,
      new RegExp(`nesting deeper than 64 at offset ${prefix.length + 63}$`),
    );
    // Reading and decoding 16 MiB is all it costs; parsing it took 29 s and 1.4 GB.
  });
});

describe('blobs', () => {
  test('round trip: putBlob, hasBlob, getBlob, readBlob', async () => {
    const { path, store } = await freshLayout();
    const content = encoder.encode('hello, layout');
    const descriptor = describeBytes(content, 'application/octet-stream');
    assert.equal(await store.hasBlob(descriptor), false);
    await rejectsWith(store.getBlob(descriptor), 'BLOB_UNKNOWN', 'invalid');
    await store.putBlob(descriptor, chunks(content.subarray(0, 5), content.subarray(5)));
    assert.equal(await store.hasBlob(descriptor), true);
    assert.equal(await store.hasBlob({ ...descriptor, size: 3 }), false);
    assert.deepEqual(await readFile(blobPath(path, descriptor.digest)), Buffer.from(content));
    assertBytes(await readAll(await store.getBlob(descriptor)), content);
    assertBytes(await store.readBlob(descriptor, 1024), content);
    assert.deepEqual(await readdir(join(path, 'blobs', 'sha256')), [digestHex(descriptor.digest)]);
  });

  test('an existing blob is not rewritten and its source is not read', async () => {
    const { store } = await freshLayout();
    const content = encoder.encode('already there');
    const descriptor = describeBytes(content, 'application/octet-stream');
    await store.putBlob(descriptor, chunks(content));
    let read = false;
    let closed = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        read = true;
        yield content;
      } finally {
        closed = true;
      }
    }
    await store.putBlob(descriptor, source());
    assert.equal(read, false);
    assert.equal(closed, false); // never started, so nothing to close
    assertBytes(await store.readBlob(descriptor, 100), content);
  });

  test('putBlob with wrong content leaves nothing under the digest and no temporary file', async () => {
    const { path, store } = await freshLayout();
    const content = encoder.encode('the real content');
    const descriptor = describeBytes(content, 'application/octet-stream');
    const blobs = join(path, 'blobs', 'sha256');
    const cases: Array<[AsyncIterable<Uint8Array>, string]> = [
      [chunks(encoder.encode('the fake content')), 'DIGEST_MISMATCH'],
      [chunks(content, encoder.encode('!')), 'BLOB_TOO_LARGE'],
      [chunks(content.subarray(0, 4)), 'BLOB_SIZE_MISMATCH'],
    ];
    for (const [source, code] of cases) {
      await rejectsWith(store.putBlob(descriptor, source), code, 'denied');
      assert.equal(existsSync(blobPath(path, descriptor.digest)), false);
      assert.deepEqual(await readdir(blobs), []);
    }
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield content.subarray(0, 4);
      throw new Error('connection reset');
    }
    await assert.rejects(store.putBlob(descriptor, failing()), /connection reset/);
    assert.deepEqual(await readdir(blobs), []);
    assert.equal(await store.hasBlob(descriptor), false);
  });

  test('a tampered blob fails getBlob and readBlob with DIGEST_MISMATCH naming the file', async () => {
    const { path, store } = await freshLayout();
    const content = encoder.encode('original bytes');
    const descriptor = describeBytes(content, 'application/octet-stream');
    await store.putBlob(descriptor, chunks(content));
    const file = blobPath(path, descriptor.digest);
    await writeFile(file, 'tampered bytes');
    const stream = await store.getBlob(descriptor);
    const error = await rejectsWith(readAll(stream), 'DIGEST_MISMATCH', 'denied');
    assert.ok(error.message.includes(file), error.message);
    const again = await rejectsWith(store.readBlob(descriptor, 100), 'DIGEST_MISMATCH', 'denied');
    assert.ok(again.message.includes(file), again.message);
  });

  test('a truncated or extended blob is refused before it is read', async () => {
    const { path, store } = await freshLayout();
    const content = encoder.encode('0123456789');
    const descriptor = describeBytes(content, 'application/octet-stream');
    await store.putBlob(descriptor, chunks(content));
    const file = blobPath(path, descriptor.digest);
    await writeFile(file, '01234');
    await rejectsWith(store.getBlob(descriptor), 'BLOB_SIZE_MISMATCH', 'denied');
    await rejectsWith(store.readBlob(descriptor, 100), 'BLOB_SIZE_MISMATCH', 'denied');
    assert.equal(await store.hasBlob(descriptor), false);
    await writeFile(file, '0123456789abc');
    await rejectsWith(store.getBlob(descriptor), 'BLOB_TOO_LARGE', 'denied');
    await rejectsWith(store.readBlob(descriptor, 100), 'BLOB_TOO_LARGE', 'denied');
    await writeFile(file, content);
    await rejectsWith(store.readBlob(descriptor, 9), 'BLOB_TOO_LARGE', 'denied');
  });

  test('digests that are not digests never become paths', async () => {
    const { store } = await freshLayout();
    const bogus = { mediaType: 'a/b', digest: 'sha256:../../etc/passwd' as Digest, size: 1 };
    await rejectsWith(store.hasBlob(bogus), 'INVALID_DIGEST', 'invalid');
    await rejectsWith(store.getBlob(bogus), 'INVALID_DIGEST');
    await rejectsWith(store.putBlob(bogus, chunks(new Uint8Array(1))), 'INVALID_DIGEST');
    await rejectsWith(store.getManifest({ digest: bogus.digest }), 'INVALID_DIGEST');
  });
});

describe('manifests', () => {
  test('round trip by tag and by digest, with the bytes kept exactly', async () => {
    const { path, store } = await freshLayout();
    const bytes = await writeImage(store);
    const descriptor = await store.putManifest(bytes, OCI_MANIFEST, 'v1');
    assert.deepEqual(descriptor, {
      mediaType: OCI_MANIFEST,
      digest: digestOf(bytes),
      size: bytes.byteLength,
    });
    const byTag = await store.getManifest({ tag: 'v1' });
    assert.equal(byTag.kind, 'image');
    assertBytes(byTag.bytes, bytes);
    assert.equal(byTag.digest, descriptor.digest);
    const byDigest = await store.getManifest({ digest: descriptor.digest });
    assertBytes(byDigest.bytes, bytes);
    assert.deepEqual(await store.resolve({ tag: 'v1' }), descriptor);
    assert.deepEqual(await store.resolve({ digest: descriptor.digest }), descriptor);
    assert.deepEqual(await readIndexJson(path), {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...descriptor, annotations: { [REF_NAME_ANNOTATION]: 'v1' } }],
    });
    const error = await rejectsWith(
      store.getManifest({ tag: 'nope' }),
      'MANIFEST_UNKNOWN',
      'invalid',
    );
    assert.equal(error.message, `tag "nope" not found in oci:${path}`);
    const missing = digestOf(encoder.encode('missing'));
    await rejectsWith(store.getManifest({ digest: missing }), 'MANIFEST_UNKNOWN', 'invalid');
  });

  test('a tag is replaced in place, one descriptor per tag; listTags keeps index.json order', async () => {
    const { path, store } = await freshLayout();
    const first = await store.putManifest(manifestBytes('1'), OCI_MANIFEST, 'b');
    await store.putManifest(manifestBytes('2'), OCI_MANIFEST, 'a');
    await store.putManifest(manifestBytes('3'), OCI_MANIFEST, 'c');
    assert.deepEqual(await store.listTags(), ['b', 'a', 'c']);
    const replaced = await store.putManifest(manifestBytes('4'), OCI_MANIFEST, 'b');
    assert.notEqual(replaced.digest, first.digest);
    assert.deepEqual(await store.listTags(), ['b', 'a', 'c']);
    assert.equal((await store.resolve({ tag: 'b' })).digest, replaced.digest);
    const index = await readIndexJson(path);
    assert.equal(index.manifests.length, 3);
    assert.equal(index.manifests[0]?.digest, replaced.digest);
    // The same manifest under two tags is two entries.
    await store.putManifest(manifestBytes('4'), OCI_MANIFEST, 'd');
    assert.deepEqual(await store.listTags(), ['b', 'a', 'c', 'd']);
  });

  test('putManifest without a tag only writes the blob', async () => {
    const { path, store } = await freshLayout();
    const before = await readFile(join(path, 'index.json'), 'utf8');
    const descriptor = await store.putManifest(manifestBytes('child'), OCI_MANIFEST);
    assert.equal(await readFile(join(path, 'index.json'), 'utf8'), before);
    assert.equal(
      (await store.getManifest({ digest: descriptor.digest })).digest,
      descriptor.digest,
    );
  });

  test('putManifest refuses what is not a manifest, bad tags and oversized manifests', async () => {
    const { store } = await freshLayout({ maxManifestBytes: 400 });
    await rejectsWith(
      store.putManifest(manifestBytes('a'), 'application/json', 'a'),
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await rejectsWith(
      store.putManifest(encoder.encode('{"schemaVersion":2}'), OCI_MANIFEST),
      'MANIFEST_INVALID',
      'invalid',
    );
    await rejectsWith(
      store.putManifest(manifestBytes('a'), OCI_INDEX),
      'MANIFEST_INVALID',
      'invalid',
    );
    for (const tag of ['', '-x', 'a/b', 'a:b', 'x'.repeat(129), '../x']) {
      await rejectsWith(
        store.putManifest(manifestBytes('a'), OCI_MANIFEST, tag),
        'INVALID_TAG',
        'invalid',
      );
    }
    const big = manifestBytes('a'.repeat(500));
    await rejectsWith(store.putManifest(big, OCI_MANIFEST, 'big'), 'MANIFEST_TOO_LARGE', 'invalid');
    assert.deepEqual(await store.listTags(), []);
  });

  test('a tampered or truncated manifest is DIGEST_MISMATCH naming the file', async () => {
    const { path, store } = await freshLayout();
    const bytes = manifestBytes('original');
    const descriptor = await store.putManifest(bytes, OCI_MANIFEST, 'v1');
    const file = blobPath(path, descriptor.digest);
    const tampered = new Uint8Array(bytes);
    tampered[tampered.length - 3] = 'X'.charCodeAt(0);
    await writeFile(file, tampered);
    for (const target of [{ tag: 'v1' }, { digest: descriptor.digest }]) {
      const error = await rejectsWith(store.getManifest(target), 'DIGEST_MISMATCH', 'denied');
      assert.ok(error.message.includes(file), error.message);
    }
    await writeFile(file, bytes.subarray(0, 20));
    await rejectsWith(store.getManifest({ tag: 'v1' }), 'DIGEST_MISMATCH', 'denied');
    await rm(file);
    await rejectsWith(store.getManifest({ tag: 'v1' }), 'MANIFEST_UNKNOWN');
  });

  test('a manifest over the cap is refused on its size, before it is read', async () => {
    const { path, store } = await freshLayout();
    const bytes = manifestBytes('small enough');
    const descriptor = await store.putManifest(bytes, OCI_MANIFEST, 'v1');
    const strict = await openLayout(path, { create: false, maxManifestBytes: 100 });
    await rejectsWith(strict.getManifest({ tag: 'v1' }), 'MANIFEST_TOO_LARGE', 'denied');
    await rejectsWith(
      strict.getManifest({ digest: descriptor.digest }),
      'MANIFEST_TOO_LARGE',
      'denied',
    );
    // A 64 GiB sparse file: reading it would not finish; the size check refuses it at once.
    await truncate(blobPath(path, descriptor.digest), 64 * 1024 ** 3);
    const started = Date.now();
    await rejectsWith(
      store.getManifest({ digest: descriptor.digest }),
      'MANIFEST_TOO_LARGE',
      'denied',
    );
    await rejectsWith(store.getManifest({ tag: 'v1' }), 'MANIFEST_TOO_LARGE', 'denied');
    assert.ok(Date.now() - started < 2000);
  });

  test('a tag naming several index.json entries is an error', async () => {
    const { path, store } = await freshLayout();
    const one = await store.putManifest(manifestBytes('1'), OCI_MANIFEST);
    const two = await store.putManifest(manifestBytes('2'), OCI_MANIFEST);
    const annotations = { [REF_NAME_ANNOTATION]: 'dup' };
    await writeFile(
      join(path, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          { ...one, annotations },
          { ...two, annotations },
        ],
      }),
    );
    await rejectsWith(store.getManifest({ tag: 'dup' }), 'TAG_AMBIGUOUS', 'denied');
    // Writing the tag again repairs it.
    await store.putManifest(manifestBytes('3'), OCI_MANIFEST, 'dup');
    assert.equal((await readIndexJson(path)).manifests.length, 1);
  });

  test('deleteManifest removes its tags and its blob, but not a blob another manifest contains', async () => {
    const { path, store } = await freshLayout();
    const child = await store.putManifest(manifestBytes('child'), OCI_MANIFEST, 'child');
    const index = encoder.encode(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child] }),
    );
    await store.putManifest(index, OCI_INDEX, 'multi');
    const lone = await store.putManifest(manifestBytes('lone'), OCI_MANIFEST, 'lone');
    await store.putManifest(manifestBytes('lone'), OCI_MANIFEST, 'lone-too');

    await store.deleteManifest(lone.digest);
    assert.deepEqual(await store.listTags(), ['child', 'multi']);
    assert.equal(existsSync(blobPath(path, lone.digest)), false);
    await rejectsWith(store.getManifest({ digest: lone.digest }), 'MANIFEST_UNKNOWN');
    await rejectsWith(store.deleteManifest(lone.digest), 'MANIFEST_UNKNOWN', 'invalid');

    await store.deleteManifest(child.digest);
    assert.deepEqual(await store.listTags(), ['multi']);
    assert.ok(existsSync(blobPath(path, child.digest)), 'the index still lists the child');
    assert.equal((await store.getManifest({ digest: child.digest })).digest, child.digest);
  });
});

describe("index.json is the user's file", () => {
  /**
   * An index.json as another tool might write it: indented, members in its
   * own order, fields vouch does not know at the top and in a descriptor,
   * numbers and escapes JSON.parse would rewrite, and known fields vouch
   * would leave out when empty.
   */
  function foreignIndex(entry: Descriptor): string {
    return `{
  "schemaVersion": 2,
  "x-vendor": { "n": 1.50, "big": 12345678901234567890, "s": "\\u00e9\\/" },
  "manifests": [
    {
      "x-first": true,
      "mediaType": "${entry.mediaType}",
      "size": ${entry.size},
      "digest": "${entry.digest}",
      "annotations": { "z": "last", "${REF_NAME_ANNOTATION}": "kept", "a": "first" },
      "urls": [],
      "data": "",
      "platform": { "os": "linux", "architecture": "amd64", "features": ["sse4"], "os.features": [] },
      "x-extra": [1.0, { "y": null }, 1e2]
    }
  ],
  "annotations": { "b": "2", "a": "1" },
  "subject": { "mediaType": "${entry.mediaType}", "digest": "${entry.digest}", "size": ${entry.size}, "x-s": 0.0 }
}
`;
  }

  /** What vouch writes for it: the same members and values, whitespace gone, mediaType added second. */
  function keptIndex(entry: Descriptor, manifests: string[]): string {
    return [
      '{"schemaVersion":2,',
      `"mediaType":"${OCI_INDEX}",`,
      '"x-vendor":{"n":1.50,"big":12345678901234567890,"s":"\\u00e9\\/"},',
      `"manifests":[${manifests.join(',')}],`,
      '"annotations":{"b":"2","a":"1"},',
      `"subject":{"mediaType":"${entry.mediaType}","digest":"${entry.digest}","size":${entry.size},"x-s":0.0}}`,
    ].join('');
  }

  function keptEntry(entry: Descriptor): string {
    return [
      '{"x-first":true,',
      `"mediaType":"${entry.mediaType}","size":${entry.size},"digest":"${entry.digest}",`,
      `"annotations":{"z":"last","${REF_NAME_ANNOTATION}":"kept","a":"first"},`,
      '"urls":[],"data":"",',
      '"platform":{"os":"linux","architecture":"amd64","features":["sse4"],"os.features":[]},',
      '"x-extra":[1.0,{"y":null},1e2]}',
    ].join('');
  }

  /** A new entry, as containers/image writes one. */
  function newEntry(entry: Descriptor, tag: string): string {
    return `{"mediaType":"${entry.mediaType}","digest":"${entry.digest}","size":${entry.size},"annotations":{"${REF_NAME_ANNOTATION}":"${tag}"}}`;
  }

  test('adding, moving and deleting tags keeps every other member and entry as written', async () => {
    const { path, store } = await freshLayout();
    const kept = await store.putManifest(manifestBytes('kept'), OCI_MANIFEST);
    const other = await store.putManifest(manifestBytes('other'), OCI_MANIFEST);
    const third = await store.putManifest(manifestBytes('third'), OCI_MANIFEST);
    await writeFile(join(path, 'index.json'), foreignIndex(kept));
    const indexJson = () => readFile(join(path, 'index.json'), 'utf8');

    await store.putManifest(manifestBytes('other'), OCI_MANIFEST, 'new');
    assert.equal(await indexJson(), keptIndex(kept, [keptEntry(kept), newEntry(other, 'new')]));

    assert.equal(await store.compareAndSetTag('new', other.digest, third), true);
    assert.equal(await indexJson(), keptIndex(kept, [keptEntry(kept), newEntry(third, 'new')]));

    await store.deleteManifest(third.digest);
    assert.equal(await indexJson(), keptIndex(kept, [keptEntry(kept)]));
    assert.deepEqual(await store.listTags(), ['kept']);
  });

  test('a file that already has a mediaType keeps its place and its members', async () => {
    const { path, store } = await freshLayout();
    const kept = await store.putManifest(manifestBytes('kept'), OCI_MANIFEST);
    await writeFile(
      join(path, 'index.json'),
      `{"manifests":[],"x":{"a":[]},"mediaType":"${OCI_INDEX}","schemaVersion":2}`,
    );
    await store.putManifest(manifestBytes('kept'), OCI_MANIFEST, 't');
    assert.equal(
      await readFile(join(path, 'index.json'), 'utf8'),
      `{"manifests":[${newEntry(kept, 't')}],"x":{"a":[]},"mediaType":"${OCI_INDEX}","schemaVersion":2}`,
    );
  });
});

describe('concurrent writers', () => {
  test('many concurrent putManifest calls keep every tag', async () => {
    const { store } = await freshLayout();
    const tags = Array.from({ length: 40 }, (_, i) => `t${i}`);
    await Promise.all(tags.map((tag) => store.putManifest(manifestBytes(tag), OCI_MANIFEST, tag)));
    assert.deepEqual([...(await store.listTags())].sort(), [...tags].sort());
    // Two store objects for the same directory share the lock.
    const { path } = await freshLayout();
    const a = await openLayout(path, { create: false });
    const b = await openLayout(path, { create: false });
    await Promise.all(
      tags.map((tag, i) =>
        (i % 2 === 0 ? a : b).putManifest(manifestBytes(tag), OCI_MANIFEST, tag),
      ),
    );
    assert.equal((await a.listTags()).length, tags.length);
    assert.equal(existsSync(join(path, 'index.json.lock')), false);
  });

  test('compareAndSetTag moves a tag only from the digest it was read at', async () => {
    const { store } = await freshLayout();
    const first = await store.putManifest(manifestBytes('first'), OCI_MANIFEST);
    const second = await store.putManifest(manifestBytes('second'), OCI_MANIFEST);
    assert.deepEqual(await store.listTags(), [], 'putManifest without a tag tags nothing');
    assert.equal(await store.compareAndSetTag('t', undefined, first), true);
    assert.equal(await store.compareAndSetTag('t', undefined, second), false, 'no longer absent');
    assert.equal(await store.compareAndSetTag('t', second.digest, second), false, 'not at second');
    assert.equal((await store.resolve({ tag: 't' })).digest, first.digest);
    assert.equal(await store.compareAndSetTag('t', first.digest, second), true);
    assert.equal((await store.resolve({ tag: 't' })).digest, second.digest);
    assert.equal((await readIndexJson(store.root)).manifests.length, 1);
    // Of many racing swaps from one state, exactly one wins.
    const racers = await Promise.all(
      ['a', 'b', 'c', 'd'].map((label) => store.putManifest(manifestBytes(label), OCI_MANIFEST)),
    );
    const won = await Promise.all(
      racers.map((racer) => store.compareAndSetTag('t', second.digest, racer)),
    );
    assert.equal(won.filter(Boolean).length, 1);
    const missing = describeBytes(manifestBytes('never stored'), OCI_MANIFEST);
    await rejectsWith(
      store.compareAndSetTag('t', undefined, missing),
      'MANIFEST_UNKNOWN',
      'invalid',
    );
    await rejectsWith(
      store.compareAndSetTag('bad tag', undefined, first),
      'INVALID_TAG',
      'invalid',
    );
  });

  test('writers in two processes keep every tag', async () => {
    const { path } = await freshLayout();
    const script = join(scratch, `writer-${counter}.mjs`);
    const layoutModule = pathToFileURL(fileURLToPath(new URL('./layout.ts', import.meta.url))).href;
    await writeFile(
      script,
      `import { openLayout } from ${JSON.stringify(layoutModule)};
const [path, prefix, count] = process.argv.slice(2);
const store = await openLayout(path, { create: false, lockTimeoutMs: 20000 });
const enc = new TextEncoder();
const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 };
await Promise.all(Array.from({ length: Number(count) }, (_, i) => {
  const bytes = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: empty, layers: [], annotations: { n: prefix + i } }));
  return store.putManifest(bytes, 'application/vnd.oci.image.manifest.v1+json', prefix + '-' + i);
}));
`,
    );
    const count = 25;
    const child = (prefix: string) =>
      new Promise<void>((resolvePromise, reject) => {
        const proc = spawn(process.execPath, [script, path, prefix, String(count)], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        proc.stderr.on('data', (data: Buffer) => {
          stderr += data.toString();
        });
        proc.on('error', reject);
        proc.on('exit', (code) =>
          code === 0
            ? resolvePromise()
            : reject(new Error(`writer ${prefix} exited ${code}: ${stderr}`)),
        );
      });
    await Promise.all([child('p'), child('q'), child('r')]);
    const tags = await (await openLayout(path, { create: false })).listTags();
    assert.equal(tags.length, 3 * count);
    for (const prefix of ['p', 'q', 'r']) {
      for (let i = 0; i < count; i++)
        assert.ok(tags.includes(`${prefix}-${i}`), `${prefix}-${i} lost`);
    }
  });

  test('a lock left by a dead process is taken over; a live one times out as LAYOUT_LOCKED', async () => {
    const { path, store } = await freshLayout({ lockTimeoutMs: 300 });
    const deadPid = await new Promise<number>((resolvePromise, reject) => {
      const proc = spawn(process.execPath, ['-e', '']);
      proc.on('error', reject);
      proc.on('exit', () => resolvePromise(proc.pid ?? 0));
    });
    const lock = join(path, 'index.json.lock');
    await writeFile(lock, `${deadPid}\n`);
    await store.putManifest(manifestBytes('a'), OCI_MANIFEST, 'a');
    assert.deepEqual(await store.listTags(), ['a']);
    assert.equal(existsSync(lock), false);

    await writeFile(lock, `${process.pid}\n`);
    const error = await rejectsWith(
      store.putManifest(manifestBytes('b'), OCI_MANIFEST, 'b'),
      'LAYOUT_LOCKED',
      'unavailable',
    );
    assert.match(error.message, new RegExp(`process ${process.pid}`));
    await rm(lock);
    await store.putManifest(manifestBytes('b'), OCI_MANIFEST, 'b');
    assert.deepEqual(await store.listTags(), ['a', 'b']);
  });
});

describe('referrers', () => {
  test('addToReferrersTag then referrers, with and without an artifact type', async () => {
    const { store } = await freshLayout();
    const subject = await store.putManifest(manifestBytes('subject'), OCI_MANIFEST, 'v1');
    assert.deepEqual(await store.referrers(subject.digest), []);
    const signature: Descriptor = {
      ...(await store.putManifest(
        manifestBytes('sig', { artifactType: 'application/vnd.example.sig' }),
        OCI_MANIFEST,
      )),
      artifactType: 'application/vnd.example.sig',
    };
    const sbom: Descriptor = {
      ...(await store.putManifest(
        manifestBytes('sbom', { artifactType: 'application/spdx+json' }),
        OCI_MANIFEST,
      )),
      artifactType: 'application/spdx+json',
    };
    await addToReferrersTag(store, subject.digest, signature);
    await addToReferrersTag(store, subject.digest, sbom);
    await addToReferrersTag(store, subject.digest, sbom);
    const all = await store.referrers(subject.digest);
    assert.deepEqual(
      all.map((d) => d.digest),
      [signature.digest, sbom.digest].sort(),
    );
    assert.deepEqual(await store.referrers(subject.digest, 'application/spdx+json'), [sbom]);
    assert.deepEqual(await store.referrers(subject.digest, 'application/none'), []);
    assert.deepEqual(await store.listTags(), ['v1', referrersTag(subject.digest)]);
    // A referrer deleted by digest goes, though the referrers listing still names it.
    await store.deleteManifest(sbom.digest);
    await rejectsWith(store.getManifest({ digest: sbom.digest }), 'MANIFEST_UNKNOWN');
  });
});

describe('skopeo interop', () => {
  const skopeo = '/usr/bin/skopeo';
  const skip = existsSync(skopeo) ? false : `skopeo is not installed at ${skopeo}`;

  test(
    'skopeo reads and copies what vouch writes, and vouch reads what skopeo writes',
    {
      skip,
    },
    async () => {
      const { path, store } = await freshLayout();
      const bytes = await writeImage(store, 'interop');
      const descriptor = await store.putManifest(bytes, OCI_MANIFEST, 'v1');

      const inspected = await run(skopeo, ['inspect', '--raw', `oci:${path}:v1`], {
        encoding: 'buffer',
      });
      assertBytes(new Uint8Array(inspected.stdout), bytes);

      const copy = freshPath();
      await run(skopeo, [
        '--insecure-policy',
        'copy',
        '--quiet',
        `oci:${path}:v1`,
        `oci:${copy}:v2`,
      ]);
      const copied = await openLayout(copy, { create: false });
      assert.deepEqual(await copied.listTags(), ['v2']);
      const manifest = await copied.getManifest({ tag: 'v2' });
      assert.equal(manifest.digest, descriptor.digest);
      assertBytes(manifest.bytes, bytes);
      assert.equal(manifest.kind, 'image');
      if (manifest.kind === 'image') {
        for (const blob of [manifest.manifest.config, ...manifest.manifest.layers]) {
          assert.ok(await copied.hasBlob(blob));
          await copied.readBlob(blob, 1024 * 1024);
        }
      }

      // skopeo writes into vouch's layout; vouch and skopeo then both see every tag.
      await run(skopeo, [
        '--insecure-policy',
        'copy',
        '--quiet',
        `oci:${copy}:v2`,
        `oci:${path}:v3`,
      ]);
      await store.putManifest(bytes, OCI_MANIFEST, 'v4');
      assert.deepEqual(await store.listTags(), ['v1', 'v3', 'v4']);
      assert.equal((await store.resolve({ tag: 'v3' })).digest, descriptor.digest);
      const again = await run(skopeo, ['inspect', '--raw', `oci:${path}:v4`], {
        encoding: 'buffer',
      });
      assertBytes(new Uint8Array(again.stdout), bytes);
    },
  );
});
