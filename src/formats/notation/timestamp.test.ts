/**
 * RFC 3161 countersignatures as notation verifies them: tokens made by
 * `openssl ts -reply` for a throwaway TSA (test/helpers/notation-pki.ts),
 * and the Microsoft-TSA token of notation's own e2e layout
 * `e2e-with-timestamped-signature` (../shared/fixtures/notation).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EXT, type Issued, TestPki } from '../../../test/helpers/notation-pki.ts';
import { MAX_TOKEN_BYTES, type TimestampVerification, verifyTimestamp } from './timestamp.ts';
import { type NotationCertificate, parseCertificate } from './x509.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../../shared/fixtures/notation');
const skipFixtures = existsSync(FIXTURES)
  ? false
  : `notation fixtures not found at ${FIXTURES} (they live outside the repository)`;

const HOUR = 3600_000;
const cert = (issued: Issued): NotationCertificate => parseCertificate(issued.der);

function failure(result: TimestampVerification): { code: string; message: string } {
  assert.equal(result.ok, false, 'expected the timestamp to be refused');
  return result.ok ? { code: '', message: '' } : result;
}

describe('RFC 3161 timestamp countersignatures', () => {
  let pki: TestPki;
  let tsaRoot: Issued;
  let tsaCa: Issued;
  let tsa: Issued;
  let signingRoot: Issued;
  let signingLeaf: Issued;
  /** The envelope's signature bytes the tokens stamp. */
  const signature = randomBytes(256);
  let token: Uint8Array;
  let signingChain: NotationCertificate[];

  before(async () => {
    pki = await TestPki.create();
    [tsaRoot, signingRoot] = await Promise.all([
      pki.certificate('tsa-root', { subject: '/CN=TSA Root', extensions: EXT.root }),
      pki.certificate('signing-root', { subject: '/CN=Signing Root', extensions: EXT.root }),
    ]);
    [tsaCa, signingLeaf] = await Promise.all([
      pki.certificate('tsa-ca', {
        subject: '/CN=TSA CA',
        issuer: tsaRoot,
        extensions: EXT.intermediate(0),
      }),
      pki.certificate('signing-leaf', {
        subject: '/CN=Signer',
        issuer: signingRoot,
        extensions: EXT.codeSigning,
      }),
    ]);
    tsa = await pki.certificate('tsa', {
      subject: '/CN=TSA',
      issuer: tsaCa,
      extensions: EXT.timestamping,
    });
    signingChain = [cert(signingLeaf), cert(signingRoot)];
    token = await pki.timestampToken(tsa, signature, {
      chain: [tsaCa],
      accuracy: 'secs:1, millisecs:500, microsecs:100',
    });
  });
  after(() => pki.cleanup());

  const verify = (overrides: Partial<Parameters<typeof verifyTimestamp>[0]> = {}) =>
    verifyTimestamp({
      token,
      signature,
      tsaRoots: [cert(tsaRoot)],
      signingChain,
      ...overrides,
    });

  test('a token over the signature from a trusted TSA verifies, with its time range', () => {
    const before = Date.now();
    const result = verify();
    assert.ok(result.ok, result.ok ? '' : result.message);
    assert.ok(
      Math.abs(result.genTime.getTime() - before) < 60_000,
      'genTime is when the token was made',
    );
    assert.equal(result.accuracyMs, 1500.1);
    assert.ok(Math.abs(result.latest - result.earliest - 2 * 1500.1) < 0.01);
    assert.deepEqual(
      result.tsaChain.map((c) => c.subject),
      ['CN=TSA', 'CN=TSA CA', 'CN=TSA Root'],
    );
  });

  test('a token over another signature is refused', () => {
    const other = Buffer.from(signature);
    other[0] = (other[0] ?? 0) ^ 0xff;
    const problem = failure(verify({ signature: other }));
    assert.equal(problem.code, 'NOTATION_TIMESTAMP_MISMATCH');
  });

  test('a TSA that does not chain to a tsa trust store certificate is untrusted', async () => {
    assert.equal(
      failure(verify({ tsaRoots: [cert(signingRoot)] })).code,
      'NOTATION_TIMESTAMP_UNTRUSTED',
    );
    assert.equal(failure(verify({ tsaRoots: [] })).code, 'NOTATION_TIMESTAMP_UNTRUSTED');
    // Without the TSA CA in the token, there is no path to the root.
    const bare = await pki.timestampToken(tsa, signature);
    const problem = failure(verify({ token: bare }));
    assert.equal(problem.code, 'NOTATION_TIMESTAMP_UNTRUSTED');
    assert.match(problem.message, /does not chain to a trusted root/);
    // With the TSA CA itself in the trust store, the chain ends in a CA that is not self-signed.
    const notRoot = failure(verify({ token: bare, tsaRoots: [cert(tsaCa)] }));
    assert.equal(notRoot.code, 'NOTATION_CHAIN_INVALID');
    assert.match(notRoot.message, /the root certificate "CN=TSA CA" is not self-signed/);
  });

  test('every extended key usage along the TSA chain must allow timeStamping', async () => {
    const codeSigningCa = await pki.certificate('code-signing-ca', {
      subject: '/CN=Code Signing CA',
      issuer: tsaRoot,
      extensions: [...EXT.intermediate(0), 'extendedKeyUsage=codeSigning'],
    });
    const narrowTsa = await pki.certificate('narrow-tsa', {
      subject: '/CN=Narrow TSA',
      issuer: codeSigningCa,
      extensions: EXT.timestamping,
    });
    const narrow = await pki.timestampToken(narrowTsa, signature, { chain: [codeSigningCa] });
    const problem = failure(verify({ token: narrow }));
    assert.equal(problem.code, 'NOTATION_TIMESTAMP_UNTRUSTED');
    assert.match(problem.message, /extended key usages do not allow timeStamping/);
  });

  test('a token without signing-certificate-v2 is refused', async () => {
    const v1 = await pki.timestampToken(tsa, signature, { chain: [tsaCa], essCertIdAlg: 'sha1' });
    const problem = failure(verify({ token: v1 }));
    assert.equal(problem.code, 'NOTATION_TIMESTAMP_INVALID');
    assert.match(problem.message, /no signing-certificate-v2 attribute/);
  });

  test('a message imprint hashed with SHA-1 is refused', async () => {
    const sha1 = await pki.timestampToken(tsa, signature, { chain: [tsaCa], digest: 'sha1' });
    const problem = failure(verify({ token: sha1 }));
    assert.equal(problem.code, 'NOTATION_TIMESTAMP_INVALID');
    assert.match(problem.message, /unsupported hash algorithm 1\.3\.14\.3\.2\.26/);
    const sha384 = await pki.timestampToken(tsa, signature, { chain: [tsaCa], digest: 'sha384' });
    assert.ok(verify({ token: sha384 }).ok);
  });

  test('a tampered token is refused', () => {
    // The TSA's signature is the last value of the token.
    const tampered = Buffer.from(token);
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 0x01;
    const problem = failure(verify({ token: tampered }));
    assert.equal(problem.code, 'NOTATION_TIMESTAMP_INVALID');
    assert.match(problem.message, /signature does not verify/);
  });

  test('malformed, empty and oversized tokens are refused', () => {
    assert.equal(failure(verify({ token: new Uint8Array() })).code, 'NOTATION_TIMESTAMP_INVALID');
    assert.equal(
      failure(verify({ token: Buffer.from('invalid\n') })).code,
      'NOTATION_TIMESTAMP_INVALID',
    );
    assert.equal(
      failure(verify({ token: token.subarray(0, token.length - 1) })).code,
      'NOTATION_TIMESTAMP_INVALID',
    );
    const trailing = Buffer.concat([token, Buffer.from([0])]);
    assert.match(failure(verify({ token: trailing })).message, /after its ASN.1 value/);
    const huge = new Uint8Array(MAX_TOKEN_BYTES + 1);
    assert.match(failure(verify({ token: huge })).message, /more than 65536/);
  });

  test('the timestamp must lie within the signing certificates validity', async () => {
    const expired = await pki.certificate('expired-signer', {
      subject: '/CN=Expired Signer',
      issuer: signingRoot,
      extensions: EXT.codeSigning,
      notBefore: new Date(Date.now() - 48 * HOUR),
      notAfter: new Date(Date.now() - HOUR),
    });
    const after = failure(verify({ signingChain: [cert(expired), cert(signingRoot)] }));
    assert.equal(after.code, 'NOTATION_TIMESTAMP_OUTSIDE_VALIDITY');
    assert.match(after.message, /may be after the certificate "CN=Expired Signer" expired/);
    const future = await pki.certificate('future-signer', {
      subject: '/CN=Future Signer',
      issuer: signingRoot,
      extensions: EXT.codeSigning,
      notBefore: new Date(Date.now() + HOUR),
    });
    const before = failure(verify({ signingChain: [cert(future), cert(signingRoot)] }));
    assert.equal(before.code, 'NOTATION_TIMESTAMP_OUTSIDE_VALIDITY');
    assert.match(before.message, /may be before the certificate "CN=Future Signer" is valid/);
  });

  test('accuracy: as given, 1 s under the baseline policy when absent, else 0', async () => {
    const [baseline, plain] = await Promise.all([
      pki.timestampToken(tsa, signature, { chain: [tsaCa], policy: '0.4.0.2023.1.1' }),
      pki.timestampToken(tsa, signature, { chain: [tsaCa] }),
    ]);
    const withBaseline = verify({ token: baseline });
    assert.ok(withBaseline.ok);
    assert.equal(withBaseline.accuracyMs, 1000);
    const without = verify({ token: plain });
    assert.ok(without.ok);
    assert.equal(without.accuracyMs, 0);
    assert.equal(without.earliest, without.latest);
  });

  test('a TSA certificate not yet valid at genTime is untrusted', async () => {
    const early = await pki.certificate('early-tsa', {
      subject: '/CN=Early TSA',
      issuer: tsaCa,
      extensions: EXT.timestamping,
      notBefore: new Date(Date.now() + HOUR),
    });
    const earlyToken = await pki.timestampToken(early, signature, { chain: [tsaCa] });
    const problem = failure(verify({ token: earlyToken }));
    assert.equal(problem.code, 'NOTATION_TIMESTAMP_UNTRUSTED');
    assert.match(problem.message, /"CN=Early TSA" is not valid at/);
  });
});

describe("notation's e2e timestamped signatures", { skip: skipFixtures }, () => {
  /** The JWS envelope of an e2e layout (its only blob with a `payload`). */
  function envelope(layout: string): {
    token?: Uint8Array;
    signature: Uint8Array;
    x5c: Uint8Array[];
  } {
    const blobs = resolve(FIXTURES, 'registry/oci_layout', layout, 'blobs/sha256');
    for (const name of readdirSync(blobs)) {
      const text = readFileSync(resolve(blobs, name), 'utf8');
      if (!text.includes('"payload"')) continue;
      const jws = JSON.parse(text) as {
        signature: string;
        header: { x5c: string[]; 'io.cncf.notary.timestampSignature'?: string };
      };
      const token = jws.header['io.cncf.notary.timestampSignature'];
      return {
        ...(token === undefined ? {} : { token: Buffer.from(token, 'base64') }),
        signature: Buffer.from(jws.signature, 'base64url'),
        x5c: jws.header.x5c.map((c) => Buffer.from(c, 'base64')),
      };
    }
    throw new Error(`no envelope in ${layout}`);
  }

  test("Microsoft's token stamps exactly its envelope's signature", () => {
    const good = envelope('e2e-with-timestamped-signature');
    const other = envelope('e2e-with-invalid-timestamped-signature');
    assert.ok(good.token);
    const signingChain = good.x5c.map((der) => parseCertificate(der));
    // Over another envelope's signature: refused before anything else.
    const mismatch = failure(
      verifyTimestamp({
        token: good.token,
        signature: other.signature,
        tsaRoots: [],
        signingChain,
      }),
    );
    assert.equal(mismatch.code, 'NOTATION_TIMESTAMP_MISMATCH');
    // Over its own: the imprint matches, and with no tsa store, nothing is trusted.
    const untrusted = failure(
      verifyTimestamp({ token: good.token, signature: good.signature, tsaRoots: [], signingChain }),
    );
    assert.equal(untrusted.code, 'NOTATION_TIMESTAMP_UNTRUSTED');
  });

  test("Microsoft's TSA signature verifies; its chain stops short of a root", () => {
    const good = envelope('e2e-with-timestamped-signature');
    assert.ok(good.token);
    // The token carries the TSA certificate and its issuing CA, not the
    // Microsoft root (not among the fixtures). Trusting the CA, the CMS
    // signature, signing-certificate-v2 and attributes all verify, and
    // notation's rule that the chain end in a self-signed root refuses it.
    const tokenCa = tokenCertificates(good.token).find((c) =>
      c.subject.includes('Microsoft Public RSA Timestamping CA 2020'),
    );
    assert.ok(tokenCa);
    const problem = failure(
      verifyTimestamp({
        token: good.token,
        signature: good.signature,
        tsaRoots: [tokenCa],
        signingChain: good.x5c.map((der) => parseCertificate(der)),
      }),
    );
    assert.equal(problem.code, 'NOTATION_CHAIN_INVALID');
    assert.match(problem.message, /is not self-signed/);
  });

  test('the invalid timestamped layout carries an unreadable token', () => {
    const bad = envelope('e2e-with-invalid-timestamped-signature');
    assert.ok(bad.token);
    const problem = failure(
      verifyTimestamp({
        token: bad.token,
        signature: bad.signature,
        tsaRoots: [],
        signingChain: bad.x5c.map((der) => parseCertificate(der)),
      }),
    );
    assert.equal(problem.code, 'NOTATION_TIMESTAMP_INVALID');
  });
});

/** The certificates a token carries (SignedData `certificates`), found by their DER SEQUENCE headers. */
function tokenCertificates(token: Uint8Array): NotationCertificate[] {
  const found: NotationCertificate[] = [];
  for (let i = 0; i + 4 < token.length; i++) {
    if (token[i] !== 0x30 || token[i + 1] !== 0x82) continue;
    const length = ((token[i + 2] ?? 0) << 8) + (token[i + 3] ?? 0) + 4;
    if (length < 600 || i + length > token.length) continue;
    try {
      found.push(parseCertificate(token.subarray(i, i + length)));
    } catch {
      // not a certificate
    }
  }
  return found;
}
