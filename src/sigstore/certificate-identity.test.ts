/**
 * The certificate identity policy: exact means exact, a regexp is anchored,
 * the issuer is checked before the subject, GitHub workflow claims exactly;
 * claims are read from real and minted Fulcio certificates.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { X509Certificate } from '@sigstore/core';
import {
  CHAINGUARD_IDENTITY,
  createKeylessSigstore,
  GITHUB_ISSUER,
  issueCertificate,
} from '../../test/helpers/keyless.ts';
import { hasCode } from '../core/errors.ts';
import {
  type CertificateClaims,
  certificateClaims,
  describeMatcher,
  exactly,
  identityProblem,
  matches,
  matchingRegexp,
} from './certificate-identity.ts';

const FULCIO_CERT = resolve(
  import.meta.dirname,
  '../../../shared/fixtures/containers-image/fulcio-cert',
);

describe('value matchers', () => {
  test('exact compares the whole string, never as a pattern', () => {
    assert.equal(matches(exactly('https://a.b/x'), 'https://a.b/x'), true);
    assert.equal(matches(exactly('https://a.b/x'), 'https://aXb/x'), false);
    assert.equal(matches(exactly('https://a.b/x'), 'https://a.b/x/evil'), false);
    assert.equal(matches(exactly('.*'), 'anything'), false);
  });

  test('a regexp must match the whole value (anchored), alternations included', () => {
    const workflows = matchingRegexp('https://github\\.com/org/.+');
    assert.equal(
      matches(workflows, 'https://github.com/org/repo/.github/workflows/r.yaml@refs/heads/main'),
      true,
    );
    assert.equal(matches(workflows, 'https://evil.example/?https://github.com/org/x'), false);
    const either = matchingRegexp('a|b');
    assert.equal(matches(either, 'a'), true);
    assert.equal(matches(either, 'ab'), false, 'the alternation is grouped before anchoring');
    assert.equal(describeMatcher(either), 'a match of /^(?:a|b)$/');
  });

  test('a regexp that does not compile is INVALID_REGEXP', () => {
    assert.throws(
      () => matchingRegexp('(', '--certificate-identity-regexp'),
      (error) => hasCode(error, 'INVALID_REGEXP') && error.category === 'invalid',
    );
  });
});

describe('identityProblem', () => {
  const claims: CertificateClaims = {
    subject: CHAINGUARD_IDENTITY,
    issuer: GITHUB_ISSUER,
    github: { trigger: 'push', ref: 'refs/heads/main' },
  };
  const identity = { subject: exactly(CHAINGUARD_IDENTITY), issuer: exactly(GITHUB_ISSUER) };

  test('matching subject, issuer and claims: no problem', () => {
    assert.equal(identityProblem(claims, { ...identity, github: { trigger: 'push' } }), undefined);
  });

  test('the issuer is checked first, then the subject, then each claim', () => {
    const wrongBoth = { subject: exactly('x'), issuer: exactly('y') };
    assert.equal(identityProblem(claims, wrongBoth)?.code, 'CERT_ISSUER_MISMATCH');
    assert.equal(
      identityProblem(claims, { ...identity, subject: exactly('x') })?.code,
      'CERT_IDENTITY_MISMATCH',
    );
    const claim = identityProblem(claims, { ...identity, github: { sha: 'abc' } });
    assert.equal(claim?.code, 'CERT_CLAIM_MISMATCH');
    assert.match(
      claim?.message ?? '',
      /sha \(OID 1\.3\.6\.1\.4\.1\.57264\.1\.3\) is absent, but "abc" is required/,
    );
  });
});

describe('certificateClaims', () => {
  test('a minted Fulcio certificate: SAN, issuer (v2 DER UTF8String) and workflow claims', async () => {
    const sigstore = await createKeylessSigstore();
    const issued = await issueCertificate(sigstore, {
      subject: CHAINGUARD_IDENTITY,
      issuer: GITHUB_ISSUER,
      github: { trigger: 'push', repository: 'chainguard-images/images' },
    });
    assert.deepEqual(certificateClaims(X509Certificate.parse(Buffer.from(issued.certificate))), {
      subject: CHAINGUARD_IDENTITY,
      issuer: GITHUB_ISSUER,
      github: { trigger: 'push', repository: 'chainguard-images/images' },
    });
  });

  test(
    'a real public-good certificate: email SAN and the v1 issuer',
    { skip: existsSync(FULCIO_CERT) ? false : 'fixtures not found' },
    () => {
      const claims = certificateClaims(X509Certificate.parse(readFileSync(FULCIO_CERT, 'latin1')));
      assert.equal(claims.subject, 'mitr@redhat.com');
      assert.equal(claims.issuer, 'https://github.com/login/oauth');
    },
  );
});
