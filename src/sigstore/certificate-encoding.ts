/**
 * Encoding a parsed certificate once instead of at every comparison.
 *
 * @sigstore/core's `X509Certificate` re-encodes its ASN.1 tree to DER on
 * every use: `equals` encodes both certificates whole, `verify` encodes the
 * TBS part and the issuer's public key, `clone` the whole certificate
 * (sigstore/sigstore-js packages/core/src/x509/cert.ts; `ASN1Obj.toDER` in
 * packages/core/src/asn1/obj.ts walks every node and allocates a stream per
 * node). @sigstore/verify's chain builder compares and verifies the leaf
 * against each CA certificate several times per verification
 * (packages/verify/src/key/certificate.ts `CertificateChainVerifier`:
 * `dedupeCertificates`, `buildPaths`, `findIssuer`), so one keyless
 * verification spent more than half its time re-encoding the same bytes.
 *
 * `encodeOnce` gives each node of one parsed certificate its own `toDER`
 * returning the encoding computed once: the node's tag byte, its length
 * and its value bytes. That is exactly what the library's `toDER`
 * produces for a node its parser made (packages/core/src/asn1/obj.ts
 * `parseStream`): tags are one byte (long-form tags are refused), lengths
 * definite and minimal (non-minimal and indefinite ones are refused), and a
 * node's children tile its value exactly (`collectSubs` checks the end), so
 * re-encoding the children gives back the value. certificate-encoding.test.ts
 * checks the equality node by node against the library. It is applied to
 * certificates nothing modifies afterwards: the CA certificates of trust
 * material built once per trusted root, and the leaf parsed for one
 * verification (@sigstore/verify's SCT check removes an extension from a
 * `clone()`, a copy, never from the certificate itself).
 *
 * `trustOnce` does the rest of what is per trusted CA certificate: its
 * public key is decoded once (the library decodes the issuer's key from DER
 * at every `verify`), and a self-signed certificate's own signature, which
 * the chain builder verifies again at every verification, is verified once.
 * `verifyWithTrustedKeys` makes a leaf use those decoded keys when the
 * chain builder asks it to verify itself against one of those CAs. The
 * results are the library's own: the same `crypto.verify` over the same
 * bytes, with the same key.
 */
import type { KeyObject } from 'node:crypto';
import { ASN1Obj, crypto, X509Certificate } from '@sigstore/core';

/**
 * Makes `toDER` of every node of `certificate` return its encoding,
 * computed once, when first asked (a verification asks for a few nodes
 * only: the whole certificate, its TBS part, its key). Idempotent.
 */
export function encodeOnce(certificate: X509Certificate): void {
  encodeNode(certificate.root);
}

const done = new WeakSet<ASN1Obj>();

function encodeNode(node: ASN1Obj): void {
  if (done.has(node)) return;
  for (const sub of node.subs) encodeNode(sub);
  let der: Buffer | undefined;
  Object.defineProperty(node, 'toDER', {
    value: () =>
      (der ??= Buffer.concat([
        Buffer.of(node.tag.toDER()),
        derLength(node.value.length),
        node.value,
      ])),
  });
  done.add(node);
}

/**
 * Gives every node of a tree that may still be edited (a `clone()` whose
 * extension list the SCT check splices) a `toDER` that encodes it when
 * asked, as the library's does (tag byte, DER length, then the children's
 * encodings or, without children, the value), with one allocation per node
 * instead of the library's growing streams.
 */
export function encodeOnDemand(node: ASN1Obj): void {
  for (const sub of node.subs) encodeOnDemand(sub);
  Object.defineProperty(node, 'toDER', {
    value: (): Buffer => {
      const content =
        node.subs.length > 0 ? Buffer.concat(node.subs.map((sub) => sub.toDER())) : node.value;
      return Buffer.concat([Buffer.of(node.tag.toDER()), derLength(content.length), content]);
    },
  });
}

/**
 * A copy of the tree `node` heads, as the library's `clone()` makes by
 * encoding the certificate and parsing it again (which, for a tree its
 * parser made, gives back nodes of the same tags, values and children; see
 * the module comment), without the parse: new nodes and child lists, which
 * are what an edit changes; the tags and value bytes are shared, as nothing
 * writes to them.
 */
function copyTree(node: ASN1Obj): ASN1Obj {
  return new ASN1Obj(node.tag, node.value, node.subs.map(copyTree));
}

/** A DER length (X.690 8.1.3): short form below 128, else the minimal big-endian bytes after 0x80|count. */
export function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.of(0x80 | bytes.length, ...bytes);
}

/** Decoded public keys of the trusted CA certificates (`trustOnce`). */
const trustedKeys = new WeakMap<X509Certificate, KeyObject>();

/**
 * Prepares a CA certificate of trust material for repeated use: encoded
 * once, its key decoded once, and, when self-signed, its own signature
 * verified once (`verify()` with no issuer answers from that result).
 */
export function trustOnce(certificate: X509Certificate): void {
  encodeOnce(certificate);
  if (trustedKeys.has(certificate)) return;
  trustedKeys.set(certificate, crypto.createPublicKey(certificate.publicKey));
  if (!certificate.subject.equals(certificate.issuer)) return;
  const selfSigned = certificate.verify();
  Object.defineProperty(certificate, 'verify', {
    value: (issuer?: X509Certificate) =>
      issuer === undefined
        ? selfSigned
        : X509Certificate.prototype.verify.call(certificate, issuer),
  });
}

/**
 * Makes `leaf.verify(issuer)` use the key `trustOnce` decoded when `issuer`
 * is a trusted CA certificate: the library's `verify` with the decoded key
 * (packages/core/src/x509/cert.ts: `crypto.verify(tbsCertificate.toDER(),
 * key, signatureValue, signatureAlgorithm)`); any other issuer, or none,
 * goes to the library unchanged. Its `clone()` (which the SCT check edits,
 * then encodes) copies the tree instead of parsing it again, and encodes
 * with `encodeOnDemand`.
 */
export function verifyWithTrustedKeys(leaf: X509Certificate): void {
  encodeOnce(leaf);
  Object.defineProperty(leaf, 'clone', {
    value: () => {
      const copy = new X509Certificate(copyTree(leaf.root));
      encodeOnDemand(copy.root);
      return copy;
    },
  });
  Object.defineProperty(leaf, 'verify', {
    value: (issuer?: X509Certificate) => {
      const key = issuer === undefined ? undefined : trustedKeys.get(issuer);
      if (key === undefined) return X509Certificate.prototype.verify.call(leaf, issuer);
      return crypto.verify(
        leaf.tbsCertificate.toDER(),
        key,
        leaf.signatureValue,
        leaf.signatureAlgorithm,
      );
    },
  });
}
