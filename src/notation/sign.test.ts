import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { testKey } from '../../test/helpers/notation.ts';
import { hasCode, invalid } from '../core/errors.ts';
import { parseNotationEnvelope } from '../formats/notation/parse-envelope.ts';
import { parseNotationSignatureManifest } from '../formats/notation/signature-manifest.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import { type Descriptor, describeManifest, parseManifest } from '../oci/manifest.ts';
import { OCI_MANIFEST } from '../oci/media-types.ts';
import { readReferrersTag, referrersTag } from '../registry/referrers-tag.ts';
import type { ImageStore, ManifestTarget } from '../registry/store.ts';
import { type NotationSignOptions, signNotationImages } from './sign.ts';

/**
 * A registry with the referrers API, in memory: it indexes referrers from
 * their subject, and keeps a fallback tag only when a client writes one.
 */
class ApiRegistry implements ImageStore {
  readonly location = 'memory.example/app';
  readonly manifests = new Map<string, { bytes: Uint8Array; mediaType: string }>();
  readonly tags = new Map<string, Digest>();
  readonly blobs = new Map<string, Uint8Array>();
  writes = 0;

  async resolve(target: ManifestTarget): Promise<Descriptor> {
    const digest = 'tag' in target ? this.tags.get(target.tag) : target.digest;
    const stored = digest === undefined ? undefined : this.manifests.get(digest);
    if (digest === undefined || stored === undefined) {
      throw invalid('MANIFEST_UNKNOWN', `no manifest ${JSON.stringify(target)}`);
    }
    return { mediaType: stored.mediaType, digest, size: stored.bytes.byteLength };
  }
  async getManifest(target: ManifestTarget) {
    const { digest } = await this.resolve(target);
    const stored = this.manifests.get(digest) as { bytes: Uint8Array; mediaType: string };
    return parseManifest(stored.bytes, stored.mediaType, this.location);
  }
  async putManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    this.writes++;
    const digest = digestOf(bytes);
    this.manifests.set(digest, { bytes, mediaType });
    if (tag !== undefined) this.tags.set(tag, digest);
    return { mediaType, digest, size: bytes.byteLength };
  }
  async deleteManifest(): Promise<void> {}
  async listTags(): Promise<string[]> {
    return [...this.tags.keys()];
  }
  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.blobs.has(descriptor.digest);
  }
  async getBlob(descriptor: Descriptor) {
    const blob = this.blobs.get(descriptor.digest) as Uint8Array;
    return (async function* () {
      yield blob;
    })();
  }
  async readBlob(descriptor: Descriptor): Promise<Uint8Array> {
    return this.blobs.get(descriptor.digest) as Uint8Array;
  }
  async putBlob(descriptor: Descriptor, content: AsyncIterable<Uint8Array>): Promise<void> {
    this.writes++;
    const chunks: Uint8Array[] = [];
    for await (const chunk of content) chunks.push(chunk);
    this.blobs.set(descriptor.digest, Buffer.concat(chunks));
  }
  async referrers(digest: Digest): Promise<Descriptor[]> {
    return [...this.manifests.values()]
      .map(({ bytes, mediaType }) => parseManifest(bytes, mediaType, this.location))
      .filter((m) => m.kind === 'image' && m.manifest.subject?.digest === digest)
      .map(describeManifest);
  }
}

const IMAGE = new TextEncoder().encode(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: digestOf(new Uint8Array()),
      size: 0,
    },
    layers: [],
  }),
);

async function registryWithImage() {
  const store = new ApiRegistry();
  const image = await store.putManifest(IMAGE, OCI_MANIFEST, 'v1');
  store.writes = 0;
  return { store, image };
}

const key = testKey('p256');
const OPTIONS: NotationSignOptions = {
  key: { kind: 'key', privateKey: key.privateKey, certificateChain: [key.certificate] },
  signingAgent: 'vouch-test/1',
  now: () => new Date('2025-06-01T12:00:00.400Z'),
};

describe('signNotationImages', () => {
  test('signs by digest and, as notation 1.3 by default, lists it under the fallback tag too', async () => {
    const { store, image } = await registryWithImage();
    const [result] = await signNotationImages([{ store, target: { tag: 'v1' } }], {
      ...OPTIONS,
      expirySeconds: 3600,
      userMetadata: { build: '9' },
    });
    assert.ok(result?.ok, result?.ok === false ? result.error.message : '');
    assert.equal(result.digest, image.digest);
    assert.equal(result.signature.signingTime.toISOString(), '2025-06-01T12:00:00.000Z');
    assert.equal(result.signature.expiry?.toISOString(), '2025-06-01T13:00:00.000Z');
    const [listed] = await store.referrers(image.digest);
    assert.equal(listed?.digest, result.signature.manifest);
    const manifest = parseNotationSignatureManifest(
      (await store.getManifest({ digest: result.signature.manifest })).bytes,
      { subject: image },
    );
    const envelope = parseNotationEnvelope(
      manifest.envelopeMediaType,
      await store.readBlob(manifest.envelope),
    );
    assert.deepEqual(envelope.targetArtifact, { ...image, annotations: { build: '9' } });
    assert.equal(envelope.signingAgent, 'vouch-test/1');
    assert.deepEqual(
      (await readReferrersTag(store, image.digest)).map((d) => d.digest),
      [result.signature.manifest],
    );
  });

  test('with forceReferrersTag false, a registry with the referrers API gets no fallback tag', async () => {
    const { store } = await registryWithImage();
    const [result] = await signNotationImages([{ store, target: { tag: 'v1' } }], {
      ...OPTIONS,
      forceReferrersTag: false,
    });
    assert.ok(result?.ok);
    assert.equal(store.tags.has(referrersTag(result.digest)), false);
    assert.equal((await store.referrers(result.digest)).length, 1);
  });

  test('refuses options before any I/O, and reports an image that fails without writing', async () => {
    const { store } = await registryWithImage();
    const refused = (fragment: string) =>
      expectError('invalid', 'INVALID_NOTATION_INPUT', fragment);
    for (const [options, fragment] of [
      [{ userMetadata: { 'io.cncf.notary.x': '1' } }, 'reserved prefix'],
      [{ expirySeconds: 0 }, 'positive whole number'],
      [{ expirySeconds: 1.5 }, 'positive whole number'],
      [{ format: 'pgp' }, 'jws or cose'],
      [{ concurrency: 0 }, 'concurrency'],
    ] as const) {
      await assert.rejects(
        signNotationImages([{ store, target: { tag: 'v1' } }], {
          ...OPTIONS,
          ...(options as Partial<NotationSignOptions>),
        }),
        refused(fragment),
      );
    }
    const [missing] = await signNotationImages([{ store, target: { tag: 'nope' } }], OPTIONS);
    assert.ok(missing !== undefined && !missing.ok && hasCode(missing.error, 'MANIFEST_UNKNOWN'));
    // A certificate for another key: the signature would not verify, so nothing is written.
    const [mismatch] = await signNotationImages([{ store, target: { tag: 'v1' } }], {
      ...OPTIONS,
      key: {
        kind: 'key',
        privateKey: createPrivateKey(
          testKey('p384').privateKey.export({ format: 'pem', type: 'pkcs8' }),
        ),
        certificateChain: [key.certificate],
      },
    });
    assert.ok(mismatch !== undefined && !mismatch.ok);
    assert.match(mismatch.error.message, /signs with ES384|do not match/);
    assert.equal(store.writes, 0);
  });
});
