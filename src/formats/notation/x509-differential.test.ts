/**
 * The certificate reader walks asn1js values itself; pkijs read certificates
 * before (test/helpers/x509-pkijs.ts keeps that reading). Every certificate
 * at hand must read the same both ways, field for field, and hostile bytes
 * must be CERT_INVALID, never a crash, a hang or something pkijs refused.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rootCertificates } from 'node:tls';
import fc from 'fast-check';
import { expectError } from '../../../test/helpers/assertions.ts';
import { EXT, pemCertificates, TestPki } from '../../../test/helpers/notation-pki.ts';
import { pkijsCertificate } from '../../../test/helpers/x509-pkijs.ts';
import { isVouchError } from '../../core/errors.ts';
import { DerReader, sameBytes } from './der.ts';
import { COSE_ENVELOPE_MEDIA_TYPE, JWS_ENVELOPE_MEDIA_TYPE } from './envelope.ts';
import { parseNotationEnvelope } from './parse-envelope.ts';
import { checkSignatureFrom, type NotationCertificate, parseCertificate } from './x509.ts';

const FIXTURES = new URL('../../../../shared/fixtures/', import.meta.url).pathname;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Every certificate of the shared fixtures: PEM and DER files, and the chains of signature envelopes. */
async function fixtureCertificates(): Promise<Map<string, Uint8Array>> {
  const found = new Map<string, Uint8Array>();
  for (const file of await filesUnder(FIXTURES)) {
    const bytes = new Uint8Array(await readFile(file));
    const name = file.slice(FIXTURES.length);
    if (/\.(crt|pem|cer|der)$/.test(file)) {
      const text = Buffer.from(bytes).toString('latin1');
      const blocks = text.includes('-----BEGIN CERTIFICATE-----') ? pemCertificates(text) : [];
      if (blocks.length === 0 && bytes[0] === 0x30) found.set(name, bytes);
      blocks.forEach((der, i) => found.set(`${name}#${i}`, der));
    } else if (file.includes('/blobs/')) {
      for (const mediaType of [JWS_ENVELOPE_MEDIA_TYPE, COSE_ENVELOPE_MEDIA_TYPE]) {
        try {
          const envelope = parseNotationEnvelope(mediaType, bytes);
          envelope.certificateChain.forEach((der, i) => found.set(`${name} x5chain#${i}`, der));
        } catch {
          // Not an envelope of this format: manifests, payloads, layers.
        }
      }
    }
  }
  return found;
}

/** The fields of a NotationCertificate, comparable with deepEqual (the KeyObject as its SPKI). */
function comparable(cert: NotationCertificate): Record<string, unknown> {
  const { publicKey, ...fields } = cert;
  return {
    ...fields,
    publicKey: publicKey?.export({ type: 'spki', format: 'der' }).toString('hex'),
  };
}

function assertSameReading(der: Uint8Array, name: string): void {
  let expected: NotationCertificate;
  try {
    expected = pkijsCertificate(der);
  } catch {
    assert.throws(() => parseCertificate(der), expectError('denied', 'CERT_INVALID'), name);
    return;
  }
  assert.deepEqual(comparable(parseCertificate(der)), comparable(expected), name);
}

describe('X.509 certificates: the asn1js reading equals the pkijs one', () => {
  let pki: TestPki;
  const generated = new Map<string, Uint8Array>();

  before(async () => {
    pki = await TestPki.create();
    const root = await pki.certificate('root', {
      subject: '/CN=Root/O=Acme, Inc./C=US',
      extensions: [...EXT.root, 'subjectKeyIdentifier=hash'],
    });
    const intermediate = await pki.certificate('intermediate', {
      subject: '/CN=Intermediate/OU=Unit + Sub/O=Acme/L=Seattle/ST=WA/C=US',
      issuer: root,
      key: 'ec-p384',
      digest: 'sha384',
      extensions: [
        ...EXT.intermediate(2),
        'authorityKeyIdentifier=keyid:always',
        'nameConstraints=critical,permitted;DNS:example.com',
        'certificatePolicies=1.2.3.4,2.23.140.1.2.1',
      ],
    });
    const specs: [string, Parameters<TestPki['certificate']>[1]][] = [
      [
        'leaf',
        {
          subject: '/CN=Leaf',
          issuer: intermediate,
          extensions: [
            'basicConstraints=critical,CA:FALSE',
            'keyUsage=critical,digitalSignature,nonRepudiation,keyAgreement,encipherOnly,decipherOnly',
            'extendedKeyUsage=codeSigning,timeStamping,1.2.3.99',
            'authorityInfoAccess=OCSP;URI:http://127.0.0.1:1/ocsp,caIssuers;URI:http://127.0.0.1:1/ca.crt,OCSP;URI:http://127.0.0.1:2/',
            'crlDistributionPoints=URI:http://127.0.0.1:1/a.crl,URI:http://127.0.0.1:1/b.crl',
            'freshestCRL=URI:http://127.0.0.1:1/delta.crl',
            'subjectAltName=DNS:a.example,IP:127.0.0.1,email:a@example.com,URI:https://example.com/x,RID:1.2.3,dirName:dir_sect,otherName:1.2.3.4;UTF8:other',
            '1.2.3.4=critical,ASN1:NULL',
            '[dir_sect]',
            'CN=In A Name',
            'O=Acme',
          ],
        },
      ],
      [
        'names',
        {
          subject:
            '/C=US/ST=WA/L=Seattle/street=1 Main St/postalCode=98101/O=Acme/OU=One/OU=Two/CN=First/CN=#Last, \\+ "quoted" <x>; /serialNumber=42/emailAddress=a@b.example/DC=example/UID=u1',
          extensions: EXT.root,
        },
      ],
      ['utf8', { subject: '/CN=Zoë Ünïcødé ✓/O= spaced ', extensions: EXT.codeSigning }],
      [
        'issued',
        { subject: '/CN=Issued', issuer: root, extensions: ['basicConstraints=CA:FALSE'] },
      ],
      [
        'ed25519',
        {
          subject: '/CN=Ed',
          key: 'ed25519',
          extensions: [...EXT.intermediate(0), 'keyUsage=digitalSignature'],
        },
      ],
      [
        'rsa',
        { subject: '/CN=RSA', key: 'rsa-2048', digest: 'sha512', extensions: EXT.timestamping },
      ],
      [
        'rsa-1024-sha1',
        { subject: '/CN=Weak', key: 'rsa-1024', digest: 'sha1', extensions: EXT.ocspSigning },
      ],
      ['p521', { subject: '/CN=P521', key: 'ec-p521', issuer: root, extensions: EXT.codeSigning }],
      [
        'generalized-time',
        {
          subject: '/CN=Far Future',
          extensions: [
            'basicConstraints=critical,CA:TRUE,pathlen:0',
            'crlDistributionPoints=crldp_sect',
            '[crldp_sect]',
            'fullname=URI:http://127.0.0.1/x.crl,URI:ldap://127.0.0.1/y',
            'CRLissuer=dirName:issuer_sect',
            'reasons=keyCompromise',
            '[issuer_sect]',
            'CN=CRL Issuer',
          ],
          notBefore: new Date('1949-12-31T23:59:59Z'),
          notAfter: new Date('2099-01-01T00:00:00Z'),
        },
      ],
      ['no-extensions', { subject: '/CN=No Extensions', extensions: [] }],
    ];
    for (const [name, spec] of specs) generated.set(name, (await pki.certificate(name, spec)).der);
    generated.set('root', root.der);
    generated.set('intermediate', intermediate.der);
    // Certificates `openssl ca` does not make: version 1, and RSASSA-PSS signatures.
    const dir = pki.dir;
    await pki.openssl(dir, [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'v1.key',
      '-subj',
      '/CN=V1',
      '-out',
      'v1.csr',
    ]);
    await pki.openssl(dir, [
      'x509',
      '-req',
      '-in',
      'v1.csr',
      '-signkey',
      'v1.key',
      '-days',
      '1',
      '-out',
      'v1.pem',
    ]);
    for (const salt of ['digest', 'max']) {
      for (const digest of ['sha256', 'sha384']) {
        const out = `pss-${salt}-${digest}.pem`;
        await pki.openssl(dir, [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          `${out}.key`,
          '-subj',
          `/CN=PSS ${salt} ${digest}`,
          '-sigopt',
          'rsa_padding_mode:pss',
          '-sigopt',
          `rsa_pss_saltlen:${salt}`,
          `-${digest}`,
          '-days',
          '1',
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign',
          '-out',
          out,
        ]);
      }
    }
    for (const file of (await readdir(dir)).filter(
      (f) => f.endsWith('.pem') && !f.includes('.key'),
    )) {
      const [der] = pemCertificates(await readFile(join(dir, file), 'utf8'));
      if (der !== undefined) generated.set(file, der);
    }
  });
  after(() => pki.cleanup());

  test('every certificate of the shared fixtures', async () => {
    const fixtures = await fixtureCertificates();
    // The notation e2e configuration's certificates and the chains of its signed layouts.
    assert.ok(fixtures.size >= 20, `only ${fixtures.size} fixture certificates`);
    assert.ok([...fixtures.keys()].some((name) => name.includes('x5chain')));
    for (const [name, der] of fixtures) assertSameReading(der, name);
  });

  test('every certificate the tests make: extensions, names, keys, versions and signatures', () => {
    assert.ok(generated.size >= 16);
    for (const [name, der] of generated) assertSameReading(der, name);
    assert.equal(parseCertificate(generated.get('v1.pem') as Uint8Array).version, 1);
    const leaf = parseCertificate(generated.get('leaf') as Uint8Array);
    assert.deepEqual(leaf.unhandledCriticalExtensions, ['1.2.3.4']);
    assert.deepEqual(
      parseCertificate(generated.get('intermediate') as Uint8Array).unhandledCriticalExtensions,
      ['2.5.29.30'],
    );
    assert.deepEqual(
      parseCertificate(generated.get('generalized-time') as Uint8Array).crlDistributionPoints,
      ['http://127.0.0.1/x.crl', 'ldap://127.0.0.1/y'],
    );
  });

  test('RSASSA-PSS: a hash-length salt verifies, another salt is refused as Go refuses it', () => {
    for (const digest of ['sha256', 'sha384']) {
      const good = parseCertificate(generated.get(`pss-digest-${digest}.pem`) as Uint8Array);
      assert.equal(good.signatureAlgorithm.oid, '1.2.840.113549.1.1.10');
      assert.equal(checkSignatureFrom(good, good), undefined);
      const max = parseCertificate(generated.get(`pss-max-${digest}.pem`) as Uint8Array);
      assert.match(checkSignatureFrom(max, max) ?? '', /RSASSA-PSS parameters other than/);
    }
  });

  test("every root certificate of Node's bundle", () => {
    assert.ok(rootCertificates.length > 50);
    for (const pem of rootCertificates) {
      const [der] = pemCertificates(pem);
      assertSameReading(der as Uint8Array, pem.slice(0, 120));
    }
  });

  test('a mutated certificate reads as pkijs read it, or is CERT_INVALID; never another error', () => {
    const sources = [...generated.values()];
    fc.assert(
      fc.property(
        fc.nat(sources.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        }),
        (which, flips) => {
          const der = Uint8Array.from(sources[which] as Uint8Array);
          for (const [at, x] of flips) der[at % der.length] = (der[at % der.length] as number) ^ x;
          let mine: NotationCertificate;
          try {
            mine = parseCertificate(der);
          } catch (error) {
            return isVouchError(error) && error.code === 'CERT_INVALID';
          }
          // What this reader accepts, pkijs accepted, with the same fields.
          assert.deepEqual(comparable(mine), comparable(pkijsCertificate(der)));
          return true;
        },
      ),
      { numRuns: 1500 },
    );
  });
});

/** DER of one value: `tag`, a definite minimal length, then `parts`. */
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  const n = body.length;
  const length =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 0xff]
          : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...length]), body]));
}

/** The values of one DER level, each whole. */
function values(bytes: Uint8Array): Uint8Array[] {
  const reader = new DerReader(bytes, 'test');
  const found: Uint8Array[] = [];
  while (!reader.done) found.push(reader.read().whole);
  return found;
}

/** The contents of one DER value. */
const contents = (whole: Uint8Array): Uint8Array => new DerReader(whole, 'test').read().value;

describe('X.509 certificates: hostile bytes are CERT_INVALID', () => {
  let pki: TestPki;
  let der: Uint8Array;
  /** The certificate's three values and the TBSCertificate's fields. */
  let outer: Uint8Array[];
  let tbs: Uint8Array[];

  /** A certificate made of these TBSCertificate fields and these outer values. */
  const certificate = (fields: Uint8Array[], rest = outer.slice(1)) =>
    tlv(0x30, tlv(0x30, ...fields), ...rest);
  const invalid = (bytes: Uint8Array, message?: string) =>
    assert.throws(() => parseCertificate(bytes), expectError('denied', 'CERT_INVALID', message));

  before(async () => {
    pki = await TestPki.create();
    der = (
      await pki.certificate('leaf', {
        subject: '/CN=Leaf/O=Acme',
        extensions: [...EXT.codeSigning, 'crlDistributionPoints=URI:http://127.0.0.1/a.crl'],
      })
    ).der;
    outer = values(contents(der));
    tbs = values(contents(outer[0] as Uint8Array));
    // The builder rebuilds the certificate byte for byte.
    assert.deepEqual(certificate(tbs), der);
    assert.equal(tbs.length, 8);
  });
  after(() => pki.cleanup());

  test('truncated anywhere', () => {
    for (let length = 0; length < der.length; length++) invalid(der.subarray(0, length));
  });

  test('trailing bytes, after the certificate or inside one of its values', () => {
    invalid(Buffer.concat([der, Buffer.from([0x05, 0x00])]), 'after its ASN.1 value');
    invalid(certificate(tbs, [...outer.slice(1), tlv(0x05)]), 'has 4 values');
    invalid(certificate([...tbs, tlv(0x05)]), 'unexpected values');
    const [version, serial, algorithm, issuer, validity, subject, spki, extensions] = tbs as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const grown = (whole: Uint8Array) => tlv(whole[0] as number, contents(whole), tlv(0x05));
    invalid(
      certificate([version, serial, algorithm, issuer, grown(validity), subject, spki, extensions]),
      'validity has 3 values',
    );
    invalid(
      certificate([version, serial, algorithm, issuer, validity, subject, grown(spki), extensions]),
      'subjectPublicKeyInfo has 3 values',
    );
    invalid(
      certificate([
        version,
        serial,
        grown(grown(algorithm)),
        issuer,
        validity,
        subject,
        spki,
        extensions,
      ]),
      'signature has 3 values',
    );
    // Unique IDs out of order.
    invalid(
      certificate([
        ...tbs.slice(0, 7),
        tlv(0x82, Buffer.from([0])),
        tlv(0x81, Buffer.from([0])),
        extensions,
      ]),
      'unexpected values',
    );
  });

  test('outer and inner signature algorithms that differ (Go: "inner and outer signature algorithm identifiers don\'t match")', () => {
    const ecdsaSha384 = tlv(0x30, tlv(0x06, Buffer.from('2a8648ce3d040303', 'hex')));
    const sha512Rsa = tlv(0x30, tlv(0x06, Buffer.from('2a864886f70d01010d', 'hex')), tlv(0x05));
    const other = sameBytes(outer[1] as Uint8Array, ecdsaSha384) ? sha512Rsa : ecdsaSha384;
    invalid(certificate(tbs, [other, outer[2] as Uint8Array]), 'signature algorithm');
  });

  test('wrong tags', () => {
    const [version, serial, algorithm, issuer, validity, subject, spki, extensions] = tbs as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const retag = (whole: Uint8Array, tag: number) => tlv(tag, contents(whole));
    invalid(tlv(0x31, ...values(contents(der))), 'is not a SEQUENCE');
    // ENUMERATED, which asn1js decodes as a kind of INTEGER, is no serial number.
    invalid(
      certificate([
        version,
        retag(serial, 0x0a),
        algorithm,
        issuer,
        validity,
        subject,
        spki,
        extensions,
      ]),
      'serialNumber is not an INTEGER',
    );
    invalid(
      certificate([
        version,
        serial,
        algorithm,
        retag(issuer, 0x31),
        validity,
        subject,
        spki,
        extensions,
      ]),
      'issuer is not a SEQUENCE',
    );
    const [notBefore, notAfter] = values(contents(validity)) as [Uint8Array, Uint8Array];
    invalid(
      certificate([
        version,
        serial,
        algorithm,
        issuer,
        tlv(0x30, retag(notBefore, 0x13), notAfter),
        subject,
        spki,
        extensions,
      ]),
      'notBefore is not a UTCTime or GeneralizedTime',
    );
    invalid(
      certificate([
        version,
        serial,
        algorithm,
        issuer,
        validity,
        subject,
        spki,
        retag(extensions, 0xa4),
      ]),
      'unexpected values',
    );
    invalid(certificate([retag(version, 0x80), ...tbs.slice(1)]), 'serialNumber is not an INTEGER');
    invalid(
      certificate(tbs, [outer[1] as Uint8Array, retag(outer[2] as Uint8Array, 0x04)]),
      'signatureValue is not a BIT STRING',
    );
    // Versions 1 to 3 only.
    for (const value of [3, 0xff]) {
      invalid(
        certificate([tlv(0xa0, tlv(0x02, Buffer.from([value]))), ...tbs.slice(1)]),
        'version other than',
      );
    }
  });

  test('lengths longer than the input, or than any input could be', () => {
    invalid(Buffer.concat([Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), der.subarray(4)]));
    invalid(Buffer.concat([Buffer.from([0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]), der.subarray(4)]));
    const serialFields = [...tbs];
    serialFields[1] = Buffer.from([0x02, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x01]);
    invalid(certificate(serialFields));
    // A length one short, which asn1js reads past (the last value running over the end of
    // the SubjectPublicKeyInfo, the next field read from inside it); and BER's indefinite
    // length, which DER has not.
    const spki = tbs[6] as Uint8Array;
    // Forms BER allows and DER does not, which asn1js reads: a length in more bytes than it
    // needs, an OID sub-identifier with a leading 0x80.
    const [spkiAlgorithm, spkiKey] = values(contents(spki)) as [Uint8Array, Uint8Array];
    const longLength = Buffer.concat([
      Buffer.from([0x30, 0x81, spki[1] as number]),
      contents(spki),
    ]);
    invalid(certificate([...tbs.slice(0, 6), longLength, ...tbs.slice(7)]), 'is not DER');
    const [oid, ...parameters] = values(contents(spkiAlgorithm)) as [Uint8Array, ...Uint8Array[]];
    const paddedOid = tlv(
      0x06,
      Buffer.from([contents(oid)[0] as number, 0x80]),
      contents(oid).subarray(1),
    );
    invalid(
      certificate([
        ...tbs.slice(0, 6),
        tlv(0x30, tlv(0x30, paddedOid, ...parameters), spkiKey),
        ...tbs.slice(7),
      ]),
      'is not DER',
    );
    const short = Uint8Array.from(spki);
    short[1] = (short[1] as number) - 1;
    invalid(certificate([...tbs.slice(0, 6), short, ...tbs.slice(7)]));
    invalid(
      certificate([
        ...tbs.slice(0, 6),
        Buffer.concat([
          short.subarray(0, 1),
          Buffer.from([0x80]),
          contents(spki),
          Buffer.from([0, 0]),
        ]),
        ...tbs.slice(7),
      ]),
      'not DER',
    );
  });

  test('deep nesting, in a name or in an extension, is refused quickly', () => {
    let deep: Uint8Array = tlv(0x05);
    for (let i = 0; i < 5000; i++) deep = tlv(0x30, deep);
    const attribute = tlv(0x31, tlv(0x30, tlv(0x06, Buffer.from([0x55, 0x04, 0x03])), deep));
    const start = performance.now();
    invalid(
      certificate([...tbs.slice(0, 5), tlv(0x30, attribute), ...tbs.slice(6)]),
      'not valid ASN.1',
    );
    const withExtension = (oid: number[]) =>
      certificate([
        ...tbs.slice(0, 7),
        tlv(
          0xa3,
          tlv(
            0x30,
            ...values(contents(contents(tbs[7] as Uint8Array))).slice(0, 2),
            tlv(0x30, tlv(0x06, Buffer.from(oid)), tlv(0x04, deep)),
          ),
        ),
      ]);
    // An extension the checks read (extended key usage) is refused; one they do not read
    // is left unread, as Go leaves it.
    invalid(withExtension([0x55, 0x1d, 0x25]), 'not valid ASN.1');
    assert.deepEqual(parseCertificate(withExtension([0x2a, 0x03])).extKeyUsage, undefined);
    assert.ok(performance.now() - start < 2_000);
  });

  test('each extension once; each read extension one whole value of its type', () => {
    const list = values(contents(contents(tbs[7] as Uint8Array)));
    const withExtensions = (...extensions: Uint8Array[]) =>
      certificate([...tbs.slice(0, 7), tlv(0xa3, tlv(0x30, ...extensions))]);
    invalid(withExtensions(...list, list[0] as Uint8Array), 'twice');
    const basicConstraints = (value: Uint8Array, critical?: Uint8Array) =>
      tlv(
        0x30,
        tlv(0x06, Buffer.from([0x55, 0x1d, 0x13])),
        ...(critical ? [critical] : []),
        tlv(0x04, value),
      );
    const ok = parseCertificate(
      withExtensions(
        basicConstraints(tlv(0x30, tlv(0x01, Buffer.from([0xff])), tlv(0x02, Buffer.from([3])))),
      ),
    );
    assert.deepEqual(ok.basicConstraints, { critical: false, ca: true, pathLen: 3 });
    invalid(
      withExtensions(basicConstraints(tlv(0x30, tlv(0x02, Buffer.from([0xff]))))),
      'pathLenConstraint -1',
    );
    invalid(
      withExtensions(basicConstraints(Buffer.concat([tlv(0x30), tlv(0x05)]))),
      'after its ASN.1 value',
    );
    invalid(
      withExtensions(basicConstraints(tlv(0x30), tlv(0x02, Buffer.from([1])))),
      'critical is not a BOOLEAN',
    );
    invalid(withExtensions(basicConstraints(tlv(0x31))), 'is not a SEQUENCE');
    // A CRL distribution point whose full name holds something no GeneralName is.
    const crl = tlv(
      0x30,
      tlv(0x06, Buffer.from([0x55, 0x1d, 0x1f])),
      tlv(0x04, tlv(0x30, tlv(0x30, tlv(0xa0, tlv(0xa0, tlv(0x89, Buffer.from('x'))))))),
    );
    invalid(withExtensions(crl), 'GeneralName is malformed');
  });

  test('random bytes never crash or hang the reader', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          parseCertificate(
            Buffer.concat([
              Buffer.from([0x30, 0x82, bytes.length >> 8, bytes.length & 0xff]),
              bytes,
            ]),
          );
          return false;
        } catch (error) {
          return isVouchError(error) && error.code === 'CERT_INVALID';
        }
      }),
      { numRuns: 2000 },
    );
  });
});
