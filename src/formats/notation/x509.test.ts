/** Reading certificates the way notation's Go parser reads them. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { expectError } from '../../../test/helpers/assertions.ts';
import { EXT, type Issued, TestPki } from '../../../test/helpers/notation-pki.ts';
import { isVouchError } from '../../core/errors.ts';
import { checkSignatureFrom, EKU, KEY_USAGE, parseCertificate } from './x509.ts';

describe('X.509 certificates', () => {
  let pki: TestPki;
  let root: Issued;
  let leaf: Issued;

  before(async () => {
    pki = await TestPki.create();
    root = await pki.certificate('root', {
      subject: '/CN=Root/O=Acme, Inc./C=US',
      extensions: EXT.root,
    });
    leaf = await pki.certificate('leaf', {
      subject: '/CN=Leaf',
      issuer: root,
      extensions: [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,nonRepudiation',
        'extendedKeyUsage=codeSigning,timeStamping',
        'authorityInfoAccess=OCSP;URI:http://127.0.0.1:1/ocsp,caIssuers;URI:http://127.0.0.1:1/ca.crt,OCSP;URI:http://127.0.0.1:2/',
        'crlDistributionPoints=URI:http://127.0.0.1:1/a.crl,URI:http://127.0.0.1:1/b.crl',
        'freshestCRL=URI:http://127.0.0.1:1/delta.crl',
        '1.2.3.4=critical,ASN1:NULL',
      ],
    });
  });
  after(() => pki.cleanup());

  test('the same bytes parse once; other bytes, and bad bytes, are read for themselves', () => {
    const first = parseCertificate(leaf.der);
    // A copy of the bytes at another offset of another buffer: the cache keys on content.
    const copy = new Uint8Array(leaf.der.byteLength + 3).subarray(3);
    copy.set(leaf.der);
    assert.equal(parseCertificate(copy), first);
    assert.notEqual(parseCertificate(root.der), first);
    assert.equal(parseCertificate(root.der).subject, 'CN=Root,O=Acme\\, Inc.,C=US');
    // One byte changed (inside the signature): parsed again, not served from the cache.
    const changed = leaf.der.slice();
    changed[changed.byteLength - 1] = (changed[changed.byteLength - 1] as number) ^ 1;
    const reparsed = parseCertificate(changed);
    assert.notEqual(reparsed, first);
    assert.notDeepEqual(reparsed.signature, first.signature);
    // A failure is not remembered as a success: truncated bytes throw each time.
    const truncated = leaf.der.slice(0, leaf.der.byteLength - 1);
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => parseCertificate(truncated),
        (error) => isVouchError(error),
      );
    }
  });

  test('fields and extensions as Go reads them', () => {
    const cert = parseCertificate(leaf.der);
    assert.equal(cert.version, 3);
    assert.equal(cert.subject, 'CN=Leaf');
    assert.deepEqual(cert.basicConstraints, { critical: true, ca: false });
    assert.deepEqual(cert.keyUsage, {
      critical: true,
      bits: KEY_USAGE.digitalSignature | KEY_USAGE.contentCommitment,
    });
    assert.deepEqual(cert.extKeyUsage, {
      critical: false,
      purposes: [EKU.codeSigning, EKU.timeStamping],
    });
    assert.deepEqual(cert.ocspServers, ['http://127.0.0.1:1/ocsp', 'http://127.0.0.1:2/']);
    assert.deepEqual(cert.crlDistributionPoints, [
      'http://127.0.0.1:1/a.crl',
      'http://127.0.0.1:1/b.crl',
    ]);
    assert.equal(cert.hasFreshestCrl, true);
    assert.deepEqual(cert.unhandledCriticalExtensions, ['1.2.3.4']);
    assert.equal(cert.publicKey?.asymmetricKeyType, 'ec');
    assert.equal(checkSignatureFrom(cert, parseCertificate(root.der)), undefined);
  });

  test("subjects are written as Go's pkix.Name.String (RFC 2253), escaping included", async () => {
    const rfc2253 = await pki.openssl(pki.dir, [
      'x509',
      '-in',
      root.certFile,
      '-noout',
      '-subject',
      '-nameopt',
      'RFC2253',
    ]);
    assert.equal(rfc2253.trim(), 'subject=CN=Root,O=Acme\\, Inc.,C=US');
    assert.equal(parseCertificate(root.der).subject, 'CN=Root,O=Acme\\, Inc.,C=US');
    // Go keeps one common name (the last) and puts the fields in its own order.
    const twice = await pki.certificate('two-cns', {
      subject: '/CN=First/OU=Unit/CN=#Second /C=US',
      extensions: EXT.root,
    });
    assert.equal(parseCertificate(twice.der).subject, 'CN=\\#Second\\ ,OU=Unit,C=US');
  });

  test('anything but one DER certificate is CERT_INVALID, never another error', () => {
    assert.throws(
      () => parseCertificate(Buffer.from('junk')),
      expectError('denied', 'CERT_INVALID'),
    );
    assert.throws(
      () => parseCertificate(Buffer.concat([leaf.der, Buffer.from([0])])),
      expectError('denied', 'CERT_INVALID', 'after its ASN.1 value'),
    );
    fc.assert(
      fc.property(fc.nat(leaf.der.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const mutated = Buffer.from(leaf.der);
        mutated[i] = (mutated[i] ?? 0) ^ x;
        try {
          parseCertificate(mutated);
          return true;
        } catch (error) {
          return isVouchError(error) && error.code === 'CERT_INVALID';
        }
      }),
      { numRuns: 300 },
    );
  });
});
