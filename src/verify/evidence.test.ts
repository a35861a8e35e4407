/**
 * `fetchSignatures` takes a layer's content without a GET when the layer is
 * exactly the payload cosign writes for the image (same digest and size);
 * every other layer is fetched, and the verdict is the same either way.
 * The store is an in-memory `.sig` manifest that counts blob reads.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  buildSignatureImage,
  SIGNATURE_ANNOTATION,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from '../formats/cosign-signature.ts';
import { buildSimpleSigningPayload, predictedCosignPayload } from '../formats/simple-signing.ts';
import { denied, invalid } from '../core/errors.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import { type Descriptor, parseManifest } from '../oci/manifest.ts';
import type { ImageReference } from '../oci/reference.ts';
import type { ImageStore } from '../registry/store.ts';
import { evaluate } from './evaluate.ts';
import { fetchSignatures } from './evidence.ts';

const REPOSITORY: ImageReference = { registry: '127.0.0.1:5000', repository: 'team/app' };
const IMAGE = digestOf(new TextEncoder().encode('the image manifest'));
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

interface Layer {
  readonly descriptor: Descriptor;
  readonly blob: Uint8Array;
}

/** A layer signing `payload` with `key`; `descriptor` overrides what the manifest declares. */
function layer(
  payload: Uint8Array,
  key = keys.privateKey,
  descriptor: Partial<Descriptor> = {},
): Layer {
  return {
    blob: payload,
    descriptor: {
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: digestOf(payload),
      size: payload.byteLength,
      annotations: { [SIGNATURE_ANNOTATION]: sign('sha256', payload, key).toString('base64') },
      ...descriptor,
    },
  };
}

/** A `.sig` manifest of `layers` for IMAGE; blobs served by digest; reads counted. */
function storeOf(layers: readonly Layer[], options: { readonly shortcut: boolean }) {
  const image = buildSignatureImage(layers.map((l) => l.descriptor));
  const blobs = new Map<string, Uint8Array>(layers.map((l) => [l.descriptor.digest, l.blob]));
  const reads: Digest[] = [];
  const store = {
    location: `${REPOSITORY.registry}/${REPOSITORY.repository}`,
    ...(options.shortcut ? { repositoryReference: REPOSITORY } : {}),
    getManifest: async (target: { tag?: string }) => {
      if (target.tag !== signatureTag(IMAGE)) throw invalid('MANIFEST_UNKNOWN', 'no such tag');
      return parseManifest(image.manifest, image.mediaType, 'test');
    },
    readBlob: async (descriptor: Descriptor) => {
      reads.push(descriptor.digest);
      const blob = blobs.get(descriptor.digest);
      if (blob === undefined) throw invalid('BLOB_UNKNOWN', 'no such blob');
      // What a store checks on every read.
      if (blob.byteLength !== descriptor.size || digestOf(blob) !== descriptor.digest) {
        throw denied('DIGEST_MISMATCH', 'content does not match');
      }
      return blob;
    },
  } as unknown as ImageStore;
  return { store, reads };
}

const image = { digest: IMAGE, reference: 'test' };
const plain = () => predictedCosignPayload(REPOSITORY, IMAGE);

describe('fetchSignatures: the predicted cosign payload', () => {
  test('is cosign\u2019s exact bytes for the repository and digest', () => {
    assert.equal(
      new TextDecoder().decode(plain()),
      `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/team/app"},"image":{"docker-manifest-digest":"${IMAGE}"},"type":"cosign container image signature"},"optional":null}`,
    );
    assert.equal(
      new TextDecoder().decode(
        predictedCosignPayload({ registry: 'docker.io', repository: 'library/ubuntu' }, IMAGE),
      ),
      `{"critical":{"identity":{"docker-reference":"index.docker.io/library/ubuntu"},"image":{"docker-manifest-digest":"${IMAGE}"},"type":"cosign container image signature"},"optional":null}`,
    );
  });

  test('a layer that is the predicted payload is not fetched, and verifies', async () => {
    const { store, reads } = storeOf([layer(plain())], { shortcut: true });
    const evidence = await fetchSignatures(store, image);
    assert.deepEqual(reads, []);
    assert.equal(evidence.signatures.length, 1);
    assert.deepEqual(evidence.signatures[0]?.payload, plain());
    const verdict = evaluate(evidence, { keys: [keys.publicKey] });
    assert.equal(verdict.verified.length, 1);
  });

  test('a layer whose digest matches no prediction is fetched', async () => {
    const annotated = buildSimpleSigningPayload({
      dockerReference: '127.0.0.1:5000/team/app',
      dockerManifestDigest: IMAGE,
      annotations: { env: 'prod' },
    });
    const elsewhere = buildSimpleSigningPayload({
      dockerReference: '127.0.0.1:5000/team/other',
      dockerManifestDigest: IMAGE,
    });
    const layers = [layer(annotated), layer(elsewhere)];
    const { store, reads } = storeOf(layers, { shortcut: true });
    const evidence = await fetchSignatures(store, image);
    assert.deepEqual(
      reads,
      layers.map((l) => l.descriptor.digest),
    );
    assert.equal(evidence.signatures.length, 2);
  });

  test('the prediction is never used when the declared size differs', async () => {
    // The digest is the predicted payload's, the size is not: fetched, and the
    // store refuses the content (it does not match the descriptor).
    const wrongSize = layer(plain(), keys.privateKey, { size: plain().byteLength + 1 });
    const { store, reads } = storeOf([wrongSize], { shortcut: true });
    const evidence = await fetchSignatures(store, image);
    assert.deepEqual(reads, [digestOf(plain())]);
    assert.equal(evidence.signatures.length, 0);
    assert.equal(evidence.rejectedLayers[0]?.problem, 'payload-invalid');
  });

  test('the prediction is never used when the digest differs at the same size', async () => {
    // Same length as the predicted payload, one byte changed.
    const changed = plain();
    changed[changed.byteLength - 2] = 'X'.charCodeAt(0);
    const { store, reads } = storeOf([layer(changed)], { shortcut: true });
    const evidence = await fetchSignatures(store, image);
    assert.deepEqual(reads, [digestOf(changed)]);
    assert.deepEqual(evidence.signatures[0]?.payload, changed);
  });

  test('a sha512 layer is compared with the sha512 of the prediction', async () => {
    const payload = plain();
    const digest = digestOf(payload, 'sha512');
    const { store, reads } = storeOf(
      [{ ...layer(payload), descriptor: { ...layer(payload).descriptor, digest } }],
      { shortcut: true },
    );
    const evidence = await fetchSignatures(store, image);
    assert.deepEqual(reads, []);
    assert.deepEqual(evidence.signatures[0]?.payload, payload);
  });

  test('verdicts are identical with and without the shortcut', async () => {
    const payloadArb = fc.oneof(
      fc.constant(plain()),
      fc
        .dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), {
          minKeys: 1,
          maxKeys: 2,
        })
        .map((annotations) =>
          buildSimpleSigningPayload({
            dockerReference: '127.0.0.1:5000/team/app',
            dockerManifestDigest: IMAGE,
            annotations,
          }),
        ),
      fc
        .constantFrom('127.0.0.1:5000/team/other', 'localhost:5000/team/app')
        .map((reference) =>
          buildSimpleSigningPayload({ dockerReference: reference, dockerManifestDigest: IMAGE }),
        ),
      fc.constant(
        buildSimpleSigningPayload({
          dockerReference: '127.0.0.1:5000/team/app',
          dockerManifestDigest: digestOf(new TextEncoder().encode('another image')),
        }),
      ),
    );
    // The registry serves each blob by its digest (it does not lose or
    // corrupt them: see the next test); the manifest may lie.
    const layerArb = fc
      .tuple(payloadArb, fc.boolean(), fc.constantFrom('none', 'size', 'digest'))
      .map(([payload, ownKey, tamper]) => {
        const made = layer(payload, ownKey ? keys.privateKey : otherKeys.privateKey);
        if (tamper === 'size') {
          return { ...made, descriptor: { ...made.descriptor, size: payload.byteLength + 1 } };
        }
        if (tamper === 'digest') {
          // The manifest names the predicted payload's blob for a signature over `payload`.
          const blob = plain();
          return {
            blob,
            descriptor: { ...made.descriptor, digest: digestOf(blob), size: blob.byteLength },
          };
        }
        return made;
      });
    await fc.assert(
      fc.asyncProperty(fc.array(layerArb, { minLength: 1, maxLength: 4 }), async (layers) => {
        const verdictOf = async (shortcut: boolean) => {
          const { store } = storeOf(layers, { shortcut });
          return evaluate(await fetchSignatures(store, image), { keys: [keys.publicKey] });
        };
        assert.deepEqual(await verdictOf(true), await verdictOf(false));
      }),
      { numRuns: 200 },
    );
  });

  test('the one difference: a registry that lost the predicted blob does not notice', async () => {
    // The signature is checked over the exact bytes the layer's digest names
    // either way; without the GET, a registry that lost (or corrupts) that
    // blob no longer turns a valid signature into a rejected layer.
    const lost = { ...layer(plain()), blob: new Uint8Array() };
    const verdictOf = async (shortcut: boolean) => {
      const { store } = storeOf([lost], { shortcut });
      return evaluate(await fetchSignatures(store, image), { keys: [keys.publicKey] });
    };
    assert.equal((await verdictOf(true)).verified.length, 1);
    const without = await verdictOf(false);
    assert.equal(without.verified.length, 0);
    assert.equal(without.rejected[0]?.reason.code, 'LAYER_INVALID');
  });
});
