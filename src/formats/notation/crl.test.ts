/**
 * CRL checks as notation makes them, on CRLs made by `openssl ca -gencrl`
 * (test/helpers/notation-pki.ts) and on the CRLs of notation's own
 * revocation tests (../shared/fixtures/notation/config/crl).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { EXT, type Issued, pemCertificates, TestPki } from '../../../test/helpers/notation-pki.ts';
import { type CrlBundle, crlBundleProblem, crlStatus, parseCrl } from './crl.ts';
import { DerError } from './der.ts';
import { type NotationCertificate, parseCertificate } from './x509.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../../shared/fixtures/notation');
const skipFixtures = existsSync(FIXTURES)
  ? false
  : `notation fixtures not found at ${FIXTURES} (they live outside the repository)`;

const HOUR = 3600_000;
const cert = (issued: Issued): NotationCertificate => parseCertificate(issued.der);

describe('CRLs', () => {
  let pki: TestPki;
  let root: Issued;
  let ca: Issued;
  let noCrlSign: Issued;
  let caCert: NotationCertificate;
  const subjects = new Map<string, Issued>();
  const now = () => new Date();

  before(async () => {
    pki = await TestPki.create();
    root = await pki.certificate('root', { subject: '/CN=Root', extensions: EXT.root });
    [ca, noCrlSign] = await Promise.all([
      pki.certificate('ca', { subject: '/CN=CA', issuer: root, extensions: EXT.intermediate(0) }),
      pki.certificate('no-crl-sign', {
        subject: '/CN=No cRLSign',
        issuer: root,
        extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'],
      }),
    ]);
    caCert = cert(ca);
    await Promise.all(
      ['good', 'revoked', 'held', 'released', 'compromised', 'late', 'delta-revoked'].map(
        async (name) => {
          subjects.set(
            name,
            await pki.certificate(name, {
              subject: `/CN=${name}`,
              issuer: ca,
              extensions: EXT.codeSigning,
            }),
          );
        },
      ),
    );
  });
  after(() => pki.cleanup());

  const subject = (name: string): Issued => {
    const found = subjects.get(name);
    assert.ok(found, name);
    return found;
  };
  const statusOf = (name: string, bundle: CrlBundle, signingTime?: Date) =>
    crlStatus(cert(subject(name)), bundle, signingTime).status;

  test('a certificate listed for any reason but hold or removal is revoked', async () => {
    await pki.revoke(subject('revoked'), ca, { reason: 'superseded' });
    const base = parseCrl(await pki.crl(ca));
    assert.equal(crlBundleProblem({ base }, caCert, now()), undefined);
    assert.equal(statusOf('revoked', { base }), 'revoked');
    assert.equal(statusOf('good', { base }), 'ok');
  });

  test('certificateHold revokes for now; a later removeFromCRL unrevokes', async () => {
    await pki.revoke(subject('held'), ca, { hold: true });
    await pki.revoke(subject('released'), ca, { hold: true });
    const base = parseCrl(
      await pki.crl(ca, { crlNumber: 0x20, extensions: ['authorityKeyIdentifier=keyid:always'] }),
    );
    assert.equal(statusOf('held', { base }), 'revoked');
    assert.equal(statusOf('released', { base }), 'revoked');
    // The delta CRL says "released" was removed from the CRL, after its hold.
    const later = new Date(Date.now() + 60_000);
    const stamp = `${later.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
    const index = await pki.index(ca);
    await pki.setIndex(
      ca,
      index.map((line) => {
        if (!line.endsWith('/CN=released')) return line;
        const fields = line.split('\t');
        fields[2] = `${stamp},removeFromCRL`;
        return fields.join('\t');
      }),
    );
    const delta = parseCrl(
      await pki.crl(ca, { crlNumber: 0x21, extensions: ['2.5.29.27=critical,ASN1:INTEGER:0x20'] }),
    );
    assert.equal(crlBundleProblem({ base, delta }, caCert, now()), undefined);
    assert.equal(statusOf('released', { base, delta }), 'ok');
    assert.equal(statusOf('held', { base, delta }), 'revoked');
  });

  test('a revocation whose invalidity date follows the signing time does not count', async () => {
    await pki.revoke(subject('compromised'), ca, {
      compromisedAt: new Date('2020-01-01T00:00:00Z'),
    });
    const base = parseCrl(await pki.crl(ca));
    assert.equal(statusOf('compromised', { base }), 'revoked');
    assert.equal(statusOf('compromised', { base }, new Date('2019-01-01T00:00:00Z')), 'ok');
    assert.equal(statusOf('compromised', { base }, new Date('2021-01-01T00:00:00Z')), 'revoked');
  });

  test('a delta CRL adds revocations after its base', async () => {
    const base = parseCrl(
      await pki.crl(ca, {
        crlNumber: 0x30,
        extensions: ['freshestCRL=URI:http://127.0.0.1/delta.crl'],
      }),
    );
    assert.deepEqual(base.freshestCrlUrls, ['http://127.0.0.1/delta.crl']);
    await pki.revoke(subject('delta-revoked'), ca);
    const delta = parseCrl(
      await pki.crl(ca, { crlNumber: 0x31, extensions: ['2.5.29.27=critical,ASN1:INTEGER:0x30'] }),
    );
    assert.equal(delta.deltaIndicator, 0x30n);
    assert.equal(statusOf('delta-revoked', { base }), 'ok');
    assert.equal(crlBundleProblem({ base, delta }, caCert, now()), undefined);
    assert.equal(statusOf('delta-revoked', { base, delta }), 'revoked');

    // A delta that is not newer than its base, or for a later base, or no delta at all.
    const stale = parseCrl(
      await pki.crl(ca, { crlNumber: 0x30, extensions: ['2.5.29.27=critical,ASN1:INTEGER:0x30'] }),
    );
    assert.match(
      crlBundleProblem({ base, delta: stale }, caCert, now()) ?? '',
      /not greater than the base CRL number/,
    );
    const ahead = parseCrl(
      await pki.crl(ca, { crlNumber: 0x40, extensions: ['2.5.29.27=critical,ASN1:INTEGER:0x35'] }),
    );
    assert.match(
      crlBundleProblem({ base, delta: ahead }, caCert, now()) ?? '',
      /applies to base CRL 53, after base CRL 48/,
    );
    const plain = parseCrl(await pki.crl(ca, { crlNumber: 0x41 }));
    assert.match(
      crlBundleProblem({ base, delta: plain }, caCert, now()) ?? '',
      /no delta CRL indicator/,
    );
    // A delta served where the base is expected would hide older revocations.
    assert.match(
      crlBundleProblem({ base: delta }, caCert, now()) ?? '',
      /the base CRL is a delta CRL/,
    );
  });

  test('signature, issuer, validity and critical extensions are checked', async () => {
    const base = parseCrl(await pki.crl(ca));
    assert.match(crlBundleProblem({ base }, cert(root), now()) ?? '', /is not signed by "CN=Root"/);
    const unsigned = parseCrl(await pki.crl(noCrlSign));
    assert.match(
      crlBundleProblem({ base: unsigned }, cert(noCrlSign), now()) ?? '',
      /has no cRLSign key usage/,
    );
    const expired = parseCrl(
      await pki.crl(ca, {
        lastUpdate: new Date(Date.now() - 2 * HOUR),
        nextUpdate: new Date(Date.now() - HOUR),
      }),
    );
    assert.match(
      crlBundleProblem({ base: expired }, caCert, now()) ?? '',
      /^the base CRL expired at/,
    );
    const critical = parseCrl(await pki.crl(ca, { extensions: ['1.2.3.4=critical,ASN1:NULL'] }));
    assert.match(
      crlBundleProblem({ base: critical }, caCert, now()) ?? '',
      /unsupported critical extension 1\.2\.3\.4/,
    );
    const sha1 = parseCrl(await pki.crl(ca, { digest: 'sha1' }));
    assert.match(
      crlBundleProblem({ base: sha1 }, caCert, now()) ?? '',
      /insecure signature algorithm/,
    );
  });

  test(
    'a CRL of 50,000 entries is read (a hang guard; its speed is measured, not asserted)',
    { timeout: 60_000 },
    async () => {
      const big = await pki.certificate('big-ca', { subject: '/CN=Big CA', extensions: EXT.root });
      const lines = Array.from(
        { length: 50_000 },
        (_, i) =>
          `R\t301231000000Z\t251231000000Z,keyCompromise\t${(0x100000 + i).toString(16).toUpperCase()}\tunknown\t/CN=x${i}`,
      );
      await pki.setIndex(big, lines);
      const der = await pki.crl(big);
      const crl = parseCrl(der);
      assert.equal(crl.entries.length, 50_000);
      assert.equal(crl.entries[25_000]?.serialNumber, BigInt(0x100000 + 25_000));
      // asn1js and pkijs took about 8 s for this; the DER reader about 0.3 s.
    },
  );

  test('malformed CRLs are DerErrors, whatever the bytes', async () => {
    assert.throws(() => parseCrl(Buffer.from('not a crl')), DerError);
    const der = await pki.crl(ca);
    assert.throws(() => parseCrl(der.subarray(0, der.length - 1)), DerError);
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const mutated = Buffer.from(der);
        mutated[i] = (mutated[i] ?? 0) ^ x;
        try {
          const crl = parseCrl(mutated);
          // Parsed: then the signature must no longer verify, unless the
          // change was outside the signed data.
          const problem = crlBundleProblem({ base: crl }, caCert, now());
          return (
            problem !== undefined ||
            Buffer.compare(Buffer.from(crl.tbs), Buffer.from(parseCrl(der).tbs)) === 0
          );
        } catch (error) {
          return error instanceof DerError;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("notation's revocation test CRLs", { skip: skipFixtures }, () => {
  const crl = (name: string) => parseCrl(readFileSync(resolve(FIXTURES, 'config/crl', name)));
  const chain = () =>
    pemCertificates(
      readFileSync(resolve(FIXTURES, 'config/crl/certchain_with_crl.pem'), 'utf8'),
    ).map((der) => parseCertificate(der));
  const now = new Date();

  test('the leaf: good in leaf.crl, revoked in leaf_revoked.crl, leaf_expired.crl unusable', () => {
    const [leaf, intermediate] = chain();
    assert.ok(leaf && intermediate);
    assert.deepEqual(leaf.crlDistributionPoints, ['http://localhost:10086/leaf.crl']);
    const good = { base: crl('leaf.crl') };
    assert.equal(crlBundleProblem(good, intermediate, now), undefined);
    assert.equal(crlStatus(leaf, good).status, 'ok');
    const revoked = { base: crl('leaf_revoked.crl') };
    assert.equal(crlBundleProblem(revoked, intermediate, now), undefined);
    assert.equal(crlStatus(leaf, revoked).status, 'revoked');
    // leaf_expired.crl (2023) was signed by an earlier intermediate key: like
    // notation, the signature is checked before the dates, and fails.
    assert.match(
      crlBundleProblem({ base: crl('leaf_expired.crl') }, intermediate, now) ?? '',
      /is not signed by "CN=IntermediateCA/,
    );
  });

  test('the intermediate: revoked in intermediate_revoked.crl, signed by the root', () => {
    const [, intermediate, root] = chain();
    assert.ok(intermediate && root);
    const revoked = { base: crl('intermediate_revoked.crl') };
    assert.equal(crlBundleProblem(revoked, root, now), undefined);
    assert.equal(crlStatus(intermediate, revoked).status, 'revoked');
    assert.equal(crlStatus(intermediate, { base: crl('intermediate.crl') }).status, 'ok');
    // The leaf's CRL is not the root's to sign.
    assert.match(crlBundleProblem({ base: crl('leaf.crl') }, root, now) ?? '', /is not signed by/);
  });
});
