/**
 * The encodings `certificate-encoding.ts` installs must be the library's,
 * node by node, and the verifications it shortcuts must answer as the
 * library does: over the public-good CAs, an ephemeral Sigstore's root and
 * leaf certificates, and a clone edited as the SCT check edits it.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type ASN1Obj, EXTENSION_OID_SCT, X509Certificate } from '@sigstore/core';
import {
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  issueCertificate,
  type KeylessSigstore,
} from '../../test/helpers/keyless.ts';
import {
  derLength,
  encodeOnce,
  encodeOnDemand,
  trustOnce,
  verifyWithTrustedKeys,
} from './certificate-encoding.ts';
import { keylessTrustOf } from './keyless-trust.ts';
import { publicGoodTrustedRoot } from './public-good.ts';

/** Every node of `tree`, depth first. */
function nodes(tree: ASN1Obj): ASN1Obj[] {
  return [tree, ...tree.subs.flatMap(nodes)];
}

/** `tree`'s nodes encoded by the library's own `toDER` (the prototype's). */
function libraryEncodings(tree: ASN1Obj): Buffer[] {
  return nodes(tree).map((node) => Object.getPrototypeOf(node).toDER.call(node) as Buffer);
}

function assertSameEncodings(tree: ASN1Obj): void {
  const expected = libraryEncodings(tree);
  const installed = nodes(tree).map((node) => node.toDER());
  assert.equal(installed.length, expected.length);
  installed.forEach((der, i) => assert.ok(der.equals(expected[i] as Buffer), `node ${i}`));
}

const identity = { subject: CHAINGUARD_IDENTITY, issuer: GITHUB_ISSUER };
let sigstore: KeylessSigstore;
before(async () => {
  sigstore = await createKeylessSigstore();
});

const parse = (der: Uint8Array) => X509Certificate.parse(Buffer.from(der));

describe('certificate-encoding', () => {
  test('derLength is X.690 DER: short form below 128, minimal long form above', () => {
    assert.deepEqual([...derLength(0)], [0]);
    assert.deepEqual([...derLength(127)], [127]);
    assert.deepEqual([...derLength(128)], [0x81, 128]);
    assert.deepEqual([...derLength(255)], [0x81, 255]);
    assert.deepEqual([...derLength(256)], [0x82, 1, 0]);
    assert.deepEqual([...derLength(70000)], [0x83, 1, 0x11, 0x70]);
  });

  test('encodeOnce gives every node the library\u2019s encoding (public-good CAs)', async () => {
    const trust = keylessTrustOf(await publicGoodTrustedRoot());
    const certificates = trust.material.certificateAuthorities.flatMap((ca) => ca.certChain);
    assert.ok(certificates.length >= 2);
    for (const certificate of certificates) {
      // keylessTrustOf ran trustOnce on each; the bytes are the input's.
      assertSameEncodings(certificate.root);
      const fresh = parse(certificate.root.toDER());
      assert.ok(fresh.root.toDER().equals(certificate.root.toDER()));
    }
  });

  test('encodeOnce and encodeOnDemand on a Fulcio-style leaf and root', async () => {
    const issued = await issueCertificate(sigstore, identity);
    for (const der of [issued.certificate, sigstore.root]) {
      const once = parse(der);
      encodeOnce(once);
      assertSameEncodings(once.root);
      assert.ok(once.root.toDER().equals(Buffer.from(der)));
      const onDemand = parse(der);
      encodeOnDemand(onDemand.root);
      assertSameEncodings(onDemand.root);
    }
  });

  test('a clone is the library\u2019s, and encodeOnDemand follows an edit, as the SCT check makes on it', async () => {
    const issued = await issueCertificate(sigstore, identity);
    const leaf = parse(issued.certificate);
    verifyWithTrustedKeys(leaf);
    const copy = leaf.clone();
    // The library's own clone (an encoding parsed again), edited the same way.
    const reference = X509Certificate.prototype.clone.call(parse(issued.certificate));
    assert.ok(copy.root.toDER().equals(Buffer.from(issued.certificate)));
    const index = copy.extensions.findIndex((ext) => ext.subs[0]?.toOID() === EXTENSION_OID_SCT);
    assert.ok(index >= 0, 'the leaf has an SCT extension');
    const before = copy.tbsCertificate.toDER();
    copy.extensions.splice(index, 1);
    reference.extensions.splice(index, 1);
    const after = copy.tbsCertificate.toDER();
    assert.ok(after.byteLength < before.byteLength);
    assert.ok(after.equals(reference.tbsCertificate.toDER()));
    assertSameEncodings(copy.root);
    // The leaf itself is unchanged.
    assert.ok(leaf.root.toDER().equals(Buffer.from(issued.certificate)));
  });

  test('verifications answer as the library does', async () => {
    const root = parse(sigstore.root);
    trustOnce(root);
    const reference = parse(sigstore.root);
    assert.equal(root.verify(), reference.verify());
    assert.equal(root.verify(), true);

    const issued = await issueCertificate(sigstore, identity);
    const leaf = parse(issued.certificate);
    verifyWithTrustedKeys(leaf);
    const plain = parse(issued.certificate);
    assert.equal(leaf.verify(root), plain.verify(reference));
    assert.equal(leaf.verify(root), true);

    // Another CA: a trusted root that did not issue the leaf, and the leaf itself.
    const other = await createKeylessSigstore();
    const otherRoot = parse(other.root);
    trustOnce(otherRoot);
    assert.equal(leaf.verify(otherRoot), false);
    assert.equal(leaf.verify(otherRoot), plain.verify(parse(other.root)));
    assert.equal(leaf.verify(), plain.verify());
    assert.equal(root.verify(leaf), reference.verify(plain));
  });
});
