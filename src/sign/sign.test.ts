/**
 * signImages on an OCI image layout in a temporary directory: no server.
 * What is signed is checked from the stored bytes (test/helpers/signed-layers.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildImage, buildIndex } from '../../test/helpers/images.ts';
import { signaturesBy } from '../../test/helpers/signed-layers.ts';
import { readSignatureManifest, signatureTag } from '../formats/cosign-signature.ts';
import { parseSimpleSigningPayload } from '../formats/simple-signing.ts';
import { generateKeyPair, type KeyPair } from '../keys/generate.ts';
import { type Digest, digestHex } from '../oci/digest.ts';
import { type OCILayoutStore, openLayout } from '../registry/layout.ts';
import { imageSigner } from './image-signer.ts';
import { type SignEvent, signImage, signImages } from './sign.ts';

let scratch = '';
let counter = 0;
let first: KeyPair;
let second: KeyPair;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vouch-sign-'));
  [first, second] = await Promise.all([generateKeyPair(), generateKeyPair('ed25519')]);
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function freshLayout(): Promise<OCILayoutStore> {
  counter += 1;
  return openLayout(join(scratch, `layout-${counter}`), { create: true });
}

async function signaturesOf(store: OCILayoutStore, digest: Digest) {
  const manifest = await store.getManifest({ tag: signatureTag(digest) });
  const { candidates, rejected } = readSignatureManifest(manifest);
  assert.deepEqual(rejected, []);
  const payloads = await Promise.all(candidates.map((c) => store.readBlob(c.layer, c.layer.size)));
  return { manifest, candidates, payloads: payloads.map((p) => parseSimpleSigningPayload(p)) };
}

describe('signImages on a layout', () => {
  it('stores the signature at sha256-<hex>.sig, and it verifies with the public key only', async () => {
    const store = await freshLayout();
    const image = await buildImage(store, { tag: '1.0' });
    const digest = image.descriptor.digest;
    const events: SignEvent[] = [];
    const result = await signImage(
      { store, target: { tag: '1.0' }, dockerReference: 'registry.example/app' },
      { signer: imageSigner(first.privateKey), onEvent: (e) => events.push(e) },
    );
    assert.equal(result.digest, digest);
    const [signature] = result.signatures;
    assert.equal(result.signatures.length, 1);
    assert.equal(signature?.outcome, 'signed');
    assert.equal(signature?.tag, `sha256-${digestHex(digest)}.sig`);
    assert.equal(signature?.location, `${store.location}:sha256-${digestHex(digest)}.sig`);
    assert.equal(signature?.attempts, 1);
    assert.deepEqual(
      events.map((e) => e.type),
      ['resolved', 'signed'],
    );
    assert.ok((await store.listTags()).includes(`sha256-${digestHex(digest)}.sig`));

    const { payloads } = await signaturesOf(store, digest);
    assert.equal(payloads[0]?.dockerManifestDigest, digest);
    assert.equal(payloads[0]?.dockerReference, 'registry.example/app');
    assert.equal(payloads[0]?.optional, null, 'no annotations: optional is null, as cosign');

    assert.equal(await signaturesBy(store, digest, first.publicKey), 1);
    assert.equal(await signaturesBy(store, digest, second.publicKey), 0, 'another key: none');
  });

  it('signing again with the same key changes nothing; a second key adds a layer', async () => {
    const store = await freshLayout();
    const { descriptor } = await buildImage(store, { tag: 'v' });
    const request = { store, target: { tag: 'v' }, dockerReference: 'oci:x' };
    const once = await signImage(request, { signer: imageSigner(first.privateKey) });
    const before = await signaturesOf(store, descriptor.digest);

    // ECDSA signatures are randomised: a new one over the same payload is still "ours".
    const again = await signImage(request, { signer: imageSigner(first.privateKey) });
    assert.equal(again.signatures[0]?.outcome, 'unchanged');
    assert.equal(again.signatures[0]?.attempts, 0);
    assert.equal(again.signatures[0]?.signatureManifest, once.signatures[0]?.signatureManifest);
    const unchanged = await signaturesOf(store, descriptor.digest);
    assert.equal(unchanged.manifest.digest, before.manifest.digest);

    const added = await signImage(request, { signer: imageSigner(second.privateKey) });
    assert.equal(added.signatures[0]?.outcome, 'signed');
    const after = await signaturesOf(store, descriptor.digest);
    assert.equal(after.candidates.length, 2);
    assert.notEqual(after.manifest.digest, before.manifest.digest);
    for (const key of [first, second]) {
      assert.equal(
        await signaturesBy(store, descriptor.digest, key.publicKey),
        1,
        'exactly one layer per key',
      );
    }
  });

  it('records annotations in the optional object of the signed payload', async () => {
    const store = await freshLayout();
    await buildImage(store, { tag: '1' });
    const result = await signImage(
      { store, target: { tag: '1' }, dockerReference: 'oci:x' },
      { signer: imageSigner(first.privateKey), annotations: { env: 'prod', team: 'a' } },
    );
    const { payloads } = await signaturesOf(store, result.digest);
    assert.deepEqual({ ...payloads[0]?.optional }, { env: 'prod', team: 'a' });
    assert.equal(await signaturesBy(store, result.digest, first.publicKey), 1);
  });

  it('refuses bad annotations and an empty docker-reference before writing anything', async () => {
    const store = await freshLayout();
    await buildImage(store, { tag: '1' });
    const tags = await store.listTags();
    await assert.rejects(
      signImages([{ store, target: { tag: '1' }, dockerReference: 'oci:x' }], {
        signer: imageSigner(first.privateKey),
        annotations: { '': 'x' },
      }),
      { code: 'INVALID_ANNOTATION' },
    );
    await assert.rejects(
      signImages([{ store, target: { tag: '1' }, dockerReference: '' }], {
        signer: imageSigner(first.privateKey),
      }),
      { code: 'INVALID_SIGNATURE_INPUT' },
    );
    assert.deepEqual(await store.listTags(), tags);
  });

  it('--recursive signs the index and every manifest it lists; without it, only the index', async () => {
    const store = await freshLayout();
    const index = await buildIndex(store, { tag: 'multi', architectures: ['amd64', 'arm64'] });
    const plain = await signImage(
      { store, target: { tag: 'multi' }, dockerReference: 'oci:x' },
      { signer: imageSigner(first.privateKey) },
    );
    assert.equal(plain.signatures.length, 1);
    for (const child of index.children) {
      assert.ok(!(await store.listTags()).includes(signatureTag(child.descriptor.digest)));
    }

    const recursive = await signImage(
      { store, target: { tag: 'multi' }, dockerReference: 'oci:x' },
      { signer: imageSigner(first.privateKey), recursive: true },
    );
    assert.deepEqual(
      recursive.signatures.map((s) => [s.digest, s.outcome]),
      [
        [index.descriptor.digest, 'unchanged'],
        ...index.children.map((c) => [c.descriptor.digest, 'signed']),
      ],
    );
    assert.deepEqual(
      recursive.signatures.slice(1).map((s) => s.platform?.architecture),
      ['amd64', 'arm64'],
    );
    for (const child of index.children) {
      assert.equal(await signaturesBy(store, child.descriptor.digest, first.publicKey), 1);
    }
  });

  it('reports a missing tag in the result, not as a throw, and signs the other images', async () => {
    const store = await freshLayout();
    await buildImage(store, { tag: 'here' });
    const results = await signImages(
      [
        { store, target: { tag: 'gone' }, dockerReference: 'oci:x' },
        { store, target: { tag: 'here' }, dockerReference: 'oci:x' },
      ],
      { signer: imageSigner(first.privateKey) },
    );
    assert.equal(results[0]?.ok, false);
    assert.equal(
      results[0]?.ok === false && (results[0].error as { code?: string }).code,
      'MANIFEST_UNKNOWN',
    );
    assert.equal(results[1]?.ok, true);
  });
});
