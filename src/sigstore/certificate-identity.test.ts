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
import fc from 'fast-check';
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

describe('regexps are Go RE2, as cosign reads them', () => {
  const matching = (source: string, value: string) => matches(matchingRegexp(source), value);

  test("Go syntax JavaScript's u flag refuses, with Go's meaning", () => {
    const chainguard = 'https://github\\.com/chainguard\\-images/images/.+';
    assert.equal(matching(chainguard, CHAINGUARD_IDENTITY), true, '\\- escapes a hyphen');
    assert.equal(matching(chainguard, 'https://github.com/chainguard/images/x'), false);
    assert.equal(matching('\\Qhttps://a.b/c\\E.*', 'https://a.b/c/d'), true, '\\Q...\\E quotes');
    assert.equal(matching('\\Qhttps://a.b/c\\E.*', 'https://aXb/c/d'), false);
    assert.equal(matching('[[:alpha:]]+@[[:alnum:].]+', 'jane@example.com'), true);
    assert.equal(matching('[[:alpha:]]+', 'jane1'), false);
    assert.equal(matching('\\pL+', 'jörg'), true);
    assert.equal(matching('\\p{Greek}+', 'αβγ'), true);
    assert.equal(matching('\\x{41}\\z', 'A'), true);
    assert.equal(matching('(?P<org>acme)/.+', 'acme/app'), true);
  });

  test('(?i) and the other Go flags apply', () => {
    assert.equal(matching('(?i)https://GITHUB\\.com/acme/.+', 'https://github.com/acme/x'), true);
    assert.equal(matching('https://GITHUB\\.com/acme/.+', 'https://github.com/acme/x'), false);
    assert.equal(matching('a.b', 'a\nb'), false, '. is not a newline');
    assert.equal(matching('(?s)a.b', 'a\nb'), true);
    assert.equal(matching('(?m)a$', 'a\n'), false, 'anchored: the newline must be matched too');
  });

  test('what RE2 refuses is INVALID_REGEXP, saying why', () => {
    for (const [source, why] of [
      ['(a)\\1', 'invalid escape sequence'], // backreference
      ['a(?=b)', 'invalid or unsupported Perl syntax'], // lookahead
      ['a(?!b)', 'invalid or unsupported Perl syntax'],
      ['(?<=a)b', 'invalid named capture'], // lookbehind
      ['a++', 'invalid nested repetition operator'], // possessive
      ['(?>a)', 'invalid or unsupported Perl syntax'], // atomic group
      ['\\u0041', 'invalid escape sequence'], // JavaScript's \u; Go writes \x{41}
      ['a{1001}', 'invalid repeat count'],
      ['x'.repeat(1025), 'longer than 1024 characters'],
    ]) {
      assert.throws(
        () => matchingRegexp(source as string, '--certificate-identity-regexp'),
        (error) =>
          hasCode(error, 'INVALID_REGEXP') &&
          error.category === 'invalid' &&
          error.message.includes('--certificate-identity-regexp') &&
          error.message.includes(why as string),
        source,
      );
    }
  });

  test('a pattern is checked on its own, not as part of the anchored one', () => {
    // `^(?:a)|(.*)$` compiles, and matches anything: a closing parenthesis
    // must not end the group that anchors the pattern.
    assert.throws(
      () => matchingRegexp('https://github\\.com/acme/.+)|(.*'),
      (error) => hasCode(error, 'INVALID_REGEXP'),
    );
    assert.equal(matching('\\Qa)|(b', 'a)|(b'), true, 'an unterminated \\Q quotes to the end');
  });

  test('nested quantifiers run in linear time (RE2: no backtracking)', () => {
    assert.equal(matching('(a+)+$', `${'a'.repeat(100_000)}b`), false);
    assert.equal(matching('(a|aa)*c', 'a'.repeat(100_000)), false);
    assert.equal(matching('(x+x+)+y', 'x'.repeat(100_000)), false);
  });

  test('anchoring is unchanged: where Go and JavaScript read a pattern alike, the whole value must match', () => {
    const atom = fc.constantFrom('a', 'b', '.', '[ab]', '[^a]', '(?:a|b)', '(a|ab)', '\\.');
    const quantifier = fc.constantFrom('', '*', '+', '?', '{1,2}', '*?');
    const piece = fc.tuple(atom, quantifier).map(([a, q]) => a + q);
    const source = fc
      .array(fc.array(piece, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 })
      .map((branches) => branches.map((pieces) => pieces.join('')).join('|'));
    fc.assert(
      fc.property(source, fc.stringMatching(/^[ab.]{0,6}$/), (pattern, value) => {
        assert.equal(
          matching(pattern, value),
          new RegExp(`^(?:${pattern})$`, 'u').test(value),
          `${pattern} against ${value}`,
        );
      }),
      { numRuns: 3000 },
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
