/**
 * copyWithAttachments between two OCI layouts: the image, then its `.sig`
 * and `.att` (and its children's), byte for byte; missing tags skipped;
 * another signature manifest at the destination never overwritten silently.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { buildImage, buildIndex } from '../../test/helpers/images.ts';
import { attestationsBy, signaturesBy } from '../../test/helpers/signed-layers.ts';
import { attachmentTag } from '../formats/cosign-signature.ts';
import { generateKeyPair, type KeyPair } from '../keys/generate.ts';
import { type OCILayoutStore, openLayout } from '../registry/layout.ts';
import { attestImage } from './attest.ts';
import { copyWithAttachments } from './copy-attachments.ts';
import { attestationSigner, imageSigner } from './image-signer.ts';
import { signImage } from './sign.ts';

const SLSA = 'https://slsa.dev/provenance/v1';

let scratch = '';
let counter = 0;
let key: KeyPair;
let other: KeyPair;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vouch-copy-attachments-'));
  [key, other] = await Promise.all([generateKeyPair(), generateKeyPair()]);
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function freshLayout(): Promise<OCILayoutStore> {
  counter += 1;
  return openLayout(join(scratch, `layout-${counter}`), { create: true });
}

const sign = (store: OCILayoutStore, tag: string, pair = key, recursive = false) =>
  signImage(
    { store, target: { tag }, dockerReference: 'oci:x' },
    { signer: imageSigner(pair.privateKey), recursive },
  );

describe('copyWithAttachments between layouts', () => {
  it('copies the image with its .sig and .att unchanged; they check out at the destination', async () => {
    const source = await freshLayout();
    const destination = await freshLayout();
    const { descriptor } = await buildImage(source, { tag: '1.0' });
    await sign(source, '1.0');
    await attestImage(
      { store: source, target: { tag: '1.0' }, subjectName: 'oci:x' },
      { signer: attestationSigner(key.privateKey), predicateType: SLSA, predicate: { a: 1 } },
    );
    const result = await copyWithAttachments(source, { tag: '1.0' }, destination, { tag: '1.0' });
    assert.equal(result.descriptor.digest, descriptor.digest);
    assert.deepEqual(
      result.attachments.map((a) => [a.subject, a.suffix, a.tag]),
      [
        [descriptor.digest, 'sig', attachmentTag(descriptor.digest, 'sig')],
        [descriptor.digest, 'att', attachmentTag(descriptor.digest, 'att')],
      ],
      'the missing .sbom is skipped',
    );
    for (const attachment of result.attachments) {
      const [from, to] = await Promise.all([
        source.resolve({ tag: attachment.tag }),
        destination.resolve({ tag: attachment.tag }),
      ]);
      assert.equal(to.digest, from.digest, 'the attachment manifest keeps its digest');
    }
    const digest = descriptor.digest;
    assert.equal(await signaturesBy(destination, digest, key.publicKey), 1);
    assert.equal(await attestationsBy(destination, digest, key.publicKey, SLSA), 1);
  });

  it('an unsigned image is copied alone; `attachments: []` copies no attachment', async () => {
    const source = await freshLayout();
    await buildImage(source, { tag: 'bare' });
    const bare = await copyWithAttachments(source, { tag: 'bare' }, await freshLayout());
    assert.deepEqual(bare.attachments, []);

    await sign(source, 'bare');
    const destination = await freshLayout();
    const none = await copyWithAttachments(source, { tag: 'bare' }, destination, {
      attachments: [],
      tag: 'bare',
    });
    assert.deepEqual(none.attachments, []);
    assert.deepEqual(await destination.listTags(), ['bare']);
  });

  it("carries the signatures of an index's children too", async () => {
    const source = await freshLayout();
    const destination = await freshLayout();
    const index = await buildIndex(source, { tag: 'multi' });
    await sign(source, 'multi', key, true);
    const result = await copyWithAttachments(source, { tag: 'multi' }, destination);
    assert.deepEqual(
      new Set(result.attachments.map((a) => a.subject)),
      new Set([index.descriptor.digest, ...index.children.map((c) => c.descriptor.digest)]),
    );
    assert.equal(result.attachments[0]?.subject, index.descriptor.digest, 'the image first');
    for (const child of index.children) {
      assert.equal(await signaturesBy(destination, child.descriptor.digest, key.publicKey), 1);
    }
  });

  it('refuses to replace other signatures at the destination unless told, writing none', async () => {
    const source = await freshLayout();
    const destination = await freshLayout();
    const { descriptor } = await buildImage(source, { tag: '1' });
    await sign(source, '1');
    await copyWithAttachments(source, { tag: '1' }, destination, { tag: '1' });
    // The destination's signatures differ from the source's now.
    await sign(destination, '1', other);
    const tag = attachmentTag(descriptor.digest, 'sig');
    const theirs = await destination.resolve({ tag });
    await assert.rejects(
      copyWithAttachments(source, { tag: '1' }, destination, { tag: '1' }),
      expectError('invalid', 'ATTACHMENT_EXISTS', tag),
    );
    assert.equal((await destination.resolve({ tag })).digest, theirs.digest);

    // The same content already there is not a conflict.
    const same = await copyWithAttachments(destination, { tag: '1' }, destination, { tag: '1' });
    assert.equal(same.attachments[0]?.descriptor.digest, theirs.digest);

    const replaced = await copyWithAttachments(source, { tag: '1' }, destination, {
      tag: '1',
      replaceAttachments: true,
    });
    const ours = await source.resolve({ tag });
    assert.equal(replaced.attachments[0]?.descriptor.digest, ours.digest);
    assert.equal((await destination.resolve({ tag })).digest, ours.digest);
  });
});
