/**
 * The attach engine's compare-and-swap on an OCI layout (through signImages,
 * its signature kind): concurrent writers keep each other's layers, a writer
 * overtaken between its read and its swap retries, and manifests it must not
 * touch (an index at the tag, too many layers) are refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rejectsWith } from '../../test/helpers/assertions.ts';
import { buildImage, buildIndex } from '../../test/helpers/images.ts';
import { signaturesBy } from '../../test/helpers/signed-layers.ts';
import { readSignatureManifest, signatureTag } from '../formats/cosign-signature.ts';
import { generateKeyPair, type KeyPair } from '../keys/generate.ts';
import { type Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { OCILayoutStore, openLayout } from '../registry/layout.ts';
import { imageSigner } from './image-signer.ts';
import { type SignEvent, signImage, signImages } from './sign.ts';

let scratch = '';
let counter = 0;
let keys: KeyPair[] = [];

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vouch-attach-'));
  keys = await Promise.all(Array.from({ length: 6 }, () => generateKeyPair()));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function key(i: number): KeyPair {
  return keys[i] as KeyPair;
}

function freshPath(): string {
  counter += 1;
  return join(scratch, `layout-${counter}`);
}

async function layerCount(store: OCILayoutStore, digest: Digest): Promise<number> {
  const manifest = await store.getManifest({ tag: signatureTag(digest) });
  return readSignatureManifest(manifest).candidates.length;
}

/** A layout whose swaps first run `before` (another writer getting there first), or always fail. */
class InterleavedLayout extends OCILayoutStore {
  swaps = 0;
  before: (() => Promise<void>) | undefined;
  alwaysLose = false;
  override async compareAndSetTag(
    tag: string,
    expected: Digest | undefined,
    descriptor: Descriptor,
  ): Promise<boolean> {
    this.swaps += 1;
    if (this.alwaysLose) return false;
    const interloper = this.before;
    this.before = undefined;
    if (interloper !== undefined) await interloper();
    return super.compareAndSetTag(tag, expected, descriptor);
  }
}

describe('attach: compare-and-swap on a layout', () => {
  it('concurrent signers on the same image, each with its own store handle, lose no layer', async () => {
    const path = freshPath();
    const setup = await openLayout(path, { create: true });
    const { descriptor } = await buildImage(setup, { tag: '1' });
    await Promise.all(
      keys.map(async (pair) => {
        const store = await openLayout(path, { create: false });
        return signImage(
          { store, target: { tag: '1' }, dockerReference: 'oci:x' },
          { signer: imageSigner(pair.privateKey) },
        );
      }),
    );
    assert.equal(await layerCount(setup, descriptor.digest), keys.length);
    for (const pair of keys) {
      assert.equal(await signaturesBy(setup, descriptor.digest, pair.publicKey), 1);
    }
  });

  it('a writer overtaken between its read and its swap reads again and keeps both layers', async () => {
    const path = freshPath();
    await openLayout(path, { create: true });
    const store = new InterleavedLayout(path);
    const { descriptor } = await buildImage(store, { tag: '1' });
    const other = await openLayout(path, { create: false });
    store.before = async () => {
      await signImage(
        { store: other, target: { tag: '1' }, dockerReference: 'oci:x' },
        { signer: imageSigner(key(1).privateKey) },
      );
    };
    const events: SignEvent[] = [];
    const result = await signImage(
      { store, target: { tag: '1' }, dockerReference: 'oci:x' },
      { signer: imageSigner(key(0).privateKey), onEvent: (e) => events.push(e) },
    );
    assert.equal(store.swaps, 2, 'the first swap was refused, the second made');
    assert.equal(result.signatures[0]?.attempts, 1, 'one write landed');
    assert.deepEqual(
      events.filter((e) => e.type === 'conflict').map((e) => e.type === 'conflict' && e.attempt),
      [1],
    );
    assert.equal(await layerCount(store, descriptor.digest), 2);
    for (const i of [0, 1]) {
      assert.equal(await signaturesBy(store, descriptor.digest, key(i).publicKey), 1, `key ${i}`);
    }
  });

  it('gives up with unavailable SIGNATURE_CONFLICT after maxAttempts lost swaps, writing no tag', async () => {
    const path = freshPath();
    await openLayout(path, { create: true });
    const store = new InterleavedLayout(path);
    const { descriptor } = await buildImage(store, { tag: '1' });
    store.alwaysLose = true;
    const [result] = await signImages([{ store, target: { tag: '1' }, dockerReference: 'oci:x' }], {
      signer: imageSigner(key(0).privateKey),
      maxAttempts: 3,
    });
    assert.equal(result?.ok, false);
    await rejectsWith(
      Promise.reject(result?.ok === false ? result.error : undefined),
      'SIGNATURE_CONFLICT',
      'unavailable',
    );
    assert.equal(store.swaps, 3);
    assert.ok(!(await store.listTags()).includes(signatureTag(descriptor.digest)));
  });

  it('refuses an index at the attachment tag with SIGNATURE_MANIFEST_INVALID and leaves it', async () => {
    const store = await openLayout(freshPath(), { create: true });
    const { descriptor } = await buildImage(store, { tag: '1' });
    const squatter = await buildIndex(store, { tag: signatureTag(descriptor.digest) });
    const [result] = await signImages([{ store, target: { tag: '1' }, dockerReference: 'oci:x' }], {
      signer: imageSigner(key(0).privateKey),
    });
    assert.equal(result?.ok, false);
    await rejectsWith(
      Promise.reject(result?.ok === false ? result.error : undefined),
      'SIGNATURE_MANIFEST_INVALID',
      'denied',
    );
    const still = await store.resolve({ tag: signatureTag(descriptor.digest) });
    assert.equal(still.digest, squatter.descriptor.digest);
  });

  it('refuses to grow a manifest beyond maxSignatureLayers, and one that already has more', async () => {
    const store = await openLayout(freshPath(), { create: true });
    const { descriptor } = await buildImage(store, { tag: '1' });
    const request = { store, target: { tag: '1' }, dockerReference: 'oci:x' };
    for (const i of [0, 1]) await signImage(request, { signer: imageSigner(key(i).privateKey) });
    const before = await store.resolve({ tag: signatureTag(descriptor.digest) });
    for (const maxSignatureLayers of [1, 2]) {
      const [result] = await signImages([request], {
        signer: imageSigner(key(2).privateKey),
        maxSignatureLayers,
      });
      assert.equal(result?.ok, false);
      await rejectsWith(
        Promise.reject(result?.ok === false ? result.error : undefined),
        'TOO_MANY_SIGNATURES',
        'denied',
      );
    }
    const after = await store.resolve({ tag: signatureTag(descriptor.digest) });
    assert.equal(after.digest, before.digest);
    // Signing again with a key already there is no growth: it is allowed at the cap.
    const again = await signImage(request, {
      signer: imageSigner(key(1).privateKey),
      maxSignatureLayers: 2,
    });
    assert.equal(again.signatures[0]?.outcome, 'unchanged');
  });

  it('refuses count options that are not positive integers before any I/O', async () => {
    const store = await openLayout(freshPath(), { create: true });
    for (const bad of [{ maxAttempts: 0 }, { concurrency: 1.5 }, { maxSignatureLayers: -1 }]) {
      await assert.rejects(
        signImages([{ store, target: { tag: 'none' }, dockerReference: 'oci:x' }], {
          signer: imageSigner(key(0).privateKey),
          ...bad,
        }),
        { code: 'INVALID_OPTION' },
      );
    }
  });
});
