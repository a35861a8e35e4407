/**
 * attestImages on an OCI image layout in a temporary directory: the
 * attestation lands at `sha256-<hex>.att` with its predicate type recorded,
 * and its envelope verifies with the key, for that type only.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildImage } from '../../test/helpers/images.ts';
import { attestationsBy } from '../../test/helpers/signed-layers.ts';
import { PREDICATE_TYPE_ANNOTATION } from '../formats/cosign-attestation.ts';
import { DSSE_ENVELOPE_MEDIA_TYPE } from '../formats/dsse.ts';
import { generateKeyPair, type KeyPair } from '../keys/generate.ts';
import { digestHex } from '../oci/digest.ts';
import { type OCILayoutStore, openLayout } from '../registry/layout.ts';
import { type AttestOptions, attestImage, attestImages } from './attest.ts';
import { attestationSigner } from './image-signer.ts';

const SLSA = 'https://slsa.dev/provenance/v1';
const SPDX = 'https://spdx.dev/Document';

let scratch = '';
let counter = 0;
let key: KeyPair;
let other: KeyPair;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vouch-attest-'));
  [key, other] = await Promise.all([generateKeyPair(), generateKeyPair('ecdsa-p384')]);
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function freshLayout(): Promise<OCILayoutStore> {
  counter += 1;
  return openLayout(join(scratch, `layout-${counter}`), { create: true });
}

function options(predicateType: string, extra: Partial<AttestOptions> = {}): AttestOptions {
  return {
    signer: attestationSigner(key.privateKey),
    predicateType,
    predicate: { buildDefinition: { buildType: 'https://example.com/build' } },
    ...extra,
  };
}

async function layersAt(store: OCILayoutStore, tag: string) {
  const manifest = await store.getManifest({ tag });
  assert.equal(manifest.kind, 'image');
  return manifest.kind === 'image' ? manifest.manifest.layers : [];
}

describe('attestImages on a layout', () => {
  it('stores a DSSE layer at sha256-<hex>.att with its predicate type, signed over its statement', async () => {
    const store = await freshLayout();
    const { descriptor } = await buildImage(store, { tag: '1.0' });
    const result = await attestImage(
      { store, target: { tag: '1.0' }, subjectName: 'registry.example/app' },
      options(SLSA),
    );
    const tag = `sha256-${digestHex(descriptor.digest)}.att`;
    assert.equal(result.attestations[0]?.tag, tag);
    assert.equal(result.attestations[0]?.outcome, 'attested');
    assert.equal(result.attestations[0]?.predicateType, SLSA);
    const layers = await layersAt(store, tag);
    assert.equal(layers.length, 1);
    assert.equal(layers[0]?.mediaType, DSSE_ENVELOPE_MEDIA_TYPE);
    assert.equal(layers[0]?.annotations?.[PREDICATE_TYPE_ANNOTATION], SLSA);
    assert.equal(layers[0]?.digest, result.attestations[0]?.envelopeDigest);

    const { digest } = descriptor;
    assert.equal(await attestationsBy(store, digest, key.publicKey, SLSA), 1);
    assert.equal(await attestationsBy(store, digest, key.publicKey, SPDX), 0, 'another type');
    assert.equal(await attestationsBy(store, digest, other.publicKey, SLSA), 0, 'another key');
  });

  it('the same statement again changes nothing; another type accumulates; --replace drops the same type', async () => {
    const store = await freshLayout();
    const { descriptor } = await buildImage(store, { tag: 't' });
    const tag = `sha256-${digestHex(descriptor.digest)}.att`;
    const request = { store, target: { tag: 't' }, subjectName: 'oci:x' };
    await attestImage(request, options(SLSA));
    const again = await attestImage(request, options(SLSA));
    assert.equal(again.attestations[0]?.outcome, 'unchanged');
    assert.equal((await layersAt(store, tag)).length, 1);

    await attestImage(request, options(SPDX));
    await attestImage(request, options(SLSA, { predicate: { other: true } }));
    assert.deepEqual(
      (await layersAt(store, tag)).map((l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION]),
      [SLSA, SPDX, SLSA],
    );

    const replaced = await attestImage(
      request,
      options(SLSA, { predicate: { third: 3 }, replace: true }),
    );
    const layers = await layersAt(store, tag);
    assert.deepEqual(
      layers.map((l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION]),
      [SLSA, SPDX],
      'the new layer first, every older SLSA one dropped, the SPDX one kept',
    );
    assert.equal(layers[0]?.digest, replaced.attestations[0]?.envelopeDigest);
  });

  it('refuses a predicate whose envelope cannot fit, before any write', async () => {
    const store = await freshLayout();
    await buildImage(store, { tag: 't' });
    const tags = await store.listTags();
    await assert.rejects(
      attestImages(
        [{ store, target: { tag: 't' }, subjectName: 'oci:x' }],
        options(SLSA, { predicate: { blob: 'x'.repeat(4096) }, maxEnvelopeBytes: 1024 }),
      ),
      { code: 'ATTESTATION_TOO_LARGE' },
    );
    assert.deepEqual(await store.listTags(), tags);
  });
});
