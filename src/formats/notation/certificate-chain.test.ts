/**
 * The Notary Project certificate requirements on chains made with openssl
 * (test/helpers/notation-pki.ts), and on the certificates notation's own
 * suite signs with (../shared/fixtures/notation, when present).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  EXT,
  type Issued,
  type KeySpec,
  pemCertificates,
  TestPki,
} from '../../../test/helpers/notation-pki.ts';
import {
  chainValidAt,
  MAX_CHAIN_LENGTH,
  trustAnchorOf,
  validateChain,
  verifySigningChain,
} from './certificate-chain.ts';
import { type NotationCertificate, parseCertificate } from './x509.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../../shared/fixtures/notation');
const skipFixtures = existsSync(FIXTURES)
  ? false
  : `notation fixtures not found at ${FIXTURES} (they live outside the repository)`;

const HOUR = 3600_000;
const cert = (issued: Issued): NotationCertificate => parseCertificate(issued.der);

describe('Notary Project certificate chain requirements', () => {
  let pki: TestPki;
  let root: Issued;
  let intermediate: Issued;
  let leaf: Issued;
  /** [leaf, intermediate, root] */
  let chain: NotationCertificate[];
  /** Leaves under `intermediate`, by name (see LEAVES). */
  const leaves = new Map<string, NotationCertificate>();

  /** Leaves the tests below need, made at once (openssl takes a while per certificate). */
  const LEAVES: Record<string, { extensions: readonly string[]; key?: KeySpec; digest?: 'sha1' }> =
    {
      'sha1-leaf': { extensions: EXT.codeSigning, digest: 'sha1' },
      'ca-leaf': {
        extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature'],
      },
      'ku-none': { extensions: ['extendedKeyUsage=codeSigning'] },
      'ku-soft': { extensions: ['keyUsage=digitalSignature'] },
      'ku-nonrepudiation': { extensions: ['keyUsage=critical,nonRepudiation'] },
      'ku-extra': {
        extensions: ['keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement'],
      },
      ...Object.fromEntries(
        ['serverAuth', 'clientAuth', 'emailProtection', 'timeStamping', 'OCSPSigning'].map(
          (usage) => [
            `eku-${usage}`,
            {
              extensions: [
                'keyUsage=critical,digitalSignature',
                `extendedKeyUsage=codeSigning,${usage}`,
              ],
            },
          ],
        ),
      ),
      'eku-absent': { extensions: ['keyUsage=critical,digitalSignature'] },
      'eku-any': {
        extensions: ['keyUsage=critical,digitalSignature', 'extendedKeyUsage=anyExtendedKeyUsage'],
      },
      'tsa-good': { extensions: EXT.timestamping },
      'tsa-soft': {
        extensions: ['keyUsage=critical,digitalSignature', 'extendedKeyUsage=timeStamping'],
      },
      'tsa-extra': {
        extensions: [
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=critical,timeStamping,codeSigning',
        ],
      },
      'tsa-none': { extensions: ['keyUsage=critical,digitalSignature'] },
      ...Object.fromEntries(
        (['rsa-2048', 'ec-p384', 'ec-p521', 'rsa-1024', 'ec-p224', 'ed25519'] as const).map(
          (key) => [`key-${key}`, { extensions: EXT.codeSigning, key }],
        ),
      ),
    };

  before(async () => {
    pki = await TestPki.create();
    root = await pki.certificate('root', { subject: '/CN=Root/O=Test', extensions: EXT.root });
    intermediate = await pki.certificate('intermediate', {
      subject: '/CN=Intermediate/O=Test',
      issuer: root,
      extensions: EXT.intermediate(0),
    });
    leaf = await pki.certificate('leaf', {
      subject: '/CN=Leaf/O=Test',
      issuer: intermediate,
      extensions: EXT.codeSigning,
    });
    chain = [cert(leaf), cert(intermediate), cert(root)];
    await Promise.all(
      Object.entries(LEAVES).map(async ([name, spec]) => {
        const issued = await pki.certificate(name, {
          subject: `/CN=${name}`,
          issuer: intermediate,
          ...spec,
        });
        leaves.set(name, cert(issued));
      }),
    );
  });
  after(() => pki.cleanup());

  const leafNamed = (name: string): NotationCertificate => {
    const found = leaves.get(name);
    assert.ok(found, name);
    return found;
  };

  test('a leaf, an intermediate and a self-signed root meet them', () => {
    assert.equal(validateChain(chain, 'codeSigning'), undefined);
    assert.equal(chain[0]?.subject, 'CN=Leaf,O=Test');
  });

  test('the trust store may hold any certificate of the chain (VerifyAuthenticity)', () => {
    const [leafCert, intermediateCert, rootCert] = chain;
    assert.ok(leafCert && intermediateCert && rootCert);
    const byRoot = verifySigningChain(chain, { trusted: [rootCert] });
    assert.ok(byRoot.ok);
    assert.equal(byRoot.anchor, rootCert);
    const byIntermediate = verifySigningChain(chain, { trusted: [intermediateCert] });
    assert.ok(byIntermediate.ok);
    assert.equal(
      trustAnchorOf(chain, [rootCert, leafCert]),
      leafCert,
      'the first match from the leaf',
    );
  });

  test('a chain with no trusted certificate is untrusted, however well formed', async () => {
    const other = cert(
      await pki.certificate('other-root', { subject: '/CN=Root/O=Test', extensions: EXT.root }),
    );
    const result = verifySigningChain(chain, { trusted: [other] });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 'NOTATION_CHAIN_UNTRUSTED');
    const none = verifySigningChain(chain, { trusted: [] });
    assert.equal(!none.ok && none.code, 'NOTATION_CHAIN_UNTRUSTED');
    assert.match(!none.ok ? none.message : '', /no trusted certificates/);
  });

  test('links must follow the chain order, ending with a self-signed root', () => {
    const [leafCert, intermediateCert, rootCert] = chain;
    assert.ok(leafCert && intermediateCert && rootCert);
    const outOfOrder = validateChain([leafCert, rootCert, intermediateCert], 'codeSigning');
    assert.equal(outOfOrder?.code, 'NOTATION_CHAIN_INVALID');
    assert.match(outOfOrder?.message ?? '', /is not issued by "CN=Root,O=Test"/);
    const noRoot = validateChain([leafCert, intermediateCert], 'codeSigning');
    assert.equal(noRoot?.code, 'NOTATION_CHAIN_INVALID');
    assert.match(noRoot?.message ?? '', /is not self-signed/);
    assert.equal(validateChain([], 'codeSigning')?.code, 'NOTATION_CHAIN_INVALID');
    const long = Array.from({ length: MAX_CHAIN_LENGTH + 1 }, () => leafCert);
    assert.match(validateChain(long, 'codeSigning')?.message ?? '', /more than 10/);
  });

  test('a self-signed certificate before the end of the chain is refused', () => {
    const [, , rootCert] = chain;
    assert.ok(rootCert);
    const problem = validateChain([rootCert, rootCert], 'codeSigning');
    assert.equal(problem?.code, 'NOTATION_CHAIN_INVALID');
    assert.match(problem?.message ?? '', /leaf certificate "CN=Root,O=Test" is self-signed/);
  });

  test('a tampered certificate signature breaks its link', () => {
    const [leafCert, intermediateCert, rootCert] = chain;
    assert.ok(leafCert && intermediateCert && rootCert);
    const der = Buffer.from(leafCert.der);
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0x01;
    const problem = validateChain(
      [parseCertificate(der), intermediateCert, rootCert],
      'codeSigning',
    );
    assert.equal(problem?.code, 'NOTATION_CHAIN_INVALID');
    assert.match(problem?.message ?? '', /does not verify/);
  });

  test('SHA-1 signatures are refused', () => {
    const sha1 = leafNamed('sha1-leaf');
    const problem = validateChain([sha1, ...chain.slice(1)], 'codeSigning');
    assert.equal(problem?.code, 'NOTATION_CHAIN_INVALID');
    assert.match(problem?.message ?? '', /insecure signature algorithm ECDSA with SHA-1/);
  });

  test('an issuer that is not a CA cannot sign', async () => {
    const notCa = await pki.certificate('not-ca', {
      subject: '/CN=NotCA',
      issuer: root,
      extensions: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyCertSign'],
    });
    const below = await pki.certificate('below-not-ca', {
      subject: '/CN=Below',
      issuer: notCa,
      extensions: EXT.codeSigning,
    });
    const problem = validateChain([cert(below), cert(notCa), cert(root)], 'codeSigning');
    assert.equal(problem?.code, 'NOTATION_CHAIN_INVALID');
    assert.match(problem?.message ?? '', /not a CA certificate/);
  });

  test('path length constraints count the intermediates below', async () => {
    const tight = await pki.certificate('tight-root', {
      subject: '/CN=TightRoot',
      extensions: ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign'],
    });
    const middle = await pki.certificate('tight-middle', {
      subject: '/CN=TightMiddle',
      issuer: tight,
      extensions: EXT.intermediate(),
    });
    const end = await pki.certificate('tight-leaf', {
      subject: '/CN=TightLeaf',
      issuer: middle,
      extensions: EXT.codeSigning,
    });
    const problem = validateChain([cert(end), cert(middle), cert(tight)], 'codeSigning');
    assert.equal(problem?.code, 'NOTATION_CERT_BASIC_CONSTRAINTS');
    assert.match(problem?.message ?? '', /path length constraint 0, but 1 certificates below it/);
    assert.equal(
      validateChain([cert(middle), cert(tight)], 'timestamping')?.code,
      'NOTATION_CERT_BASIC_CONSTRAINTS',
    );
  });

  test('CA key usage must be present, critical for code signing, with keyCertSign', async () => {
    const nonCritical = await pki.certificate('ku-noncritical', {
      subject: '/CN=KuNonCritical',
      issuer: root,
      extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=keyCertSign'],
    });
    const [signer, tsa] = await Promise.all([
      pki.certificate('under-ku-noncritical', {
        subject: '/CN=UnderKu',
        issuer: nonCritical,
        extensions: EXT.codeSigning,
      }),
      pki.certificate('tsa-under-ku-noncritical', {
        subject: '/CN=TsaUnderKu',
        issuer: nonCritical,
        extensions: EXT.timestamping,
      }),
    ]);
    const codeSigning = validateChain([cert(signer), cert(nonCritical), cert(root)], 'codeSigning');
    assert.equal(codeSigning?.code, 'NOTATION_CERT_KEY_USAGE');
    assert.match(
      codeSigning?.message ?? '',
      /"CN=KuNonCritical" must have its key usage extension marked critical/,
    );
    // RFC 3161 TSAs: the spec says SHOULD be critical; notation does not require it.
    assert.equal(
      validateChain([cert(tsa), cert(nonCritical), cert(root)], 'timestamping'),
      undefined,
    );

    const noUsage = await pki.certificate('ku-missing', {
      subject: '/CN=KuMissing',
      issuer: root,
      extensions: ['basicConstraints=critical,CA:TRUE'],
    });
    const underMissing = await pki.certificate('under-ku-missing', {
      subject: '/CN=UnderKuMissing',
      issuer: noUsage,
      extensions: EXT.codeSigning,
    });
    const missing = validateChain([cert(underMissing), cert(noUsage), cert(root)], 'codeSigning');
    assert.equal(missing?.code, 'NOTATION_CERT_KEY_USAGE');
    assert.match(missing?.message ?? '', /must have the key usage extension/);
  });

  test('a leaf must not be a CA', () => {
    const caLeaf = leafNamed('ca-leaf');
    assert.equal(
      validateChain([caLeaf, ...chain.slice(1)], 'codeSigning')?.code,
      'NOTATION_CERT_BASIC_CONSTRAINTS',
    );
  });

  test('a leaf has digitalSignature as its only key usage, in a critical extension', () => {
    const cases: [string, RegExp][] = [
      ['ku-none', /must have the key usage extension/],
      ['ku-soft', /marked critical/],
      ['ku-nonrepudiation', /must have the digitalSignature/],
      ['ku-extra', /also has keyEncipherment, keyAgreement/],
    ];
    for (const [name, message] of cases) {
      const problem = validateChain([leafNamed(name), ...chain.slice(1)], 'codeSigning');
      assert.equal(problem?.code, 'NOTATION_CERT_KEY_USAGE', name);
      assert.match(problem?.message ?? '', message, name);
    }
  });

  test('a code signing leaf may not have the TLS, email, timestamping or OCSP usages', () => {
    for (const usage of [
      'serverAuth',
      'clientAuth',
      'emailProtection',
      'timeStamping',
      'OCSPSigning',
    ]) {
      const problem = validateChain([leafNamed(`eku-${usage}`), ...chain.slice(1)], 'codeSigning');
      assert.equal(problem?.code, 'NOTATION_CERT_EXTENDED_KEY_USAGE', usage);
      assert.match(problem?.message ?? '', new RegExp(`the ${usage} extended key usage`));
    }
    // Without the extension, or with anyExtendedKeyUsage (which the code does not exclude), it passes.
    assert.equal(
      validateChain([leafNamed('eku-absent'), ...chain.slice(1)], 'codeSigning'),
      undefined,
    );
    assert.equal(
      validateChain([leafNamed('eku-any'), ...chain.slice(1)], 'codeSigning'),
      undefined,
    );
  });

  test('a timestamping leaf has timeStamping as its only, critical, extended key usage', () => {
    assert.equal(
      validateChain([leafNamed('tsa-good'), ...chain.slice(1)], 'timestamping'),
      undefined,
    );
    for (const name of ['tsa-soft', 'tsa-extra', 'tsa-none']) {
      const problem = validateChain([leafNamed(name), ...chain.slice(1)], 'timestamping');
      assert.equal(problem?.code, 'NOTATION_CERT_EXTENDED_KEY_USAGE', name);
    }
  });

  test('leaf keys: RSA 2048/3072/4096 and ECDSA P-256/384/521 only', () => {
    for (const key of ['rsa-2048', 'ec-p384', 'ec-p521'] as const) {
      assert.equal(
        validateChain([leafNamed(`key-${key}`), ...chain.slice(1)], 'codeSigning'),
        undefined,
        key,
      );
    }
    for (const [key, message] of [
      ['rsa-1024', /RSA key of 1024 bits/],
      ['ec-p224', /ECDSA key on secp224r1/],
      ['ed25519', /ed25519 public key/],
    ] as const) {
      const weak = leafNamed(`key-${key}`);
      const problem = validateChain([weak, ...chain.slice(1)], 'codeSigning');
      assert.equal(problem?.code, 'NOTATION_CERT_KEY_UNSUPPORTED', key);
      assert.match(problem?.message ?? '', message);
    }
  });

  test('a signing time outside any certificate validity is refused', async () => {
    const oldRoot = await pki.certificate('old-root', {
      subject: '/CN=OldRoot',
      extensions: EXT.root,
      notBefore: new Date(Date.now() - 100 * HOUR),
    });
    const expired = await pki.certificate('expired-leaf', {
      subject: '/CN=expired-leaf',
      issuer: oldRoot,
      extensions: EXT.codeSigning,
      notBefore: new Date(Date.now() - 48 * HOUR),
      notAfter: new Date(Date.now() - 24 * HOUR),
    });
    const expiredChain = [cert(expired), cert(oldRoot)];
    assert.equal(
      validateChain(expiredChain, 'codeSigning'),
      undefined,
      'no signing time: not checked',
    );
    assert.equal(
      validateChain(expiredChain, 'codeSigning', new Date(Date.now() - 36 * HOUR)),
      undefined,
    );
    assert.equal(
      validateChain(expiredChain, 'codeSigning', new Date())?.code,
      'NOTATION_CERT_EXPIRED',
    );
    assert.equal(
      validateChain(expiredChain, 'codeSigning', new Date(Date.now() - 72 * HOUR))?.code,
      'NOTATION_CERT_NOT_YET_VALID',
    );
    const now = chainValidAt(expiredChain, new Date(), 'the verification time');
    assert.equal(now?.code, 'NOTATION_CERT_EXPIRED');
    assert.match(
      now?.message ?? '',
      /^the verification time \(.*\) is after the certificate "CN=expired-leaf" expired/,
    );
    const result = verifySigningChain(expiredChain, {
      trusted: [cert(oldRoot)],
      validAt: { time: new Date(), what: 'the verification time' },
    });
    assert.equal(!result.ok && result.code, 'NOTATION_CERT_EXPIRED');
  });

  test('a self-signed leaf alone is a chain, held to the leaf requirements', async () => {
    const alone = cert(
      await pki.certificate('self-signed-leaf', {
        subject: '/CN=Alone',
        extensions: EXT.codeSigning,
      }),
    );
    assert.equal(validateChain([alone], 'codeSigning'), undefined);
    assert.ok(verifySigningChain([alone], { trusted: [alone] }).ok);
    const caAlone = cert(
      await pki.certificate('self-signed-ca', { subject: '/CN=CaAlone', extensions: EXT.root }),
    );
    assert.equal(validateChain([caAlone], 'codeSigning')?.code, 'NOTATION_CERT_BASIC_CONSTRAINTS');
    // One certificate that is not self-issued is no chain.
    assert.equal(
      validateChain([chain[0] as NotationCertificate], 'codeSigning')?.code,
      'NOTATION_CHAIN_INVALID',
    );
  });
});

describe('notation e2e certificates', { skip: skipFixtures }, () => {
  const read = (path: string) =>
    pemCertificates(readFileSync(resolve(FIXTURES, path), 'utf8')).map((der) =>
      parseCertificate(der),
    );

  test('the self-signed e2e signing certificate meets the requirements', () => {
    const [e2e] = read('config/localkeys/e2e.crt');
    assert.ok(e2e);
    assert.equal(validateChain([e2e], 'codeSigning'), undefined);
    assert.ok(verifySigningChain([e2e], { trusted: [e2e] }).ok);
    const [other] = read('config/localkeys/new_e2e.crt');
    assert.ok(other);
    assert.equal(verifySigningChain([e2e], { trusted: [other] }).ok, false);
  });

  test('the revocation test chains meet the requirements', () => {
    assert.equal(
      validateChain(read('config/crl/certchain_with_crl.pem'), 'codeSigning'),
      undefined,
    );
    assert.equal(
      validateChain(read('config/ocsp/certchain_with_ocsp.pem'), 'codeSigning'),
      undefined,
    );
  });

  test('the expired e2e certificate fails at verification time', () => {
    const [expired] = read('config/localkeys/expired_e2e.crt');
    assert.ok(expired);
    assert.equal(
      chainValidAt([expired], new Date(), 'the verification time')?.code,
      'NOTATION_CERT_EXPIRED',
    );
  });
});
