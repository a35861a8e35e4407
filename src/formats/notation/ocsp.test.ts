/**
 * OCSP requests and responses as notation uses them, with responses made
 * offline by `openssl ocsp -reqin -respout` from a CA database
 * (test/helpers/notation-pki.ts).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { EXT, type Issued, TestPki } from '../../../test/helpers/notation-pki.ts';
import {
  checkOcspResponse,
  MAX_OCSP_RESPONSE_BYTES,
  type OcspCheck,
  ocspHttpRequest,
  ocspRequest,
} from './ocsp.ts';
import { type NotationCertificate, parseCertificate } from './x509.ts';

const HOUR = 3600_000;
const cert = (issued: Issued): NotationCertificate => parseCertificate(issued.der);

function errorOf(check: OcspCheck): string {
  assert.equal(check.status, 'error', JSON.stringify(check));
  return check.status === 'error' ? check.message : '';
}

describe('OCSP', () => {
  let pki: TestPki;
  let root: Issued;
  let ca: Issued;
  let otherCa: Issued;
  let responder: Issued;
  let noEku: Issued;
  let foreignResponder: Issued;
  let good: Issued;
  let revoked: Issued;
  let compromised: Issued;
  /** Issued by `ca` but missing from its database: the responder does not know it. */
  let stranger: Issued;
  let caCert: NotationCertificate;
  const now = () => new Date();

  before(async () => {
    pki = await TestPki.create();
    root = await pki.certificate('root', { subject: '/CN=Root', extensions: EXT.root });
    [ca, otherCa] = await Promise.all([
      pki.certificate('ca', { subject: '/CN=CA', issuer: root, extensions: EXT.intermediate(0) }),
      pki.certificate('other-ca', {
        subject: '/CN=Other CA',
        issuer: root,
        extensions: EXT.intermediate(0),
      }),
    ]);
    [responder, noEku, good, revoked, compromised, stranger, foreignResponder] = await Promise.all([
      pki.certificate('responder', {
        subject: '/CN=Responder',
        issuer: ca,
        extensions: EXT.ocspSigning,
      }),
      pki.certificate('no-eku', {
        subject: '/CN=No EKU',
        issuer: ca,
        extensions: ['keyUsage=critical,digitalSignature'],
      }),
      pki.certificate('good', { subject: '/CN=Good', issuer: ca, extensions: EXT.codeSigning }),
      pki.certificate('revoked', {
        subject: '/CN=Revoked',
        issuer: ca,
        extensions: EXT.codeSigning,
      }),
      pki.certificate('compromised', {
        subject: '/CN=Compromised',
        issuer: ca,
        extensions: EXT.codeSigning,
      }),
      pki.certificate('stranger', {
        subject: '/CN=Stranger',
        issuer: ca,
        extensions: EXT.codeSigning,
      }),
      pki.certificate('foreign-responder', {
        subject: '/CN=Foreign Responder',
        issuer: otherCa,
        extensions: EXT.ocspSigning,
      }),
    ]);
    await pki.revoke(revoked, ca);
    // openssl ocsp reports the compromise time as the invalidity date.
    await pki.revoke(compromised, ca, { compromisedAt: new Date('2020-01-01T00:00:00Z') });
    const index = await pki.index(ca);
    await pki.setIndex(
      ca,
      index.filter((line) => !line.endsWith('/CN=Stranger')),
    );
    caCert = cert(ca);
  });
  after(() => pki.cleanup());

  /** `subject`'s status from `ca`'s responder (a delegated one unless `signer` says otherwise). */
  async function check(
    subject: Issued,
    options: {
      signer?: Issued;
      nextUpdateMinutes?: number | null;
      noCerts?: boolean;
      at?: Date;
      signingTime?: Date;
      against?: Issued;
    } = {},
  ): Promise<OcspCheck> {
    const target = cert(options.against ?? subject);
    const body = await pki.ocspResponse(
      ca,
      options.signer ?? responder,
      ocspRequest(cert(subject), caCert),
      {
        ...(options.nextUpdateMinutes === null
          ? {}
          : { nextUpdateMinutes: options.nextUpdateMinutes ?? 5 }),
        ...(options.noCerts === true ? { noCerts: true } : {}),
      },
    );
    return checkOcspResponse(body, target, caCert, {
      now: options.at ?? now(),
      ...(options.signingTime === undefined ? {} : { signingTime: options.signingTime }),
    });
  }

  test('the request is one SHA-1 CertID for the certificate, without a nonce', async () => {
    const request = ocspRequest(cert(good), caCert);
    await writeFile(join(pki.dir, 'req.der'), request);
    const text = await pki.openssl(pki.dir, [
      'ocsp',
      '-reqin',
      'req.der',
      '-req_text',
      '-noverify',
    ]);
    assert.match(text, /Hash Algorithm: sha1/);
    assert.match(
      text,
      new RegExp(`Serial Number: ${cert(good).serialNumber.toString(16).toUpperCase()}`),
    );
    assert.doesNotMatch(text, /Nonce/);
    assert.equal((text.match(/Certificate ID:/g) ?? []).length, 1);
  });

  test('GET with the escaped request under 255 characters, POST beyond, http only', () => {
    const request = ocspRequest(cert(good), caCert);
    const get = ocspHttpRequest('http://127.0.0.1:8080/ocsp/', request);
    assert.ok(typeof get !== 'string' && get.method === 'GET');
    const escaped = encodeURIComponent(Buffer.from(request).toString('base64'));
    assert.equal(get.url.href, `http://127.0.0.1:8080/ocsp/${escaped}`);
    const bare = ocspHttpRequest('http://127.0.0.1:8080', request);
    assert.ok(typeof bare !== 'string' && bare.url.pathname === `/${escaped}`);
    const long = ocspHttpRequest('http://127.0.0.1:8080/ocsp', new Uint8Array(192));
    assert.ok(typeof long !== 'string' && long.method === 'POST');
    assert.equal(long.url.href, 'http://127.0.0.1:8080/ocsp');
    assert.equal(
      ocspHttpRequest('https://127.0.0.1/ocsp', request),
      'OCSP over https is not supported',
    );
    assert.match(String(ocspHttpRequest('not a url', request)), /is not a URL/);
  });

  test('good, revoked and unknown, from a delegated responder', async () => {
    const ok = await check(good);
    assert.equal(ok.status, 'good');
    assert.ok(ok.status === 'good' && ok.nextUpdate.getTime() > Date.now());
    assert.equal((await check(revoked)).status, 'revoked');
    assert.equal((await check(stranger)).status, 'unknown');
  });

  test('a response signed by the issuer itself counts', async () => {
    assert.equal((await check(good, { signer: ca })).status, 'good');
    assert.equal((await check(revoked, { signer: ca, noCerts: true })).status, 'revoked');
  });

  test('a revocation whose invalidity date follows the signing time does not count', async () => {
    assert.equal((await check(compromised)).status, 'revoked');
    assert.equal(
      (await check(compromised, { signingTime: new Date('2019-06-01T00:00:00Z') })).status,
      'good',
    );
    assert.equal(
      (await check(compromised, { signingTime: new Date('2021-06-01T00:00:00Z') })).status,
      'revoked',
    );
  });

  test('a responder without id-kp-OCSPSigning, or of another CA, is not authorized', async () => {
    assert.match(
      errorOf(await check(good, { signer: noEku })),
      /does not have the OCSPSigning extended key usage/,
    );
    assert.match(
      errorOf(await check(good, { signer: foreignResponder })),
      /is not issued by "CN=CA"/,
    );
    // Without the certificate in the response, nothing says who signed.
    assert.match(
      errorOf(await check(good, { noCerts: true })),
      /not signed by "CN=CA" or a responder it authorized/,
    );
  });

  test('validity: nextUpdate required and not passed, thisUpdate not in the future', async () => {
    assert.match(errorOf(await check(good, { nextUpdateMinutes: null })), /has no nextUpdate/);
    assert.match(errorOf(await check(good, { at: new Date(Date.now() + HOUR) })), /expired at/);
    assert.match(
      errorOf(await check(good, { at: new Date(Date.now() - HOUR) })),
      /not valid before/,
    );
    // A responder certificate not valid at the time is no authority either.
    const late = await pki.certificate('late-responder', {
      subject: '/CN=Late Responder',
      issuer: ca,
      extensions: EXT.ocspSigning,
      notBefore: new Date(Date.now() + 2 * HOUR),
      notAfter: new Date(Date.now() + 3 * HOUR),
    });
    assert.match(
      errorOf(await check(good, { signer: late })),
      /"CN=Late Responder" is not valid now/,
    );
  });

  test("a response about another certificate is not this one's", async () => {
    assert.match(
      errorOf(await check(good, { against: revoked })),
      /no response for this certificate/,
    );
  });

  test('error statuses, garbage, oversized and tampered responses are errors, never a status', async () => {
    const unauthorized = new Uint8Array([0x30, 0x03, 0x0a, 0x01, 0x06]);
    assert.match(
      errorOf(checkOcspResponse(unauthorized, cert(good), caCert, { now: now() })),
      /unauthorized/,
    );
    assert.match(
      errorOf(checkOcspResponse(Buffer.from('<html>'), cert(good), caCert, { now: now() })),
      /malformed/,
    );
    const big = new Uint8Array(MAX_OCSP_RESPONSE_BYTES + 1);
    assert.match(
      errorOf(checkOcspResponse(big, cert(good), caCert, { now: now() })),
      /more than 20480 bytes/,
    );
    const body = await pki.ocspResponse(ca, responder, ocspRequest(cert(revoked), caCert), {
      nextUpdateMinutes: 5,
    });
    const tampered = Buffer.from(body);
    // One second later in producedAt (the first GeneralizedTime, in the signed data).
    const producedAt = tampered.indexOf(Buffer.from([0x18, 0x0f])) + 2 + 13;
    tampered[producedAt] = (tampered[producedAt] ?? 0x30) === 0x30 ? 0x31 : 0x30;
    assert.match(
      errorOf(checkOcspResponse(tampered, cert(revoked), caCert, { now: now() })),
      /not signed by "CN=CA" or a responder it authorized/,
    );
  });

  test('a response that is BER, not DER (a length in a longer form), is malformed, as Go reads it', async () => {
    const body = Buffer.from(
      await pki.ocspResponse(ca, responder, ocspRequest(cert(good), caCert), {
        nextUpdateMinutes: 5,
      }),
    );
    // The outer SEQUENCE's length again, in one more byte than DER allows.
    assert.equal(body[0], 0x30);
    const lengthBytes = (body[1] as number) & 0x7f;
    assert.ok((body[1] as number) & 0x80 && lengthBytes <= 2, 'a long-form length to widen');
    const widened = Buffer.concat([
      Buffer.from([0x30, 0x80 | (lengthBytes + 1), 0x00]),
      body.subarray(2),
    ]);
    assert.equal(checkOcspResponse(body, cert(good), caCert, { now: now() }).status, 'good');
    assert.match(
      errorOf(checkOcspResponse(widened, cert(good), caCert, { now: now() })),
      /not DER/,
    );
  });

  test('no mutation of a response is ever read as revoked or good without verifying', async () => {
    const body = await pki.ocspResponse(ca, responder, ocspRequest(cert(good), caCert), {
      nextUpdateMinutes: 5,
    });
    const target = cert(good);
    const at = now();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(body.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (flips) => {
          const mutated = Buffer.from(body);
          for (const [i, x] of flips) mutated[i] = (mutated[i] ?? 0) ^ x;
          const result = checkOcspResponse(mutated, target, caCert, { now: at });
          // Bytes outside the signed data (the signature's own encoding, the
          // certificates) may change without changing what it says; a
          // different status would need a forged signature.
          return result.status === 'error' || result.status === 'good';
        },
      ),
      { numRuns: 300 },
    );
  });
});
